//! The simulator's in-memory world: shops, apply orders, used request ids, issued images,
//! forced outcomes and the notification log, with the indexes that keep every call's cost
//! independent of the account's size (listing order, store codes, devices, pending
//! creates, due audits). Shops and orders change only through methods that keep the
//! indexes in step.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::config::ForcedOutcome;
use super::ids;
use super::records::{SentNotification, SimOrder, SimShop, SimState};
use super::rules::list;

pub use super::merchants::{OWN_MERCHANT, TOKEN_MERCHANT};
/// A `(merchant, store_id)` pair.
type StoreKey = (String, String);

pub struct State {
    /// Approved shops by shop_id.
    shops: BTreeMap<String, SimShop>,
    /// `(merchant_id, gmt_create, shop_id)` of every shop, in listing order, so a summary
    /// page does not sort the whole account (a 20k-shop account is paged 200 times).
    listing: BTreeSet<(String, DateTime<Utc>, String)>,
    /// Shops per merchant (a page's total without counting the listing).
    per_merchant: HashMap<String, usize>,
    /// Shop ids per `(merchant, store_id)`.
    store_ids: HashMap<StoreKey, BTreeSet<String>>,
    /// Shop ids per device (`implement_id` item).
    devices: HashMap<String, BTreeSet<String>>,
    orders: BTreeMap<String, SimOrder>,
    /// `(audit_due, apply_id)` of every application under audit.
    due: BTreeSet<(DateTime<Utc>, String)>,
    /// Apply ids of the creates under audit per `(merchant, store_id)`.
    pending_creates: HashMap<StoreKey, BTreeSet<String>>,
    pub request_ids: HashSet<String>,
    /// Image ids issued by image.upload, per merchant.
    images: BTreeMap<String, BTreeSet<String>>,
    pub forced: HashMap<String, ForcedOutcome>,
    notifications: Vec<SentNotification>,
    /// Indices of the notifications neither delivered nor given up.
    outbox: BTreeSet<usize>,
    pub rng: StdRng,
    pub(super) serial_shop: u64,
    pub(super) serial_apply: u64,
    pub(super) serial_internal: u64,
}

fn under_audit(o: &SimOrder) -> bool {
    o.status == "PROCESS"
}

impl State {
    pub fn new(seed: u64) -> Self {
        Self {
            shops: BTreeMap::new(),
            listing: BTreeSet::new(),
            per_merchant: HashMap::new(),
            store_ids: HashMap::new(),
            devices: HashMap::new(),
            orders: BTreeMap::new(),
            due: BTreeSet::new(),
            pending_creates: HashMap::new(),
            request_ids: HashSet::new(),
            images: BTreeMap::new(),
            forced: HashMap::new(),
            notifications: Vec::new(),
            outbox: BTreeSet::new(),
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

    pub fn shop(&self, shop_id: &str) -> Option<&SimShop> {
        self.shops.get(shop_id)
    }

    pub fn shops(&self) -> impl Iterator<Item = &SimShop> {
        self.shops.values()
    }

    pub fn shop_count(&self) -> usize {
        self.shops.len()
    }

    fn index_shop(&mut self, s: &SimShop, add: bool) {
        let listed = (s.merchant_id.clone(), s.gmt_create, s.shop_id.clone());
        let store = (s.merchant_id.clone(), s.store_id.clone());
        let devices: Vec<String> = s
            .fields
            .get("implement_id")
            .map(|v| list(v).map(str::to_string).collect())
            .unwrap_or_default();
        let count = self.per_merchant.entry(s.merchant_id.clone()).or_default();
        if add {
            *count += 1;
            self.listing.insert(listed);
            self.store_ids
                .entry(store)
                .or_default()
                .insert(s.shop_id.clone());
            for d in devices {
                self.devices.entry(d).or_default().insert(s.shop_id.clone());
            }
        } else {
            *count -= 1;
            self.listing.remove(&listed);
            if let Some(set) = self.store_ids.get_mut(&store) {
                set.remove(&s.shop_id);
                if set.is_empty() {
                    self.store_ids.remove(&store);
                }
            }
            for d in devices {
                if let Some(set) = self.devices.get_mut(&d) {
                    set.remove(&s.shop_id);
                    if set.is_empty() {
                        self.devices.remove(&d);
                    }
                }
            }
        }
    }

    /// Add (or replace) an approved shop.
    pub fn insert_shop(&mut self, shop: SimShop) {
        if let Some(old) = self.shops.remove(&shop.shop_id) {
            self.index_shop(&old, false);
        }
        self.index_shop(&shop, true);
        self.shops.insert(shop.shop_id.clone(), shop);
    }

    /// Change a shop in place (the indexes follow). `None` when the shop id is unknown.
    pub fn update_shop<R>(
        &mut self,
        shop_id: &str,
        f: impl FnOnce(&mut SimShop) -> R,
    ) -> Option<R> {
        let mut shop = self.shops.remove(shop_id)?;
        self.index_shop(&shop, false);
        let r = f(&mut shop);
        self.index_shop(&shop, true);
        self.shops.insert(shop.shop_id.clone(), shop);
        Some(r)
    }

    /// Replace every shop (loading a snapshot).
    pub fn replace_shops(&mut self, shops: impl IntoIterator<Item = SimShop>) {
        self.shops.clear();
        self.listing.clear();
        self.per_merchant.clear();
        self.store_ids.clear();
        self.devices.clear();
        for shop in shops {
            self.insert_shop(shop);
        }
    }

    /// Shops of `merchant` holding `store_id`.
    pub fn shops_with_store_id<'a>(
        &'a self,
        merchant: &str,
        store_id: &str,
    ) -> impl Iterator<Item = &'a str> {
        self.store_ids
            .get(&(merchant.to_string(), store_id.to_string()))
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// Shops using a device id.
    pub fn shops_with_device<'a>(&'a self, device: &str) -> impl Iterator<Item = &'a str> {
        self.devices
            .get(device)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// Shop ids of a merchant in listing order.
    fn listed_ids<'a>(&'a self, merchant: &'a str) -> impl Iterator<Item = &'a str> {
        let from = (
            merchant.to_string(),
            DateTime::<Utc>::MIN_UTC,
            String::new(),
        );
        self.listing
            .range(from..)
            .take_while(move |(m, _, _)| m == merchant)
            .map(|(_, _, id)| id.as_str())
    }

