//! Integration tests: one binary, a module per area.
mod helpers;
mod sim;
mod vectors;
