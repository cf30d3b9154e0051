//! `shopsync audit`: queries over the audit store, rendered as tables or JSON.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::actions::{ActionRow, Outcome};
use super::applications::{AppStatus, Application};
use super::runs::{RunId, RunRow, RunSummary};
use super::table::Table;
use super::{AuditDb, AuditError, StoreHistory};

pub use crate::cli::{AuditCommand, OutputFormat};

/// Runs an `audit` subcommand, using the system clock for ages.
pub fn run_command(
    db: &AuditDb,
    cmd: &AuditCommand,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<(), AuditError> {
    run_command_at(db, cmd, format, out, Utc::now())
}

/// Runs an `audit` subcommand; `now` dates the ages of pending applications.
pub fn run_command_at(
    db: &AuditDb,
    cmd: &AuditCommand,
    format: OutputFormat,
    out: &mut dyn Write,
    now: DateTime<Utc>,
) -> Result<(), AuditError> {
    let result = match cmd {
        AuditCommand::Runs { limit } => {
            let runs = db.runs(*limit)?;
            match format {
                OutputFormat::Json => json(out, &runs),
                OutputFormat::Table => runs_table(out, &runs),
            }
        }
        AuditCommand::Show { run } => {
            let row = db.run(RunId(*run))?.ok_or_else(|| AuditError::NotFound {
                what: "run",
                key: run.to_string(),
            })?;
            let actions = db.actions_for_run(row.id)?;
            match format {
                OutputFormat::Json => {
                    #[derive(Serialize)]
                    struct Show<'a> {
                        run: &'a RunRow,
                        actions: &'a [ActionRow],
                    }
                    json(
                        out,
                        &Show {
                            run: &row,
                            actions: &actions,
                        },
                    )
                }
                OutputFormat::Table => show_table(out, &row, &actions),
            }
        }
        AuditCommand::Store { store_id } => {
            let history = db.store_history(store_id)?;
            match format {
                OutputFormat::Json => json(out, &history),
                OutputFormat::Table => store_text(out, &history),
            }
        }
        AuditCommand::Pending => {
            let apps = db.pending_applications()?;
            match format {
                OutputFormat::Json => {
                    #[derive(Serialize)]
                    struct Pending<'a> {
                        #[serde(flatten)]
                        app: &'a Application,
                        age_seconds: i64,
                    }
                    let rows: Vec<Pending<'_>> = apps
                        .iter()
                        .map(|app| Pending {
                            app,
                            age_seconds: (now - app.submitted_at).num_seconds().max(0),
                        })
                        .collect();
                    json(out, &rows)
                }
                OutputFormat::Table => pending_table(out, &apps, now),
            }
        }
    };
    result.map_err(AuditError::Output)
}

fn json<T: Serialize + ?Sized>(out: &mut dyn Write, value: &T) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(std::io::Error::other)?;
    writeln!(out)
}

/// `2026-11-25 22:11:25 UTC`.
fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A span rounded to seconds: `1h 2m 3s`.
fn span(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let secs = (to - from).num_seconds().max(0).unsigned_abs();
    humantime::format_duration(std::time::Duration::from_secs(secs)).to_string()
}

fn or_dash(v: Option<&str>) -> String {
    match v {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => "-".to_string(),
    }
}

fn fields_text(fields: &BTreeMap<String, String>) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn summary_text(s: &RunSummary) -> String {
    format!(
        "stores {}, created {}, modified {}, unchanged {}, pending {}, blocked {}, remote-only {}, rejected {}, failed {}, unknown {}",
        s.stores, s.created, s.modified, s.unchanged, s.pending, s.blocked, s.remote_only,
        s.rejected, s.failed, s.unknown
    )
}

fn runs_table(out: &mut dyn Write, runs: &[RunRow]) -> std::io::Result<()> {
    if runs.is_empty() {
        return writeln!(out, "No runs recorded.");
    }
    let mut t = Table::new(&[
        "ID",
        "KIND",
        "STARTED",
        "DURATION",
        "STATUS",
        "STORES",
        "CREATED",
        "MODIFIED",
        "UNCHANGED",
        "PENDING",
        "BLOCKED",
        "REMOTE-ONLY",
        "REJECTED",
        "FAILED",
        "UNKNOWN",
    ]);
    for r in runs {
        let duration = r
            .finished_at
            .map(|f| span(r.started_at, f))
            .unwrap_or_else(|| "-".into());
        let mut cells = vec![
            r.id.to_string(),
            r.kind.to_string(),
            time(r.started_at),
            duration,
            r.status_word().to_string(),
            r.store_count.to_string(),
        ];
        match &r.summary {
            Some(s) => cells.extend(
                [
                    s.created,
                    s.modified,
                    s.unchanged,
                    s.pending,
                    s.blocked,
                    s.remote_only,
                    s.rejected,
                    s.failed,
                    s.unknown,
                ]
                .iter()
                .map(u64::to_string),
            ),
            None => cells.extend(std::iter::repeat_n("-".to_string(), 9)),
        }
        t.row(cells);
    }
    t.write(out)
}

