//! RSA keys and the RSA2 (SHA256withRSA, PKCS#1 v1.5) signatures of the classic gateway.
//!
//! docs/protocol.md §2.4 (string to sign), §2.7 (key formats), §5 (notification "V1" rule).
//!
//! Two crates share the work. `rsa` reads and writes key files (PKCS#1/PKCS#8 PEM and
//! DER, SubjectPublicKeyInfo, `RSA PUBLIC KEY`), so the accepted forms and their errors
//! stay what they have always been. `aws-lc-rs` does every signature, verification and
//! key generation: several times cheaper than `rsa` for an RSA-2048 signature, which is
//! most of a call's CPU on both the client and the simulator (BENCHMARKS.md §4).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ParsedPublicKey, RsaKeyPair, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::traits::PublicKeyParts;
use rsa::{PrivateKey, PublicKey};

/// The smallest modulus we accept. Alipay issues and expects 2048-bit keys.
pub const MIN_KEY_BITS: usize = 2048;

/// What went wrong while loading or checking a key. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{what}: not a PKCS#1 PEM, PKCS#8 PEM or bare base64 RSA private key")]
    BadPrivateKey { what: String },
    #[error("{what}: not a PEM (\"BEGIN PUBLIC KEY\" / \"BEGIN RSA PUBLIC KEY\") or bare base64 RSA public key")]
    BadPublicKey { what: String },
    #[error("{what}: the key has {bits} bits; at least {MIN_KEY_BITS} are required")]
    TooSmall { what: String, bits: usize },
    #[error(
        "the configured Alipay public key is the public half of the app's own private key. \
         Use the key Alipay shows as \"支付宝公钥\" (Alipay public key) on the app's \
         development settings page, not the app public key you uploaded"
    )]
    OwnPublicKey,
    #[error("the private key is given as a public key ({what})")]
    PrivateGivenAsPublic { what: String },
    #[error("cannot generate a key: {0}")]
    Generate(String),
}

/// The app's private key: signs requests (client) or responses (simulator).
/// `Debug` never prints key material. Cloning shares the key.
#[derive(Clone)]
pub struct SignKey {
    pair: Arc<RsaKeyPair>,
    public: VerifyKey,
}

impl fmt::Debug for SignKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SignKey([redacted])")
    }
}

/// A public key that verifies signatures (Alipay's, or the app's inside the simulator).
/// Cloning shares the key.
#[derive(Clone)]
pub struct VerifyKey(Arc<VerifyInner>);

struct VerifyInner {
    /// Parsed once for aws-lc-rs, so a verification does not re-read the DER.
    parsed: ParsedPublicKey,
    /// Modulus and exponent, for the PEM exports and key comparisons.
    public: PublicKey,
}

impl fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyKey({} bits)", self.bits())
    }
}

