//! [`RunReport`] → one self-contained HTML page, bounded in size.

use std::fmt::Write;

use super::escape::{age, push_cut, thousands};
use super::{
    BlockedRow, CreatedRow, FailureRow, ModifiedRow, PendingRow, PhotoRow, RejectedRow,
    RemoteOnlyRow, RunReport, UnknownRow,
};
use crate::audit::{RunKind, RunStatus};

/// Rows shown per outcome table; the rest are counted and pointed to.
pub const ROWS_PER_TABLE: usize = 100;
/// Bytes of rendered rows per outcome table: a table stops early when its rows are long
/// (its first row is always shown; only a modified shop's can be longer, at most 64 KiB).
pub const TABLE_BYTES: usize = 48 * 1024;
/// The most bytes [`render`] returns, whatever the input (checked by a test with hostile,
/// maximal input): 8 tables of [`TABLE_BYTES`], one of 64 KiB, the header and the style
/// sheet. A typical page of 50,000 stores is far smaller (about 100 KiB).
pub const MAX_PAGE_BYTES: usize = 512 * 1024;

/// Characters kept of an ordinary cell (names, reasons, ids).
const CELL_CHARS: usize = 160;
/// Characters kept of a field's old and new value.
const VALUE_CHARS: usize = 100;
/// Characters kept of a rejected row's raw value.
const RAW_CHARS: usize = 60;
/// Characters kept of a field name.
const FIELD_CHARS: usize = 40;
/// Characters kept of the run's message.
const MESSAGE_CHARS: usize = 1000;
/// Characters kept of a table's note.
const NOTE_CHARS: usize = 300;
/// Field changes listed per modified shop (Alipay has fewer fields than this).
const CHANGES_PER_ROW: usize = 40;

const STYLE: &str = include_str!("style.css");
/// Header cell colour, as an attribute (kept by mail clients that drop `<style>`).
const HEADER_BG: &str = "#dbe7f3";
const TABLE_ATTRS: &str = r#"border="1" cellpadding="5" cellspacing="0""#;

/// The page for one run.
pub fn render(report: &RunReport) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let h = &report.header;
    let kind = match h.kind {
        RunKind::Plan => "plan",
        RunKind::Sync => "sync",
    };
    let status = h.status.map(RunStatus::as_str).unwrap_or("running");
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>shopsync {kind} run {} — {status}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
        h.run_id
    );
    let _ = write!(out, "<h1>shopsync {kind} run {} — ", h.run_id);
    push_status(&mut out, h.status);
    out.push_str("</h1>\n");
    header_table(&mut out, report);
    counts_table(&mut out, report);
    outcome_tables(&mut out, report);
    out.push_str("<p class=\"foot\">shopsync ");
    out.push_str(env!("CARGO_PKG_VERSION"));
    if let Some(g) = &h.generated {
        out.push_str(", report made ");
        push_cut(&mut out, g, CELL_CHARS);
    }
    out.push_str(
        ". Every value from the export or from Alipay is shown as text.</p>\n</body>\n</html>\n",
    );
    out
}

fn push_status(out: &mut String, status: Option<RunStatus>) {
    let (word, class) = match status {
        None => ("running", "st-run"),
        Some(RunStatus::Ok) => ("ok", "st-ok"),
        Some(RunStatus::Partial) => ("partial", "st-warn"),
        Some(RunStatus::Guarded) => ("guarded", "st-warn"),
        Some(RunStatus::Failed) => ("failed", "st-bad"),
        Some(RunStatus::Interrupted) => ("interrupted", "st-bad"),
    };
    let _ = write!(out, "<span class=\"{class}\">{word}</span>");
}

