//! What the test areas share: the test keys and vectors, the one simulator start, the
//! test export's rows, and polling with a deadline. `harness.rs` builds the run context on
//! these; `benches/common/` includes `keys.rs`, `pki.rs` and `sim.rs` by path, so the
//! benchmarks start the simulator the same way.
//!
//! - [`keys`]: `../shared/protocol-vectors` (key files, the four test keys, `vectors.json`).
//! - [`sim`]: [`sim::start_sim`], the simulator on `127.0.0.1:0` with the test keys, and
//!   the tests' start time and manual clock.
//! - [`pki`]: certificate mode's files (a PKI generated once per process for the test
//!   keys, with a second Alipay certificate for rotations) and the simulator's mode on it.
//! - [`export`]: the CSV header and rows of the test chain.
//! - [`poll`]: wait for a condition, failing after a deadline (never a bare sleep).
//! - [`chromium`]: a headless Chromium (installed through apt when missing).
//! - [`http_receiver`]: a loopback HTTP receiver that records what it was sent.
//! - [`db_servers`]: real PostgreSQL and MariaDB servers (installed through apt when
//!   missing), one per kind per process, a database per test; `benches/db_sources.rs`
//!   includes it by path.

pub mod chromium;
pub mod db_servers;
pub mod export;
pub mod http_receiver;
pub mod keys;
pub mod pki;
pub mod poll;
pub mod sim;
