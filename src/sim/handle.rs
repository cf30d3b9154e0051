//! Starting the simulator and the handle tests and the CLI drive it with.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::config::{ForcedOutcome, SimConfig, SimError};
use super::faults::FaultRule;
use super::records::{SentNotification, SimOrder, SimShop, SimState};
use super::shared::Shared;
use super::state::State;
use super::stats::WindowSummary;
use super::{notify, ops, server, snapshot};
use crate::alipay::sign::VerifyKey;

/// A running simulator. Cheap to clone.
#[derive(Clone)]
pub struct SimHandle {
    pub(crate) shared: Arc<Shared>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

/// Bind `addr` (port 0 picks one), start serving and return the handle.
pub async fn start(cfg: SimConfig, addr: SocketAddr) -> Result<SimHandle, SimError> {
    let (state, offset) = match &cfg.snapshot {
        Some(path) if path.exists() => {
            let loaded = snapshot::read(path, &cfg, cfg.clock.now())?;
            tracing::info!(path = %path.display(), shops = loaded.0.shop_count(), "Simulator state loaded from the snapshot.");
            loaded
        }
        _ => (State::new(cfg.seed), Duration::zero()),
    };
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| SimError::Bind { addr, source })?;
    let shared = Arc::new(Shared::new(cfg, state, offset, addr));
    let rx = shared.shutdown.subscribe();
    let server = tokio::spawn(server::serve(listener, shared.clone(), rx.clone()));
    let worker = tokio::spawn(notify::run(shared.clone(), rx));
    tracing::info!(%addr, "Simulator listening.");
    Ok(SimHandle {
        shared,
        tasks: Arc::new(Mutex::new(vec![server, worker])),
    })
}

impl SimHandle {
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `http://127.0.0.1:PORT/gateway.do`.
    pub fn gateway_url(&self) -> String {
        format!("http://{}/gateway.do", self.shared.addr)
    }

    pub fn alipay_public_key(&self) -> VerifyKey {
        self.shared.answer_key().verify_key()
    }

    /// Certificate mode: the SN of Alipay's certificate answers are signed under now.
    pub fn alipay_cert_sn(&self) -> Option<String> {
        self.shared.alipay_cert_sn().map(str::to_string)
    }

    /// Certificate mode: rotate to the next certificate and key now. `false` when the
    /// simulator holds no further certificate.
    pub fn rotate_cert(&self) -> bool {
        self.shared.rotate()
    }

    pub fn app_id(&self) -> &str {
        &self.shared.cfg.app_id
    }

