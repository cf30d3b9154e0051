//! Reading the three files: LF or CRLF, several certificates per file, errors that name
//! the file and the problem, dates against a given time, expiry warnings, the app key.

use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use shopsync::alipay::cert::{Cert, CertError, CertFiles, CertSet, CertWarning};
use shopsync::alipay::sign::SignKey;

use super::{cert_file, load, load_at, vector_time, ALIPAY_CERT, APP_CERT, ROOT_CERT};
use crate::support::keys::key_file;

fn read(name: &str) -> String {
    std::fs::read_to_string(cert_file(name)).unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn load_files(app: &Path, alipay: &Path, root: &Path) -> Result<CertSet, CertError> {
    CertSet::load(
        &CertFiles {
            app_cert: app,
            alipay_cert: alipay,
            alipay_root_cert: root,
        },
        vector_time(),
    )
}

#[test]
fn crlf_blank_lines_and_text_around_the_blocks_give_the_same_sns() {
    let dir = tempfile::tempdir().unwrap();
    let crlf = |t: &str| t.replace('\n', "\r\n");
    let app = write(dir.path(), "app.crt", &crlf(&read(APP_CERT)));
    // Blank lines and a comment between the certificates, no final newline.
    let alipay_text = read(ALIPAY_CERT).replace(
        "-----END CERTIFICATE-----\n-----BEGIN",
        "-----END CERTIFICATE-----\n\n# issuing CA\n\n-----BEGIN",
    );
    let alipay = write(dir.path(), "alipay.crt", alipay_text.trim_end());
    let root = write(
        dir.path(),
        "root.crt",
        &crlf(&read(ROOT_CERT).replace("-----\n-----", "-----\n\n-----")),
    );
    let set = load_files(&app, &alipay, &root).unwrap();
    let reference = load();
    assert_eq!(set.app_cert_sn(), reference.app_cert_sn());
    assert_eq!(set.alipay_cert_sn(), reference.alipay_cert_sn());
    assert_eq!(set.root_cert_sn(), reference.root_cert_sn());
    assert_eq!(Cert::load_file(&alipay).unwrap().len(), 2);
    assert_eq!(Cert::load_file(&root).unwrap().len(), 3);
}

#[test]
fn a_file_without_a_certificate_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let key = write(
        dir.path(),
        "app.crt",
        &std::fs::read_to_string(key_file("app_public.pem")).unwrap(),
    );
    let err = load_files(&key, &cert_file(ALIPAY_CERT), &cert_file(ROOT_CERT)).unwrap_err();
    assert!(matches!(err, CertError::NoCertificate { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("no certificate in {}", key.display())),
        "{err}"
    );

    let missing = dir.path().join("missing.crt");
    let err = load_files(&cert_file(APP_CERT), &missing, &cert_file(ROOT_CERT)).unwrap_err();
    assert!(matches!(err, CertError::Read { .. }), "{err}");
    assert!(err.to_string().contains("missing.crt"), "{err}");
}

#[test]
fn a_broken_block_is_named_by_file_and_position() {
    let dir = tempfile::tempdir().unwrap();
    let text = read(ALIPAY_CERT);
    let cut = text.rfind("-----END CERTIFICATE-----").unwrap();
    let unterminated = write(dir.path(), "cut.crt", &text[..cut]);
    let err = Cert::load_file(&unterminated).unwrap_err();
    assert!(matches!(err, CertError::Pem { index: 2, .. }), "{err}");
    assert!(err.to_string().contains("cut.crt, certificate 2"), "{err}");

    // Valid base64, not a certificate.
    let garbage = write(
        dir.path(),
        "garbage.crt",
        "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
    );
    let err = Cert::load_file(&garbage).unwrap_err();
    assert!(matches!(err, CertError::Parse { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("garbage.crt, certificate 1: not a valid X.509 certificate"),
        "{err}"
    );

    let not_b64 = write(
        dir.path(),
        "b64.crt",
        "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
    );
    let err = Cert::load_file(&not_b64).unwrap_err();
    assert!(err.to_string().contains("not base64"), "{err}");
}

#[test]
fn expired_and_not_yet_valid_certificates_are_refused_with_the_date() {
    let files = (
        cert_file(APP_CERT),
        cert_file(ALIPAY_CERT),
        cert_file(ROOT_CERT),
    );
    let at = |t| {
        CertSet::load(
            &CertFiles {
                app_cert: &files.0,
                alipay_cert: &files.1,
                alipay_root_cert: &files.2,
            },
            t,
        )
    };
    // The leaves end 2031-11-30 19:19:51 UTC.
    let err = at(Utc.with_ymd_and_hms(2031, 12, 1, 0, 0, 0).unwrap()).unwrap_err();
    assert!(matches!(err, CertError::Expired { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(APP_CERT) && msg.contains("expired on 2031-11-30 19:19:51 UTC"),
        "{msg}"
    );

    let err = at(Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()).unwrap_err();
    assert!(matches!(err, CertError::NotYetValid { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("not yet valid (valid from 2026-12-01 19:19:51 UTC)"),
        "{err}"
    );

    // Alipay's certificate expired while the app's is fine: the message names its file.
    let alipay = Cert::load_file(&files.1).unwrap();
    let err = alipay[0]
        .check_dates(Utc.with_ymd_and_hms(2032, 1, 1, 0, 0, 0).unwrap())
        .unwrap_err();
    assert!(err.to_string().contains(ALIPAY_CERT), "{err}");
}

#[test]
fn certificates_within_30_days_of_expiry_are_warned_about() {
    let set = load();
    assert!(set.check(vector_time()).is_empty());
    // 10 days before the leaves end: app and Alipay leaf warned, the CAs (2036/2046) not.
    let soon = Utc.with_ymd_and_hms(2031, 11, 20, 19, 19, 51).unwrap();
    let set = load_at(soon);
    let warnings = set.check(soon);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    for w in &warnings {
        let CertWarning::ExpiresSoon { days_left, .. } = w else {
            panic!("{w}");
        };
        assert_eq!(*days_left, 10);
        assert!(
            w.to_string()
                .contains("expires on 2031-11-30 19:19:51 UTC (in 10 days)"),
            "{w}"
        );
    }
    let text: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    assert!(text.iter().any(|t| t.contains(APP_CERT)), "{text:?}");
    assert!(text.iter().any(|t| t.contains(ALIPAY_CERT)), "{text:?}");
    // 31 days before: nothing yet.
    let early = Utc.with_ymd_and_hms(2031, 10, 30, 19, 19, 50).unwrap();
    assert!(load_at(early).check(early).is_empty());
    // Loaded while valid, expired since: reported as expired.
    let later = Utc.with_ymd_and_hms(2031, 12, 2, 0, 0, 0).unwrap();
    let expired = load_at(soon).check(later);
    assert_eq!(expired.len(), 2, "{expired:?}");
    assert!(expired
        .iter()
        .all(|w| matches!(w, CertWarning::Expired { .. })));
}

#[test]
fn the_app_certificate_must_hold_the_public_half_of_the_app_key() {
    let set = load();
    for f in [
        "app_private_pkcs1.pem",
        "app_private_pkcs8.pem",
        "app_private_pkcs8_bare.txt",
    ] {
        set.check_app_key(&SignKey::from_file(&key_file(f)).unwrap())
            .unwrap();
    }
    let other = SignKey::from_file(&key_file("alipay_private_pkcs8.pem")).unwrap();
    let err = set.check_app_key(&other).unwrap_err();
    assert!(matches!(err, CertError::NotAppKey { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(APP_CERT) && msg.contains("not hold the public half of app_private_key"),
        "{msg}"
    );
    let generated = SignKey::generate().unwrap();
    assert!(set.check_app_key(&generated).is_err());
}

#[test]
fn the_leaf_key_is_the_configured_public_key() {
    let alipay = Cert::load_file(&cert_file(ALIPAY_CERT)).unwrap();
    let key = alipay[0].verify_key().unwrap();
    let file =
        shopsync::alipay::sign::VerifyKey::from_file(&key_file("alipay_public.pem")).unwrap();
    assert!(key.same_key(&file));
    // The SM2 root holds no RSA key.
    let roots = Cert::load_file(&cert_file(ROOT_CERT)).unwrap();
    assert!(matches!(
        roots[1].verify_key(),
        Err(CertError::NotRsa { .. })
    ));
}
