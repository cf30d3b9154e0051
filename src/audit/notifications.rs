//! Audit-result notifications POSTed by Alipay (docs/protocol.md §5), recorded once each
//! (deduplicated by `notify_id`). The receiver verifies the signature before recording.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{params, Row};
use serde::Serialize;

use super::sql::{fields_from_json, fields_to_json, ser, ts, Ts};
use super::{scrub_fields, AuditDb, AuditError};
use crate::ids::{ApplyId, RequestId, ShopId, StoreId};

/// A verified notification, as received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotificationRecord {
    pub notify_id: String,
    /// As sent: `yyyy-MM-dd HH:mm:ss`, UTC+8.
    pub notify_time: Option<String>,
    pub notify_type: Option<String>,
    /// `CREATE_SHOP_AUDIT` / `MODIFY_SHOP_AUDIT`.
    pub biz_type: Option<String>,
    pub apply_id: Option<ApplyId>,
    /// The caller's request_id from the create/modify.
    pub request_id: Option<RequestId>,
    pub shop_id: Option<ShopId>,
    /// `AUDIT_SUCCESS` / `AUDIT_FAILED`.
    pub audit_status: Option<String>,
    pub result_code: Option<String>,
    pub result_desc: Option<String>,
    /// The whole form; `sign` and `sign_type` are dropped when stored.
    pub fields: BTreeMap<String, String>,
}

impl NotificationRecord {
    /// Builds a record from the decoded form; `None` without a `notify_id`. Empty values
    /// count as absent.
    pub fn from_form(form: &BTreeMap<String, String>) -> Option<Self> {
        let get = |k: &str| form.get(k).filter(|v| !v.is_empty()).cloned();
        Some(Self {
            notify_id: get("notify_id")?,
            notify_time: get("notify_time"),
            notify_type: get("notify_type"),
            biz_type: get("biz_type"),
            apply_id: get("apply_id").map(ApplyId::new),
            request_id: get("request_id").map(RequestId::new),
            shop_id: get("shop_id").map(ShopId::new),
            audit_status: get("audit_status"),
            result_code: get("result_code"),
            result_desc: get("result_desc"),
            fields: form.clone(),
        })
    }
}

/// A stored notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotificationRow {
    #[serde(flatten)]
    pub record: NotificationRecord,
    #[serde(serialize_with = "ser::time")]
    pub received_at: DateTime<Utc>,
}

const NOTIFY_COLUMNS: &str =
    "notify_id, notify_time, notify_type, biz_type, apply_id, request_id, \
     shop_id, audit_status, result_code, result_desc, fields_json, received_at";

fn notification_from_row(r: &Row<'_>) -> rusqlite::Result<(NotificationRow, String)> {
    Ok((
        NotificationRow {
            record: NotificationRecord {
                notify_id: r.get(0)?,
                notify_time: r.get(1)?,
                notify_type: r.get(2)?,
                biz_type: r.get(3)?,
                apply_id: r.get(4)?,
                request_id: r.get(5)?,
                shop_id: r.get(6)?,
                audit_status: r.get(7)?,
                result_code: r.get(8)?,
                result_desc: r.get(9)?,
                fields: BTreeMap::new(),
            },
            received_at: r.get::<_, Ts>(11)?.0,
        },
        r.get(10)?,
    ))
}

impl AuditDb {
    /// Records a notification; `false` if one with this `notify_id` was recorded before
    /// (the first copy is kept).
    pub fn record_notification(
        &self,
        n: &NotificationRecord,
        at: DateTime<Utc>,
    ) -> Result<bool, AuditError> {
        let fields = fields_to_json(&scrub_fields(&n.fields), "notifications.fields_json")?;
        self.write(|tx| {
            let inserted = tx.execute(
                "INSERT INTO notifications (notify_id, notify_time, notify_type, biz_type, apply_id,
                     request_id, shop_id, audit_status, result_code, result_desc, fields_json,
                     received_at, merchant)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                 ON CONFLICT (notify_id) DO NOTHING",
                params![
                    n.notify_id,
                    n.notify_time,
                    n.notify_type,
                    n.biz_type,
                    n.apply_id,
                    n.request_id,
                    n.shop_id,
                    n.audit_status,
                    n.result_code,
                    n.result_desc,
                    fields,
                    ts(at),
                    self.merchant()
                ],
            )?;
            Ok(inserted == 1)
        })
    }

    /// The notifications that echo this `request_id` (the caller's), oldest first.
    pub fn notifications_for_request(
        &self,
        request_id: &RequestId,
    ) -> Result<Vec<NotificationRecord>, AuditError> {
        let raws = {
            let conn = self.lock();
            let mut stmt = conn.prepare(&format!(
                "SELECT {NOTIFY_COLUMNS} FROM notifications WHERE request_id = ?1
                 ORDER BY received_at, notify_id"
            ))?;
            let rows = stmt
                .query_map([request_id], notification_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            rows
        };
        raws.into_iter()
            .map(|(mut row, fields)| {
                row.record.fields = fields_from_json(&fields, "notifications.fields_json")?;
                Ok(row.record)
            })
            .collect()
    }

    /// Notifications that concern a store: for one of its applications or requests, or
    /// for its mapped shop; oldest first.
    pub fn notifications_for_store(
        &self,
        store_id: &StoreId,
    ) -> Result<Vec<NotificationRow>, AuditError> {
        let raws = {
            let conn = self.lock();
            let mut stmt = conn.prepare(&format!(
                "SELECT {NOTIFY_COLUMNS} FROM notifications
                 WHERE apply_id IN (SELECT apply_id FROM applications
                                    WHERE store_id = ?1 AND (?2 IS NULL OR merchant = ?2))
                    OR request_id IN (SELECT request_id FROM actions
                                      WHERE store_id = ?1 AND (?2 IS NULL OR merchant = ?2))
                    OR request_id IN (SELECT request_id FROM applications
                                      WHERE store_id = ?1 AND (?2 IS NULL OR merchant = ?2))
                    OR shop_id IN (SELECT shop_id FROM shop_map
                                   WHERE store_id = ?1 AND (?2 IS NULL OR merchant = ?2))
                 ORDER BY received_at, notify_id"
            ))?;
            let rows = stmt
                .query_map(params![store_id, self.only()], notification_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            rows
        };
        raws.into_iter()
            .map(|(mut row, fields)| {
                row.record.fields = fields_from_json(&fields, "notifications.fields_json")?;
                Ok(row)
            })
            .collect()
    }
}
