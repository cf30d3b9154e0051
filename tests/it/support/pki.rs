//! Certificate mode (docs/protocol.md §2.9) for the tests: one PKI of the simulator's own
//! generator (`shopsync::sim::pki`, valid 2020-2045 so the manual clock fits) per test
//! process, issued for the test keys: the app certificate holds the test app key, Alipay's
//! certificate the test "Alipay" key, plus a second Alipay certificate and key for a
//! rotation. Files are written into the caller's directory, as an app's settings page
//! would hand them out. Shared with `benches/common/` by path (it names its sibling as
//! `super::keys`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use shopsync::alipay::cert::{Cert, CertSet};
use shopsync::sim::cert::CertMode;
use shopsync::sim::pki::{self, TestPki};

use super::keys::test_keys;

pub const APP_ID: &str = "2021000000000001";

/// The process's PKI (generated once: three RSA keys).
pub fn shared() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(|| {
        let (_, app_public, alipay, _) = test_keys();
        pki::generate(APP_ID, &app_public, alipay).expect("the test PKI generates")
    })
}

/// The three files a client configures.
#[derive(Debug, Clone)]
pub struct CertPaths {
    pub app_cert: PathBuf,
    pub alipay_cert: PathBuf,
    pub alipay_root_cert: PathBuf,
}

impl CertPaths {
    /// The `[alipay]` lines of certificate mode.
    pub fn toml(&self) -> String {
        format!(
            "app_cert = {:?}\nalipay_cert = {:?}\nalipay_root_cert = {:?}\n",
            self.app_cert.display().to_string(),
            self.alipay_cert.display().to_string(),
            self.alipay_root_cert.display().to_string()
        )
    }
}

/// Write the shared PKI's three files into `dir`.
pub fn write_files(dir: &Path) -> CertPaths {
    write_files_of(dir, shared())
}

/// Write `pki`'s three files into `dir`.
pub fn write_files_of(dir: &Path, pki: &TestPki) -> CertPaths {
    let paths = CertPaths {
        app_cert: dir.join(format!("appCertPublicKey_{APP_ID}.crt")),
        alipay_cert: dir.join("alipayCertPublicKey_RSA2.crt"),
        alipay_root_cert: dir.join("alipayRootCert.crt"),
    };
    std::fs::write(&paths.app_cert, &pki.app_cert_pem).unwrap();
    std::fs::write(&paths.alipay_cert, &pki.alipay_chain_pem).unwrap();
    std::fs::write(&paths.alipay_root_cert, &pki.root_pem).unwrap();
    paths
}

/// Another PKI for the same app key (its own root, CA and Alipay key): certificates the
/// shared PKI's root does not issue, and an app certificate Alipay (the simulator on the
/// shared PKI) does not know.
pub fn foreign() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(|| {
        let (_, app_public, _, _) = test_keys();
        let alipay = shopsync::alipay::sign::SignKey::generate().unwrap();
        pki::generate(APP_ID, &app_public, alipay).expect("the foreign PKI generates")
    })
}

/// The simulator's certificate mode on the shared PKI; after `rotate_after` calls it
/// answers under the second certificate (never, if `None`; a test can still rotate it
/// with `SimHandle::rotate_cert`).
pub fn sim_mode(rotate_after: Option<u64>) -> CertMode {
    let pki = shared();
    CertMode::from_pem(
        &pki.app_cert_pem,
        &pki.alipay_chain_pem,
        &pki.root_pem,
        pki.alipay_key.clone(),
    )
    .unwrap()
    .with_rotation(
        &pki.rotated_chain_pem,
        pki.rotated_key.clone(),
        rotate_after.unwrap_or(u64::MAX),
    )
    .unwrap()
}

/// The SN of the leaf of a PEM chain (the simulator's own computation).
pub fn leaf_sn(pem: &str) -> String {
    shopsync::sim::cert::sn(&shopsync::sim::cert::parse_pem(pem, "test").unwrap()[0])
}

/// The client's certificate set on the shared PKI, checked at `now`.
pub fn client_certs(now: chrono::DateTime<chrono::Utc>) -> std::sync::Arc<CertSet> {
    let pki = shared();
    let parse = |text: &str, name: &str| Cert::parse_pem(text, name).unwrap();
    std::sync::Arc::new(
        CertSet::new(
            parse(&pki.app_cert_pem, "app_cert"),
            parse(&pki.alipay_chain_pem, "alipay_cert"),
            parse(&pki.root_pem, "alipay_root_cert"),
            "alipay_root_cert",
            now,
        )
        .unwrap(),
    )
}
