//! `audit rejects [--run N]`, and the rejected rows of `audit show` and `audit store`.

use std::io::Write;

use super::super::rejects::RejectRow;
use super::super::table::Table;
use super::or_dash;

pub(super) fn rejects_table(out: &mut dyn Write, rows: &[RejectRow]) -> std::io::Result<()> {
    if rows.is_empty() {
        return writeln!(out, "No rejected rows recorded.");
    }
    let mut t = Table::new(&["RUN", "FILE:LINE", "STORE_ID", "FIELD", "REASON", "VALUE"]);
    for r in rows {
        t.row(vec![
            r.run.to_string(),
            format!("{}:{}", r.file, r.line),
            or_dash(r.store_id.as_deref()),
            or_dash(r.field.as_deref()),
            r.reason.clone(),
            or_dash(r.value.as_deref()),
        ]);
    }
    t.with_merchants(rows.iter().map(|r| r.merchant.as_str()));
    t.write(out)
}
