//! Integration tests: one binary, a module per area.
mod helpers;
mod source;
mod vectors;