fn header_table(out: &mut String, report: &RunReport) {
    let h = &report.header;
    let _ = writeln!(out, "<table class=\"meta\" {TABLE_ATTRS}>");
    let row = |out: &mut String, name: &str, value: Option<&str>, chars: usize| {
        let _ = write!(
            out,
            "<tr><th align=\"left\" bgcolor=\"{HEADER_BG}\">{name}</th><td>"
        );
        match value {
            Some(v) if !v.is_empty() => push_cut(out, v, chars),
            _ => out.push('-'),
        }
        out.push_str("</td></tr>\n");
    };
    row(out, "Run", Some(&h.run_id.to_string()), CELL_CHARS);
    row(
        out,
        "Kind",
        Some(match h.kind {
            RunKind::Plan => "plan (nothing written)",
            RunKind::Sync => "sync",
        }),
        CELL_CHARS,
    );
    let _ = write!(
        out,
        "<tr><th align=\"left\" bgcolor=\"{HEADER_BG}\">Result</th><td>"
    );
    push_status(out, h.status);
    out.push_str("</td></tr>\n");
    row(
        out,
        "Exit code",
        h.exit_code.map(|c| c.to_string()).as_deref(),
        CELL_CHARS,
    );
    row(out, "Merchant", h.merchant.as_deref(), CELL_CHARS);
    row(out, "App id", Some(&h.app_id), CELL_CHARS);
    row(out, "Source", h.source.as_deref(), CELL_CHARS);
    row(out, "Started", Some(&h.started), CELL_CHARS);
    row(out, "Finished", h.finished.as_deref(), CELL_CHARS);
    row(out, "Duration", h.duration.as_deref(), CELL_CHARS);
    row(out, "Message", h.message.as_deref(), MESSAGE_CHARS);
    out.push_str("</table>\n");
}

fn counts_table(out: &mut String, report: &RunReport) {
    let c = &report.counts;
    let _ = writeln!(
        out,
        "<h2>Counts</h2>\n<table class=\"counts\" {TABLE_ATTRS}>\n<tr><th align=\"left\" bgcolor=\"{HEADER_BG}\">Outcome</th><th align=\"right\" bgcolor=\"{HEADER_BG}\">Stores</th></tr>"
    );
    for (name, id, n) in [
        ("In the export", "", c.stores),
        ("Created", "created", c.created),
        ("Modified", "modified", c.modified),
        ("Unchanged", "unchanged", c.unchanged),
        ("Pending audit", "pending", c.pending),
        ("Blocked", "blocked", c.blocked),
        ("On Alipay only", "remote-only", c.remote_only),
        ("Failed", "failed", c.failed),
        ("Outcome unknown", "unknown", c.unknown),
        ("Rejected rows", "rejected", c.rejected),
        ("Photos uploaded", "photos", report.photos.len() as u64),
    ] {
        // In-page links only: no request leaves the page.
        let name = if id.is_empty() {
            name.to_string()
        } else {
            format!("<a href=\"#{id}\">{name}</a>")
        };
        let _ = writeln!(
            out,
            "<tr><td>{name}</td><td align=\"right\">{}</td></tr>",
            thousands(n)
        );
    }
    out.push_str("</table>\n");
}

/// Where every row of a table can be read when the page shows only the first ones.
fn more_rows_command(table: &str, run_id: i64) -> String {
    match table {
        "pending" => "shopsync audit pending".into(),
        "blocked" | "remote-only" | "rejected" => "shopsync plan --format csv".into(),
        _ => format!("shopsync audit show {run_id}"),
    }
}

