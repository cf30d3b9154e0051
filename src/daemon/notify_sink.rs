//! Where verified audit notifications go: recorded in the audit store and applied to the
//! application they name (the same path as a poll of applyorder.batchquery).

use std::sync::Arc;

use tracing::{info, warn};

use super::health::Metrics;
use super::notify_listener::{AuditNotification, AuditStatus, NotificationSink};
use crate::alipay::shop::BizOrder;
use crate::audit::{AuditDb, NotificationRecord};
use crate::clock::SharedClock;

/// Records verified notifications in the audit store and applies them to the application
/// they name (the same path as a poll of applyorder.batchquery).
pub struct AuditSink {
    pub db: Arc<AuditDb>,
    pub clock: SharedClock,
    pub metrics: Option<Arc<Metrics>>,
}

impl NotificationSink for AuditSink {
    fn record(&self, n: &AuditNotification) -> anyhow::Result<()> {
        let mut form = std::collections::BTreeMap::new();
        form.insert("notify_id".to_string(), n.notify_id.clone());
        form.insert("notify_type".to_string(), n.notify_type.clone());
        form.insert("biz_type".to_string(), n.biz_type.clone());
        form.insert("apply_id".to_string(), n.apply_id.clone());
        form.insert("request_id".to_string(), n.request_id.clone());
        form.insert(
            "audit_status".to_string(),
            n.audit_status.as_str().to_string(),
        );
        if let Some(s) = &n.shop_id {
            form.insert("shop_id".to_string(), s.clone());
        }
        if let Some(s) = &n.result_code {
            form.insert("result_code".to_string(), s.clone());
        }
        if let Some(s) = &n.result_desc {
            form.insert("result_desc".to_string(), s.clone());
        }
        let mut record = NotificationRecord::from_form(&form)
            .ok_or_else(|| anyhow::anyhow!("notification without notify_id"))?;
        record.notify_time = Some(crate::alipay::timestamp::format(n.notify_time));
        let new = self.db.record_notification(&record, self.clock.now())?;
        if let Some(m) = &self.metrics {
            m.record_notification();
        }
        if !new {
            info!(notify_id = %n.notify_id, "Duplicate notification ignored.");
            return Ok(());
        }
        let order = BizOrder {
            apply_id: n.apply_id.clone(),
            action: None,
            biz_type: Some("SHOP".into()),
            biz_id: n.shop_id.clone(),
            biz_context_info: None,
            status: Some(
                match n.audit_status {
                    AuditStatus::Success => "SUCCESS",
                    AuditStatus::Failed => "FAIL",
                }
                .into(),
            ),
            sub_status: Some("FINISH".into()),
            result_code: n.result_code.clone(),
            result_desc: n.result_desc.clone(),
            create_time: None,
            update_time: None,
        };
        match crate::sync::followup::record_order(&self.db, &self.clock, &order)? {
            Some(status) => {
                info!(apply_id = %n.apply_id, status = ?status, "Audit notification applied.")
            }
            None => {
                warn!(apply_id = %n.apply_id, "Audit notification for an application shopsync did not send; recorded only.")
            }
        }
        Ok(())
    }
}
