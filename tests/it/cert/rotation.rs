//! Rotation: an answer naming a certificate we do not hold verifies only after the
//! downloaded certificate is decoded, chain-checked and added.

use shopsync::alipay::cert::{self, AnswerKey, Cert, CertError, CertSet};
use shopsync::alipay::envelope::{self, Verification};

use super::{cert_file, cert_vectors, load, vector_time, ALIPAY_CERT_ROTATED};

const SUMMARY: &str = "alipay.offline.market.shop.summary.batchquery";

fn body_of(v: &serde_json::Value, name: &str) -> String {
    v["classic"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()["response_body"]
        .as_str()
        .unwrap()
        .to_string()
}

fn verify(set: &CertSet, body: &str, method: &str) -> Option<Verification> {
    let sn = cert::classic_answer_cert_sn(body).unwrap();
    match set.key_for_answer(sn.as_deref()) {
        AnswerKey::Known(key) => Some(envelope::verify(
            &envelope::extract(body, method).unwrap(),
            &key,
        )),
        AnswerKey::Unknown(_) => None,
    }
}

/// The PEM chain inside the download answer (after its own signature checked out).
fn downloaded_pem(set: &CertSet, v: &serde_json::Value) -> String {
    let body = body_of(v, "cert_download_rotated");
    assert_eq!(
        verify(set, &body, cert::CERT_DOWNLOAD_METHOD),
        Some(Verification::Valid)
    );
    let node = envelope::extract(&body, cert::CERT_DOWNLOAD_METHOD).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(node.content).unwrap();
    cert::decode_cert_content(parsed["alipay_cert_content"].as_str().unwrap()).unwrap()
}

#[test]
fn the_rotated_answer_verifies_only_after_the_download_is_checked_and_added() {
    let v = cert_vectors();
    let rotated_sn = v["sn"]["alipay_cert_sn_rotated"].as_str().unwrap();
    let set = load();
    let rotated = body_of(&v, "cert_summary_rotated_sn");
    assert_eq!(verify(&set, &rotated, SUMMARY), None);
    // Forcing the configured key on it fails: it was signed with the new key.
    let old = set.verify_key_for(set.alipay_cert_sn()).unwrap();
    assert_eq!(
        envelope::verify(&envelope::extract(&rotated, SUMMARY).unwrap(), &old),
        Verification::Invalid
    );

    let pem = downloaded_pem(&set, &v);
    // The download holds the same chain as the rotated certificate file.
    let file_chain = Cert::load_file(&cert_file(ALIPAY_CERT_ROTATED)).unwrap();
    let got_chain = Cert::parse_pem(&pem, "download").unwrap();
    assert_eq!(got_chain.len(), 2);
    assert_eq!(got_chain[0].der(), file_chain[0].der());

    assert_eq!(
        set.accept_downloaded(rotated_sn, &pem, vector_time())
            .unwrap(),
        rotated_sn
    );
    assert_eq!(verify(&set, &rotated, SUMMARY), Some(Verification::Valid));
    // The configured certificate is still trusted, and both are listed.
    let accepted = body_of(&v, "cert_summary_accepted");
    assert_eq!(verify(&set, &accepted, SUMMARY), Some(Verification::Valid));
    assert_eq!(set.trusted_sns(), [set.alipay_cert_sn(), rotated_sn]);
    // The tampered body stays rejected with either key.
    let tampered = body_of(&v, "cert_summary_tampered").replace(set.alipay_cert_sn(), rotated_sn);
    assert_eq!(
        verify(&set, &tampered, SUMMARY),
        Some(Verification::Invalid)
    );
}

#[test]
fn a_download_whose_certificate_is_not_the_requested_sn_is_refused() {
    let v = cert_vectors();
    let set = load();
    let pem = downloaded_pem(&set, &v);
    let wrong = "0123456789abcdef0123456789abcdef";
    let err = set
        .accept_downloaded(wrong, &pem, vector_time())
        .unwrap_err();
    assert!(matches!(err, CertError::SnMismatch { .. }), "{err}");
    assert!(err.to_string().contains(wrong), "{err}");
    assert!(set.verify_key_for(wrong).is_none());
    let rotated_sn = v["sn"]["alipay_cert_sn_rotated"].as_str().unwrap();
    assert!(set.verify_key_for(rotated_sn).is_none());
}

#[test]
fn an_answer_naming_an_unknown_sn_stays_unverifiable() {
    let v = cert_vectors();
    let set = load();
    let body = body_of(&v, "cert_summary_accepted")
        .replace(set.alipay_cert_sn(), "ffffffffffffffffffffffffffffffff");
    assert_eq!(verify(&set, &body, SUMMARY), None);
    assert!(matches!(
        set.key_for_answer(Some("ffffffffffffffffffffffffffffffff")),
        AnswerKey::Unknown(sn) if sn == "ffffffffffffffffffffffffffffffff"
    ));
    // No SN (or an empty one): the configured certificate's key.
    assert!(matches!(set.key_for_answer(None), AnswerKey::Known(_)));
    assert!(matches!(set.key_for_answer(Some("")), AnswerKey::Known(_)));
}

#[test]
fn a_download_outside_its_validity_window_is_refused() {
    let v = cert_vectors();
    let rotated_sn = v["sn"]["alipay_cert_sn_rotated"].as_str().unwrap();
    let set = load();
    let pem = downloaded_pem(&set, &v);
    // The rotated certificate starts at 2026-12-01 19:20:42 UTC, a minute after the others.
    let before = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 1, 19, 20, 0).unwrap();
    let err = set.accept_downloaded(rotated_sn, &pem, before).unwrap_err();
    assert!(matches!(err, CertError::NotYetValid { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("not yet valid (valid from 2026-12-01 19:20:42 UTC)"),
        "{err}"
    );
    assert!(set.verify_key_for(rotated_sn).is_none());
}

#[test]
fn bad_cert_content_is_named() {
    for bad in ["***", "aGVsbG8=", ""] {
        let err = cert::decode_cert_content(bad).unwrap_err();
        assert!(
            matches!(err, CertError::BadCertContent { .. }),
            "{bad}: {err}"
        );
        assert!(err.to_string().contains("alipay_cert_content"), "{err}");
    }
}