fn strip_ws(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fn modulus_bits(public: &PublicKey) -> usize {
    public.n().bit_width_vartime() as usize
}

impl SignKey {
    /// Load an RSA private key given as PKCS#1 PEM, PKCS#8 PEM, or bare base64 of
    /// PKCS#8 or PKCS#1 DER (what Alipay's key tool prints). `what` names the source in errors.
    pub fn parse(text: &str, what: &str) -> Result<Self, KeyError> {
        let trimmed = text.trim();
        let bad = || KeyError::BadPrivateKey {
            what: what.to_string(),
        };
        if trimmed.contains("PUBLIC KEY-----") || trimmed.starts_with("MIIBIj") {
            return Err(KeyError::BadPrivateKey {
                what: format!("{what} (this is a public key)"),
            });
        }
        let key = if trimmed.starts_with("-----BEGIN RSA PRIVATE KEY-----") {
            PrivateKey::from_pkcs1_pem(trimmed).map_err(|_| bad())?
        } else if trimmed.starts_with("-----BEGIN PRIVATE KEY-----") {
            PrivateKey::from_pkcs8_pem(trimmed).map_err(|_| bad())?
        } else if trimmed.starts_with("-----") {
            return Err(bad());
        } else {
            let der = B64.decode(strip_ws(trimmed)).map_err(|_| bad())?;
            PrivateKey::from_pkcs8_der(&der)
                .or_else(|_| PrivateKey::from_pkcs1_der(&der))
                .map_err(|_| bad())?
        };
        Self::from_private(&key, what)
    }

    /// Load from a file (see [`SignKey::parse`]).
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    fn from_private(key: &PrivateKey, what: &str) -> Result<Self, KeyError> {
        let public = key.to_public_key();
        let bits = modulus_bits(&public);
        if bits < MIN_KEY_BITS {
            return Err(KeyError::TooSmall {
                what: what.to_string(),
                bits,
            });
        }
        let bad = || KeyError::BadPrivateKey {
            what: what.to_string(),
        };
        // aws-lc-rs reads PKCS#8; whichever form the key came in, `rsa` re-encodes it.
        let pkcs8 = key.to_pkcs8_der().map_err(|_| bad())?;
        let pair = RsaKeyPair::from_pkcs8(pkcs8.as_bytes()).map_err(|_| bad())?;
        Ok(Self {
            pair: Arc::new(pair),
            public: VerifyKey::from_public(public).ok_or_else(bad)?,
        })
    }

    /// A fresh random 2048-bit key (the simulator's default identity and tests).
    pub fn generate() -> Result<Self, KeyError> {
        let generate = |e: &dyn fmt::Display| KeyError::Generate(e.to_string());
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|e| generate(&e))?;
        let pkcs8: Pkcs8V1Der<'_> = pair.as_der().map_err(|e| generate(&e))?;
        let key = PrivateKey::from_pkcs8_der(pkcs8.as_ref()).map_err(|e| generate(&e))?;
        Self::from_private(&key, "generated key")
    }

    /// RSA2 signature of `content`, standard base64 with padding.
    pub fn sign(&self, content: &str) -> String {
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        // Signing with a key that loaded cannot fail short of memory exhaustion, and
        // aws-lc-rs ignores the random source for PKCS#1 v1.5 (it is deterministic).
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                content.as_bytes(),
                &mut sig,
            )
            .expect("RSA signing with a loaded key");
        B64.encode(sig)
    }

    /// The public half, as a verifier.
    pub fn verify_key(&self) -> VerifyKey {
        self.public.clone()
    }

    fn to_rsa(&self) -> Option<PrivateKey> {
        let pkcs8: Pkcs8V1Der<'_> = self.pair.as_der().ok()?;
        PrivateKey::from_pkcs8_der(pkcs8.as_ref()).ok()
    }

    /// PKCS#8 PEM text of the private key, for writing key files the user asked for.
    pub fn to_pkcs8_pem(&self) -> String {
        self.to_rsa()
            .and_then(|k| k.to_pkcs8_pem(LineEnding::LF).ok())
            .map(|s| s.to_string())
            .unwrap_or_default()
    }

    /// PKCS#1 PEM text of the private key.
    pub fn to_pkcs1_pem(&self) -> String {
        self.to_rsa()
            .and_then(|k| k.to_pkcs1_pem(LineEnding::LF).ok())
            .map(|s| s.to_string())
            .unwrap_or_default()
    }

    /// Modulus bits.
    pub fn bits(&self) -> usize {
        self.public.bits()
    }
}

impl VerifyKey {
    /// `None` when aws-lc-rs refuses a key `rsa` read (over 8192 bits, or malformed).
    fn from_public(public: PublicKey) -> Option<Self> {
        let der = public.to_public_key_der().ok()?;
        let parsed = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der.as_bytes()).ok()?;
        Some(Self(Arc::new(VerifyInner { parsed, public })))
    }

    /// Load a public key from SubjectPublicKeyInfo PEM, PKCS#1 PEM (`BEGIN RSA PUBLIC KEY`)
    /// or bare base64 of either DER.
    pub fn parse(text: &str, what: &str) -> Result<Self, KeyError> {
        let trimmed = text.trim();
        let bad = || KeyError::BadPublicKey {
            what: what.to_string(),
        };
        if trimmed.contains("PRIVATE KEY-----") || trimmed.starts_with("MIIE") {
            return Err(KeyError::PrivateGivenAsPublic {
                what: what.to_string(),
            });
        }
        let public = if trimmed.starts_with("-----BEGIN PUBLIC KEY-----") {
            PublicKey::from_public_key_pem(trimmed).map_err(|_| bad())?
        } else if trimmed.starts_with("-----BEGIN RSA PUBLIC KEY-----") {
            PublicKey::from_pkcs1_pem(trimmed).map_err(|_| bad())?
        } else if trimmed.starts_with("-----") {
            return Err(bad());
        } else {
            let der = B64.decode(strip_ws(trimmed)).map_err(|_| bad())?;
            PublicKey::from_public_key_der(&der)
                .or_else(|_| PublicKey::from_pkcs1_der(&der))
                .map_err(|_| bad())?
        };
        Self::checked(public, what)
    }

    /// Load a SubjectPublicKeyInfo DER (a certificate's key), with the same size rule.
    pub fn from_spki_der(der: &[u8], what: &str) -> Result<Self, KeyError> {
        let public = PublicKey::from_public_key_der(der).map_err(|_| KeyError::BadPublicKey {
            what: what.to_string(),
        })?;
        Self::checked(public, what)
    }

    fn checked(public: PublicKey, what: &str) -> Result<Self, KeyError> {
        let bits = modulus_bits(&public);
        if bits < MIN_KEY_BITS {
            return Err(KeyError::TooSmall {
                what: what.to_string(),
                bits,
            });
        }
        Self::from_public(public).ok_or_else(|| KeyError::BadPublicKey {
            what: what.to_string(),
        })
    }

    /// Load from a file (see [`VerifyKey::parse`]).
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Check an RSA2 signature (base64) over `content`. Bad base64 is a failed check.
    pub fn verify(&self, content: &[u8], sign_b64: &str) -> bool {
        let Ok(raw) = B64.decode(sign_b64.trim()) else {
            return false;
        };
        self.0.parsed.verify_sig(content, &raw).is_ok()
    }

    /// SubjectPublicKeyInfo PEM text.
    pub fn to_pem(&self) -> String {
        self.0
            .public
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default()
    }

    /// Bare base64 of the SubjectPublicKeyInfo DER (Alipay's console format).
    pub fn to_bare_base64(&self) -> String {
        self.0
            .public
            .to_public_key_der()
            .map(|d| B64.encode(d.as_bytes()))
            .unwrap_or_default()
    }

    /// Modulus bits.
    pub fn bits(&self) -> usize {
        modulus_bits(&self.0.public)
    }

    /// True when both keys have the same modulus and exponent.
    pub fn same_key(&self, other: &VerifyKey) -> bool {
        self.0.public == other.0.public
    }
}

