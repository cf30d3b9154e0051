//! One parsed X.509 certificate: its SN (docs/protocol.md §2.9), names, validity, RSA public key, and the
//! signature check of a certificate by its issuer's key.

use std::ops::Range;
use std::path::Path;

use aws_lc_rs::signature::{
    ParsedPublicKey, VerificationAlgorithm, RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_2048_8192_SHA384, RSA_PKCS1_2048_8192_SHA512,
};
use chrono::{DateTime, Utc};
use md5::{Digest, Md5};
use x509_cert::der::{Decode, Encode, Header, Reader, SliceReader};
use x509_cert::ext::pkix::BasicConstraints;
use x509_cert::time::Time;

use super::dn::rfc2253;
use super::error::CertError;
use super::pem::certificate_blocks;
use crate::alipay::sign::VerifyKey;

/// The OID prefix of the RSA signature family (PKCS#1); the root SN keeps only these.
pub const RSA_FAMILY_OID_PREFIX: &str = "1.2.840.113549.1.1";
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

/// A parsed certificate with what certificate mode needs from it.
#[derive(Clone)]
pub struct Cert {
    der: Vec<u8>,
    /// The signed part (`tbsCertificate`) exactly as it is in `der`.
    tbs: Range<usize>,
    signature: Vec<u8>,
    signature_oid: String,
    spki_der: Vec<u8>,
    spki_oid: String,
    is_ca: bool,
    issuer: String,
    subject: String,
    serial: String,
    sn: String,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    source: String,
}

impl std::fmt::Debug for Cert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cert")
            .field("sn", &self.sn)
            .field("subject", &self.subject)
            .field("issuer", &self.issuer)
            .field("not_after", &self.not_after)
            .finish()
    }
}

