//! Does a certificate chain to a trusted root? Real signature checks: each step's issuer
//! must have the name the certificate names as issuer, be a CA, and have the public key
//! that verifies the certificate's signature over its `tbsCertificate` bytes. Names only
//! pick the candidates; the signature decides.

use chrono::{DateTime, Utc};

use super::certificate::Cert;
use super::error::CertError;

/// How a leaf reached a root.
#[derive(Debug, Clone)]
pub struct ChainPath {
    /// Indexes into the file's certificates, leaf first (the intermediates used follow).
    pub through: Vec<usize>,
    /// Index of the root in the root bundle.
    pub root: usize,
}

/// Check that `file_certs[0]` (the leaf) is valid at `now` and chains to one of `roots`,
/// directly or through the other certificates of the same file (each also valid at `now`).
/// The roots are trust anchors: their own dates and self-signatures are not checked here
/// (the Java SDK does not either); [`super::CertSet::check`] warns before one expires.
pub fn verify_chain(
    file_certs: &[Cert],
    roots: &[Cert],
    roots_file: &str,
    now: DateTime<Utc>,
) -> Result<ChainPath, CertError> {
    let Some(leaf) = file_certs.first() else {
        return Err(CertError::NoCertificate {
            file: "an empty certificate chain".to_string(),
        });
    };
    leaf.check_dates(now)?;
    let mut through = vec![0usize];
    let mut current = leaf;
    // Each step uses a new certificate of the file, so this ends.
    loop {
        if let Some(root) = roots.iter().position(|r| issues(r, current)) {
            return Ok(ChainPath { through, root });
        }
        let next = file_certs
            .iter()
            .enumerate()
            .find(|(i, c)| !through.contains(i) && issues(c, current));
        match next {
            Some((i, c)) => {
                c.check_dates(now)?;
                through.push(i);
                current = c;
            }
            None => {
                return Err(CertError::NotChained {
                    source_name: leaf.source().to_string(),
                    subject: leaf.subject().to_string(),
                    issuer: current.issuer().to_string(),
                    roots_file: roots_file.to_string(),
                })
            }
        }
    }
}

/// True when `issuer` issued `cert`: names match, `issuer` is a CA, and its key verifies
/// `cert`'s signature.
fn issues(issuer: &Cert, cert: &Cert) -> bool {
    issuer.subject() == cert.issuer() && issuer.is_ca() && cert.is_signed_by(issuer)
}
