//! Integration tests: one binary, a module per area.
mod audit;
mod cli;
mod client;
mod crash;
mod daemon;
mod daemon_e2e;
#[path = "support/db_servers.rs"]
mod db_servers;
mod faults;
mod harness;
mod helpers;
mod hostile;
mod props;
mod sim;
mod source;
mod source_db;
mod source_db_cli;
mod sources_e2e;
mod sync;
mod systemd;
mod vectors;
