//! Certificates as Alipay's certificate mode uses them (docs/protocol.md §2.9), with the
//! simulator's own code: PEM bundles split on their markers, a certificate's SN (lowercase
//! hex MD5 of the issuer DN as its RFC 2253 string followed by the serial number in
//! decimal), the root SN (the SNs of the RSA-family certificates of the root bundle joined
//! with `_`), and the public key a certificate holds.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use md5::{Digest, Md5};
use x509_cert::der::{self, Decode, Encode, Tag, Tagged};
use x509_cert::Certificate;

use crate::alipay::sign::{SignKey, VerifyKey};

/// What is wrong with a certificate file.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("{what}: no PEM certificate (-----BEGIN CERTIFICATE-----) found")]
    NoCertificate { what: String },
    #[error("{what}: certificate {index} is not valid base64 DER: {reason}")]
    Malformed {
        what: String,
        index: usize,
        reason: String,
    },
    #[error("{what}: the certificate's public key is not an RSA key of 2048 bits or more")]
    BadKey { what: String },
    #[error("{what}: no RSA root certificate in the bundle")]
    NoRsaRoot { what: String },
    #[error("{what}: the private key is not the one of the certificate")]
    KeyMismatch { what: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

/// One parsed certificate.
pub struct Cert {
    der: Vec<u8>,
    cert: Certificate,
}

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// Every certificate of a PEM text, in file order (LF or CRLF, any text between them).
pub fn parse_pem(text: &str, what: &str) -> Result<Vec<Cert>, CertError> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let body = &rest[start + BEGIN.len()..];
        let Some(end) = body.find(END) else { break };
        let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
        let malformed = |reason: String| CertError::Malformed {
            what: what.to_string(),
            index: out.len() + 1,
            reason,
        };
        let der = B64.decode(b64).map_err(|e| malformed(e.to_string()))?;
        let cert = Certificate::from_der(&der).map_err(|e| malformed(e.to_string()))?;
        out.push(Cert { der, cert });
        rest = &body[end + END.len()..];
    }
    if out.is_empty() {
        return Err(CertError::NoCertificate {
            what: what.to_string(),
        });
    }
    Ok(out)
}

