//! Integration tests: one binary, a module per area.
mod audit;
mod crash;
mod daemon;
mod faults;
mod harness;
mod helpers;
mod sim;
mod source;
mod sync;
mod systemd;
mod vectors;
