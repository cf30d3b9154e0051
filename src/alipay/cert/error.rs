//! What can be wrong with certificate-mode files, naming the file and the problem.

use chrono::{DateTime, Utc};

use crate::alipay::sign::KeyError;

fn date(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A certificate-mode problem. `source_name` is "FILE, certificate N" (or the download
/// the certificate came from); `subject` is the certificate's RFC 2253 subject.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("cannot read certificate file {file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("no certificate in {file} (expected \"-----BEGIN CERTIFICATE-----\" blocks)")]
    NoCertificate { file: String },
    #[error("{file}, certificate {index}: {reason}")]
    Pem {
        file: String,
        index: usize,
        reason: String,
    },
    #[error("{source_name}: not a valid X.509 certificate ({reason})")]
    Parse { source_name: String, reason: String },
    #[error(
        "{source_name}: certificate \"{subject}\" expired on {}",
        date(not_after)
    )]
    Expired {
        source_name: String,
        subject: String,
        not_after: DateTime<Utc>,
    },
    #[error(
        "{source_name}: certificate \"{subject}\" is not yet valid (valid from {})",
        date(not_before)
    )]
    NotYetValid {
        source_name: String,
        subject: String,
        not_before: DateTime<Utc>,
    },
    #[error(
        "{source_name}: certificate \"{subject}\" (issuer \"{issuer}\") does not chain to any \
         root in {roots_file}: no issuer in the same file or the root bundle has a key that \
         verifies its signature"
    )]
    NotChained {
        source_name: String,
        subject: String,
        issuer: String,
        roots_file: String,
    },
    #[error("{source_name}: certificate \"{subject}\" does not hold an RSA public key")]
    NotRsa {
        source_name: String,
        subject: String,
    },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(
        "{file} does not hold the public half of app_private_key: the app certificate \
         belongs to another key pair (download the certificate issued for this key, or \
         configure the private key the certificate was requested with)"
    )]
    NotAppKey { file: String },
    #[error(
        "{file} holds the public half of app_private_key: that is the app's own certificate. \
         alipay_cert must be Alipay's certificate (alipayCertPublicKey_RSA2.crt)"
    )]
    AppCertAsAlipayCert { file: String },
    #[error(
        "no RSA root certificate in {file}: the root bundle (alipayRootCert.crt) needs at least \
         one certificate signed with an RSA algorithm"
    )]
    NoRsaRoot { file: String },
    #[error("{source_name}: the certificate has SN {got}, not the requested {requested}")]
    SnMismatch {
        source_name: String,
        requested: String,
        got: String,
    },
    #[error("alipay_cert_content is not base64 of a PEM certificate chain ({reason})")]
    BadCertContent { reason: String },
}

/// Something to fix before it breaks: shown by `validate` and logged by the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertWarning {
    /// The certificate expires within [`super::EXPIRY_WARNING_DAYS`] days.
    ExpiresSoon {
        source_name: String,
        subject: String,
        not_after: DateTime<Utc>,
        days_left: i64,
    },
    /// The certificate was valid when loaded and has expired since.
    Expired {
        source_name: String,
        subject: String,
        not_after: DateTime<Utc>,
    },
}

impl std::fmt::Display for CertWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CertWarning::ExpiresSoon {
                source_name,
                subject,
                not_after,
                days_left,
            } => write!(
                f,
                "{source_name}: certificate \"{subject}\" expires on {} (in {days_left} days); \
                 download the renewed certificate from the app's settings page",
                date(not_after)
            ),
            CertWarning::Expired {
                source_name,
                subject,
                not_after,
            } => write!(
                f,
                "{source_name}: certificate \"{subject}\" expired on {}",
                date(not_after)
            ),
        }
    }
}
