//! Integration tests: one binary, a module per area.
mod audit;
mod cli;
mod client;
mod crash;
mod daemon;
mod daemon_e2e;
mod faults;
mod harness;
mod helpers;
mod hostile;
mod props;
mod sim;
mod source;
mod sources_e2e;
mod sync;
mod systemd;
mod vectors;
