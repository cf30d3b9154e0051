//! The certificates of an app in certificate mode: the SNs a client sends, and the Alipay
//! certificates (by SN) whose keys verify answers, including ones downloaded after a rotation.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};

use super::certificate::Cert;
use super::chain::verify_chain;
use super::error::{CertError, CertWarning};
use crate::alipay::sign::{SignKey, VerifyKey};

/// `check` warns when a certificate expires within this many days.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// The three files of certificate mode (config keys `app_cert`, `alipay_cert`,
/// `alipay_root_cert`).
#[derive(Debug, Clone, Copy)]
pub struct CertFiles<'a> {
    pub app_cert: &'a Path,
    pub alipay_cert: &'a Path,
    pub alipay_root_cert: &'a Path,
}

/// An Alipay certificate we trust: its key and the chain it was checked with.
struct Held {
    key: VerifyKey,
    /// Leaf, the intermediates used, then the root: for expiry warnings.
    path: Vec<Cert>,
}

/// A downloaded certificate that passed the checks, not trusted yet.
pub struct Checked {
    sn: String,
    not_after: DateTime<Utc>,
    held: Held,
}

impl Checked {
    pub fn sn(&self) -> &str {
        &self.sn
    }

    /// The leaf's end of validity.
    pub fn not_after(&self) -> DateTime<Utc> {
        self.not_after
    }

    /// The leaf's key, which verifies the answers signed under it.
    pub fn verify_key(&self) -> &VerifyKey {
        &self.held.key
    }
}

/// The app's certificate-mode identity and the Alipay certificates it trusts, by SN.
/// Shared by concurrent calls: [`CertSet::accept_downloaded`] takes `&self`.
pub struct CertSet {
    app: Cert,
    app_key: VerifyKey,
    alipay_sn: String,
    roots: Vec<Cert>,
    roots_file: String,
    root_sn: String,
    held: RwLock<HashMap<String, Arc<Held>>>,
}

impl std::fmt::Debug for CertSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertSet")
            .field("app_cert_sn", &self.app.sn())
            .field("alipay_cert_sn", &self.alipay_sn)
            .field("alipay_root_cert_sn", &self.root_sn)
            .finish()
    }
}

/// `alipay_root_cert_sn` (§2.9): the SNs of the bundle's RSA-signed certificates (SM2 and
/// others skipped), joined with `_` in file order.
pub fn root_cert_sn(roots: &[Cert], file: &str) -> Result<String, CertError> {
    let sns: Vec<&str> = roots
        .iter()
        .filter(|c| c.is_rsa_signed())
        .map(Cert::sn)
        .collect();
    if sns.is_empty() {
        return Err(CertError::NoRsaRoot {
            file: file.to_string(),
        });
    }
    Ok(sns.join("_"))
}

/// The PEM chain inside an `alipay.open.app.alipaycert.download` answer's
/// `alipay_cert_content` (base64 of the PEM text).
pub fn decode_cert_content(alipay_cert_content: &str) -> Result<String, CertError> {
    let b64: String = alipay_cert_content
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let bytes = B64
        .decode(b64.as_bytes())
        .map_err(|e| CertError::BadCertContent {
            reason: format!("not base64: {e}"),
        })?;
    let text = String::from_utf8(bytes).map_err(|_| CertError::BadCertContent {
        reason: "the decoded bytes are not UTF-8 text".to_string(),
    })?;
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return Err(CertError::BadCertContent {
            reason: "the decoded text has no \"-----BEGIN CERTIFICATE-----\"".to_string(),
        });
    }
    Ok(text)
}

fn trusted(
    chain: &[Cert],
    roots: &[Cert],
    roots_file: &str,
    now: DateTime<Utc>,
) -> Result<Held, CertError> {
    let path = verify_chain(chain, roots, roots_file, now)?;
    let key = chain[0].verify_key()?;
    let mut certs: Vec<Cert> = path.through.iter().map(|&i| chain[i].clone()).collect();
    certs.push(roots[path.root].clone());
    Ok(Held { key, path: certs })
}

impl CertSet {
    /// Read the three files (PEM, LF or CRLF, one or several certificates each) and check
    /// them at `now`: the app certificate is valid, and Alipay's certificate is valid and
    /// chains to a root of the bundle.
    pub fn load(files: &CertFiles<'_>, now: DateTime<Utc>) -> Result<Self, CertError> {
        let app = Cert::load_file(files.app_cert)?;
        let alipay = Cert::load_file(files.alipay_cert)?;
        let roots = Cert::load_file(files.alipay_root_cert)?;
        Self::new(
            app,
            alipay,
            roots,
            &files.alipay_root_cert.display().to_string(),
            now,
        )
    }

    /// [`CertSet::load`] from parsed certificates ([`Cert::parse_pem`]); `roots_file`
    /// names the root bundle in errors. The first certificate of `app` and of `alipay`
    /// is the leaf.
    pub fn new(
        app: Vec<Cert>,
        alipay: Vec<Cert>,
        roots: Vec<Cert>,
        roots_file: &str,
        now: DateTime<Utc>,
    ) -> Result<Self, CertError> {
        if alipay.is_empty() {
            return Err(CertError::NoCertificate {
                file: "alipay_cert".to_string(),
            });
        }
        let root_sn = root_cert_sn(&roots, roots_file)?;
        let app = app
            .into_iter()
            .next()
            .ok_or_else(|| CertError::NoCertificate {
                file: "app_cert".to_string(),
            })?;
        app.check_dates(now)?;
        let app_key = app.verify_key()?;
        let held = trusted(&alipay, &roots, roots_file, now)?;
        let alipay_sn = alipay[0].sn().to_string();
        let mut map = HashMap::new();
        map.insert(alipay_sn.clone(), Arc::new(held));
        Ok(Self {
            app,
            app_key,
            alipay_sn,
            roots,
            roots_file: roots_file.to_string(),
            root_sn,
            held: RwLock::new(map),
        })
    }