fn outcome_tables(out: &mut String, r: &RunReport) {
    let run = r.header.run_id;
    section(
        out,
        "failed",
        "Failed",
        &["Store", "Action", "Code", "Sub code", "Alipay's message"],
        &r.failures,
        run,
        failure_row,
        r.notes.get("failed"),
    );
    section(
        out,
        "unknown",
        "Outcome unknown",
        &["Store", "Action", "Request id", "Reason"],
        &r.unknown,
        run,
        unknown_row,
        r.notes.get("unknown"),
    );
    section(
        out,
        "rejected",
        "Rejected rows (not sent)",
        &["File", "Line", "Store", "Field", "Reason", "Value"],
        &r.rejected,
        run,
        rejected_row,
        r.notes.get("rejected"),
    );
    section(
        out,
        "created",
        "Created",
        &["Store", "Shop name", "Apply id"],
        &r.created,
        run,
        created_row,
        r.notes.get("created"),
    );
    section(
        out,
        "modified",
        "Modified",
        &["Store", "Shop", "Apply id", "Field", "Old", "New", "Audit"],
        &r.modified,
        run,
        modified_row,
        r.notes.get("modified"),
    );
    section(
        out,
        "pending",
        "Pending audit",
        &[
            "Store",
            "Shop",
            "Apply id",
            "Action",
            "Status",
            "Submitted",
            "Age",
        ],
        &r.pending,
        run,
        pending_row,
        r.notes.get("pending"),
    );
    section(
        out,
        "blocked",
        "Blocked",
        &["Store", "Shop", "Reason"],
        &r.blocked,
        run,
        blocked_row,
        r.notes.get("blocked"),
    );
    section(
        out,
        "remote-only",
        "On Alipay only (left alone)",
        &["Shop", "Name"],
        &r.remote_only,
        run,
        remote_only_row,
        r.notes.get("remote-only"),
    );
    section(
        out,
        "photos",
        "Photos uploaded",
        &["Store", "File or URL", "Image id"],
        &r.photos,
        run,
        photo_row,
        r.notes.get("photos"),
    );
    let _ = writeln!(
        out,
        "<h2 id=\"unchanged\">Unchanged</h2>\n<p>{} stores unchanged (not listed).</p>",
        thousands(r.counts.unchanged)
    );
}

/// One outcome table: a heading with the row count, at most [`ROWS_PER_TABLE`] rows and
/// [`TABLE_BYTES`] of them, and a pointer to the rest.
#[allow(clippy::too_many_arguments)] // one table: its heading, rows, renderer and note
fn section<T>(
    out: &mut String,
    id: &str,
    title: &str,
    columns: &[&str],
    rows: &[T],
    run_id: i64,
    render_row: fn(&mut String, &T),
    note: Option<&String>,
) {
    let _ = writeln!(
        out,
        "<h2 id=\"{id}\">{title} ({})</h2>",
        thousands(rows.len() as u64)
    );
    if let Some(note) = note.filter(|n| !n.is_empty()) {
        out.push_str("<p class=\"note\">");
        push_cut(out, note, NOTE_CHARS);
        out.push_str("</p>\n");
    }
    if rows.is_empty() {
        if note.is_none_or(|n| n.is_empty()) {
            out.push_str("<p class=\"none\">None.</p>\n");
        }
        return;
    }
    let _ = write!(out, "<table class=\"rows\" {TABLE_ATTRS}>\n<tr>");
    for c in columns {
        let _ = write!(out, "<th align=\"left\" bgcolor=\"{HEADER_BG}\">{c}</th>");
    }
    out.push_str("</tr>\n");
    let mut used = 0;
    let mut shown = 0;
    let mut buf = String::new();
    for row in rows.iter().take(ROWS_PER_TABLE) {
        buf.clear();
        render_row(&mut buf, row);
        if shown > 0 && used + buf.len() > TABLE_BYTES {
            break;
        }
        used += buf.len();
        shown += 1;
        out.push_str(&buf);
    }
    out.push_str("</table>\n");
    if shown < rows.len() {
        let _ = writeln!(
            out,
            "<p class=\"more\">Showing the first {} of {} rows; {} more rows: <code>{}</code></p>",
            thousands(shown as u64),
            thousands(rows.len() as u64),
            thousands((rows.len() - shown) as u64),
            more_rows_command(id, run_id)
        );
    }
}

fn cells(out: &mut String, values: &[(&str, usize)]) {
    out.push_str("<tr>");
    for (v, chars) in values {
        out.push_str("<td>");
        if v.is_empty() {
            out.push('-');
        } else {
            push_cut(out, v, *chars);
        }
        out.push_str("</td>");
    }
    out.push_str("</tr>\n");
}