    /// The simulator's current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.now()
    }

    /// Move the simulator's clock forward (on top of the configured clock).
    pub fn advance_clock(&self, by: Duration) {
        ops::advance_clock(&self.shared, by);
    }

    pub fn state(&self) -> SimState {
        ops::state(&self.shared)
    }

    /// Approved shops (they have a shop id), in listing order.
    pub fn shops(&self) -> Vec<SimShop> {
        self.state().shops
    }

    pub fn orders(&self) -> Vec<SimOrder> {
        self.state().orders
    }

    /// Requests received at `/gateway.do`, per `method` (`(missing)` when absent).
    pub fn call_counts(&self) -> BTreeMap<String, u64> {
        self.shared.stats.lock().expect("stats lock").counts.clone()
    }

    /// The most protocol requests (`/gateway.do`, `/v3/`) being answered at once so far.
    pub fn peak_in_flight(&self) -> usize {
        self.shared
            .peak_in_flight
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The most calls received within any sliding second (monotonic time).
    pub fn max_calls_in_one_second(&self) -> u64 {
        self.shared
            .stats
            .lock()
            .expect("stats lock")
            .app
            .max_in_one_second
    }

    /// Every call the app made (all merchants): the busiest sliding second and the count of
    /// each wall-clock second.
    pub fn app_calls(&self) -> WindowSummary {
        self.shared.stats.lock().expect("stats lock").app.summary()
    }

    /// Forget every count (calls per method, throttled, per-second windows).
    pub fn reset_stats(&self) {
        ops::reset_stats(&self.shared);
    }

    pub fn throttled_count(&self) -> u64 {
        self.shared.stats.lock().expect("stats lock").throttled
    }

    pub fn add_fault(&self, rule: FaultRule) {
        ops::add_fault(&self.shared, rule);
    }

    pub fn clear_faults(&self) {
        ops::clear_faults(&self.shared);
    }

    /// Force the outcome of the next audit of an apply id, or of a store id's next audit.
    /// Used once, then forgotten.
    pub fn force_outcome(&self, key: &str, outcome: ForcedOutcome) {
        ops::force_outcome(&self.shared, key, outcome);
    }

    /// Set a shop's `status` (`OPEN`/`PAUSE`/`FREEZE`/`CLOSE`). Unknown shop ids are ignored.
    pub fn set_shop_status(&self, shop_id: &str, status: &str) {
        ops::set_shop_status(&self.shared, shop_id, status);
    }

    /// An edit made on Alipay's side, applied at once. `field` is a wire name or `store_id`;
    /// `None` removes the value.
    pub fn edit_shop(&self, shop_id: &str, field: &str, value: Option<&str>) {
        ops::edit_shop(&self.shared, shop_id, field, value);
    }

    /// A shop that already exists on Alipay (approved, `OPEN`), owned by the merchant of the
    /// first accepted token (the app's own merchant when no token is configured). No
    /// validation.
    pub fn seed_shop(&self, store_id: &str, fields: BTreeMap<String, String>) -> String {
        ops::seed_shop(&self.shared, store_id, fields)
    }

    /// The merchant id (as in `SimShop::merchant_id`) that `token` acts for; `None` when
    /// the simulator does not accept it. `None` token: the app's own merchant.
    pub fn merchant_of_token(&self, token: Option<&str>) -> Option<String> {
        super::merchants::merchant_of(&self.shared.cfg.app_auth_tokens, token)
    }

    /// Run the audits due at the simulator's now and wake the notification sender.
    pub fn process_due(&self) {
        ops::process_due(&self.shared);
    }

    /// The notification log: every notification queued, with its delivery state.
    pub fn notifications(&self) -> Vec<SentNotification> {
        ops::notifications(&self.shared)
    }

    /// Wait until `done` holds for the notification log (re-checked on every change of
    /// it, no polling). `false` when `timeout` passes first.
    pub async fn wait_for_notifications(
        &self,
        timeout: std::time::Duration,
        done: impl Fn(&[SentNotification]) -> bool,
    ) -> bool {
        ops::wait_for_notifications(&self.shared, timeout, done).await
    }

    /// Save the whole simulated Alipay to `path` (JSON, written atomically: temp file in
    /// the same directory, then rename). A simulator started with `SimConfig.snapshot` set
    /// to that file (or [`SimHandle::load_snapshot`]) continues from it.
    pub fn save_snapshot(&self, path: &Path) -> Result<(), SimError> {
        let now = self.shared.now();
        let offset = *self.shared.offset.lock().expect("offset lock");
        let text =
            { snapshot::to_json(&mut self.shared.state(), now, offset) }.map_err(|message| {
                SimError::SnapshotInvalid {
                    path: path.to_path_buf(),
                    message,
                }
            })?;
        snapshot::write_atomically(path, &text)?;
        tracing::debug!(path = %path.display(), "Simulator snapshot saved.");
        Ok(())
    }

    /// The snapshot file of the configuration (`SimConfig.snapshot`), if any.
    pub fn snapshot_path(&self) -> Option<&Path> {
        self.shared.cfg.snapshot.as_deref()
    }

    /// Save to `SimConfig.snapshot` when one is configured; `Ok(None)` when not.
    pub fn save_configured_snapshot(&self) -> Result<Option<&Path>, SimError> {
        match self.snapshot_path() {
            Some(p) => self.save_snapshot(p).map(|()| Some(p)),
            None => Ok(None),
        }
    }

    /// Replace the running simulator's state with the snapshot in `path`.
    pub fn load_snapshot(&self, path: &Path) -> Result<(), SimError> {
        let (state, offset) = snapshot::read(path, &self.shared.cfg, self.shared.cfg.clock.now())?;
        *self.shared.state() = state;
        *self.shared.offset.lock().expect("offset lock") = offset;
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Stop listening, release held connections and stop the background tasks.
    pub async fn shutdown(&self) {
        let _ = self.shared.shutdown.send(true);
        let tasks: Vec<JoinHandle<()>> =
            std::mem::take(&mut *self.tasks.lock().expect("tasks lock"));
        for t in tasks {
            let _ = t.await;
        }
    }
}
