//! The test keys and vectors in `../shared/protocol-vectors/` (beside the checkout).
//! Shared with `benches/common/` by path: only `std`, `serde_json` and `shopsync` here.
#![allow(dead_code)]

use std::path::PathBuf;

use shopsync::alipay::sign::{SignKey, VerifyKey};

/// `../shared/` beside the checkout.
pub fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

/// A file of `protocol-vectors/keys/` (`app_private_pkcs8.pem`, `alipay_public.pem`, …).
pub fn key_file(name: &str) -> PathBuf {
    shared_dir().join("protocol-vectors/keys").join(name)
}

/// `protocol-vectors/vectors.json`, parsed.
pub fn vectors() -> serde_json::Value {
    let path = shared_dir().join("protocol-vectors/vectors.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("vectors.json parses")
}

/// `(app private, app public, alipay private, alipay public)`: the app's pair signs
/// requests (the simulator verifies with its public half); the "Alipay" pair signs answers
/// and notifications (the client verifies with its public half).
pub fn test_keys() -> (SignKey, VerifyKey, SignKey, VerifyKey) {
    (
        SignKey::from_file(&key_file("app_private_pkcs8.pem")).unwrap(),
        VerifyKey::from_file(&key_file("app_public.pem")).unwrap(),
        SignKey::from_file(&key_file("alipay_private_pkcs8.pem")).unwrap(),
        VerifyKey::from_file(&key_file("alipay_public.pem")).unwrap(),
    )
}