/// The outcome column: what came of a write, and how it was resolved.
fn outcome_text(a: &ActionRow) -> String {
    fn one(o: Option<&Outcome>) -> String {
        match o {
            None => "no outcome recorded".into(),
            Some(Outcome::Accepted { audit_status, .. }) => match audit_status {
                Some(s) => format!("accepted ({s})"),
                None => "accepted".into(),
            },
            Some(Outcome::Business { msg, .. }) => format!("business error: {msg}"),
            Some(Outcome::Unknown { reason }) => format!("unknown: {reason}"),
            Some(Outcome::NotApplied { reason }) => format!("not applied: {reason}"),
        }
    }
    let now = one(a.outcome.as_ref());
    match a.resolved_at {
        Some(_) => format!(
            "{now} [resolved: {}; was {}]",
            a.resolution_note.as_deref().unwrap_or(""),
            one(a.original_outcome.as_ref())
        ),
        None if a.is_unresolved() => format!("{now} [UNRESOLVED]"),
        None => now,
    }
}

fn codes(o: Option<&Outcome>) -> (String, String) {
    match o {
        Some(Outcome::Accepted { apply_id, .. }) => (apply_id.clone(), "-".into()),
        Some(Outcome::Business { code, sub_code, .. }) => {
            ("-".into(), format!("{code}/{sub_code}"))
        }
        _ => ("-".into(), "-".into()),
    }
}

fn show_table(out: &mut dyn Write, r: &RunRow, actions: &[ActionRow]) -> std::io::Result<()> {
    writeln!(out, "Run {} ({})", r.id, r.kind)?;
    writeln!(out, "  status:    {}", r.status_word())?;
    writeln!(out, "  source:    {}", r.source)?;
    writeln!(out, "  stores:    {}", r.store_count)?;
    writeln!(out, "  started:   {}", time(r.started_at))?;
    if let Some(f) = r.finished_at {
        writeln!(out, "  finished:  {} ({})", time(f), span(r.started_at, f))?;
    }
    if let Some(s) = &r.summary {
        writeln!(out, "  summary:   {}", summary_text(s))?;
    }
    if let Some(e) = &r.error {
        writeln!(out, "  error:     {e}")?;
    }
    writeln!(out)?;
    if actions.is_empty() {
        return writeln!(out, "No writes in this run.");
    }
    writeln!(out, "Writes ({}):", actions.len())?;
    let mut t = Table::new(&[
        "ACTION",
        "STORE_ID",
        "KIND",
        "SHOP_ID",
        "REQUEST_ID",
        "APPLY_ID",
        "CODE",
        "OUTCOME",
        "FIELDS",
    ]);
    for a in actions {
        let (apply_id, code) = codes(a.outcome.as_ref());
        t.row(vec![
            a.id.to_string(),
            a.store_id.clone(),
            a.kind.to_string(),
            or_dash(a.shop_id.as_deref()),
            a.request_id.clone(),
            apply_id,
            code,
            outcome_text(a),
            fields_text(&a.fields),
        ]);
    }
    t.write(out)
}

/// Events at the same instant are listed in this (causal) order.
const EVENT_ORDER: [&str; 8] = [
    "unmapped",
    "write sent",
    "outcome",
    "resolved",
    "application",
    "notification",
    "audit ended",
    "mapped",
];

