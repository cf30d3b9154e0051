//! Integration tests: one binary, a module per area.
mod daemon;
mod helpers;
mod systemd;
mod vectors;
