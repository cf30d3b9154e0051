//! Audit notifications as a confirmation channel: they echo our `request_id`; which
//! merchant one belongs to; applying one to the application or write it answers.

use crate::alipay::koubei::OrderStatus;
use crate::audit::{ActionRow, AppStatus, AuditDb, NotificationRecord};
use crate::clock::SharedClock;
use crate::ids::RequestId;
use crate::sync::followup::{record_result, AuditResult};
use crate::sync::RunError;

use super::applied;

/// The newest notification that echoes this request id and names an application.
pub(super) fn notified(
    db: &AuditDb,
    request_id: &RequestId,
) -> Result<Option<NotificationRecord>, RunError> {
    Ok(db
        .notifications_for_request(request_id)?
        .into_iter()
        .rev()
        .find(|n| n.apply_id.is_some()))
}

/// A notification's result, as a poll would give it.
pub(super) fn result_of(n: &NotificationRecord) -> AuditResult<'_> {
    AuditResult {
        apply_id: n.apply_id.as_ref().expect("filtered on apply_id"),
        status: match n.audit_status.as_deref() {
            Some("AUDIT_SUCCESS") => Some(OrderStatus::Success),
            Some("AUDIT_FAILED") => Some(OrderStatus::Fail),
            _ => None,
        },
        shop_id: n.shop_id.clone(),
        result_code: n.result_code.as_deref(),
        result_desc: n.result_desc.as_deref(),
    }
}

/// The merchant a notification belongs to: the owner of the application it names, or of
/// the write that sent its `request_id`, or of the shop it names. `None`: none of ours.
/// `db` may see every merchant (the daemon's listener is the app's).
pub fn owner_of(db: &AuditDb, n: &NotificationRecord) -> Result<Option<String>, RunError> {
    if let Some(apply_id) = &n.apply_id {
        if let Some(app) = db.application(apply_id)? {
            return Ok(Some(app.merchant));
        }
    }
    if let Some(request_id) = &n.request_id {
        if let Some(app) = db.application_by_request_id(request_id)? {
            return Ok(Some(app.merchant));
        }
        if let Some(action) = db.action_by_request_id(request_id)? {
            return Ok(Some(action.merchant));
        }
    }
    Ok(None)
}

/// Apply a verified audit notification: to the application it names, or (its apply id
/// unknown to us) to the write that sent its `request_id`: a placeholder application is
/// identified, an unknown write is resolved as applied. `None` when no write of ours
/// sent this request. `db` sees the notification's merchant ([`owner_of`]).
pub fn apply_notification(
    db: &AuditDb,
    clock: &SharedClock,
    n: &NotificationRecord,
) -> Result<Option<AppStatus>, RunError> {
    let Some(apply_id) = n.apply_id.as_ref() else {
        return Ok(None);
    };
    if db.application(apply_id)?.is_none() {
        if let Some(request_id) = &n.request_id {
            if let Some(app) = db.application_by_request_id(request_id)? {
                if !app.apply_id.is_identified() {
                    db.identify_application(&app.apply_id, apply_id)?;
                }
            } else if let Some(action) = db
                .actions_for_request(request_id)?
                .into_iter()
                .rev()
                .find(ActionRow::is_unresolved)
            {
                applied(
                    db,
                    clock,
                    &action,
                    apply_id,
                    None,
                    "identified by the audit notification (it echoes the request_id)",
                )?;
            }
        }
    }
    record_result(db, clock, &result_of(n))
}
