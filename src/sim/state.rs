//! The simulator's in-memory world: shops, apply orders, used request ids, issued images,
//! forced outcomes and the notification log. Also the serialisable snapshots of it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::Serialize;

use super::fixtures::PRELOADED_IMAGES;
use super::ids;
use super::ForcedOutcome;
use crate::alipay::timestamp::china;

/// The merchant acting when the request has no `app_auth_token`.
pub const OWN_MERCHANT: &str = "2088000000000001";
/// The merchant every accepted `app_auth_token` acts for.
pub const TOKEN_MERCHANT: &str = "2088000000000002";

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
    pub images: Vec<String>,
}

pub struct State {
    pub shops: BTreeMap<String, SimShop>,
    pub orders: BTreeMap<String, SimOrder>,
    pub request_ids: HashSet<String>,
    pub images: BTreeSet<String>,
    pub forced: HashMap<String, ForcedOutcome>,
    pub notifications: Vec<SentNotification>,
    pub rng: StdRng,
    pub(super) serial_shop: u64,
    pub(super) serial_apply: u64,
    pub(super) serial_internal: u64,
}

impl State {
    pub fn new(seed: u64) -> Self {
        Self {
            shops: BTreeMap::new(),
            orders: BTreeMap::new(),
            request_ids: HashSet::new(),
            images: PRELOADED_IMAGES.iter().map(|s| s.to_string()).collect(),
            forced: HashMap::new(),
            notifications: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
            serial_shop: 0,
            serial_apply: 0,
            serial_internal: 0,
        }
    }

    pub fn new_shop_id(&mut self, now: DateTime<Utc>) -> String {
        self.serial_shop += 1;
        ids::long_id(now, ids::KIND_SHOP, self.serial_shop)
    }

    pub fn new_apply_id(&mut self, now: DateTime<Utc>) -> String {
        self.serial_apply += 1;
        ids::long_id(now, ids::KIND_APPLY, self.serial_apply)
    }

    pub fn new_internal_request_id(&mut self, now: DateTime<Utc>) -> String {
        self.serial_internal += 1;
        ids::internal_request_id(now, self.serial_internal)
    }

    /// Approved shops of a merchant in listing order (`gmt_create`, then `shop_id`).
    pub fn merchant_shops(&self, merchant: &str) -> Vec<&SimShop> {
        let mut v: Vec<&SimShop> = self
            .shops
            .values()
            .filter(|s| s.merchant_id == merchant)
            .collect();
        v.sort_by(|a, b| {
            a.gmt_create
                .cmp(&b.gmt_create)
                .then(a.shop_id.cmp(&b.shop_id))
        });
        v
    }

    pub fn snapshot(&self, now: DateTime<Utc>) -> SimState {
        let mut shops: Vec<SimShop> = self.shops.values().cloned().collect();
        shops.sort_by(|a, b| {
            a.gmt_create
                .cmp(&b.gmt_create)
                .then(a.shop_id.cmp(&b.shop_id))
        });
        SimState {
            now,
            shops,
            orders: self.orders.values().cloned().collect(),
            images: self.images.iter().cloned().collect(),
        }
    }
}
