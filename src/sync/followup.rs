//! Following applications through Alipay's audit: refresh the pending ones
//! (applyorder.batchquery by apply id, every page retried alone) and record what a poll or
//! a notification says of one (docs/protocol.md §4.6, §5). Writes whose outcome is unknown
//! are confirmed in [`super::confirm`].

use std::collections::BTreeMap;

use tracing::{info, warn};

use crate::alipay::koubei::{BizOrder, OrderQuery, OrderStatus, MAX_PAGE_SIZE};
use crate::alipay::retry::read_with_retries;
use crate::alipay::{AlipayError, ShopApi};
use crate::audit::{AppStatus, AuditDb};
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
pub fn accepted_from(fields: &BTreeMap<String, String>) -> BTreeMap<String, String> {
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

/// Every order `query` matches: page after page, each page retried alone with the budget
/// of any read (an unverifiable page 3 is asked again, not pages 1 and 2).
pub async fn all_orders(
    api: &dyn ShopApi,
    query: OrderQuery<'_>,
    max_attempts: u32,
) -> Result<Vec<BizOrder>, AlipayError> {
    let mut out = Vec::new();
    let mut page_no = 1u64;
    loop {
        let page = read_with_retries(max_attempts, || api.application_page(query, page_no)).await?;
        let done = page.biz_order_infos.is_empty() || page_no >= page.total_page_no;
        out.extend(page.biz_order_infos);
        if done {
            return Ok(out);
        }
        page_no += 1;
    }
}

/// Query every pending application whose apply id is known (≤100 per call) and record
/// what changed. Placeholders of applications not identified yet are settled by
/// [`super::confirm`].
pub async fn refresh_pending(
    api: &dyn ShopApi,
    db: &AuditDb,
    clock: &SharedClock,
    max_attempts: u32,
) -> Result<Refreshed, RunError> {
    let pending = db.pending_applications()?;
    let mut out = Refreshed::default();
    let ids: Vec<ApplyId> = pending
        .iter()
        .map(|a| a.apply_id.clone())
        .filter(ApplyId::is_identified)
        .collect();
    out.still_pending = (pending.len() - ids.len()) as u64;
    if ids.is_empty() {
        return Ok(out);
    }
    let mut orders = Vec::new();
    for chunk in ids.chunks(MAX_PAGE_SIZE as usize) {
        orders.extend(all_orders(api, OrderQuery::Ids(chunk), max_attempts).await?);
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
