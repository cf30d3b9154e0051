//! What certificate mode adds to the wire (docs/protocol.md §2.9, §3): the two SNs a request carries, the
//! v3 auth string with `app_cert_sn`, the answer's certificate SN, and which key verifies
//! an answer.

use serde::Deserialize;

use super::set::CertSet;
use crate::alipay::sign::VerifyKey;

/// Classic system parameter: the app certificate's SN.
pub const APP_CERT_SN: &str = "app_cert_sn";
/// Classic system parameter: the root bundle's SN.
pub const ALIPAY_ROOT_CERT_SN: &str = "alipay_root_cert_sn";
/// Classic answers: the top-level field naming the certificate that signed them.
pub const ALIPAY_CERT_SN: &str = "alipay_cert_sn";
/// v3 request header carrying the root bundle's SN.
pub const V3_ROOT_CERT_SN_HEADER: &str = "alipay-root-cert-sn";
/// v3 answer header naming the certificate that signed them.
pub const V3_CERT_SN_HEADER: &str = "alipay-sn";
/// The method that fetches a certificate Alipay rotated to.
pub const CERT_DOWNLOAD_METHOD: &str = "alipay.open.app.alipaycert.download";

/// The two signed system parameters every classic request carries in certificate mode.
pub fn classic_params(set: &CertSet) -> [(&'static str, &str); 2] {
    [
        (APP_CERT_SN, set.app_cert_sn()),
        (ALIPAY_ROOT_CERT_SN, set.root_cert_sn()),
    ]
}

/// The v3 auth string; certificate mode inserts `app_cert_sn` after `app_id`:
/// `app_id=..,app_cert_sn=..,nonce=..,timestamp=..`.
pub fn v3_auth_string(
    app_id: &str,
    app_cert_sn: Option<&str>,
    nonce: &str,
    timestamp_ms: i64,
) -> String {
    match app_cert_sn {
        Some(sn) => {
            format!("app_id={app_id},app_cert_sn={sn},nonce={nonce},timestamp={timestamp_ms}")
        }
        None => format!("app_id={app_id},nonce={nonce},timestamp={timestamp_ms}"),
    }
}

/// `biz_content` of the certificate download for `sn`.
pub fn download_biz_content(sn: &str) -> String {
    serde_json::json!({ ALIPAY_CERT_SN: sn }).to_string()
}

#[derive(Deserialize)]
struct TopLevel {
    alipay_cert_sn: Option<String>,
}

/// The top-level `alipay_cert_sn` of a classic answer body. `Err` when the body is not a
/// JSON object or names it twice (then the answer is unverifiable); `Ok(None)` when absent.
pub fn classic_answer_cert_sn(body: &str) -> Result<Option<String>, serde_json::Error> {
    serde_json::from_str::<TopLevel>(body).map(|t| t.alipay_cert_sn)
}

/// Which key verifies an answer.
#[derive(Debug, Clone)]
pub enum AnswerKey {
    /// A trusted certificate's key: verify with it.
    Known(VerifyKey),
    /// The answer names a certificate we do not hold: download it
    /// ([`CERT_DOWNLOAD_METHOD`]), [`CertSet::accept_downloaded`] it, then ask again.
    /// Until then the answer is unverifiable, never data.
    Unknown(String),
}

impl CertSet {
    /// The key for an answer naming `sn` (`alipay_cert_sn` / `alipay-sn`). An answer that
    /// names none or an empty one (an unsigned gateway error, or a signed answer without the field) is
    /// checked against the configured Alipay certificate.
    pub fn key_for_answer(&self, sn: Option<&str>) -> AnswerKey {
        let sn = sn
            .filter(|s| !s.is_empty())
            .unwrap_or(self.alipay_cert_sn());
        match self.verify_key_for(sn) {
            Some(key) => AnswerKey::Known(key),
            None => AnswerKey::Unknown(sn.to_string()),
        }
    }
}