    /// How many shops a merchant has, and the `take` of them after `skip`, in listing
    /// order: one page of an unfiltered listing without touching the other shops.
    pub fn merchant_page(
        &self,
        merchant: &str,
        skip: usize,
        take: usize,
    ) -> (usize, Vec<&SimShop>) {
        let total = self.per_merchant.get(merchant).copied().unwrap_or(0);
        let page = self
            .listed_ids(merchant)
            .skip(skip)
            .take(take)
            .filter_map(|id| self.shops.get(id))
            .collect();
        (total, page)
    }

    /// Approved shops of a merchant in listing order (`gmt_create`, then `shop_id`).
    pub fn merchant_shops(&self, merchant: &str) -> Vec<&SimShop> {
        self.listed_ids(merchant)
            .filter_map(|id| self.shops.get(id))
            .collect()
    }

    pub fn order(&self, apply_id: &str) -> Option<&SimOrder> {
        self.orders.get(apply_id)
    }

    /// Every order, by apply id (allocation order).
    pub fn orders(&self) -> impl Iterator<Item = &SimOrder> {
        self.orders.values()
    }

    fn index_order(&mut self, o: &SimOrder, add: bool) {
        let due = o
            .audit_due
            .filter(|_| under_audit(o))
            .map(|d| (d, o.apply_id.clone()));
        let pending = (o.action == "CREATE_SHOP" && under_audit(o))
            .then(|| (o.merchant_id.clone(), o.store_id.clone()));
        if add {
            if let Some(d) = due {
                self.due.insert(d);
            }
            if let Some(k) = pending {
                self.pending_creates
                    .entry(k)
                    .or_default()
                    .insert(o.apply_id.clone());
            }
        } else {
            if let Some(d) = due {
                self.due.remove(&d);
            }
            if let Some(k) = pending {
                if let Some(set) = self.pending_creates.get_mut(&k) {
                    set.remove(&o.apply_id);
                    if set.is_empty() {
                        self.pending_creates.remove(&k);
                    }
                }
            }
        }
    }

    pub fn insert_order(&mut self, order: SimOrder) {
        if let Some(old) = self.orders.remove(&order.apply_id) {
            self.index_order(&old, false);
        }
        self.index_order(&order, true);
        self.orders.insert(order.apply_id.clone(), order);
    }

    /// Change an order in place (the indexes follow). `None` when the apply id is unknown.
    pub fn update_order<R>(
        &mut self,
        apply_id: &str,
        f: impl FnOnce(&mut SimOrder) -> R,
    ) -> Option<R> {
        let mut order = self.orders.remove(apply_id)?;
        self.index_order(&order, false);
        let r = f(&mut order);
        self.index_order(&order, true);
        self.orders.insert(order.apply_id.clone(), order);
        Some(r)
    }

