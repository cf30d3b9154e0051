//! `audit pending`: applications still under audit, with their age.

use std::io::Write;

use chrono::{DateTime, Utc};

use super::super::applications::{AppStatus, Application};
use super::super::table::Table;
use super::{or_dash, span, time};

pub(super) fn pending_table(
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
            a.apply_id.to_string(),
            a.store_id.to_string(),
            a.kind.to_string(),
            or_dash(a.shop_id.as_deref()),
            a.request_id.to_string(),
            time(a.submitted_at),
            span(a.submitted_at, now),
        ]);
    }
    t.with_merchants(
        apps.iter()
            .filter(|a| a.status == AppStatus::Pending)
            .map(|a| a.merchant.as_str()),
    );
    t.write(out)
}