fn time(t: &Time) -> DateTime<Utc> {
    let secs = i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The `tbsCertificate` TLV of a DER certificate, as a range of `der`.
fn tbs_range(der: &[u8]) -> x509_cert::der::Result<Range<usize>> {
    let mut reader = SliceReader::new(der)?;
    let _outer = Header::decode(&mut reader)?;
    let start = usize::try_from(reader.position())?;
    let tbs = reader.tlv_bytes()?;
    Ok(start..start + tbs.len())
}

/// The decimal text of a DER INTEGER's content (two's complement, big-endian), as Java's
/// `BigInteger.toString()` writes it: a negative serial keeps its minus sign.
pub(crate) fn integer_decimal(bytes: &[u8]) -> String {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let mut magnitude: Vec<u8> = if negative {
        // Two's complement: invert and add one.
        let mut m: Vec<u8> = bytes.iter().map(|b| !b).collect();
        for b in m.iter_mut().rev() {
            let (v, carry) = b.overflowing_add(1);
            *b = v;
            if !carry {
                break;
            }
        }
        m
    } else {
        bytes.to_vec()
    };
    let mut digits = Vec::new();
    while magnitude.iter().any(|&b| b != 0) {
        let mut rem = 0u32;
        for b in magnitude.iter_mut() {
            let cur = (rem << 8) | u32::from(*b);
            *b = (cur / 10) as u8;
            rem = cur % 10;
        }
        digits.push(b'0' + rem as u8);
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    if negative {
        digits.push(b'-');
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

/// Lowercase hex MD5 of the issuer's RFC 2253 string followed by the decimal serial.
pub(crate) fn cert_sn(issuer: &str, serial_decimal: &str) -> String {
    let mut md5 = Md5::new();
    md5.update(issuer.as_bytes());
    md5.update(serial_decimal.as_bytes());
    hex::encode(md5.finalize())
}

impl Cert {
    /// Parse one DER certificate. `source` names it in errors ("FILE, certificate 2").
    pub fn from_der(der: Vec<u8>, source: &str) -> Result<Self, CertError> {
        let bad = |reason: String| CertError::Parse {
            source_name: source.to_string(),
            reason,
        };
        let parsed = x509_cert::Certificate::from_der(&der).map_err(|e| bad(e.to_string()))?;
        let tbs = tbs_range(&der).map_err(|e| bad(e.to_string()))?;
        let t = parsed.tbs_certificate();
        let issuer = rfc2253(t.issuer());
        let serial = integer_decimal(t.serial_number().as_bytes());
        let spki = t.subject_public_key_info();
        let is_ca = match t.get_extension::<BasicConstraints>() {
            Ok(Some((_, bc))) => bc.ca,
            // A v1 certificate (no extensions) can only be a root here.
            Ok(None) => true,
            Err(e) => return Err(bad(format!("basicConstraints: {e}"))),
        };
        Ok(Self {
            tbs,
            signature: parsed.signature().raw_bytes().to_vec(),
            signature_oid: parsed.signature_algorithm().oid.to_string(),
            spki_der: spki.to_der().map_err(|e| bad(e.to_string()))?,
            spki_oid: spki.algorithm.oid.to_string(),
            is_ca,
            sn: cert_sn(&issuer, &serial),
            subject: rfc2253(t.subject()),
            issuer,
            serial,
            not_before: time(&t.validity().not_before),
            not_after: time(&t.validity().not_after),
            source: source.to_string(),
            der,
        })
    }

    /// Every certificate of a PEM text (LF or CRLF, one or several blocks), in order.
    /// `file` names the source in errors.
    pub fn parse_pem(text: &str, file: &str) -> Result<Vec<Self>, CertError> {
        certificate_blocks(text, file)?
            .into_iter()
            .map(|b| Self::from_der(b.der, &format!("{file}, certificate {}", b.index)))
            .collect()
    }

    /// Every certificate of a PEM file.
    pub fn load_file(path: &Path) -> Result<Vec<Self>, CertError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CertError::Read {
            file: file.clone(),
            source,
        })?;
        Self::parse_pem(&text, &file)
    }

    /// The SN Alipay names this certificate by (§2.9).
    pub fn sn(&self) -> &str {
        &self.sn
    }

    /// The issuer as its RFC 2253 string (the SN's input).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The subject as its RFC 2253 string.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The serial number in decimal (the SN's other input).
    pub fn serial_decimal(&self) -> &str {
        &self.serial
    }

    pub fn not_before(&self) -> DateTime<Utc> {
        self.not_before
    }

    pub fn not_after(&self) -> DateTime<Utc> {
        self.not_after
    }

    /// Where this certificate came from ("FILE, certificate N").
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The certificate's DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The dotted OID of the algorithm the issuer signed this certificate with.
    pub fn signature_algorithm(&self) -> &str {
        &self.signature_oid
    }

    /// True for the RSA signature family (`1.2.840.113549.1.1…`), the roots the root SN keeps.
    pub fn is_rsa_signed(&self) -> bool {
        self.signature_oid.starts_with(RSA_FAMILY_OID_PREFIX)
    }

    /// True unless basicConstraints says this is not a CA.
    pub fn is_ca(&self) -> bool {
        self.is_ca
    }

    /// True when the subject and issuer names are the same.
    pub fn is_self_issued(&self) -> bool {
        self.subject == self.issuer
    }

    /// The certificate's RSA public key as a verifier (same ≥ 2048-bit rule as key mode).
    pub fn verify_key(&self) -> Result<VerifyKey, CertError> {
        if self.spki_oid != RSA_ENCRYPTION {
            return Err(CertError::NotRsa {
                source_name: self.source.clone(),
                subject: self.subject.clone(),
            });
        }
        VerifyKey::from_spki_der(&self.spki_der, &self.source).map_err(CertError::Key)
    }

    /// Err when `now` is outside the validity window.
    pub fn check_dates(&self, now: DateTime<Utc>) -> Result<(), CertError> {
        if now < self.not_before {
            return Err(CertError::NotYetValid {
                source_name: self.source.clone(),
                subject: self.subject.clone(),
                not_before: self.not_before,
            });
        }
        if now > self.not_after {
            return Err(CertError::Expired {
                source_name: self.source.clone(),
                subject: self.subject.clone(),
                not_after: self.not_after,
            });
        }
        Ok(())
    }

    /// True when `issuer`'s public key verifies this certificate's signature over its
    /// `tbsCertificate` bytes. RSA PKCS#1 v1.5 with SHA-256/384/512, and SHA-1 because
    /// Alipay's older RSA root is SHA-1 (the Java SDK accepts it); anything else (SM2,
    /// RSA-PSS, ECDSA) is not verified and gives false.
    pub fn is_signed_by(&self, issuer: &Cert) -> bool {
        let algorithm: &'static dyn VerificationAlgorithm = match self.signature_oid.as_str() {
            "1.2.840.113549.1.1.11" => &RSA_PKCS1_2048_8192_SHA256,
            "1.2.840.113549.1.1.12" => &RSA_PKCS1_2048_8192_SHA384,
            "1.2.840.113549.1.1.13" => &RSA_PKCS1_2048_8192_SHA512,
            "1.2.840.113549.1.1.5" => &RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            _ => return false,
        };
        if issuer.spki_oid != RSA_ENCRYPTION {
            return false;
        }
        let Ok(key) = ParsedPublicKey::new(algorithm, &issuer.spki_der) else {
            return false;
        };
        key.verify_sig(&self.der[self.tbs.clone()], &self.signature)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::integer_decimal;

    #[test]
    fn serials_are_written_like_java_big_integer() {
        assert_eq!(integer_decimal(&[0x00]), "0");
        assert_eq!(integer_decimal(&[0x22]), "34");
        assert_eq!(integer_decimal(&[0x00, 0x80]), "128");
        assert_eq!(integer_decimal(&[0x80]), "-128");
        assert_eq!(integer_decimal(&[0xff, 0x7f]), "-129");
        assert_eq!(
            integer_decimal(&[0x20, 0x21, 0x11, 0x05, 0x00, 0x08, 0x80, 0x01]),
            "2315150396618211329"
        );
    }
}