    /// Replace every order (loading a snapshot).
    pub fn replace_orders(&mut self, orders: impl IntoIterator<Item = SimOrder>) {
        self.orders.clear();
        self.due.clear();
        self.pending_creates.clear();
        for o in orders {
            self.insert_order(o);
        }
    }

    /// A create of `store_id` by `merchant` is under audit.
    pub fn create_pending(&self, merchant: &str, store_id: &str) -> bool {
        self.pending_creates
            .contains_key(&(merchant.to_string(), store_id.to_string()))
    }

    /// Apply ids of the applications due at `now`, in due order.
    pub fn due_at(&self, now: DateTime<Utc>) -> Vec<String> {
        self.due
            .iter()
            .take_while(|(d, _)| *d <= now)
            .map(|(_, id)| id.clone())
            .collect()
    }

    /// Remember an image id issued to `merchant`.
    pub fn issue_image(&mut self, merchant: &str, id: String) {
        self.images
            .entry(merchant.to_string())
            .or_default()
            .insert(id);
    }

    /// Whether image.upload issued `id` to `merchant`.
    pub fn image_issued(&self, merchant: &str, id: &str) -> bool {
        self.images
            .get(merchant)
            .is_some_and(|ids| ids.contains(id))
    }

    /// Issued image ids per merchant.
    pub fn images(&self) -> &BTreeMap<String, BTreeSet<String>> {
        &self.images
    }

    /// The notification log, in queuing order.
    pub fn notifications(&self) -> &[SentNotification] {
        &self.notifications
    }

    pub fn queue_notification(&mut self, n: SentNotification) {
        if !n.delivered && !n.gave_up {
            self.outbox.insert(self.notifications.len());
        }
        self.notifications.push(n);
    }

    /// Replace the log (loading a snapshot).
    pub fn replace_notifications(&mut self, log: Vec<SentNotification>) {
        self.notifications.clear();
        self.outbox.clear();
        for n in log {
            self.queue_notification(n);
        }
    }

    /// Indices of the notifications still to deliver.
    pub fn outbox(&self) -> impl Iterator<Item = usize> + '_ {
        self.outbox.iter().copied()
    }

    /// Change notification `i`; once delivered or given up it leaves the outbox.
    pub fn update_notification<R>(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut SentNotification) -> R,
    ) -> Option<R> {
        let n = self.notifications.get_mut(i)?;
        let r = f(n);
        if n.delivered || n.gave_up {
            self.outbox.remove(&i);
        }
        Some(r)
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
            images: self
                .images
                .iter()
                .map(|(m, ids)| (m.clone(), ids.iter().cloned().collect()))
                .collect(),
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
    fn pages_follow_listing_order_per_merchant() {
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
        // Reloading (a snapshot) rebuilds the index.
        let all: Vec<SimShop> = st.shops().cloned().collect();
        st.replace_shops(all);
        assert_eq!(ids(&st.merchant_page("M1", 0, 10).1), ["a", "b", "c"]);
    }

    #[test]
    fn store_code_and_device_indexes_follow_updates() {
        let mut st = State::new(1);
        let mut s = shop("a", "M1", 0);
        s.fields.insert("implement_id".into(), "D1, D2".into());
        st.insert_shop(s);
        st.insert_shop(shop("b", "M2", 0));
        assert_eq!(
            st.shops_with_store_id("M1", "S-a").collect::<Vec<_>>(),
            ["a"]
        );
        assert_eq!(
            st.shops_with_store_id("M2", "S-a").count(),
            0,
            "per merchant"
        );
        assert_eq!(st.shops_with_device("D2").collect::<Vec<_>>(), ["a"]);
        st.update_shop("a", |s| {
            s.store_id = "NEW".into();
            s.fields.insert("implement_id".into(), "D3".into());
        });
        assert_eq!(st.shops_with_store_id("M1", "S-a").count(), 0);
        assert_eq!(
            st.shops_with_store_id("M1", "NEW").collect::<Vec<_>>(),
            ["a"]
        );
        assert_eq!(st.shops_with_device("D2").count(), 0);
        assert_eq!(st.shops_with_device("D3").collect::<Vec<_>>(), ["a"]);
        assert!(st.update_shop("zz", |_| ()).is_none());
    }
}
