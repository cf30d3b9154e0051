//! Certificate mode (docs/protocol.md §2.9): every vector of ../shared/protocol-vectors/cert/, rotation,
//! and the files, dates and chains a certificate set refuses; then the client against the
//! simulator in certificate mode (rotation live and in the middle of a sync, the gateway's
//! certificate errors) and the binary (`validate`, exit 78).

mod chain;
mod cli;
mod files;
mod gateway_errors;
mod live;
mod notify;
mod rotation;
mod sync;
mod vectors;

use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};
use shopsync::alipay::cert::{Cert, CertFiles, CertSet};

use crate::support::keys::shared_dir;

pub fn cert_file(name: &str) -> PathBuf {
    shared_dir().join("protocol-vectors/cert").join(name)
}

pub fn cert_vectors() -> serde_json::Value {
    let path = cert_file("vectors.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("cert/vectors.json parses")
}

pub const APP_CERT: &str = "appCertPublicKey_2021000000000001.crt";
pub const ALIPAY_CERT: &str = "alipayCertPublicKey_RSA2.crt";
pub const ALIPAY_CERT_ROTATED: &str = "alipayCertPublicKey_RSA2_rotated.crt";
pub const ROOT_CERT: &str = "alipayRootCert.crt";

/// The time the vectors were made (2026-12-02 03:20:42 in UTC+8), inside every
/// certificate's validity window.
pub fn vector_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 19, 30, 0).unwrap()
}

pub fn certs(name: &str) -> Vec<Cert> {
    Cert::load_file(&cert_file(name)).unwrap()
}

/// The test PKI's set as the client loads it, at `now`.
pub fn load_at(now: DateTime<Utc>) -> CertSet {
    let (app, alipay, root) = (
        cert_file(APP_CERT),
        cert_file(ALIPAY_CERT),
        cert_file(ROOT_CERT),
    );
    CertSet::load(
        &CertFiles {
            app_cert: &app,
            alipay_cert: &alipay,
            alipay_root_cert: &root,
        },
        now,
    )
    .unwrap()
}

pub fn load() -> CertSet {
    load_at(vector_time())
}
