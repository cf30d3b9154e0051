//! Following writes after they were sent: refresh pending applications through Alipay's
//! audit (applyorder.batchquery), and resolve writes whose outcome is unknown before the
//! store is touched again (docs/protocol.md §6.4, §7; docs/design.md invariants 1–3).

use std::collections::BTreeMap;

use chrono::Duration as ChronoDuration;
use tracing::{info, warn};

use crate::alipay::koubei::{BizOrder, OrderStatus};
use crate::alipay::retry::read_with_retries;
use crate::alipay::{timestamp, ShopApi};
use crate::audit::{ActionRow, AppStatus, AuditDb, NewApplication, Outcome};
use crate::clock::SharedClock;
use crate::ids::{ApplyId, ShopId};
use crate::record::WriteKind;
use crate::sync::RunError;

/// What a refresh found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Refreshed {
    pub succeeded: u64,
    pub failed: u64,
    pub still_pending: u64,
}

/// The fields to remember as accepted once an application succeeded: `#EMPTY#` removes.
fn accepted_from(fields: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    fields
        .iter()
        .map(|(k, v)| {
            let v = if v == crate::record::CLEAR {
                String::new()
            } else {
                v.clone()
            };
            (k.clone(), v)
        })
        .collect()
}

/// What Alipay said of one application: from a poll (applyorder.batchquery) or from an
/// audit notification.
#[derive(Debug, Clone)]
pub struct AuditResult<'a> {
    pub apply_id: &'a ApplyId,
    /// `None`: the poll did not say (treated as still in progress).
    pub status: Option<OrderStatus>,
    /// The shop of an approved create.
    pub shop_id: Option<ShopId>,
    pub result_code: Option<&'a str>,
    pub result_desc: Option<&'a str>,
}

impl<'a> From<&'a BizOrder> for AuditResult<'a> {
    fn from(order: &'a BizOrder) -> Self {
        AuditResult {
            apply_id: &order.apply_id,
            status: order.status,
            shop_id: order.shop_id(),
            result_code: order.result_code.as_deref(),
            result_desc: order.result_desc.as_deref(),
        }
    }
}

/// Apply one order's state to the audit store.
pub fn record_order(
    db: &AuditDb,
    clock: &SharedClock,
    order: &BizOrder,
) -> Result<Option<AppStatus>, RunError> {
    record_result(db, clock, &AuditResult::from(order))
}

/// Apply one application's state to the audit store: `None` when the application is not
/// one of ours.
pub fn record_result(
    db: &AuditDb,
    clock: &SharedClock,
    order: &AuditResult<'_>,
) -> Result<Option<AppStatus>, RunError> {
    let Some(app) = db.application(order.apply_id)? else {
        return Ok(None);
    };
    let status = match order.status {
        Some(OrderStatus::Success) => AppStatus::Success,
        Some(OrderStatus::Fail) => AppStatus::Failed,
        _ => return Ok(Some(AppStatus::Pending)),
    };
    let shop_id = order.shop_id.clone().or(app.shop_id.clone());
    let changed = db.finish_application(
        order.apply_id,
        status,
        shop_id.as_ref(),
        order.result_code,
        order.result_desc,
        clock.now(),
    )?;
    if changed && status == AppStatus::Success {
        if let Some(shop_id) = &shop_id {
            if app.kind == WriteKind::Create {
                if let Err(e) = db.set_mapping(&app.store_id, shop_id, "created", clock.now()) {
                    warn!(store_id = %app.store_id, shop_id = %shop_id, error = %e, "Cannot map the created shop.");
                }
            }
        }
        db.set_accepted_values(&app.store_id, &accepted_from(&app.fields), clock.now())?;
        info!(store_id = %app.store_id, apply_id = %order.apply_id, "Application approved.");
    } else if changed {
        warn!(
            store_id = %app.store_id,
            apply_id = %order.apply_id,
            result_code = order.result_code.unwrap_or("-"),
            result_desc = order.result_desc.unwrap_or("-"),
            "Application rejected by Alipay's audit."
        );
    }
    Ok(Some(status))
}

/// Query every pending application (≤100 per call) and record what changed.
pub async fn refresh_pending(
    api: &dyn ShopApi,
    db: &AuditDb,
    clock: &SharedClock,
    max_attempts: u32,
) -> Result<Refreshed, RunError> {
    let pending = db.pending_applications()?;
    let mut out = Refreshed::default();
    if pending.is_empty() {
        return Ok(out);
    }
    let ids: Vec<ApplyId> = pending.iter().map(|a| a.apply_id.clone()).collect();
    // One retry scope per call (≤100 ids), so a throttled chunk does not redo the others.
    let mut orders = Vec::new();
    for chunk in ids.chunks(crate::alipay::koubei::MAX_PAGE_SIZE as usize) {
        orders.extend(read_with_retries(max_attempts, || api.applications(chunk)).await?);
    }
    for order in &orders {
        match record_order(db, clock, order)? {
            Some(AppStatus::Success) => out.succeeded += 1,
            Some(AppStatus::Failed) => out.failed += 1,
            Some(AppStatus::Pending) => out.still_pending += 1,
            None => {}
        }
    }
    Ok(out)
}