fn opt(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

fn failure_row(out: &mut String, r: &FailureRow) {
    cells(
        out,
        &[
            (&r.store_id, CELL_CHARS),
            (&r.action, CELL_CHARS),
            (&r.code, CELL_CHARS),
            (&r.sub_code, CELL_CHARS),
            (&r.sub_msg, CELL_CHARS),
        ],
    );
}

fn unknown_row(out: &mut String, r: &UnknownRow) {
    cells(
        out,
        &[
            (&r.store_id, CELL_CHARS),
            (&r.action, CELL_CHARS),
            (&r.request_id, CELL_CHARS),
            (&r.reason, CELL_CHARS),
        ],
    );
}

fn rejected_row(out: &mut String, r: &RejectedRow) {
    let line = r.line.to_string();
    cells(
        out,
        &[
            (&r.file, CELL_CHARS),
            (&line, CELL_CHARS),
            (opt(&r.store_id), CELL_CHARS),
            (opt(&r.field), FIELD_CHARS),
            (&r.reason, CELL_CHARS),
            (opt(&r.raw_value), RAW_CHARS),
        ],
    );
}

fn created_row(out: &mut String, r: &CreatedRow) {
    cells(
        out,
        &[
            (&r.store_id, CELL_CHARS),
            (&r.shop_name, CELL_CHARS),
            (opt(&r.apply_id), CELL_CHARS),
        ],
    );
}

fn pending_row(out: &mut String, r: &PendingRow) {
    cells(
        out,
        &[
            (&r.store_id, CELL_CHARS),
            (opt(&r.shop_id), CELL_CHARS),
            (&r.apply_id, CELL_CHARS),
            (&r.action, CELL_CHARS),
            (opt(&r.status), CELL_CHARS),
            (&r.submitted, CELL_CHARS),
            (&age(r.age_seconds), CELL_CHARS),
        ],
    );
}

fn blocked_row(out: &mut String, r: &BlockedRow) {
    cells(
        out,
        &[
            (&r.store_id, CELL_CHARS),
            (opt(&r.shop_id), CELL_CHARS),
            (&r.reason, CELL_CHARS),
        ],
    );
}

fn remote_only_row(out: &mut String, r: &RemoteOnlyRow) {
    cells(out, &[(&r.shop_id, CELL_CHARS), (&r.name, CELL_CHARS)]);
}

fn photo_row(out: &mut String, r: &PhotoRow) {
    cells(
        out,
        &[
            (opt(&r.store_id), CELL_CHARS),
            (&r.source, CELL_CHARS),
            (&r.image_id, CELL_CHARS),
        ],
    );
}

/// A modified shop: one row per changed field, the store's cells spanning them.
fn modified_row(out: &mut String, r: &ModifiedRow) {
    let listed = r.changes.len().min(CHANGES_PER_ROW);
    let extra = usize::from(r.changes.len() > CHANGES_PER_ROW);
    let span = (listed + extra).max(1);
    out.push_str("<tr>");
    for (v, chars) in [
        (r.store_id.as_str(), CELL_CHARS),
        (r.shop_id.as_str(), CELL_CHARS),
        (opt(&r.apply_id), CELL_CHARS),
    ] {
        let _ = write!(out, "<td rowspan=\"{span}\">");
        if v.is_empty() {
            out.push('-');
        } else {
            push_cut(out, v, chars);
        }
        out.push_str("</td>");
    }
    if r.changes.is_empty() {
        out.push_str("<td colspan=\"4\">-</td></tr>\n");
        return;
    }
    for (i, c) in r.changes.iter().take(CHANGES_PER_ROW).enumerate() {
        if i > 0 {
            out.push_str("<tr>");
        }
        out.push_str("<td>");
        push_cut(out, &c.field, FIELD_CHARS);
        out.push_str("</td><td class=\"old\">");
        value(out, &c.old);
        out.push_str("</td><td class=\"new\">");
        value(out, &c.new);
        out.push_str("</td><td>");
        if c.triggers_audit {
            out.push_str("<b class=\"review\">re-triggers audit</b>");
        }
        out.push_str("</td></tr>\n");
    }
    if extra == 1 {
        let _ = writeln!(
            out,
            "<tr><td colspan=\"4\">{} more fields</td></tr>",
            r.changes.len() - CHANGES_PER_ROW
        );
    }
}

fn value(out: &mut String, v: &Option<String>) {
    match v {
        None => out.push_str("<i>(none)</i>"),
        Some(s) if s.is_empty() => out.push_str("<i>(empty)</i>"),
        Some(s) => push_cut(out, s, VALUE_CHARS),
    }
}
