//! Integration tests: one binary, a module per area.
mod audit;
mod helpers;
mod daemon;
mod vectors;
