//! Integration tests: one binary, a module per area.
mod helpers;
mod vectors;
mod sim;
