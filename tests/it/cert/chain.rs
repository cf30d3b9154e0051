//! Chains are checked with real signatures: a certificate whose names all match but whose
//! signatures were made with other keys does not chain; neither does a missing root or a
//! certificate presented without its issuing CA.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    PKCS_RSA_SHA256,
};
use shopsync::alipay::cert::{self, Cert, CertError, CertSet};

use super::{certs, vector_time, ALIPAY_CERT, ALIPAY_CERT_ROTATED, APP_CERT, ROOT_CERT};
use crate::support::keys::key_file;

fn new_set(alipay: Vec<Cert>, roots: Vec<Cert>) -> Result<CertSet, CertError> {
    CertSet::new(certs(APP_CERT), alipay, roots, "roots.crt", vector_time())
}

/// The test PKI's names, most general first (as they are encoded).
fn dn(cn: &str, org: &str, ou: &str) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    d.push(DnType::CountryName, "CN");
    d.push(DnType::OrganizationName, org);
    d.push(DnType::OrganizationalUnitName, ou);
    d.push(DnType::CommonName, cn);
    d
}

fn params(name: DistinguishedName, ca: bool) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = name;
    p.is_ca = if ca {
        IsCa::Ca(BasicConstraints::Unconstrained)
    } else {
        IsCa::ExplicitNoCa
    };
    p.not_before = rcgen::date_time_ymd(2026, 1, 1);
    p.not_after = rcgen::date_time_ymd(2030, 1, 1);
    p
}

const ANT: &str = "Test Ant Financial";
const CA_OU: &str = "Certification Authority";

/// A leaf for the rotated Alipay key with the real names all the way up (issuer
/// "Class 2 R1", itself "issued by" R1), but every signature made with keys we generate.
fn forged_chain() -> String {
    let root_key = KeyPair::generate_for(&PKCS_RSA_SHA256).unwrap();
    let root = Issuer::new(
        params(
            dn("Test Ant Financial Certification Authority R1", ANT, CA_OU),
            true,
        ),
        root_key,
    );
    let ca_key = KeyPair::generate_for(&PKCS_RSA_SHA256).unwrap();
    let ca_params = params(
        dn(
            "Test Ant Financial Certification Authority Class 2 R1",
            ANT,
            CA_OU,
        ),
        true,
    );
    let ca_cert = ca_params.signed_by(&ca_key, &root).unwrap();
    let ca = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::from_pem(
        &std::fs::read_to_string(key_file("alipay_rotated_private_pkcs8.pem")).unwrap(),
    )
    .unwrap();
    let leaf = params(dn("2021000000000001", "Test alipay org", "Alipay"), false)
        .signed_by(&leaf_key, &ca)
        .unwrap();
    format!("{}{}", leaf.pem(), ca_cert.pem())
}

#[test]
fn the_configured_chain_reaches_the_sha256_root_through_its_issuing_ca() {
    let alipay = certs(ALIPAY_CERT);
    let roots = certs(ROOT_CERT);
    let path = cert::verify_chain(&alipay, &roots, ROOT_CERT, vector_time()).unwrap();
    assert_eq!(path.through, [0, 1]);
    assert_eq!(path.root, 2);
    assert!(alipay[0].is_signed_by(&alipay[1]));
    assert!(alipay[1].is_signed_by(&roots[2]));
    // Swapped issuers do not verify.
    assert!(!alipay[0].is_signed_by(&roots[2]));
    assert!(!alipay[1].is_signed_by(&roots[0]));
    // The SHA-1 root's self-signature verifies (legacy algorithm), the SM2 one is not checked.
    assert!(roots[0].is_signed_by(&roots[0]));
    assert!(!roots[1].is_signed_by(&roots[1]));
}

