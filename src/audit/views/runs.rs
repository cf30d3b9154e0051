//! `audit runs` and `audit show RUN`.

use std::io::Write;

use super::super::actions::{ActionRow, Outcome};
use super::super::runs::RunRow;
use super::super::table::Table;
use super::{fields_text, or_dash, span, summary_text, time};

pub(super) fn runs_table(out: &mut dyn Write, runs: &[RunRow]) -> std::io::Result<()> {
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
        Some(Outcome::Accepted { apply_id, .. }) => (apply_id.to_string(), "-".into()),
        Some(Outcome::Business { code, sub_code, .. }) => {
            ("-".into(), format!("{code}/{sub_code}"))
        }
        _ => ("-".into(), "-".into()),
    }
}

pub(super) fn show_table(
    out: &mut dyn Write,
    r: &RunRow,
    actions: &[ActionRow],
) -> std::io::Result<()> {
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
            a.store_id.to_string(),
            a.kind.to_string(),
            or_dash(a.shop_id.as_deref()),
            a.request_id.to_string(),
            apply_id,
            code,
            outcome_text(a),
            fields_text(&a.fields),
        ]);
    }
    t.write(out)
}