fn store_text(out: &mut dyn Write, h: &StoreHistory) -> std::io::Result<()> {
    writeln!(out, "Store {}", h.store_id)?;
    match &h.mapping {
        Some(m) => writeln!(
            out,
            "  shop:      {} ({} at {})",
            m.shop_id,
            m.how,
            time(m.mapped_at)
        )?,
        None => writeln!(out, "  shop:      not mapped")?,
    }
    for p in &h.previous_mappings {
        writeln!(
            out,
            "  formerly:  {} ({} at {}, replaced at {})",
            p.shop_id,
            p.how,
            time(p.mapped_at),
            time(p.replaced_at)
        )?;
    }
    if !h.detail_shops.is_empty() {
        writeln!(
            out,
            "  querydetail: carried by shop {}",
            h.detail_shops.join(", ")
        )?;
    }
    writeln!(out)?;

    // (time, rank, event, detail); the event's rank orders same-time events causally.
    let mut events: Vec<(DateTime<Utc>, usize, &str, String)> = Vec::new();
    let mut push = |t, e: &'static str, d: String| {
        let rank = EVENT_ORDER
            .iter()
            .position(|x| *x == e)
            .unwrap_or(EVENT_ORDER.len());
        events.push((t, rank, e, d));
    };
    for a in &h.actions {
        let target = a
            .shop_id
            .as_deref()
            .map(|s| format!(" shop {s}"))
            .unwrap_or_default();
        push(
            a.intent_at,
            "write sent",
            format!(
                "action {} (run {}): {}{target} request_id {}: {}",
                a.id,
                a.run,
                a.kind,
                a.request_id,
                fields_text(&a.fields)
            ),
        );
        if let (Some(at), Some(o)) = (a.original_outcome_at, &a.original_outcome) {
            push(
                at,
                "outcome",
                format!("action {}: {}", a.id, outcome_label(o)),
            );
        }
        if let (Some(at), Some(o)) = (a.outcome_at, &a.outcome) {
            let event = if a.resolved_at.is_some() {
                "resolved"
            } else {
                "outcome"
            };
            let note = a
                .resolution_note
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            push(
                at,
                event,
                format!("action {}: {}{note}", a.id, outcome_label(o)),
            );
        }
    }
    for app in h.applications.iter().rev() {
        push(
            app.submitted_at,
            "application",
            format!(
                "apply_id {} ({}, request_id {}) under audit",
                app.apply_id, app.kind, app.request_id
            ),
        );
        if let Some(at) = app.finished_at {
            let mut d = format!("apply_id {}: {}", app.apply_id, app.status);
            if let Some(s) = &app.shop_id {
                d.push_str(&format!(", shop {s}"));
            }
            if let Some(c) = &app.result_code {
                d.push_str(&format!(", {c}"));
            }
            if let Some(c) = &app.result_desc {
                d.push_str(&format!(": {c}"));
            }
            push(at, "audit ended", d);
        }
    }
    for n in &h.notifications {
        let r = &n.record;
        push(
            n.received_at,
            "notification",
            format!(
                "notify_id {}: {} apply_id {} shop {}{}",
                r.notify_id,
                or_dash(r.audit_status.as_deref()),
                or_dash(r.apply_id.as_deref()),
                or_dash(r.shop_id.as_deref()),
                r.result_desc
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ),
        );
    }
    for p in &h.previous_mappings {
        push(
            p.mapped_at,
            "mapped",
            format!("to shop {} ({})", p.shop_id, p.how),
        );
        push(
            p.replaced_at,
            "unmapped",
            format!("from shop {}", p.shop_id),
        );
    }
    if let Some(m) = &h.mapping {
        push(
            m.mapped_at,
            "mapped",
            format!("to shop {} ({})", m.shop_id, m.how),
        );
    }
    // Stable: same time and rank keep the order they were pushed in.
    events.sort_by_key(|e| (e.0, e.1));
    if events.is_empty() {
        writeln!(out, "No history recorded for this store.")?;
    } else {
        let mut t = Table::new(&["TIME", "EVENT", "DETAIL"]);
        for (at, _, event, detail) in events {
            t.row(vec![time(at), event.to_string(), detail]);
        }
        t.write(out)?;
    }
    if !h.accepted_values.is_empty() {
        writeln!(out)?;
        writeln!(out, "Accepted values:")?;
        for (k, v) in &h.accepted_values {
            writeln!(out, "  {k} = {v}")?;
        }
    }
    Ok(())
}

fn outcome_label(o: &Outcome) -> String {
    match o {
        Outcome::Accepted { apply_id, .. } => format!("accepted, apply_id {apply_id}"),
        Outcome::Business {
            code,
            sub_code,
            msg,
        } => {
            format!("business error {code}/{sub_code}: {msg}")
        }
        Outcome::Unknown { reason } => format!("unknown: {reason}"),
        Outcome::NotApplied { reason } => format!("not applied: {reason}"),
    }
}

fn pending_table(
    out: &mut dyn Write,
    apps: &[Application],
    now: DateTime<Utc>,
) -> std::io::Result<()> {
    if apps.is_empty() {
        return writeln!(out, "No applications pending.");
    }
    let mut t = Table::new(&[
        "APPLY_ID",
        "STORE_ID",
        "KIND",
        "SHOP_ID",
        "REQUEST_ID",
        "SUBMITTED",
        "AGE",
    ]);
    for a in apps.iter().filter(|a| a.status == AppStatus::Pending) {
        t.row(vec![
            a.apply_id.clone(),
            a.store_id.clone(),
            a.kind.to_string(),
            or_dash(a.shop_id.as_deref()),
            a.request_id.clone(),
            time(a.submitted_at),
            span(a.submitted_at, now),
        ]);
    }
    t.write(out)
}
