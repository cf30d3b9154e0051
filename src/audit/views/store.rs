//! `audit store STORE_ID`: a store's whole history.

use std::io::Write;

use chrono::{DateTime, Utc};

use super::super::actions::Outcome;
use super::super::table::Table;
use super::super::StoreHistory;
use super::{fields_text, or_dash, time};

pub(super) fn store_text(out: &mut dyn Write, h: &StoreHistory) -> std::io::Result<()> {
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
            let trace = a
                .trace_id
                .as_deref()
                .map(|t| format!(" [alipay-trace-id {t}]"))
                .unwrap_or_default();
            push(
                at,
                event,
                format!("action {}: {}{note}{trace}", a.id, outcome_label(o)),
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
        writeln!(
            out,
            "No writes, applications or notifications recorded for this store."
        )?;
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
    if !h.photos.is_empty() {
        writeln!(out)?;
        writeln!(out, "Photos (file or URL → Alipay image id):")?;
        for u in &h.photos {
            writeln!(out, "  {}", super::upload_line(u))?;
        }
    }
    if !h.rejects.is_empty() {
        writeln!(out)?;
        writeln!(out, "Rejected export rows:")?;
        for j in &h.rejects {
            writeln!(out, "  run {}: {}", j.run, super::runs::reject_line(j))?;
        }
    }
    Ok(())
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
