//! What the handle and the `/__sim/` control endpoints do to the simulated Alipay: run due
//! audits, move the clock, force audit outcomes, change shops from Alipay's side, seed
//! shops, script faults, and wait for the notification log to change.

use std::collections::BTreeMap;

use chrono::Duration;

use super::audit;
use super::config::ForcedOutcome;
use super::faults::FaultRule;
use super::records::{SentNotification, SimShop, SimState};
use super::shared::Shared;
use super::state::{OWN_MERCHANT, TOKEN_MERCHANT};
use super::writes;

/// Run the audits due at the simulator's now and wake the notification sender.
pub fn process_due(shared: &Shared) {
    let now = shared.now();
    let queued = audit::process_due(&shared.cfg, shared.answer_key(), &mut shared.state(), now);
    if queued {
        shared.log_changed();
    }
    shared.wake.notify_one();
}

/// Move the simulator's clock forward (on top of the configured clock).
pub fn advance_clock(shared: &Shared, by: Duration) {
    *shared.offset.lock().expect("offset lock") += by;
    process_due(shared);
}

pub fn state(shared: &Shared) -> SimState {
    let now = shared.now();
    shared.state().snapshot(now)
}

/// Force the outcome of the next audit of an apply id, or of a store id's next audit.
pub fn force_outcome(shared: &Shared, key: &str, outcome: ForcedOutcome) {
    shared.state().forced.insert(key.to_string(), outcome);
}

/// Set a shop's `status`. `false` when the shop id is unknown.
pub fn set_shop_status(shared: &Shared, shop_id: &str, status: &str) -> bool {
    let now = shared.now();
    let mut st = shared.state();
    st.update_shop(shop_id, |s| {
        s.status = status.to_string();
        s.gmt_modified = now;
    })
    .is_some()
}

/// An edit made on Alipay's side, applied at once (`None` removes the value). `false`
/// when the shop id is unknown.
pub fn edit_shop(shared: &Shared, shop_id: &str, field: &str, value: Option<&str>) -> bool {
    let now = shared.now();
    let changes = BTreeMap::from([(field.to_string(), value.map(str::to_string))]);
    let mut st = shared.state();
    st.update_shop(shop_id, |s| writes::apply_changes(s, &changes, now))
        .is_some()
}

/// A shop that already exists (approved, `OPEN`), owned by the merchant of the first
/// accepted token (the app's own merchant when no token is configured). No validation.
pub fn seed_shop(shared: &Shared, store_id: &str, fields: BTreeMap<String, String>) -> String {
    let now = shared.now();
    let merchant = if shared.cfg.app_auth_tokens.is_empty() {
        OWN_MERCHANT
    } else {
        TOKEN_MERCHANT
    };
    let mut st = shared.state();
    let shop_id = st.new_shop_id(now);
    st.insert_shop(SimShop {
        shop_id: shop_id.clone(),
        store_id: store_id.to_string(),
        merchant_id: merchant.to_string(),
        status: "OPEN".into(),
        audit_status: "AUDIT_SUCCESS".into(),
        audit_desc: None,
        is_online: "T".into(),
        is_show: "T".into(),
        fields: fields.into_iter().filter(|(_, v)| !v.is_empty()).collect(),
        pending_modify: None,
        gmt_create: now,
        gmt_modified: now,
    });
    shop_id
}

/// `/__sim/stats` as JSON.
pub fn stats_json(shared: &Shared) -> serde_json::Value {
    let stats = shared.stats.lock().expect("stats lock");
    serde_json::json!({
        "call_counts": stats.counts,
        "throttled": stats.throttled,
        "max_calls_in_one_second": stats.app.max_in_one_second,
        "app": stats.app.summary(),
    })
}

/// Forget every count (calls, throttled, per-second windows).
pub fn reset_stats(shared: &Shared) {
    *shared.stats.lock().expect("stats lock") = Default::default();
}

pub fn add_fault(shared: &Shared, rule: FaultRule) {
    shared.faults.lock().expect("faults lock").rules.push(rule);
}

pub fn clear_faults(shared: &Shared) {
    shared.faults.lock().expect("faults lock").rules.clear();
}

pub fn notifications(shared: &Shared) -> Vec<SentNotification> {
    shared.state().notifications().to_vec()
}

/// Wait until `done` holds for the notification log, re-checking whenever it changes.
/// `false` when `timeout` passes first.
pub async fn wait_for_notifications(
    shared: &Shared,
    timeout: std::time::Duration,
    done: impl Fn(&[SentNotification]) -> bool,
) -> bool {
    let mut changes = shared.log_changed.subscribe();
    let wait = async {
        loop {
            if done(shared.state().notifications()) {
                return;
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    };
    tokio::time::timeout(timeout, wait).await.is_ok() && done(shared.state().notifications())
}
