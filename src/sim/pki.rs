//! A test PKI of the simulator's own, shaped like Alipay's (§2.9), so certificate mode
//! works without files (`shopsync simulate --cert-mode`): a root (the whole root bundle),
//! an issuing CA, Alipay's certificate (leaf + CA) for the simulator's key, a second one
//! with a new key for a rotation, and the app's certificate for the app's public key.
//! Valid from 2020 to 2045, so tests with a manual clock can use it. Not Alipay's.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::Rng;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData, SerialNumber, SignatureAlgorithm, PKCS_RSA_SHA256,
};
use x509_cert::der::Decode;
use x509_cert::spki::SubjectPublicKeyInfoRef;

use crate::alipay::sign::{SignKey, VerifyKey};

/// A generated PKI: the three files a client configures, and the rotation's pair.
pub struct TestPki {
    /// `alipayRootCert.crt`.
    pub root_pem: String,
    /// `alipayCertPublicKey_RSA2.crt`: Alipay's leaf and the issuing CA.
    pub alipay_chain_pem: String,
    pub alipay_key: SignKey,
    /// The certificate a rotation moves to (leaf + CA) and its key.
    pub rotated_chain_pem: String,
    pub rotated_key: SignKey,
    /// `appCertPublicKey_<app_id>.crt`.
    pub app_cert_pem: String,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot generate the simulator's test PKI: {0}")]
pub struct PkiError(String);

fn err(e: impl std::fmt::Display) -> PkiError {
    PkiError(e.to_string())
}

/// An RSA public key without its private half (the app's), for rcgen.
struct RsaPublic(Vec<u8>);

impl PublicKeyData for RsaPublic {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &PKCS_RSA_SHA256
    }
}

fn rsa_public(key: &VerifyKey) -> Result<RsaPublic, PkiError> {
    let spki_der = B64.decode(key.to_bare_base64()).map_err(err)?;
    let spki = SubjectPublicKeyInfoRef::from_der(&spki_der).map_err(err)?;
    Ok(RsaPublic(spki.subject_public_key.raw_bytes().to_vec()))
}

fn key_pair(key: &SignKey) -> Result<KeyPair, PkiError> {
    KeyPair::from_pkcs8_pem_and_sign_algo(&key.to_pkcs8_pem(), &PKCS_RSA_SHA256).map_err(err)
}

fn params(cn: &str, org: &str, unit: &str, ca: bool) -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "CN");
    dn.push(DnType::OrganizationName, org);
    dn.push(DnType::OrganizationalUnitName, unit);
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    p.not_before = rcgen::date_time_ymd(2020, 1, 1);
    p.not_after = rcgen::date_time_ymd(2045, 1, 1);
    // Random positive 8-byte serials: two generated PKIs never share an SN.
    let mut serial: [u8; 8] = rand::rng().random();
    serial[0] = (serial[0] & 0x7f) | 0x10;
    p.serial_number = Some(SerialNumber::from_slice(&serial));
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    } else {
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    }
    p
}

/// Generate the PKI: certificates for `app_public` (the app's key) and `alipay_key` (the
/// simulator's), plus new keys for the root, the CA and the rotation.
pub fn generate(
    app_id: &str,
    app_public: &VerifyKey,
    alipay_key: SignKey,
) -> Result<TestPki, PkiError> {
    let root_key = SignKey::generate().map_err(err)?;
    let ca_key = SignKey::generate().map_err(err)?;
    let rotated_key = SignKey::generate().map_err(err)?;
    const ORG: &str = "Simulated Ant Financial";
    let root_params = params(
        "Simulated Ant Financial Root CA",
        ORG,
        "Certification Authority",
        true,
    );
    let root_kp = key_pair(&root_key)?;
    let root = root_params.self_signed(&root_kp).map_err(err)?;
    let root_issuer = Issuer::new(root_params, root_kp);
    let ca_params = params(
        "Simulated Ant Financial Class 2 CA",
        ORG,
        "Certification Authority",
        true,
    );
    let ca_kp = key_pair(&ca_key)?;
    let ca = ca_params.signed_by(&ca_kp, &root_issuer).map_err(err)?;
    let ca_issuer = Issuer::new(ca_params, ca_kp);
    let leaf = |key: &SignKey| -> Result<String, PkiError> {
        let cert = params(app_id, "Simulated alipay org", "Alipay", false)
            .signed_by(&key_pair(key)?, &ca_issuer)
            .map_err(err)?;
        Ok(format!("{}{}", cert.pem(), ca.pem()))
    };
    let app_cert = params(app_id, "Simulated app", "App", false)
        .signed_by(&rsa_public(app_public)?, &ca_issuer)
        .map_err(err)?;
    Ok(TestPki {
        root_pem: root.pem(),
        alipay_chain_pem: leaf(&alipay_key)?,
        rotated_chain_pem: leaf(&rotated_key)?,
        alipay_key,
        rotated_key,
        app_cert_pem: app_cert.pem(),
    })
}
