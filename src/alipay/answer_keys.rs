//! Which key verifies Alipay's answers: key mode's one Alipay public key, or in
//! certificate mode the key of the certificate an answer names (docs/protocol.md §2.9),
//! and where certificates downloaded after a rotation are kept ([`CertStore`]).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::cert::{AnswerKey, CertSet};
use super::sign::VerifyKey;

/// How answers are verified.
#[derive(Clone)]
pub enum AlipayKeys {
    /// Key mode: `[alipay] alipay_public_key`.
    Key(VerifyKey),
    /// Certificate mode: `[alipay] app_cert`, `alipay_cert`, `alipay_root_cert`.
    Certs(Arc<CertSet>),
}

/// The key for one answer.
pub enum KeyChoice {
    Known(VerifyKey),
    /// The answer names a certificate we do not hold (Alipay rotated): download it.
    Unknown(String),
}

impl AlipayKeys {
    /// `(app_cert_sn, alipay_root_cert_sn)`, sent on every call in certificate mode.
    pub fn cert_sns(&self) -> Option<(String, String)> {
        match self {
            AlipayKeys::Key(_) => None,
            AlipayKeys::Certs(c) => {
                Some((c.app_cert_sn().to_string(), c.root_cert_sn().to_string()))
            }
        }
    }

    /// The key for an answer naming certificate `sn` (key mode: always the key).
    pub fn choose(&self, sn: Option<String>) -> KeyChoice {
        match self {
            AlipayKeys::Key(k) => KeyChoice::Known(k.clone()),
            AlipayKeys::Certs(c) => match c.key_for_answer(sn.as_deref()) {
                AnswerKey::Known(k) => KeyChoice::Known(k),
                AnswerKey::Unknown(sn) => KeyChoice::Unknown(sn),
            },
        }
    }

    /// The configured key: the Alipay public key, or the configured certificate's.
    pub fn configured_key(&self) -> VerifyKey {
        match self {
            AlipayKeys::Key(k) => k.clone(),
            AlipayKeys::Certs(c) => c
                .verify_key_for(c.alipay_cert_sn())
                .expect("the configured Alipay certificate is always trusted"),
        }
    }

    /// What the configured key is, for errors.
    pub fn describe(&self) -> &'static str {
        match self {
            AlipayKeys::Key(_) => "Alipay public key",
            AlipayKeys::Certs(_) => "Alipay certificate",
        }
    }

    /// What to check when no answer verifies.
    pub fn wrong_key_hint(&self) -> &'static str {
        match self {
            AlipayKeys::Key(_) => {
                "[alipay] alipay_public_key is not this app's Alipay public key \
                 (sandbox and production keys differ; each app has its own)"
            }
            AlipayKeys::Certs(_) => {
                "[alipay] alipay_cert is not the Alipay certificate of this app \
                 (alipayCertPublicKey_RSA2.crt downloaded with it; sandbox and production differ)"
            }
        }
    }
}

/// The keys an audit notification may be signed with. A notification names no
/// certificate: in key mode the Alipay public key; in certificate mode every trusted Alipay
/// certificate's key, the configured one first, then those Alipay rotated to (looked up at
/// each notification, so a certificate downloaded after the listener started counts).
#[derive(Clone)]
pub struct NotificationKeys(AlipayKeys);

impl NotificationKeys {
    pub fn keys(&self) -> Vec<VerifyKey> {
        match &self.0 {
            AlipayKeys::Key(k) => vec![k.clone()],
            AlipayKeys::Certs(c) => c
                .trusted_sns()
                .iter()
                .filter_map(|sn| c.verify_key_for(sn))
                .collect(),
        }
    }
}

impl From<VerifyKey> for NotificationKeys {
    fn from(key: VerifyKey) -> Self {
        NotificationKeys(AlipayKeys::Key(key))
    }
}

impl From<AlipayKeys> for NotificationKeys {
    fn from(keys: AlipayKeys) -> Self {
        NotificationKeys(keys)
    }
}

/// A certificate downloaded after a rotation, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptCert {
    /// The app the certificate verifies answers for.
    pub app_id: String,
    pub sn: String,
    /// The PEM chain as downloaded (leaf first).
    pub pem: String,
    pub not_after: DateTime<Utc>,
    pub fetched_at: DateTime<Utc>,
}

/// Where downloaded certificates are kept between runs (the audit database, by app and
/// SN). Certificates are public; nothing secret is kept.
pub trait CertStore: Send + Sync {
    /// Keep (or replace) one certificate.
    fn keep_cert(&self, cert: &KeptCert) -> Result<(), String>;
    /// Every certificate kept for `app_id`, oldest first.
    fn kept_certs(&self, app_id: &str) -> Result<Vec<KeptCert>, String>;
}
