//! Shared test helpers.
#![allow(dead_code)]

use std::path::PathBuf;

/// `../shared/` beside the checkout.
pub fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

pub fn vectors() -> serde_json::Value {
    let path = shared_dir().join("protocol-vectors/vectors.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("vectors.json parses")
}

pub fn key_file(name: &str) -> PathBuf {
    shared_dir().join("protocol-vectors/keys").join(name)
}
