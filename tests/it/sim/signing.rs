//! The simulator's own sign-content builders (`shopsync::sim::signing`) against the
//! official SDK vectors: the strings byte for byte, and the signatures the test keys make
//! over them (RSA2 is deterministic) or verify.

use std::collections::BTreeMap;

use serde_json::Value;
use shopsync::alipay::sign::{SignKey, VerifyKey};
use shopsync::sim::signing::{
    classic_request_content, notification_content, v3_request_content, v3_response_content,
    Authorization,
};

use crate::helpers::{key_file, vectors};

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn classic_request_strings_and_signatures_match_the_vectors() {
    let app = SignKey::from_file(&key_file("app_private_pkcs8.pem")).unwrap();
    let cases = vectors()["classic_requests"].as_array().unwrap().clone();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let params: BTreeMap<String, String> = pairs(&case["params"]).into_iter().collect();
        let content = classic_request_content(&params);
        assert_eq!(
            content,
            case["sign_content"].as_str().unwrap(),
            "{}",
            case["note"]
        );
        assert_eq!(app.sign(&content), case["sign"].as_str().unwrap());
        // `sign` itself is never part of the string.
        let mut with_sign = params.clone();
        with_sign.insert("sign".into(), "x".into());
        assert_eq!(classic_request_content(&with_sign), content);
    }
}

#[test]
fn notification_strings_verify_as_the_vectors_say() {
    let alipay = VerifyKey::from_file(&key_file("alipay_public.pem")).unwrap();
    for case in vectors()["notifications"].as_array().unwrap() {
        let form = pairs(&case["form"]);
        let content = notification_content(&form);
        if let Some(expected) = case["sign_content"].as_str() {
            assert_eq!(content, expected, "{}", case["note"]);
        }
        let sign = form.iter().find(|(k, _)| k == "sign").unwrap().1.clone();
        assert_eq!(
            alipay.verify(content.as_bytes(), &sign),
            case["valid"].as_bool().unwrap(),
            "{}",
            case["note"]
        );
    }
}

#[test]
fn v3_strings_and_signatures_match_the_vectors() {
    let app = SignKey::from_file(&key_file("app_private_pkcs8.pem")).unwrap();
    let alipay = VerifyKey::from_file(&key_file("alipay_public.pem")).unwrap();
    let mut requests = 0;
    for case in vectors()["v3"].as_array().unwrap() {
        if let Some(auth) = case["authorization"].as_str() {
            requests += 1;
            let parsed = Authorization::parse(auth).unwrap();
            assert_eq!(parsed.auth_string, case["auth_string"].as_str().unwrap());
            assert_eq!(parsed.sign, case["sign"].as_str().unwrap());
            assert_eq!(parsed.item("app_id"), Some("2021000000000001"));
            let content = v3_request_content(
                &parsed.auth_string,
                case["http_method"].as_str().unwrap(),
                case["request_uri"].as_str().unwrap(),
                case["body"].as_str().unwrap(),
                case["app_auth_token"].as_str(),
            );
            assert_eq!(
                content,
                case["sign_content"].as_str().unwrap(),
                "{}",
                case["note"]
            );
            assert_eq!(app.sign(&content), parsed.sign);
        } else {
            let h = &case["response_headers"];
            let content = v3_response_content(
                h["alipay-timestamp"].as_str().unwrap(),
                h["alipay-nonce"].as_str().unwrap(),
                case["body"].as_str().unwrap(),
            );
            assert_eq!(content, case["sign_content"].as_str().unwrap());
            let signature = h["alipay-signature"].as_str().unwrap();
            assert_eq!(
                alipay.verify(content.as_bytes(), signature),
                case["valid"].as_bool().unwrap()
            );
        }
    }
    assert_eq!(requests, 2);
}
