//! Placeholder applications (accepted writes whose application is not identified yet):
//! identified by a channel, settled by their shop, or presumed rejected after
//! `[sync] unidentified_after`.

use tracing::{info, warn};

use crate::alipay::koubei::{BizOrder, OrderStatus};
use crate::alipay::retry::read_with_retries;
use crate::alipay::ShopApi;
use crate::audit::{AppStatus, Application, AuditDb};
use crate::clock::SharedClock;
use crate::ids::{ApplyId, ShopId};
use crate::record::WriteKind;
use crate::sync::followup::{record_order, record_result, AuditResult};
use crate::sync::RunError;

use super::notification::{notified, result_of};
use super::{shows_values, ConfirmSettings, Evidence, UNIDENTIFIED_CODE};

pub(super) fn finish_placeholder(
    db: &AuditDb,
    clock: &SharedClock,
    placeholder: &ApplyId,
    status: AppStatus,
    shop_id: Option<&ShopId>,
    code: Option<&str>,
    desc: Option<&str>,
) -> Result<(), RunError> {
    let order_status = match status {
        AppStatus::Success => Some(OrderStatus::Success),
        AppStatus::Failed => Some(OrderStatus::Fail),
        AppStatus::Pending => None,
    };
    record_result(
        db,
        clock,
        &AuditResult {
            apply_id: placeholder,
            status: order_status,
            shop_id: shop_id.cloned(),
            result_code: code,
            result_desc: desc,
        },
    )?;
    Ok(())
}

/// Identify or settle one placeholder application. `true` when something changed.
pub(super) async fn settle_placeholder(
    api: &dyn ShopApi,
    db: &AuditDb,
    clock: &SharedClock,
    settings: &ConfirmSettings,
    app: &Application,
    listed: Option<&&BizOrder>,
    evidence: &Evidence,
) -> Result<bool, RunError> {
    if let Some(n) = notified(db, &app.request_id)? {
        let apply_id = n.apply_id.clone().expect("filtered on apply_id");
        db.identify_application(&app.apply_id, &apply_id)?;
        record_result(db, clock, &result_of(&n))?;
        info!(store_id = %app.store_id, apply_id = %apply_id, "Application identified by its audit notification.");
        return Ok(true);
    }
    if let Some(order) = listed {
        db.identify_application(&app.apply_id, &order.apply_id)?;
        record_order(db, clock, order)?;
        info!(store_id = %app.store_id, apply_id = %order.apply_id, "Application identified in applyorder.batchquery.");
        return Ok(true);
    }
    match app.kind {
        WriteKind::Create => {
            if let Some(shop) = evidence.map.get(&app.store_id) {
                finish_placeholder(
                    db,
                    clock,
                    &app.apply_id,
                    AppStatus::Success,
                    Some(shop),
                    None,
                    None,
                )?;
                return Ok(true);
            }
            if clock.now() - app.submitted_at >= settings.unidentified_after {
                let days = settings.unidentified_after.num_days();
                let desc = format!(
                    "Alipay accepted this create (SHOP_CREATE_REPEAT_REQUEST) but its application could not be identified and no shop appeared within {days} days; presumably rejected by the audit: check the shop in the merchant portal"
                );
                finish_placeholder(
                    db,
                    clock,
                    &app.apply_id,
                    AppStatus::Failed,
                    None,
                    Some(UNIDENTIFIED_CODE),
                    Some(&desc),
                )?;
                warn!(store_id = %app.store_id, request_id = %app.request_id, days, "A create accepted but never identified is presumed rejected by the audit.");
                return Ok(true);
            }
            Ok(false)
        }
        WriteKind::Modify => {
            let Some(shop) = app.shop_id.as_ref() else {
                return Ok(false);
            };
            let detail = match read_with_retries(settings.max_attempts, || {
                api.shop_detail(shop, settings.op_role.as_deref())
            })
            .await
            {
                Ok(d) => d,
                Err(e) => {
                    warn!(store_id = %app.store_id, error = %e, "Cannot read the shop to settle a modify.");
                    return Ok(false);
                }
            };
            match detail.audit_status.as_deref() {
                Some("AUDITING") => Ok(false),
                _ if shows_values(&detail, &app.fields) => {
                    finish_placeholder(
                        db,
                        clock,
                        &app.apply_id,
                        AppStatus::Success,
                        None,
                        None,
                        None,
                    )?;
                    Ok(true)
                }
                Some("AUDIT_FAILED") => {
                    let desc = detail
                        .audit_desc
                        .as_deref()
                        .unwrap_or("rejected by the audit");
                    finish_placeholder(
                        db,
                        clock,
                        &app.apply_id,
                        AppStatus::Failed,
                        None,
                        Some("AUDIT_FAILED"),
                        Some(desc),
                    )?;
                    Ok(true)
                }
                _ => {
                    finish_placeholder(
                        db,
                        clock,
                        &app.apply_id,
                        AppStatus::Failed,
                        None,
                        Some(UNIDENTIFIED_CODE),
                        Some("querydetail shows neither the values sent nor an audit in progress"),
                    )?;
                    Ok(true)
                }
            }
        }
    }
}
