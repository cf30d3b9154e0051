//! Every vector in cert/vectors.json, reproduced from its inputs.

use shopsync::alipay::cert::{self, AnswerKey, Cert};
use shopsync::alipay::envelope::{self, Verification};
use shopsync::alipay::sign::{self, SignKey};
use shopsync::alipay::v3;

use super::{cert_vectors, certs, load, ALIPAY_CERT, ALIPAY_CERT_ROTATED, APP_CERT, ROOT_CERT};
use crate::support::keys::key_file;

fn app_key() -> SignKey {
    SignKey::from_file(&key_file("app_private_pkcs8.pem")).unwrap()
}

fn case<'a>(list: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("vector {name}"))
}

#[test]
fn every_sn_is_reproduced_byte_for_byte() {
    let v = cert_vectors();
    let sn = &v["sn"];
    assert_eq!(certs(APP_CERT)[0].sn(), sn["app_cert_sn"]);
    assert_eq!(certs(ALIPAY_CERT)[0].sn(), sn["alipay_cert_sn"]);
    assert_eq!(
        certs(ALIPAY_CERT_ROTATED)[0].sn(),
        sn["alipay_cert_sn_rotated"]
    );
    let roots = certs(ROOT_CERT);
    assert_eq!(
        cert::root_cert_sn(&roots, ROOT_CERT).unwrap(),
        sn["alipay_root_cert_sn"]
    );
    let set = load();
    assert_eq!(set.app_cert_sn(), sn["app_cert_sn"]);
    assert_eq!(set.alipay_cert_sn(), sn["alipay_cert_sn"]);
    assert_eq!(set.root_cert_sn(), sn["alipay_root_cert_sn"]);
}

#[test]
fn the_sn_is_the_md5_of_the_rfc2253_issuer_and_the_decimal_serial() {
    let leaf = &certs(ALIPAY_CERT)[0];
    assert_eq!(
        leaf.issuer(),
        "CN=Test Ant Financial Certification Authority Class 2 R1,OU=Certification Authority,O=Test Ant Financial,C=CN"
    );
    assert_eq!(leaf.serial_decimal(), "2315150396618211329");
    let roots = certs(ROOT_CERT);
    // The bundle: an RSA-SHA1 root, an SM2 root (skipped in the root SN), an RSA-SHA256 root.
    assert_eq!(roots.len(), 3);
    let rsa: Vec<bool> = roots.iter().map(Cert::is_rsa_signed).collect();
    assert_eq!(rsa, [true, false, true]);
    assert_eq!(roots[1].serial_decimal(), "34");
}

