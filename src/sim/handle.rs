//! Starting the simulator and the handle tests and the CLI drive it with.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Duration, Utc};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::faults::{FaultRule, Faults};
use super::ratelimit::{Limiter, Stats};
use super::state::{
    SentNotification, SimOrder, SimShop, SimState, State, OWN_MERCHANT, TOKEN_MERCHANT,
};
use super::{notify, server, snapshot, writes, ForcedOutcome, SimConfig, SimError};
use crate::alipay::sign::{SignKey, VerifyKey};

/// Everything the server tasks share.
pub struct Shared {
    pub cfg: SimConfig,
    pub state: Mutex<State>,
    pub stats: Mutex<Stats>,
    pub limiter: Mutex<Limiter>,
    pub faults: Mutex<Faults>,
    /// Wakes the notification worker.
    pub wake: Notify,
    pub shutdown: watch::Sender<bool>,
    pub wrong_key: OnceLock<SignKey>,
    /// Added to the configured clock by `/__sim/clock/advance`.
    pub offset: Mutex<Duration>,
    pub addr: SocketAddr,
}

impl Shared {
    /// The simulator's "now": the configured clock plus any advance made through `/__sim/`.
    pub fn now(&self) -> DateTime<Utc> {
        self.cfg.clock.now() + *self.offset.lock().expect("offset lock")
    }

    pub fn process_due(&self) {
        let now = self.now();
        let mut st = self.state.lock().expect("state lock");
        writes::process_due(&self.cfg, &mut st, now);
        drop(st);
        self.wake.notify_one();
    }
}

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
            tracing::info!(path = %path.display(), shops = loaded.0.shops.len(), "Simulator state loaded from the snapshot.");
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
    let (tx, rx) = watch::channel(false);
    let shared = Arc::new(Shared {
        state: Mutex::new(state),
        stats: Mutex::new(Stats::default()),
        limiter: Mutex::new(Limiter::new(cfg.rate, &cfg.method_rates)),
        faults: Mutex::new(Faults::new(cfg.seed)),
        wake: Notify::new(),
        shutdown: tx,
        wrong_key: OnceLock::new(),
        offset: Mutex::new(offset),
        addr,
        cfg,
    });
    let server = tokio::spawn(server::serve(listener, shared.clone(), rx.clone()));
    let worker = tokio::spawn(notify::run(shared.clone(), rx));
    tracing::info!(%addr, "Simulator listening.");
    Ok(SimHandle {
        shared,
        tasks: Arc::new(Mutex::new(vec![server, worker])),
    })
}

impl SimHandle {
    pub(crate) fn from_shared(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            tasks: Arc::new(Mutex::new(Vec::new())),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `http://127.0.0.1:PORT/gateway.do`.
    pub fn gateway_url(&self) -> String {
        format!("http://{}/gateway.do", self.shared.addr)
    }

    pub fn alipay_public_key(&self) -> VerifyKey {
        self.shared.cfg.alipay_key.verify_key()
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
        *self.shared.offset.lock().expect("offset lock") += by;
        self.process_due();
    }

    pub fn state(&self) -> SimState {
        let now = self.shared.now();
        self.shared.state.lock().expect("state lock").snapshot(now)
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

    /// The most calls received within any sliding second (monotonic time).
    pub fn max_calls_in_one_second(&self) -> u64 {
        self.shared.stats.lock().expect("stats lock").max_per_second
    }

    pub fn throttled_count(&self) -> u64 {
        self.shared.stats.lock().expect("stats lock").throttled
    }

    pub fn add_fault(&self, rule: FaultRule) {
        self.shared
            .faults
            .lock()
            .expect("faults lock")
            .rules
            .push(rule);
    }

    pub fn clear_faults(&self) {
        self.shared
            .faults
            .lock()
            .expect("faults lock")
            .rules
            .clear();
    }

    /// Force the outcome of the next audit of an apply id, or of a store id's next audit.
    /// Used once, then forgotten.
    pub fn force_outcome(&self, key: &str, outcome: ForcedOutcome) {
        let mut st = self.shared.state.lock().expect("state lock");
        st.forced.insert(key.to_string(), outcome);
    }

    /// Set a shop's `status` (`OPEN`/`PAUSE`/`FREEZE`/`CLOSE`). Unknown shop ids are ignored.
    pub fn set_shop_status(&self, shop_id: &str, status: &str) {
        let now = self.shared.now();
        let mut st = self.shared.state.lock().expect("state lock");
        if let Some(s) = st.shops.get_mut(shop_id) {
            s.status = status.to_string();
            s.gmt_modified = now;
        }
    }

    /// An edit made on Alipay's side, applied at once. `field` is a wire name or `store_id`;
    /// `None` removes the value.
    pub fn edit_shop(&self, shop_id: &str, field: &str, value: Option<&str>) {
        let now = self.shared.now();
        let mut st = self.shared.state.lock().expect("state lock");
        if let Some(s) = st.shops.get_mut(shop_id) {
            let mut changes = BTreeMap::new();
            changes.insert(field.to_string(), value.map(str::to_string));
            writes::apply_changes(s, &changes, now);
        }
    }

    /// A shop that already exists on Alipay (approved, `OPEN`), owned by the merchant the
    /// tokens act for (the app's own merchant when no token is configured). No validation.
    pub fn seed_shop(&self, store_id: &str, fields: BTreeMap<String, String>) -> String {
        let now = self.shared.now();
        let merchant = if self.shared.cfg.app_auth_tokens.is_empty() {
            OWN_MERCHANT
        } else {
            TOKEN_MERCHANT
        };
        let mut st = self.shared.state.lock().expect("state lock");
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

    /// Run the audits due at the simulator's now and wake the notification sender.
    pub fn process_due(&self) {
        self.shared.process_due();
    }

    pub fn notifications(&self) -> Vec<SentNotification> {
        self.shared
            .state
            .lock()
            .expect("state lock")
            .notifications
            .clone()
    }

    /// Save the whole simulated Alipay to `path` (JSON, written atomically: temp file in
    /// the same directory, then rename). A simulator started with `SimConfig.snapshot` set
    /// to that file (or [`SimHandle::load_snapshot`]) continues from it.
    pub fn save_snapshot(&self, path: &Path) -> Result<(), SimError> {
        let now = self.shared.now();
        let offset = *self.shared.offset.lock().expect("offset lock");
        let text = {
            let mut st = self.shared.state.lock().expect("state lock");
            snapshot::to_json(&mut st, now, offset)
        }
        .map_err(|message| SimError::SnapshotInvalid {
            path: path.to_path_buf(),
            message,
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
        *self.shared.state.lock().expect("state lock") = state;
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
