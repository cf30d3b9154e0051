//! The time-window listing of applications and the one-to-one pairing of its orders with
//! our open writes (channel 3 of the module doc).

use std::collections::{HashMap, HashSet};

use chrono::Duration as ChronoDuration;
use tracing::warn;

use crate::alipay::koubei::{BizOrder, OrderQuery};
use crate::alipay::{timestamp, ShopApi};
use crate::audit::AuditDb;
use crate::clock::SharedClock;
use crate::record::WriteKind;
use crate::sync::followup::all_orders;
use crate::sync::RunError;

use super::Open;

/// How far an application's `create_time` may be from our send (clock skew, queueing).
const MATCH_WINDOW_MINUTES: i64 = 10;

/// applyorder.batchquery answers only for the last 3 months.
const LISTING_DAYS: i64 = 89;

/// The time-window listing of the kinds the open writes have, minus the orders our
/// writes already claim. A listing that cannot be read is logged and skipped: the other
/// channels still work, and "not listed" never decides anything.
pub(super) async fn listing(
    api: &dyn ShopApi,
    db: &AuditDb,
    clock: &SharedClock,
    opens: &[Open<'_>],
    max_attempts: u32,
) -> Result<Option<Vec<BizOrder>>, RunError> {
    let now = clock.now();
    let earliest = opens.iter().map(|o| o.sent_at).min().unwrap_or(now);
    let start = (earliest - ChronoDuration::minutes(MATCH_WINDOW_MINUTES))
        .max(now - ChronoDuration::days(LISTING_DAYS));
    let start = timestamp::format(start);
    let end = timestamp::format(now + ChronoDuration::minutes(MATCH_WINDOW_MINUTES));
    let kinds: HashSet<WriteKind> = opens.iter().map(|o| o.kind).collect();
    let mut orders = Vec::new();
    for kind in [WriteKind::Create, WriteKind::Modify] {
        if !kinds.contains(&kind) {
            continue;
        }
        let query = OrderQuery::Window {
            kind,
            start: &start,
            end: &end,
        };
        match all_orders(api, query, max_attempts).await {
            Ok(found) => orders.extend(found),
            Err(e) => {
                warn!(error = %e, "Cannot list recent applications; confirming unknown writes by the other channels.");
                return Ok(None);
            }
        }
    }
    let known = db.known_apply_ids()?;
    Ok(Some(
        orders
            .into_iter()
            .filter(|o| !known.contains(&o.apply_id))
            .collect(),
    ))
}

/// Does this order fit this write (kind, time, and what `biz_context_info` or `biz_id`
/// say)? Keys an order does not carry are not held against it; a key it carries must agree.
pub(super) fn fits(order: &BizOrder, open: &Open<'_>) -> bool {
    if order.kind() != Some(open.kind) {
        return false;
    }
    let Some(created) = order.create_time.as_deref().and_then(timestamp::parse) else {
        return false;
    };
    if (created - open.sent_at).num_minutes().abs() > MATCH_WINDOW_MINUTES {
        return false;
    }
    if open.kind == WriteKind::Modify {
        return match (order.shop_id(), open.shop_id) {
            (Some(listed), Some(ours)) => &listed == ours,
            _ => false,
        };
    }
    let ctx: serde_json::Map<String, serde_json::Value> = order
        .biz_context_info
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_default();
    ctx.iter().all(|(k, v)| {
        let Some(v) = v.as_str() else { return true };
        match k.as_str() {
            "store_id" => v == open.store_id.as_str(),
            "request_id" => v == open.request_id.as_str(),
            _ => match open.fields.get(k) {
                Some(ours) => ours == v,
                None => true,
            },
        }
    })
}

/// Open write index → its order, only where the pairing is one-to-one.
pub(super) fn unique_matches<'o>(
    opens: &[Open<'_>],
    orders: Option<&'o [BizOrder]>,
) -> HashMap<usize, &'o BizOrder> {
    let Some(orders) = orders else {
        return HashMap::new();
    };
    let fits_of: Vec<Vec<usize>> = opens
        .iter()
        .map(|o| {
            orders
                .iter()
                .enumerate()
                .filter(|(_, order)| fits(order, o))
                .map(|(j, _)| j)
                .collect()
        })
        .collect();
    let mut claims: HashMap<usize, usize> = HashMap::new();
    for f in &fits_of {
        for &j in f {
            *claims.entry(j).or_default() += 1;
        }
    }
    fits_of
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match f.as_slice() {
            [j] if claims[j] == 1 => Some((i, &orders[*j])),
            _ => None,
        })
        .collect()
}
