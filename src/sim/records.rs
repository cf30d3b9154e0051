//! What the simulated Alipay holds, as the handle and `/__sim/state` show it: approved
//! shops, applications, notifications with their delivery state.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::alipay::timestamp::china;

/// Times in snapshots: `yyyy-MM-dd HH:mm:ss.SSS`, UTC+8.
fn ser_time<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(
        &t.with_timezone(&china())
            .format("%Y-%m-%d %H:%M:%S%.3f")
            .to_string(),
    )
}

fn ser_opt_time<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => ser_time(t, s),
        None => s.serialize_none(),
    }
}

/// An approved shop (it has a shop id).
#[derive(Debug, Clone, Serialize)]
pub struct SimShop {
    pub shop_id: String,
    pub store_id: String,
    pub merchant_id: String,
    /// `OPEN`, `PAUSE`, `FREEZE` or `CLOSE`.
    pub status: String,
    /// `AUDITING`, `AUDIT_SUCCESS` or `AUDIT_FAILED`.
    pub audit_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_desc: Option<String>,
    pub is_online: String,
    pub is_show: String,
    /// Current approved values by wire name (absent fields are not in the map).
    pub fields: BTreeMap<String, String>,
    /// The apply id of a review-triggering modify under audit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_modify: Option<String>,
    #[serde(serialize_with = "ser_time")]
    pub gmt_create: DateTime<Utc>,
    #[serde(serialize_with = "ser_time")]
    pub gmt_modified: DateTime<Utc>,
}

/// An application (create or modify).
#[derive(Debug, Clone, Serialize)]
pub struct SimOrder {
    pub apply_id: String,
    /// `CREATE_SHOP` or `MODIFY_SHOP`.
    pub action: String,
    pub merchant_id: String,
    /// `PROCESS`, `SUCCESS` or `FAIL`.
    pub status: String,
    /// `RISK_AUDITING` or `FINISH`.
    pub sub_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub biz_id: Option<String>,
    /// The caller's request id.
    pub request_id: String,
    /// The simulator's own 16-digit id (what applyorder shows as `request_id`).
    pub internal_request_id: String,
    pub store_id: String,
    /// The submitted business parameters, exactly as received (`biz_context_info`).
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Modify: field → new value (`None` = cleared by `#EMPTY#`). Create: all fields.
    pub changes: BTreeMap<String, Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_desc: Option<String>,
    #[serde(serialize_with = "ser_time")]
    pub created: DateTime<Utc>,
    #[serde(serialize_with = "ser_time")]
    pub modified: DateTime<Utc>,
    /// When the audit runs (orders under audit only).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_time"
    )]
    pub audit_due: Option<DateTime<Utc>>,
}

/// A notification and its delivery state.
#[derive(Debug, Clone, Serialize)]
pub struct SentNotification {
    pub notify_id: String,
    pub apply_id: String,
    pub url: String,
    /// The form fields sent, `sign` and `sign_type` included.
    pub form: Vec<(String, String)>,
    pub attempts: u32,
    pub delivered: bool,
    pub gave_up: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(skip)]
    pub next_attempt: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub in_flight: bool,
}

/// A snapshot of the whole state.
#[derive(Debug, Clone, Serialize)]
pub struct SimState {
    #[serde(serialize_with = "ser_time")]
    pub now: DateTime<Utc>,
    /// Approved shops, ordered by `gmt_create` then `shop_id`.
    pub shops: Vec<SimShop>,
    pub orders: Vec<SimOrder>,
    /// Image ids issued by image.upload, per merchant.
    pub images: BTreeMap<String, Vec<String>>,
}
