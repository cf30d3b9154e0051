//! Integration tests: one binary, a module per area. `support/` holds what the areas share
//! (keys, the simulator start, export rows, polling, Chromium, an HTTP receiver);
//! `harness.rs` builds a run context on it.
mod alerts;
mod audit;
mod cert;
mod cli;
mod client;
mod convergence;
mod crash;
mod daemon;
mod daemon_e2e;
mod faults;
mod harness;
mod hostile;
mod merchant_runs;
mod merchants;
mod merchants_daemon;
mod operator;
mod photos;
mod props;
mod report_html;
mod run_report;
mod saved_plan;
mod sim;
mod source;
mod source_db;
mod source_db_cli;
mod sources_e2e;
mod support;
mod sync;
mod systemd;
mod vectors;

// `tests/it/sim/` still names `crate::helpers::key_file`; the path stays until that area
// imports `support::keys` itself.
use support::keys as helpers;
