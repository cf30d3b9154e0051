//! The simulator's in-memory world: shops, apply orders, used request ids, issued images,
//! forced outcomes and the notification log. Also the serialisable snapshots of it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::Serialize;

use super::config::ForcedOutcome;
use super::fixtures::PRELOADED_IMAGES;
use super::ids;
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
    /// Approved shops by shop_id. Add them with [`State::insert_shop`] /
    /// [`State::replace_shops`], which keep `listing` in step.
    pub shops: BTreeMap<String, SimShop>,
    /// `(merchant_id, gmt_create, shop_id)` of every shop, in listing order, so a summary
    /// page does not sort the whole account (a 20k-shop account is paged 200 times).
    listing: BTreeSet<(String, DateTime<Utc>, String)>,
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
            listing: BTreeSet::new(),
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

    /// Add (or replace) an approved shop.
    pub fn insert_shop(&mut self, shop: SimShop) {
        if let Some(old) = self.shops.get(&shop.shop_id) {
            self.listing
                .remove(&(old.merchant_id.clone(), old.gmt_create, old.shop_id.clone()));
        }
        self.listing.insert((
            shop.merchant_id.clone(),
            shop.gmt_create,
            shop.shop_id.clone(),
        ));
        self.shops.insert(shop.shop_id.clone(), shop);
    }

    /// Replace every shop (loading a snapshot).
    pub fn replace_shops(&mut self, shops: impl IntoIterator<Item = SimShop>) {
        self.shops.clear();
        self.listing.clear();
        for shop in shops {
            self.insert_shop(shop);
        }
    }

    /// Shop ids of a merchant in listing order, or None when `listing` is out of step.
    fn listed_ids<'a>(&'a self, merchant: &'a str) -> Option<impl Iterator<Item = &'a str>> {
        if self.listing.len() != self.shops.len() {
            return None;
        }
        let from = (
            merchant.to_string(),
            DateTime::<Utc>::MIN_UTC,
            String::new(),
        );
        Some(
            self.listing
                .range(from..)
                .take_while(move |(m, _, _)| m == merchant)
                .map(|(_, _, id)| id.as_str()),
        )
    }

    /// How many shops a merchant has, and the `take` of them after `skip`, in listing
    /// order: one page of an unfiltered listing without touching the other shops.
    pub fn merchant_page(
        &self,
        merchant: &str,
        skip: usize,
        take: usize,
    ) -> (usize, Vec<&SimShop>) {
        match self.listed_ids(merchant) {
            Some(ids) => {
                let mut total = 0;
                let mut page = Vec::new();
                for id in ids {
                    if total >= skip && page.len() < take {
                        page.extend(self.shops.get(id));
                    }
                    total += 1;
                }
                (total, page)
            }
            None => {
                let all = self.merchant_shops(merchant);
                let page = all.iter().skip(skip).take(take).copied().collect();
                (all.len(), page)
            }
        }
    }

    /// Approved shops of a merchant in listing order (`gmt_create`, then `shop_id`).
    pub fn merchant_shops(&self, merchant: &str) -> Vec<&SimShop> {
        if let Some(ids) = self.listed_ids(merchant) {
            return ids.filter_map(|id| self.shops.get(id)).collect();
        }
        // A shop was added around insert_shop: sort (same order, just slower).
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

#[cfg(test)]
mod tests {
    use super::*;

    fn shop(id: &str, merchant: &str, minute: i64) -> SimShop {
        let at = DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::minutes(minute);
        SimShop {
            shop_id: id.into(),
            store_id: format!("S-{id}"),
            merchant_id: merchant.into(),
            status: "OPEN".into(),
            audit_status: "AUDIT_SUCCESS".into(),
            audit_desc: None,
            is_online: "T".into(),
            is_show: "T".into(),
            fields: BTreeMap::new(),
            pending_modify: None,
            gmt_create: at,
            gmt_modified: at,
        }
    }

    fn ids(shops: &[&SimShop]) -> Vec<String> {
        shops.iter().map(|s| s.shop_id.clone()).collect()
    }

    #[test]
    fn pages_follow_listing_order_per_merchant_with_or_without_the_index() {
        let mut st = State::new(1);
        // Inserted out of order; "b" and "c" created in the same minute (shop_id breaks the tie).
        for (id, m, minute) in [
            ("c", "M1", 2),
            ("a", "M1", 3),
            ("x", "M2", 0),
            ("b", "M1", 2),
        ] {
            st.insert_shop(shop(id, m, minute));
        }
        st.insert_shop(shop("a", "M1", 1)); // replaced: now the oldest
        assert_eq!(ids(&st.merchant_shops("M1")), ["a", "b", "c"]);
        let (total, page) = st.merchant_page("M1", 1, 5);
        assert_eq!(
            (total, ids(&page)),
            (3, vec!["b".to_string(), "c".to_string()])
        );
        assert_eq!(ids(&st.merchant_page("M1", 0, 2).1), ["a", "b"]);
        assert_eq!(st.merchant_page("M1", 3, 2).1.len(), 0);
        assert_eq!(ids(&st.merchant_page("M2", 0, 100).1), ["x"]);
        assert_eq!(st.merchant_page("M0", 0, 100).0, 0);
        // A shop added behind the index's back: same answers, by sorting.
        st.shops.insert("0".into(), shop("0", "M1", 0));
        assert_eq!(ids(&st.merchant_shops("M1")), ["0", "a", "b", "c"]);
        assert_eq!(ids(&st.merchant_page("M1", 1, 2).1), ["a", "b"]);
        assert_eq!(st.merchant_page("M1", 0, 1).0, 4);
        // Reloading (a snapshot) rebuilds the index.
        let all: Vec<SimShop> = st.shops.values().cloned().collect();
        st.replace_shops(all);
        assert_eq!(ids(&st.merchant_page("M1", 0, 10).1), ["0", "a", "b", "c"]);
    }
}