/// Does this order carry our write? Matched on the caller's request_id inside
/// `biz_context_info` when present, else on the store_id (creates) and the same fields.
fn order_matches(order: &BizOrder, action: &ActionRow) -> bool {
    let Some(ctx) = order.biz_context_info.as_deref() else {
        return false;
    };
    let Ok(ctx) = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(ctx) else {
        return false;
    };
    let get = |k: &str| ctx.get(k).and_then(|v| v.as_str());
    if let Some(rid) = get("request_id") {
        return action.request_id == rid;
    }
    let same_target = match action.kind {
        WriteKind::Create => get("store_id") == Some(action.store_id.as_str()),
        WriteKind::Modify => order.biz_id.as_deref() == action.shop_id.as_deref(),
    };
    same_target
        && action
            .fields
            .iter()
            .all(|(k, v)| get(k) == Some(v.as_str()))
}

/// Resolve every write whose outcome is unknown (or whose process died before recording
/// it). Found → accepted (and followed as an application); confirmed absent → not
/// applied, so the store is planned again. A write that cannot be confirmed either way
/// stays unknown and keeps its store blocked. Returns (resolved, still unknown).
pub async fn resolve_unknown(
    api: &dyn ShopApi,
    db: &AuditDb,
    clock: &SharedClock,
    max_attempts: u32,
) -> Result<(u64, u64), RunError> {
    let unresolved = db.unresolved_actions()?;
    if unresolved.is_empty() {
        return Ok((0, 0));
    }
    let earliest = unresolved
        .iter()
        .map(|a| a.intent_at)
        .min()
        .unwrap_or_else(|| clock.now());
    let start = timestamp::format(earliest - ChronoDuration::minutes(10));
    let end = timestamp::format(clock.now() + ChronoDuration::minutes(10));
    let mut orders = Vec::new();
    for kind in [WriteKind::Create, WriteKind::Modify] {
        match read_with_retries(max_attempts, || {
            api.applications_between(kind, &start, &end)
        })
        .await
        {
            Ok(found) => orders.extend(found),
            Err(e) => {
                warn!(error = %e, "Cannot list recent applications; unknown writes stay unresolved.");
                return Ok((0, unresolved.len() as u64));
            }
        }
    }
    let map = db.shop_map()?;
    let (mut resolved, mut left) = (0, 0);
    for action in &unresolved {
        if let Some(order) = orders.iter().find(|o| order_matches(o, action)) {
            let outcome = Outcome::Accepted {
                apply_id: order.apply_id.clone(),
                audit_status: order.status.map(|s| s.as_str().to_string()),
            };
            db.resolve_action(
                action.id,
                &outcome,
                "found by applyorder.batchquery",
                clock.now(),
            )?;
            if db.application(&order.apply_id)?.is_none() {
                db.add_application(
                    &NewApplication {
                        apply_id: &order.apply_id,
                        store_id: &action.store_id,
                        shop_id: action.shop_id.as_ref(),
                        kind: action.kind,
                        request_id: &action.request_id,
                        action_id: Some(action.id),
                        fields: &action.fields,
                    },
                    action.intent_at,
                )?;
            }
            record_order(db, clock, order)?;
            info!(store_id = %action.store_id, request_id = %action.request_id, apply_id = %order.apply_id, "Unknown outcome resolved: the write was applied.");
            resolved += 1;
        } else if action.kind == WriteKind::Create && map.contains_key(&action.store_id) {
            db.resolve_action(
                action.id,
                &Outcome::NotApplied {
                    reason: "the store already has a shop".into(),
                },
                "shop found through summary + querydetail",
                clock.now(),
            )?;
            resolved += 1;
        } else {
            db.resolve_action(
                action.id,
                &Outcome::NotApplied {
                    reason: "no application with this request was found".into(),
                },
                "confirmed absent by applyorder.batchquery",
                clock.now(),
            )?;
            info!(store_id = %action.store_id, request_id = %action.request_id, "Unknown outcome resolved: the write was not applied.");
            resolved += 1;
        }
    }
    let _ = &mut left;
    Ok((resolved, left))
}