    /// `app_cert_sn`: sent on every classic call and in the v3 auth string.
    pub fn app_cert_sn(&self) -> &str {
        self.app.sn()
    }

    /// `alipay_root_cert_sn`: sent on every classic call and as v3 `alipay-root-cert-sn`.
    pub fn root_cert_sn(&self) -> &str {
        &self.root_sn
    }

    /// The SN of the configured Alipay certificate (`alipay_cert`).
    pub fn alipay_cert_sn(&self) -> &str {
        &self.alipay_sn
    }

    /// The key of the trusted Alipay certificate named `sn` (an answer's `alipay_cert_sn`
    /// or `alipay-sn`), or `None`: then fetch it (`alipay.open.app.alipaycert.download`)
    /// and [`CertSet::accept_downloaded`] it; until that succeeds the answer is unverifiable.
    pub fn verify_key_for(&self, sn: &str) -> Option<VerifyKey> {
        let held = self.held.read().unwrap_or_else(|e| e.into_inner());
        held.get(sn).map(|h| h.key.clone())
    }

    /// The SNs of every trusted Alipay certificate, configured first then by SN.
    pub fn trusted_sns(&self) -> Vec<String> {
        let held = self.held.read().unwrap_or_else(|e| e.into_inner());
        let mut sns: Vec<String> = held
            .keys()
            .filter(|s| **s != self.alipay_sn)
            .cloned()
            .collect();
        sns.sort();
        sns.insert(0, self.alipay_sn.clone());
        sns
    }

    /// Trust a downloaded Alipay certificate chain (the PEM text from
    /// [`decode_cert_content`], or one kept from an earlier download): its leaf must be
    /// the certificate `requested_sn` names, valid at `now`, and chain to a root of the
    /// bundle (through the chain's own intermediate if there is one). Returns its SN; from
    /// then on [`CertSet::verify_key_for`] knows it.
    pub fn accept_downloaded(
        &self,
        requested_sn: &str,
        pem_chain: &str,
        now: DateTime<Utc>,
    ) -> Result<String, CertError> {
        let checked = self.check_downloaded(requested_sn, pem_chain, now)?;
        Ok(self.trust(checked))
    }

    /// The checks of [`CertSet::accept_downloaded`] without trusting the certificate yet:
    /// the caller can first verify the answer that carried it with its key.
    pub fn check_downloaded(
        &self,
        requested_sn: &str,
        pem_chain: &str,
        now: DateTime<Utc>,
    ) -> Result<Checked, CertError> {
        let source = format!("downloaded certificate {requested_sn}");
        let chain = Cert::parse_pem(pem_chain, &source)?;
        let got = chain[0].sn().to_string();
        if got != requested_sn {
            return Err(CertError::SnMismatch {
                source_name: source,
                requested: requested_sn.to_string(),
                got,
            });
        }
        let held = trusted(&chain, &self.roots, &self.roots_file, now)?;
        Ok(Checked {
            sn: got,
            not_after: chain[0].not_after(),
            held,
        })
    }

    /// Trust a certificate [`CertSet::check_downloaded`] passed. Returns its SN.
    pub fn trust(&self, checked: Checked) -> String {
        let mut map = self.held.write().unwrap_or_else(|e| e.into_inner());
        map.insert(checked.sn.clone(), Arc::new(checked.held));
        checked.sn
    }

    /// Check that `app_cert` holds the public half of `app_private_key`, and that the
    /// configured Alipay certificate is not the app's own key.
    pub fn check_app_key(&self, key: &SignKey) -> Result<(), CertError> {
        let public = key.verify_key();
        if !self.app_key.same_key(&public) {
            return Err(CertError::NotAppKey {
                file: self.app.source().to_string(),
            });
        }
        if let Some(alipay) = self.verify_key_for(&self.alipay_sn) {
            if alipay.same_key(&public) {
                let held = self.held.read().unwrap_or_else(|e| e.into_inner());
                let source = held
                    .get(&self.alipay_sn)
                    .map(|h| h.path[0].source().to_string())
                    .unwrap_or_default();
                return Err(CertError::AppCertAsAlipayCert { file: source });
            }
        }
        Ok(())
    }

    /// Warnings at `now`: every certificate in use (the app's, each trusted Alipay
    /// certificate with its intermediates and root) that expires within
    /// [`EXPIRY_WARNING_DAYS`] days, or has expired since it was loaded.
    pub fn check(&self, now: DateTime<Utc>) -> Vec<CertWarning> {
        let held = self.held.read().unwrap_or_else(|e| e.into_inner());
        let mut certs: Vec<&Cert> = vec![&self.app];
        for h in held.values() {
            certs.extend(h.path.iter());
        }
        super::check::expiry_warnings(certs, now)
    }
}