#[test]
fn a_missing_root_is_a_chain_error_naming_the_bundle() {
    let mut roots = certs(ROOT_CERT);
    roots.remove(2);
    let err = new_set(certs(ALIPAY_CERT), roots).unwrap_err();
    assert!(matches!(err, CertError::NotChained { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("does not chain to any root in roots.crt"),
        "{msg}"
    );
    assert!(msg.contains(ALIPAY_CERT), "{msg}");
}

#[test]
fn a_leaf_without_its_issuing_ca_does_not_chain() {
    let mut alipay = certs(ALIPAY_CERT);
    alipay.truncate(1);
    let err = new_set(alipay, certs(ROOT_CERT)).unwrap_err();
    assert!(matches!(err, CertError::NotChained { .. }), "{err}");
}

#[test]
fn the_app_certificate_given_as_alipays_does_not_chain() {
    let err = new_set(certs(APP_CERT), certs(ROOT_CERT)).unwrap_err();
    assert!(matches!(err, CertError::NotChained { .. }), "{err}");
    assert!(err.to_string().contains(APP_CERT), "{err}");
}

#[test]
fn a_root_bundle_without_an_rsa_root_is_refused() {
    let sm2_only = vec![certs(ROOT_CERT).remove(1)];
    let err = new_set(certs(ALIPAY_CERT), sm2_only).unwrap_err();
    assert!(matches!(err, CertError::NoRsaRoot { .. }), "{err}");
}

#[test]
fn matching_names_with_forged_signatures_do_not_chain() {
    let pem = forged_chain();
    let chain = Cert::parse_pem(&pem, "forged").unwrap();
    let real = certs(ALIPAY_CERT_ROTATED);
    // Same issuer name and the same key as the real rotated certificate...
    assert_eq!(chain[0].issuer(), real[0].issuer());
    assert_eq!(chain[1].issuer(), real[1].issuer());
    assert!(chain[0]
        .verify_key()
        .unwrap()
        .same_key(&real[0].verify_key().unwrap()));
    // ...but the issuing CA's signature is not R1's.
    let err = cert::verify_chain(&chain, &certs(ROOT_CERT), ROOT_CERT, vector_time()).unwrap_err();
    assert!(matches!(err, CertError::NotChained { .. }), "{err}");

    // Offered as a download, it is refused and nothing is trusted.
    let set = new_set(certs(ALIPAY_CERT), certs(ROOT_CERT)).unwrap();
    let sn = chain[0].sn().to_string();
    let err = set.accept_downloaded(&sn, &pem, vector_time()).unwrap_err();
    assert!(matches!(err, CertError::NotChained { .. }), "{err}");
    assert!(set.verify_key_for(&sn).is_none());
}

#[test]
fn a_self_signed_certificate_does_not_chain() {
    let key = KeyPair::generate_for(&PKCS_RSA_SHA256).unwrap();
    let pem = params(dn("2021000000000001", "Test alipay org", "Alipay"), false)
        .self_signed(&key)
        .unwrap()
        .pem();
    let chain = Cert::parse_pem(&pem, "self-signed").unwrap();
    assert!(chain[0].is_signed_by(&chain[0]));
    let set = new_set(certs(ALIPAY_CERT), certs(ROOT_CERT)).unwrap();
    let err = set
        .accept_downloaded(chain[0].sn(), &pem, vector_time())
        .unwrap_err();
    assert!(matches!(err, CertError::NotChained { .. }), "{err}");
}

#[test]
fn only_a_ca_can_issue_even_with_the_right_key() {
    // A PKI of our own: root → middle → leaf, all signatures genuine. The chain holds
    // only when the middle certificate is a CA.
    let build = |middle_is_ca: bool| {
        let root_key = KeyPair::generate_for(&PKCS_RSA_SHA256).unwrap();
        let root_params = params(dn("Own Root", "Own", "PKI"), true);
        let root_pem = root_params.self_signed(&root_key).unwrap().pem();
        let root = Issuer::new(root_params, root_key);
        let mid_key = KeyPair::generate_for(&PKCS_RSA_SHA256).unwrap();
        let mid_params = params(dn("Own Middle", "Own", "PKI"), middle_is_ca);
        let mid_pem = mid_params.signed_by(&mid_key, &root).unwrap().pem();
        let mid = Issuer::new(mid_params, mid_key);
        let leaf_key = KeyPair::generate_for(&PKCS_RSA_SHA256).unwrap();
        let leaf_pem = params(dn("Own Leaf", "Own", "PKI"), false)
            .signed_by(&leaf_key, &mid)
            .unwrap()
            .pem();
        let chain = Cert::parse_pem(&format!("{leaf_pem}{mid_pem}"), "own chain").unwrap();
        let roots = Cert::parse_pem(&root_pem, "own root").unwrap();
        assert!(chain[0].is_signed_by(&chain[1]));
        assert!(chain[1].is_signed_by(&roots[0]));
        cert::verify_chain(&chain, &roots, "own root", vector_time())
    };
    assert!(build(true).is_ok());
    let err = build(false).unwrap_err();
    assert!(matches!(err, CertError::NotChained { .. }), "{err}");
    // The test PKI: the app certificate is a leaf, the issuing CA is a CA.
    assert!(!certs(APP_CERT)[0].is_ca());
    assert!(certs(ALIPAY_CERT)[1].is_ca());
}
