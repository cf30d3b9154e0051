//! The state every simulator task shares (the listener, the gateways, the notification
//! worker, the control endpoints and the handle). A leaf: it imports none of its users, so
//! the simulator's modules form a tree (the mini-redis `db.rs` pattern).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use chrono::{DateTime, Duration, Utc};
use tokio::sync::{watch, Notify};

use super::config::SimConfig;
use super::faults::Faults;
use super::ratelimit::Limiter;
use super::state::State;
use super::stats::Stats;
use crate::alipay::sign::SignKey;

/// Everything the server tasks share.
pub struct Shared {
    pub cfg: SimConfig,
    pub state: Mutex<State>,
    pub stats: Mutex<Stats>,
    pub limiter: Mutex<Limiter>,
    pub faults: Mutex<Faults>,
    /// Wakes the notification worker.
    pub wake: Notify,
    /// Bumped whenever the notification log changes (queued, delivered, retried, given
    /// up), so a waiter can await a change instead of polling.
    pub log_changed: watch::Sender<u64>,
    pub shutdown: watch::Sender<bool>,
    /// The key of the `wrong_key` fault, generated on first use.
    pub wrong_key: OnceLock<SignKey>,
    /// Added to the configured clock by `/__sim/clock/advance`.
    pub offset: Mutex<Duration>,
    pub addr: SocketAddr,
    /// Protocol requests being answered now, and the most at once so far.
    pub in_flight: AtomicUsize,
    pub peak_in_flight: AtomicUsize,
    /// Certificate mode: calls answered so far, and the index of the certificate in use.
    cert_calls: AtomicU64,
    cert_index: AtomicUsize,
}

impl Shared {
    pub fn new(cfg: SimConfig, state: State, offset: Duration, addr: SocketAddr) -> Self {
        Self {
            stats: Mutex::new(Stats::default()),
            limiter: Mutex::new(Limiter::new(cfg.rate, &cfg.method_rates)),
            faults: Mutex::new(Faults::new(cfg.seed)),
            state: Mutex::new(state),
            wake: Notify::new(),
            in_flight: AtomicUsize::new(0),
            peak_in_flight: AtomicUsize::new(0),
            log_changed: watch::channel(0).0,
            shutdown: watch::channel(false).0,
            wrong_key: OnceLock::new(),
            offset: Mutex::new(offset),
            addr,
            cert_calls: AtomicU64::new(0),
            cert_index: AtomicUsize::new(0),
            cfg,
        }
    }

    /// The simulator's "now": the configured clock plus any advance made through `/__sim/`.
    pub fn now(&self) -> DateTime<Utc> {
        self.cfg.clock.now() + *self.offset.lock().expect("offset lock")
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("state lock")
    }

    /// The key answers and notifications are signed with now: in certificate mode the
    /// certificate in use's.
    pub fn answer_key(&self) -> &SignKey {
        match &self.cfg.cert {
            Some(c) => {
                &c.alipay[self
                    .cert_index
                    .load(Ordering::SeqCst)
                    .min(c.alipay.len() - 1)]
                .key
            }
            None => &self.cfg.alipay_key,
        }
    }

    /// Certificate mode: the SN of Alipay's certificate in use.
    pub fn alipay_cert_sn(&self) -> Option<&str> {
        let c = self.cfg.cert.as_ref()?;
        Some(
            &c.alipay[self
                .cert_index
                .load(Ordering::SeqCst)
                .min(c.alipay.len() - 1)]
            .sn,
        )
    }

    /// Count a call in certificate mode; after `rotate_after` calls, rotate once.
    pub fn count_cert_call(&self) {
        let Some(c) = &self.cfg.cert else { return };
        let n = self.cert_calls.fetch_add(1, Ordering::SeqCst) + 1;
        if c.rotate_after.is_some_and(|after| n > after)
            && self.cert_index.load(Ordering::SeqCst) == 0
        {
            self.rotate();
        }
    }

    /// Move to the next certificate (if any). `false` when there is none.
    pub fn rotate(&self) -> bool {
        let Some(c) = &self.cfg.cert else {
            return false;
        };
        let i = self.cert_index.load(Ordering::SeqCst);
        if i + 1 >= c.alipay.len() {
            return false;
        }
        self.cert_index.store(i + 1, Ordering::SeqCst);
        tracing::info!(alipay_cert_sn = %c.alipay[i + 1].sn, "Simulated Alipay rotated its certificate.");
        true
    }

    /// Tell waiters the notification log changed.
    pub fn log_changed(&self) {
        self.log_changed.send_modify(|n| *n = n.wrapping_add(1));
    }
}
