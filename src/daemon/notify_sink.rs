//! Where verified audit notifications go: recorded in the audit store and applied to the
//! application they name (the same path as a poll of applyorder.batchquery).

use std::collections::BTreeMap;
use std::sync::Arc;

use tracing::{info, warn};

use super::health::Metrics;
use super::notify_listener::{AuditNotification, NotificationSink};
use crate::audit::{AuditDb, NotificationRecord};
use crate::clock::SharedClock;
use crate::sync::confirm::{apply_notification, owner_of};

/// Records verified notifications in the audit store and applies them to the application
/// they name (the same path as a poll of applyorder.batchquery).
pub struct AuditSink {
    pub db: Arc<AuditDb>,
    pub clock: SharedClock,
    pub metrics: Option<Arc<Metrics>>,
}

fn record_of(n: &AuditNotification) -> NotificationRecord {
    let mut fields = BTreeMap::new();
    let mut put = |k: &str, v: Option<&str>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            fields.insert(k.to_string(), v.to_string());
        }
    };
    put("notify_id", Some(&n.notify_id));
    put("notify_type", Some(&n.notify_type));
    put("biz_type", Some(&n.biz_type));
    put("apply_id", Some(&n.apply_id));
    put("request_id", Some(&n.request_id));
    put("audit_status", Some(n.audit_status.as_str()));
    put("shop_id", n.shop_id.as_deref());
    put("result_code", n.result_code.as_deref());
    put("result_desc", n.result_desc.as_deref());
    NotificationRecord {
        notify_id: n.notify_id.clone(),
        notify_time: Some(crate::alipay::timestamp::format(n.notify_time)),
        notify_type: Some(n.notify_type.clone()),
        biz_type: Some(n.biz_type.clone()),
        apply_id: Some(n.apply_id.clone()),
        request_id: Some(n.request_id.clone()),
        shop_id: n.shop_id.clone(),
        audit_status: Some(n.audit_status.as_str().to_string()),
        result_code: n.result_code.clone(),
        result_desc: n.result_desc.clone(),
        fields,
    }
}

impl NotificationSink for AuditSink {
    fn record(&self, n: &AuditNotification) -> anyhow::Result<()> {
        let record = record_of(n);
        // The listener is the app's: the notification goes to the merchant whose write it
        // answers (ISV mode), or to the implicit merchant.
        let all = self.db.all_merchants();
        let owner = owner_of(&all, &record)?.unwrap_or_default();
        let db = self.db.for_merchant(&owner);
        let new = db.record_notification(&record, self.clock.now())?;
        if let Some(m) = &self.metrics {
            m.record_notification();
        }
        if !new {
            info!(notify_id = %n.notify_id, "Duplicate notification ignored.");
            return Ok(());
        }
        match apply_notification(&db, &self.clock, &record)? {
            Some(status) => {
                info!(merchant = %owner, apply_id = %n.apply_id, status = ?status, "Audit notification applied.")
            }
            None => {
                warn!(apply_id = %n.apply_id, "Audit notification for an application shopsync did not send; recorded only.")
            }
        }
        Ok(())
    }
}
