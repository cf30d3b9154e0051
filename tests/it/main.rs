//! Integration tests: one binary, a module per area.
mod audit;
mod daemon;
mod harness;
mod helpers;
mod hostile;
mod props;
mod sim;
mod source;
mod sync;
mod systemd;
mod vectors;
