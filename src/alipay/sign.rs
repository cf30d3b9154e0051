//! RSA keys and the RSA2 (SHA256withRSA, PKCS#1 v1.5) signatures of the classic gateway.
//!
//! docs/protocol.md §2.4 (string to sign), §2.7 (key formats), §5 (notification "V1" rule).

use std::fmt;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPrivateKey};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer, Verifier};
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
/// `Debug` never prints key material.
#[derive(Clone)]
pub struct SignKey {
    key: SigningKey<Sha256>,
    public: PublicKey,
}

impl fmt::Debug for SignKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SignKey([redacted])")
    }
}

/// A public key that verifies signatures (Alipay's, or the app's inside the simulator).
#[derive(Clone)]
pub struct VerifyKey {
    key: VerifyingKey<Sha256>,
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
        Self::from_private(key, what)
    }

    /// Load from a file (see [`SignKey::parse`]).
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    fn from_private(key: PrivateKey, what: &str) -> Result<Self, KeyError> {
        let public = key.to_public_key();
        let bits = modulus_bits(&public);
        if bits < MIN_KEY_BITS {
            return Err(KeyError::TooSmall {
                what: what.to_string(),
                bits,
            });
        }
        Ok(Self {
            key: SigningKey::new(key),
            public,
        })
    }

    /// A fresh random 2048-bit key (the simulator's default identity and tests).
    pub fn generate() -> Result<Self, KeyError> {
        let mut rng = getrandom::SysRng;
        let key = PrivateKey::new(&mut rng, MIN_KEY_BITS)
            .map_err(|e| KeyError::Generate(e.to_string()))?;
        Self::from_private(key, "generated key")
    }

    /// RSA2 signature of `content`, standard base64 with padding.
    pub fn sign(&self, content: &str) -> String {
        let sig: Signature = self.key.sign(content.as_bytes());
        B64.encode(sig.to_bytes())
    }

    /// The public half, as a verifier.
    pub fn verify_key(&self) -> VerifyKey {
        VerifyKey::from_public(self.public.clone())
    }

    /// PKCS#8 PEM text of the private key, for writing key files the user asked for.
    pub fn to_pkcs8_pem(&self) -> String {
        self.key
            .as_ref()
            .to_pkcs8_pem(LineEnding::LF)
            .map(|s| s.to_string())
            .unwrap_or_default()
    }

    /// PKCS#1 PEM text of the private key.
    pub fn to_pkcs1_pem(&self) -> String {
        self.key
            .as_ref()
            .to_pkcs1_pem(LineEnding::LF)
            .map(|s| s.to_string())
            .unwrap_or_default()
    }

    /// Modulus bits.
    pub fn bits(&self) -> usize {
        modulus_bits(&self.public)
    }
}

impl VerifyKey {
    fn from_public(public: PublicKey) -> Self {
        Self {
            key: VerifyingKey::new(public.clone()),
            public,
        }
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
        let bits = modulus_bits(&public);
        if bits < MIN_KEY_BITS {
            return Err(KeyError::TooSmall {
                what: what.to_string(),
                bits,
            });
        }
        Ok(Self::from_public(public))
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
        let Ok(sig) = Signature::try_from(raw.as_slice()) else {
            return false;
        };
        self.key.verify(content, &sig).is_ok()
    }

    /// SubjectPublicKeyInfo PEM text.
    pub fn to_pem(&self) -> String {
        self.public
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default()
    }

    /// Bare base64 of the SubjectPublicKeyInfo DER (Alipay's console format).
    pub fn to_bare_base64(&self) -> String {
        self.public
            .to_public_key_der()
            .map(|d| B64.encode(d.as_bytes()))
            .unwrap_or_default()
    }

    /// Modulus bits.
    pub fn bits(&self) -> usize {
        modulus_bits(&self.public)
    }

    /// True when both keys have the same modulus and exponent.
    pub fn same_key(&self, other: &VerifyKey) -> bool {
        self.public == other.public
    }
}

/// Refuse the most common misconfiguration: the app's own public key configured as
/// Alipay's. Every response would then fail verification.
pub fn ensure_distinct(app_key: &SignKey, alipay_public: &VerifyKey) -> Result<(), KeyError> {
    if app_key.public.n() == alipay_public.public.n() {
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
