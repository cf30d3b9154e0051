//! What the test areas share: the test keys and vectors, the one simulator start, the
//! test export's rows, and polling with a deadline. `harness.rs` builds the run context on
//! these; `benches/common/` includes `keys.rs` and `sim.rs` by path, so the benchmarks
//! start the simulator the same way.
//!
//! - [`keys`]: `../shared/protocol-vectors` (key files, the four test keys, `vectors.json`).
//! - [`sim`]: [`sim::start_sim`], the simulator on `127.0.0.1:0` with the test keys, and
//!   the tests' start time and manual clock.
//! - [`export`]: the CSV header and rows of the test chain.
//! - [`poll`]: wait for a condition, failing after a deadline (never a bare sleep).

pub mod export;
pub mod keys;
pub mod poll;
pub mod sim;