#[test]
fn the_classic_request_signs_byte_for_byte_with_the_computed_sns() {
    let v = cert_vectors();
    let set = load();
    let key = app_key();
    for name in ["cert_summary_accepted", "cert_download_rotated"] {
        let req = &case(&v["classic"], name)["request"];
        let mut params: Vec<(String, String)> = req["query"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| !["sign", "app_cert_sn", "alipay_root_cert_sn"].contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        for (k, val) in cert::classic_params(&set) {
            assert_eq!(req["query"][k], val, "{name}: {k}");
            params.push((k.to_string(), val.to_string()));
        }
        let biz = req["form"]["biz_content"].as_str().unwrap();
        params.push(("biz_content".into(), biz.into()));
        let content =
            sign::request_sign_content(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(key.sign(&content), req["query"]["sign"], "{name}");
    }
    let download = case(&v["classic"], "cert_download_rotated");
    assert_eq!(
        cert::download_biz_content(v["sn"]["alipay_cert_sn_rotated"].as_str().unwrap()),
        download["request"]["form"]["biz_content"]
    );
    assert_eq!(
        download["request"]["query"]["method"],
        cert::CERT_DOWNLOAD_METHOD
    );
}

#[test]
fn the_v3_authorization_is_reproduced_from_its_inputs() {
    let v = cert_vectors();
    let set = load();
    let req = &case(&v["v3"], "v3_cert_summary")["request"];
    let expected = req["authorization"].as_str().unwrap();
    // The nonce and timestamp are the vector's inputs; everything else is computed.
    let (auth, _) = v3::parse_authorization(expected).unwrap();
    let field = |name: &str| {
        auth.split(',')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap()
            .to_string()
    };
    let auth_string = cert::v3_auth_string(
        "2021000000000001",
        Some(set.app_cert_sn()),
        &field("nonce"),
        field("timestamp").parse().unwrap(),
    );
    assert_eq!(auth_string, auth);
    let header = v3::sign_request(
        &app_key(),
        &auth_string,
        req["method"].as_str().unwrap(),
        req["path"].as_str().unwrap(),
        req["body"].as_str().unwrap(),
        None,
    );
    assert_eq!(header, expected);
    assert_eq!(req["alipay_root_cert_sn"], set.root_cert_sn());
}

/// Verify a classic answer the way certificate mode does: the key of the certificate
/// the answer names. `None` when that certificate is not held (unverifiable).
fn verify_classic(set: &cert::CertSet, body: &str, method: &str) -> Option<Verification> {
    let sn = cert::classic_answer_cert_sn(body).unwrap();
    let AnswerKey::Known(key) = set.key_for_answer(sn.as_deref()) else {
        return None;
    };
    Some(envelope::verify(
        &envelope::extract(body, method).unwrap(),
        &key,
    ))
}

#[test]
fn each_classic_answer_is_accepted_or_rejected_as_marked() {
    let v = cert_vectors();
    let set = load();
    let method = "alipay.offline.market.shop.summary.batchquery";
    let accepted = case(&v["classic"], "cert_summary_accepted");
    assert_eq!(accepted["sdk_accepted"], true);
    let body = accepted["response_body"].as_str().unwrap();
    assert_eq!(
        verify_classic(&set, body, method),
        Some(Verification::Valid)
    );

    let tampered = case(&v["classic"], "cert_summary_tampered");
    assert_eq!(tampered["sdk_accepted"], false);
    let body = tampered["response_body"].as_str().unwrap();
    assert_eq!(
        verify_classic(&set, body, method),
        Some(Verification::Invalid)
    );

    // Signed with the rotated key, naming the rotated certificate: not held yet.
    let rotated = case(&v["classic"], "cert_summary_rotated_sn");
    let body = rotated["response_body"].as_str().unwrap();
    assert_eq!(verify_classic(&set, body, method), None);
    assert!(matches!(
        set.key_for_answer(cert::classic_answer_cert_sn(body).unwrap().as_deref()),
        AnswerKey::Unknown(sn) if sn == v["sn"]["alipay_cert_sn_rotated"]
    ));

    // The download answer is signed by the configured certificate.
    let download = case(&v["classic"], "cert_download_rotated");
    let body = download["response_body"].as_str().unwrap();
    assert_eq!(
        verify_classic(&set, body, cert::CERT_DOWNLOAD_METHOD),
        Some(Verification::Valid)
    );
}

#[test]
fn each_v3_answer_is_accepted_or_rejected_as_marked() {
    let v = cert_vectors();
    let set = load();
    let ok = case(&v["v3"], "v3_cert_summary");
    assert_eq!(ok["sdk_accepted"], true);
    let resp = &ok["response"];
    let h = &resp["headers"];
    let AnswerKey::Known(key) = set.key_for_answer(h[cert::V3_CERT_SN_HEADER].as_str()) else {
        panic!("alipay-sn names the configured certificate");
    };
    let (ts, nonce) = (
        h["alipay-timestamp"].as_str().unwrap(),
        h["alipay-nonce"].as_str().unwrap(),
    );
    let (body, sig) = (
        resp["body"].as_str().unwrap(),
        resp["signature"].as_str().unwrap(),
    );
    assert!(v3::verify_response(&key, ts, nonce, body, sig));
    assert!(!v3::verify_response(
        &key,
        ts,
        nonce,
        &body.replace("\"0\"", "\"1\""),
        sig
    ));

    // Another certificate's SN: refused (not held, so never verified with any key).
    let wrong = case(&v["v3"], "v3_cert_wrong_sn");
    assert_eq!(wrong["sdk_accepted"], false);
    let sn = wrong["response"]["headers"][cert::V3_CERT_SN_HEADER].as_str();
    assert!(matches!(set.key_for_answer(sn), AnswerKey::Unknown(_)));
}