/// Read and parse a PEM file.
pub fn read_pem(path: &std::path::Path) -> Result<(String, Vec<Cert>), CertError> {
    let text = std::fs::read_to_string(path).map_err(|source| CertError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let certs = parse_pem(&text, &path.display().to_string())?;
    Ok((text, certs))
}

/// RFC 2253 keywords of the attribute types it names; others are written as their OID.
fn keyword(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

/// RFC 2253 §2.4 escaping of a string value.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A DirectoryString's text (UTF8, Printable, IA5, Teletex, BMP); `None` for other types.
fn string_value(any: &der::Any) -> Option<String> {
    let bytes = any.value();
    match any.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::TeletexString => {
            String::from_utf8(bytes.to_vec()).ok()
        }
        Tag::BmpString => {
            let units: Vec<u16> = bytes
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

/// The issuer DN as its RFC 2253 string: RDNs most-specific first, multi-valued RDNs
/// joined with `+`, unknown types as `OID=#<hex DER>`.
pub fn issuer_rfc2253(c: &Cert) -> String {
    let issuer = c.cert.tbs_certificate().issuer();
    let rdns: Vec<String> = issuer
        .as_ref()
        .iter()
        .map(|rdn| {
            rdn.iter()
                .map(|atv| {
                    let oid = atv.oid.to_string();
                    match (keyword(&oid), string_value(&atv.value)) {
                        (Some(k), Some(v)) => format!("{k}={}", escape(&v)),
                        _ => {
                            let der = atv.value.to_der().unwrap_or_default();
                            format!("{oid}=#{}", hex::encode(der))
                        }
                    }
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

/// A big-endian unsigned integer in decimal.
fn decimal(bytes: &[u8]) -> String {
    let mut digits: Vec<u8> = Vec::new(); // little-endian base 10
    for &b in bytes {
        let mut carry = u32::from(b);
        for d in digits.iter_mut() {
            let v = u32::from(*d) * 256 + carry;
            *d = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    if digits.is_empty() {
        return "0".into();
    }
    digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
}

/// The certificate's SN: `md5(issuer RFC 2253 + serial in decimal)`, lowercase hex.
pub fn sn(c: &Cert) -> String {
    let serial = decimal(c.cert.tbs_certificate().serial_number().as_bytes());
    let digest = Md5::digest(format!("{}{serial}", issuer_rfc2253(c)).as_bytes());
    hex::encode(digest)
}

/// Signed with an algorithm of the RSA family (OID `1.2.840.113549.1.1.*`).
pub fn rsa_family(c: &Cert) -> bool {
    c.cert
        .signature_algorithm()
        .oid
        .to_string()
        .starts_with("1.2.840.113549.1.1.")
}

/// The root SN of a bundle: the RSA-family certificates' SNs joined with `_`, file order.
pub fn root_sn(bundle: &[Cert], what: &str) -> Result<String, CertError> {
    let sns: Vec<String> = bundle.iter().filter(|c| rsa_family(c)).map(sn).collect();
    if sns.is_empty() {
        return Err(CertError::NoRsaRoot {
            what: what.to_string(),
        });
    }
    Ok(sns.join("_"))
}

/// The RSA public key the certificate holds.
pub fn public_key(c: &Cert, what: &str) -> Result<VerifyKey, CertError> {
    let spki = c
        .cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|_| CertError::BadKey {
            what: what.to_string(),
        })?;
    VerifyKey::parse(&B64.encode(spki), what).map_err(|_| CertError::BadKey {
        what: what.to_string(),
    })
}

impl Cert {
    /// The certificate's DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }
}

/// One of Alipay's certificates and the private key answers are signed with under it.
#[derive(Clone)]
pub struct AlipayCert {
    pub sn: String,
    /// The PEM chain as the file holds it (leaf, then its issuing CA): what
    /// `alipay.open.app.alipaycert.download` returns, base64-encoded.
    pub chain_pem: String,
    pub key: SignKey,
}

impl std::fmt::Debug for AlipayCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlipayCert")
            .field("sn", &self.sn)
            .finish_non_exhaustive()
    }
}

impl AlipayCert {
    /// The leaf of `chain_pem` must hold the public half of `key`.
    pub fn new(chain_pem: &str, key: SignKey, what: &str) -> Result<Self, CertError> {
        let certs = parse_pem(chain_pem, what)?;
        if !public_key(&certs[0], what)?.same_key(&key.verify_key()) {
            return Err(CertError::KeyMismatch {
                what: what.to_string(),
            });
        }
        Ok(Self {
            sn: sn(&certs[0]),
            chain_pem: chain_pem.to_string(),
            key,
        })
    }
}

/// Certificate mode (§2.9): the SNs requests must carry, the app key they are verified
/// with, and Alipay's certificates (the one in use first; a rotation moves to the next).
#[derive(Debug, Clone)]
pub struct CertMode {
    pub app_cert_sn: String,
    pub root_cert_sn: String,
    /// The app's public key, from its certificate: verifies requests.
    pub app_key: VerifyKey,
    pub alipay: Vec<AlipayCert>,
    /// After this many calls, answers name and are signed under the next certificate.
    pub rotate_after: Option<u64>,
}

impl CertMode {
    /// From the three files' texts (`appCertPublicKey_<app_id>.crt`,
    /// `alipayCertPublicKey_RSA2.crt`, `alipayRootCert.crt`) and the private key of the
    /// Alipay certificate.
    pub fn from_pem(
        app_cert: &str,
        alipay_chain: &str,
        root_bundle: &str,
        alipay_key: SignKey,
    ) -> Result<Self, CertError> {
        let app = parse_pem(app_cert, "app certificate")?;
        let roots = parse_pem(root_bundle, "Alipay root certificate")?;
        Ok(Self {
            app_cert_sn: sn(&app[0]),
            root_cert_sn: root_sn(&roots, "Alipay root certificate")?,
            app_key: public_key(&app[0], "app certificate")?,
            alipay: vec![AlipayCert::new(
                alipay_chain,
                alipay_key,
                "Alipay certificate",
            )?],
            rotate_after: None,
        })
    }

    /// Rotate to `chain` (signed under `key`) after `after` calls.
    pub fn with_rotation(
        mut self,
        chain: &str,
        key: SignKey,
        after: u64,
    ) -> Result<Self, CertError> {
        self.alipay
            .push(AlipayCert::new(chain, key, "rotated Alipay certificate")?);
        self.rotate_after = Some(after);
        Ok(self)
    }

    /// The certificate with this SN, if the simulator holds it.
    pub fn by_sn(&self, sn: &str) -> Option<&AlipayCert> {
        self.alipay.iter().find(|c| c.sn == sn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_in_decimal_and_names_escaped() {
        assert_eq!(decimal(&[]), "0");
        assert_eq!(decimal(&[0x00, 0xff]), "255");
        assert_eq!(decimal(&[0x01, 0x00, 0x00]), "65536");
        assert_eq!(
            decimal(&0x2021_1105_0008_8001u64.to_be_bytes()),
            "2315150396618211329"
        );
        assert_eq!(escape("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape(" x "), "\\ x\\ ");
        assert_eq!(escape("#1"), "\\#1");
    }
}
