//! Plan and run output: a readable table for people, JSON and CSV for machines.

use std::io::Write;

use crate::audit::{RunStatus, RunSummary};
pub use crate::cli::PlanFormat;
use crate::sync::plan::{Action, Change, Plan, PHOTO_PLACEHOLDER};

fn show(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("∅")
}

fn changes_text(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|c| format!("{}: {} → {}", c.field, show(&c.old), show(&c.new)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Write the plan. Unchanged stores are listed only with `all`.
pub fn write_plan(
    plan: &Plan,
    format: PlanFormat,
    all: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    write_plan_for(plan, format, all, None, out)
}

/// Write one merchant's plan (ISV mode): the table under a `Merchant NAME:` line, JSON with
/// a `merchant` key (one document per merchant), CSV with a leading `merchant` column.
pub fn write_plan_for(
    plan: &Plan,
    format: PlanFormat,
    all: bool,
    merchant: Option<&str>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    match format {
        PlanFormat::Json => write_json(plan, merchant, &mut out)?,
        PlanFormat::Csv => write_csv(plan, merchant, &mut out)?,
        PlanFormat::Table => {
            if let Some(m) = merchant {
                writeln!(out, "Merchant {m}:")?;
            }
            write_table(plan, all, &mut out)?
        }
    }
    out.flush()
}

/// `{"counts": {...}, "items": [...]}`, one item per line, each serialised straight into
/// the output: memory does not grow with the plan beyond the plan itself.
fn write_json(plan: &Plan, merchant: Option<&str>, out: &mut dyn Write) -> std::io::Result<()> {
    let json = |e: serde_json::Error| std::io::Error::other(e.to_string());
    out.write_all(b"{")?;
    if let Some(m) = merchant {
        out.write_all(b"\"merchant\":")?;
        serde_json::to_writer(&mut *out, m).map_err(json)?;
        out.write_all(b",")?;
    }
    out.write_all(b"\"counts\":")?;
    serde_json::to_writer(&mut *out, &plan.counts()).map_err(json)?;
    if !plan.photos.is_empty() {
        out.write_all(b",\"photos\":")?;
        serde_json::to_writer(&mut *out, &plan.photos).map_err(json)?;
    }
    if !plan.categories.is_empty() {
        out.write_all(b",\"categories\":")?;
        serde_json::to_writer(&mut *out, &plan.categories).map_err(json)?;
    }
    out.write_all(b",\"items\":[")?;
    for (i, item) in plan.items.iter().enumerate() {
        out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer(&mut *out, item).map_err(json)?;
    }
    out.write_all(b"\n]}\n")
}

fn write_table(plan: &Plan, all: bool, out: &mut dyn Write) -> std::io::Result<()> {
    let mut shown = 0;
    for item in &plan.items {
        let store = item.store_id.as_deref().unwrap_or("-");
        let (shop, detail): (String, String) = match &item.action {
            Action::Create { fields } => {
                let name = match (
                    fields.get(crate::record::Field::MainShopName),
                    fields.get(crate::record::Field::BranchShopName),
                ) {
                    (Some(m), Some(b)) => format!("{m}({b})"),
                    (Some(m), None) => m.to_string(),
                    _ => String::new(),
                };
                let category = fields
                    .get(crate::record::Field::CategoryId)
                    .map(|id| match plan.categories.get(id) {
                        Some(n) => format!(", category {n}"),
                        None => format!(", category {id}"),
                    })
                    .unwrap_or_default();
                let uploads = photos_to_upload(fields.iter().map(|(f, v)| (f, Some(v))));
                (
                    "-".into(),
                    format!(
                        "new shop {name}, {} fields{category}{}",
                        fields.len(),
                        match uploads {
                            0 => String::new(),
                            n => format!(", {n} photo(s) to upload first"),
                        }
                    ),
                )
            }
            Action::Modify {
                shop_id,
                changes,
                review,
            } => (
                shop_id.to_string(),
                format!(
                    "{}{}",
                    changes_text(changes),
                    if *review { "  [re-triggers audit]" } else { "" }
                ),
            ),
            Action::Unchanged { shop_id } => {
                if !all {
                    continue;
                }
                (shop_id.to_string(), String::new())
            }
            Action::Pending {
                shop_id,
                apply_ids,
                reason,
            } => (
                shop_id.as_deref().unwrap_or("-").to_string(),
                format!(
                    "{reason} {}",
                    apply_ids
                        .iter()
                        .map(|a| a.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            ),
            Action::Blocked {
                shop_id,
                reason,
                changes,
            } => (
                shop_id.as_deref().unwrap_or("-").to_string(),
                if changes.is_empty() {
                    reason.clone()
                } else {
                    format!("{reason} ({})", changes_text(changes))
                },
            ),
            Action::RemoteOnly { shop_id, name } => (
                shop_id.to_string(),
                format!("on Alipay only: {name} (left alone)"),
            ),
            Action::Rejected {
                file,
                line,
                field,
                reason,
            } => (
                "-".into(),
                format!(
                    "{file}:{line}: {}{reason}",
                    field.as_ref().map(|f| format!("{f}: ")).unwrap_or_default()
                ),
            ),
        };
        if shown == 0 {
            writeln!(
                out,
                "{:<11} {:<16} {:<28} DETAILS",
                "ACTION", "STORE", "SHOP"
            )?;
        }
        shown += 1;
        writeln!(
            out,
            "{:<11} {:<16} {:<28} {}",
            item.action.label(),
            store,
            shop,
            detail.trim_end()
        )?;
    }
    write_photos(plan, out)?;
    let c = plan.counts();
    writeln!(
        out,
        "Plan: {} to create, {} to modify, {} unchanged, {} pending, {} blocked, {} remote-only, {} rejected.",
        c.create, c.modify, c.unchanged, c.pending, c.blocked, c.remote_only, c.rejected
    )
}

/// Distinct photos of these values that wait on an upload.
fn photos_to_upload<'a>(
    values: impl Iterator<Item = (crate::record::Field, Option<&'a str>)>,
) -> usize {
    let waiting: std::collections::BTreeSet<&str> = values
        .filter(|(f, _)| f.holds_images())
        .filter_map(|(_, v)| v)
        .flat_map(crate::record::image::items)
        .filter(|i| i.starts_with(PHOTO_PLACEHOLDER))
        .collect();
    waiting.len()
}

/// At most this many photos are listed by name in the table (all are counted).
const PHOTOS_LISTED: usize = 20;

/// The photos the writes wait on: how many, which stores, and what they are.
fn write_photos(plan: &Plan, out: &mut dyn Write) -> std::io::Result<()> {
    if plan.photos.is_empty() {
        return Ok(());
    }
    let mut stores: Vec<&str> = plan
        .photos
        .iter()
        .flat_map(|p| p.stores.iter().map(|s| s.as_str()))
        .collect();
    stores.sort_unstable();
    stores.dedup();
    writeln!(
        out,
        "Photos: {} to upload before the writes that use them ({} store(s) wait on them):",
        plan.photos.len(),
        stores.len()
    )?;
    for p in plan.photos.iter().take(PHOTOS_LISTED) {
        let waiting: Vec<&str> = p.stores.iter().take(5).map(|s| s.as_str()).collect();
        let more = p.stores.len().saturating_sub(waiting.len());
        writeln!(
            out,
            "  {} ({}, {}, sha256 {}…) for {}{}",
            p.sources.join(" = "),
            p.image_type,
            crate::audit::views::size_text(p.bytes),
            &p.sha256[..p.sha256.len().min(12)],
            waiting.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )?;
    }
    if plan.photos.len() > PHOTOS_LISTED {
        writeln!(
            out,
            "  … and {} more (`plan --format json` lists them all)",
            plan.photos.len() - PHOTOS_LISTED
        )?;
    }
    Ok(())
}

fn write_csv(plan: &Plan, merchant: Option<&str>, out: &mut dyn Write) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let io = |e: csv::Error| std::io::Error::other(e.to_string());
    let header = merchant.map(|_| "merchant");
    row(
        &mut w,
        header,
        [
            "action", "store_id", "shop_id", "field", "old", "new", "detail",
        ],
    )
    .map_err(io)?;
    for item in &plan.items {
        let store = item.store_id.clone().unwrap_or_default();
        let label = item.action.label();
        match &item.action {
            Action::Create { fields } => {
                for (f, v) in fields.iter() {
                    let detail = csv_detail(plan, f, Some(v));
                    row(
                        &mut w,
                        merchant,
                        [label, &store, "", f.name(), "", v, detail],
                    )
                    .map_err(io)?;
                }
            }
            Action::Modify {
                shop_id,
                changes,
                review,
            } => {
                for c in changes {
                    let old = c.old.clone().unwrap_or_default();
                    let new = c.new.clone().unwrap_or_default();
                    let d = match (*review, csv_detail(plan, c.field, c.new.as_deref())) {
                        (true, "") => "re-triggers audit",
                        (true, _) => "re-triggers audit; photo to upload first",
                        (false, d) => d,
                    };
                    row(
                        &mut w,
                        merchant,
                        [label, &store, shop_id, c.field.name(), &old, &new, d],
                    )
                    .map_err(io)?;
                }
            }
            Action::Unchanged { shop_id } => {
                row(&mut w, merchant, [label, &store, shop_id, "", "", "", ""]).map_err(io)?
            }
            Action::Pending {
                shop_id, reason, ..
            }
            | Action::Blocked {
                shop_id, reason, ..
            } => row(
                &mut w,
                merchant,
                [
                    label,
                    &store,
                    shop_id.as_deref().unwrap_or(""),
                    "",
                    "",
                    "",
                    reason,
                ],
            )
            .map_err(io)?,
            Action::RemoteOnly { shop_id, name } => {
                row(&mut w, merchant, [label, &store, shop_id, "", "", "", name]).map_err(io)?
            }
            Action::Rejected {
                file,
                line,
                field,
                reason,
            } => row(
                &mut w,
                merchant,
                [
                    label,
                    &store,
                    "",
                    field.as_deref().unwrap_or(""),
                    "",
                    "",
                    &format!("{file}:{line}: {reason}"),
                ],
            )
            .map_err(io)?,
        }
    }
    w.flush()
}

/// The CSV `detail` of one field's value: the category's name, or that a photo is uploaded
/// first.
fn csv_detail<'a>(plan: &'a Plan, field: crate::record::Field, value: Option<&str>) -> &'a str {
    use crate::record::Field;
    match (field, value) {
        (Field::CategoryId, Some(id)) => plan.categories.get(id).map_or("", String::as_str),
        (f, v) if photos_to_upload(std::iter::once((f, v))) > 0 => "photo to upload first",
        _ => "",
    }
}

/// One CSV record, with the merchant first when there is one.
fn row<W: Write>(
    w: &mut csv::Writer<W>,
    merchant: Option<&str>,
    cells: [&str; 7],
) -> Result<(), csv::Error> {
    match merchant {
        Some(m) => w.write_record(std::iter::once(m).chain(cells)),
        None => w.write_record(cells),
    }
}

/// One line per count, for the end of `sync`.
pub fn write_summary(
    summary: &RunSummary,
    status: RunStatus,
    run: i64,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(
        out,
        "Run {run} {}: {} created, {} modified, {} unchanged, {} pending (under Alipay's audit), {} blocked, {} rejected, {} failed, {} unknown, {} remote-only.",
        status.as_str(),
        summary.created,
        summary.modified,
        summary.unchanged,
        summary.pending,
        summary.blocked,
        summary.rejected,
        summary.failed,
        summary.unknown,
        summary.remote_only
    )
}
