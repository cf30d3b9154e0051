//! `audit runs` and `audit show RUN`.

use std::io::Write;

use super::super::actions::{ActionRow, Outcome};
use super::super::applications::{AppStatus, Application};
use super::super::rejects::RejectRow;
use super::super::runs::RunRow;
use super::super::table::Table;
use super::{span, summary_text, time, RunShown};

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
    t.with_merchants(runs.iter().map(|r| r.merchant.as_str()));
    t.write(out)
}

/// What a write's answer was, and how an unknown one was resolved.
fn answer_text(a: &ActionRow) -> String {
    fn one(o: Option<&Outcome>) -> String {
        match o {
            None => "no outcome recorded (the process stopped before the answer)".into(),
            Some(Outcome::Accepted {
                apply_id,
                audit_status,
            }) => match audit_status {
                Some(s) => format!("accepted, apply_id {apply_id} ({s})"),
                None => format!("accepted, apply_id {apply_id}"),
            },
            Some(Outcome::Business {
                code,
                sub_code,
                msg,
            }) => format!("business error {code}/{sub_code}: {msg}"),
            Some(Outcome::Unknown { reason }) => format!("outcome unknown: {reason}"),
            Some(Outcome::NotApplied { reason }) => format!("not applied: {reason}"),
        }
    }
    let now = one(a.outcome.as_ref());
    match a.resolved_at {
        Some(at) => format!(
            "{now} (resolved at {}: {}; first recorded as: {})",
            time(at),
            a.resolution_note.as_deref().unwrap_or(""),
            one(a.original_outcome.as_ref())
        ),
        None if a.is_unresolved() => format!("{now} [UNRESOLVED: the next run confirms it]"),
        None => now,
    }
}

/// Where the write's application stands now.
fn application_text(app: &Application) -> String {
    let when = app
        .finished_at
        .map(|t| format!(" at {}", time(t)))
        .unwrap_or_default();
    match app.status {
        AppStatus::Pending => format!("under Alipay's audit since {}", time(app.submitted_at)),
        AppStatus::Success => match &app.shop_id {
            Some(shop) => format!("approved{when}, shop {shop}"),
            None => format!("approved{when}"),
        },
        AppStatus::Failed => format!(
            "rejected by Alipay's audit{when}: {} {}",
            app.result_code.as_deref().unwrap_or("-"),
            app.result_desc.as_deref().unwrap_or("")
        ),
    }
}

/// The first few fields sent, each value cut short; JSON has them all.
fn fields_brief(fields: &std::collections::BTreeMap<String, String>) -> String {
    const SHOWN: usize = 6;
    const VALUE_CHARS: usize = 40;
    let mut parts: Vec<String> = fields
        .iter()
        .take(SHOWN)
        .map(|(k, v)| {
            if v.chars().count() > VALUE_CHARS {
                let cut: String = v.chars().take(VALUE_CHARS).collect();
                format!("{k}={cut}…")
            } else {
                format!("{k}={v}")
            }
        })
        .collect();
    if fields.len() > SHOWN {
        parts.push(format!(
            "+{} more (`--format json` lists all)",
            fields.len() - SHOWN
        ));
    }
    wrap(
        &format!("{} field(s): {}", fields.len(), parts.join(", ")),
        WIDTH,
        "\n               ",
    )
}

/// Text column width of `audit show`.
const WIDTH: usize = 90;

/// Break `text` at `, ` so no line passes `width` characters; continuation lines start
/// with `indent`.
fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = 0usize;
    for (i, part) in text.split(", ").enumerate() {
        let len = part.chars().count();
        if i > 0 {
            if line + 2 + len > width {
                out.push(',');
                out.push_str(indent);
                line = 0;
            } else {
                out.push_str(", ");
                line += 2;
            }
        }
        out.push_str(part);
        line += len;
    }
    out
}

pub(super) fn show_table(out: &mut dyn Write, shown: &RunShown<'_>) -> std::io::Result<()> {
    let r = shown.run;
    writeln!(out, "Run {} ({})", r.id, r.kind)?;
    if !r.merchant.is_empty() {
        writeln!(out, "  merchant:  {}", r.merchant)?;
    }
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
    if shown.actions.is_empty() {
        writeln!(out, "No writes in this run.")?;
    } else {
        writeln!(out, "Writes ({}):", shown.actions.len())?;
        for a in shown.actions {
            let shop = a
                .shop_id
                .as_deref()
                .map(|s| format!(" shop {s}"))
                .unwrap_or_default();
            writeln!(
                out,
                "  {} {}{shop}, request {} (at {})",
                a.kind,
                a.store_id,
                a.request_id,
                time(a.intent_at)
            )?;
            writeln!(out, "      sent:    {}", fields_brief(&a.fields))?;
            writeln!(out, "      answer:  {}", answer_text(a))?;
            if let Some(trace) = &a.trace_id {
                // What Alipay's support asks for about a v3 call.
                writeln!(out, "      trace:   alipay-trace-id {trace}")?;
            }
            if let Some(Outcome::Accepted { apply_id, .. }) = &a.outcome {
                if let Some(app) = shown.applications.iter().find(|p| &p.apply_id == apply_id) {
                    writeln!(out, "      now:     {}", application_text(app))?;
                }
            }
        }
    }
    if !shown.uploads.is_empty() {
        writeln!(out)?;
        writeln!(out, "Photos uploaded ({}):", shown.uploads.len())?;
        for u in shown.uploads {
            writeln!(
                out,
                "  {} [{} store(s) waited]",
                super::upload_line(u),
                u.stores.len()
            )?;
        }
    }
    if !shown.rejects.is_empty() {
        writeln!(out)?;
        writeln!(out, "Rejected rows ({}), never sent:", shown.rejects.len())?;
        for j in shown.rejects {
            writeln!(out, "  {}", reject_line(j))?;
        }
    }
    Ok(())
}

/// `stores.csv:12: store SH-0003: contact_number: <reason> (value "abc")`.
pub(super) fn reject_line(j: &RejectRow) -> String {
    let mut s = format!("{}:{}: ", j.file, j.line);
    if let Some(id) = &j.store_id {
        s.push_str(&format!("store {id}: "));
    }
    if let Some(f) = &j.field {
        s.push_str(&format!("{f}: "));
    }
    s.push_str(&j.reason);
    if let Some(v) = &j.value {
        s.push_str(&format!(" (value {v:?})"));
    }
    s
}
