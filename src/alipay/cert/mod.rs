//! Public-key-certificate mode (公钥证书模式, docs/protocol.md §2.9).
//!
//! - [`Cert`]: one X.509 certificate (read with `x509-cert`), its SN, dates, RSA key, and
//!   the signature check by an issuer's key (aws-lc-rs).
//! - [`CertSet`]: the app's three files, the SNs a client sends (`app_cert_sn`,
//!   `alipay_root_cert_sn`), and the trusted Alipay certificates by SN, to which a
//!   certificate downloaded after a rotation is added once it chains to a root.
//! - `wire`: what certificate mode adds to requests and answers (the two SNs, the v3 auth
//!   string, the answer's `alipay_cert_sn` / `alipay-sn`) and [`CertSet::key_for_answer`].
//!
//! Classic gateway in certificate mode, in short: sign [`classic_params`] with the other
//! system parameters; read the answer's SN with [`classic_answer_cert_sn`]; on
//! [`AnswerKey::Unknown`] call [`CERT_DOWNLOAD_METHOD`] with [`download_biz_content`],
//! verify that answer with the configured certificate, [`decode_cert_content`] its
//! `alipay_cert_content`, [`CertSet::accept_downloaded`] it (and keep the PEM by SN), then
//! verify the first answer with the new key. Until then the answer is unverifiable.

mod certificate;
mod chain;
mod check;
mod dn;
mod error;
mod pem;
mod set;
mod wire;

pub use certificate::{Cert, RSA_FAMILY_OID_PREFIX};
pub use chain::{verify_chain, ChainPath};
pub use check::{check_files, expiry_warnings, FileCheck};
pub use error::{CertError, CertWarning};
pub use set::{
    decode_cert_content, root_cert_sn, CertFiles, CertSet, Checked, EXPIRY_WARNING_DAYS,
};
pub use wire::{
    classic_answer_cert_sn, classic_params, download_biz_content, v3_auth_string, AnswerKey,
    ALIPAY_CERT_SN, ALIPAY_ROOT_CERT_SN, APP_CERT_SN, CERT_DOWNLOAD_METHOD, V3_CERT_SN_HEADER,
    V3_ROOT_CERT_SN_HEADER,
};