/// Refuse the most common misconfiguration: the app's own public key configured as
/// Alipay's. Every response would then fail verification.
pub fn ensure_distinct(app_key: &SignKey, alipay_public: &VerifyKey) -> Result<(), KeyError> {
    if app_key.public.0.public.n() == alipay_public.0.public.n() {
        return Err(KeyError::OwnPublicKey);
    }
    Ok(())
}

/// The classic request string to sign (docs/protocol.md §2.4): every non-empty parameter
/// except `sign`, sorted by key in byte order, joined as raw `k=v` pairs with `&`.
pub fn request_sign_content<'a, I>(params: I) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    sorted_content(params, &["sign"])
}

/// The notification string to sign, "V1" rule (docs/protocol.md §5): like requests, but
/// `sign_type` is excluded too.
pub fn notify_sign_content<'a, I>(params: I) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    sorted_content(params, &["sign", "sign_type"])
}

fn sorted_content<'a, I>(params: I, exclude: &[&str]) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut pairs: Vec<(&str, &str)> = params
        .into_iter()
        .filter(|(k, v)| !v.is_empty() && !exclude.contains(k))
        .collect();
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// Verify a form-encoded notification by the V1 rule. Only `RSA2` is accepted: legacy
/// `RSA` (SHA1) is refused: docs/protocol.md §5 accepts it only when configured, and we
/// never configure it.
pub fn verify_notification<'a, I>(key: &VerifyKey, params: I) -> bool
where
    I: IntoIterator<Item = (&'a str, &'a str)> + Clone,
{
    let mut sign = None;
    let mut sign_type = None;
    for (k, v) in params.clone() {
        match k {
            "sign" => sign = Some(v),
            "sign_type" => sign_type = Some(v),
            _ => {}
        }
    }
    let Some(sign) = sign else { return false };
    if sign_type.is_some_and(|t| t != "RSA2") {
        return false;
    }
    key.verify(notify_sign_content(params).as_bytes(), sign)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_round_trips_through_its_pem_exports() {
        let key = SignKey::generate().unwrap();
        assert_eq!(key.bits(), MIN_KEY_BITS);
        let sig = key.sign("a=1&b=2");
        for pem in [key.to_pkcs8_pem(), key.to_pkcs1_pem()] {
            let again = SignKey::parse(&pem, "exported key").unwrap();
            assert_eq!(again.sign("a=1&b=2"), sig);
        }
        let public = VerifyKey::parse(&key.verify_key().to_pem(), "exported public key").unwrap();
        assert!(public.same_key(&key.verify_key()));
        assert!(public.verify(b"a=1&b=2", &sig));
        assert!(!public.verify(b"a=1&b=3", &sig));
        let bare = VerifyKey::parse(&key.verify_key().to_bare_base64(), "bare").unwrap();
        assert!(bare.verify(b"a=1&b=2", &sig));
    }

    #[test]
    fn two_generated_keys_differ_and_do_not_verify_each_other() {
        let (a, b) = (SignKey::generate().unwrap(), SignKey::generate().unwrap());
        assert!(!a.verify_key().same_key(&b.verify_key()));
        assert!(!b.verify_key().verify(b"x", &a.sign("x")));
        assert!(ensure_distinct(&a, &b.verify_key()).is_ok());
        assert!(matches!(
            ensure_distinct(&a, &a.verify_key()),
            Err(KeyError::OwnPublicKey)
        ));
    }

    #[test]
    fn a_signature_of_the_wrong_length_or_bad_base64_fails() {
        let key = SignKey::generate().unwrap();
        let sig = key.sign("x");
        let short = B64.encode(&B64.decode(&sig).unwrap()[1..]);
        assert!(!key.verify_key().verify(b"x", &short));
        assert!(!key.verify_key().verify(b"x", "not base64!"));
        assert!(!key.verify_key().verify(b"x", ""));
    }
}
