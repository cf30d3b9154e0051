//! The one way tests and benchmarks start the simulator: test keys, `127.0.0.1:0`, the
//! clock the caller chose, then the caller's changes to the [`SimConfig`].
//! Shared with `benches/common/` by path (it names its sibling as `super::keys`).
#![allow(dead_code)]

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use shopsync::clock::{ManualClock, SharedClock, SystemClock};
use shopsync::sim::{self, SimConfig, SimError, SimHandle};

use super::keys::test_keys;

/// 2026-11-24 18:30:00 UTC = 2026-11-25 02:30:00 in China, the first vector's timestamp.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 18, 30, 0).unwrap()
}

/// A manual clock at [`start_time`]; share it with the client through `Arc::new(clock.clone())`.
pub fn manual_clock() -> ManualClock {
    ManualClock::new(start_time())
}

/// The wall clock, for a simulator that talks to child processes (they sign with real time).
pub fn system_clock() -> SharedClock {
    Arc::new(SystemClock)
}

/// Start the simulator on `127.0.0.1:0` with the test keys (app public key to verify
/// requests, the "Alipay" private key to sign answers) and `clock`; `adjust` changes the
/// rest of the [`SimConfig`] (defaults: docs/protocol.md §8) before it starts.
pub async fn start_sim(clock: SharedClock, adjust: impl FnOnce(&mut SimConfig)) -> SimHandle {
    try_start_sim(clock, adjust)
        .await
        .unwrap_or_else(|e| panic!("the simulator did not start: {e}"))
}

/// [`start_sim`] for a test whose start is meant to fail (e.g. a corrupt snapshot).
pub async fn try_start_sim(
    clock: SharedClock,
    adjust: impl FnOnce(&mut SimConfig),
) -> Result<SimHandle, SimError> {
    let (_, app_public, alipay, _) = test_keys();
    let mut cfg = SimConfig::new(app_public, alipay);
    cfg.clock = clock;
    // The test exports (support/export.rs) name the two official example image ids; a test
    // about uploads turns this off and uploads its photos.
    cfg.preload_example_images = true;
    adjust(&mut cfg);
    sim::start(cfg, "127.0.0.1:0".parse().unwrap()).await
}
