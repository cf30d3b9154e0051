//! Every vector from Alipay's official SDKs in ../shared/protocol-vectors/vectors.json.

use shopsync::alipay::envelope::{self, Verification};
use shopsync::alipay::sign::{self, KeyError, SignKey, VerifyKey};
use shopsync::alipay::v3;

use crate::support::keys::{key_file, vectors};

fn app_keys() -> Vec<SignKey> {
    [
        "app_private_pkcs1.pem",
        "app_private_pkcs8.pem",
        "app_private_pkcs8_bare.txt",
    ]
    .iter()
    .map(|f| SignKey::from_file(&key_file(f)).unwrap())
    .collect()
}

fn alipay_public() -> VerifyKey {
    VerifyKey::from_file(&key_file("alipay_public.pem")).unwrap()
}

fn str_pairs(v: &serde_json::Value) -> Vec<(String, String)> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn classic_requests_sign_byte_for_byte_with_every_key_format() {
    let v = vectors();
    let keys = app_keys();
    let cases = v["classic_requests"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let params = str_pairs(&case["params"]);
        let content =
            sign::request_sign_content(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(
            content,
            case["sign_content"].as_str().unwrap(),
            "{}",
            case["note"]
        );
        for key in &keys {
            assert_eq!(
                key.sign(&content),
                case["sign"].as_str().unwrap(),
                "{}",
                case["note"]
            );
        }
    }
}

#[test]
fn classic_responses_verify_exactly_as_marked() {
    let v = vectors();
    let key = alipay_public();
    let cases = v["classic_responses"].as_array().unwrap();
    assert_eq!(cases.len(), 9);
    for case in cases {
        let note = case["note"].as_str().unwrap();
        let body = case["body"].as_str().unwrap();
        let method = case["method"].as_str().unwrap();
        let extracted = envelope::extract(body, method).unwrap();
        let result = envelope::verify(&extracted, &key);
        match case["valid"].as_bool() {
            Some(true) => {
                assert_eq!(result, Verification::Valid, "{note}");
                let signed = case["signed_content"].as_str().unwrap();
                let content = if extracted.content == signed {
                    extracted.content.to_string()
                } else {
                    extracted.content.replace("\\/", "/")
                };
                assert_eq!(content, signed, "{note}");
            }
            Some(false) => assert_eq!(result, Verification::Invalid, "{note}"),
            None => assert_eq!(result, Verification::Unsigned, "{note}"),
        }
    }
}

#[test]
fn the_app_public_key_does_not_verify_alipay_responses() {
    let v = vectors();
    let wrong = VerifyKey::from_file(&key_file("app_public.pem")).unwrap();
    let case = &v["classic_responses"][1];
    let extracted = envelope::extract(
        case["body"].as_str().unwrap(),
        case["method"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(envelope::verify(&extracted, &wrong), Verification::Invalid);
}

#[test]
fn notifications_verify_by_the_v1_rule() {
    let v = vectors();
    let key = alipay_public();
    for case in v["notifications"].as_array().unwrap() {
        let form = str_pairs(&case["form"]);
        let pairs = form.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        if let Some(expected) = case["sign_content"].as_str() {
            assert_eq!(sign::notify_sign_content(pairs.clone()), expected);
        }
        assert_eq!(
            sign::verify_notification(&key, pairs),
            case["valid"].as_bool().unwrap(),
            "{}",
            case["note"]
        );
    }
}

#[test]
fn v3_requests_sign_and_the_response_verifies_as_the_vectors_say() {
    let v = vectors();
    let keys = app_keys();
    let alipay = alipay_public();
    for case in v["v3"].as_array().unwrap() {
        let note = case["note"].as_str().unwrap();
        if let Some(auth) = case["auth_string"].as_str() {
            let content = v3::request_sign_content(
                auth,
                case["http_method"].as_str().unwrap(),
                case["request_uri"].as_str().unwrap(),
                case["body"].as_str().unwrap(),
                case["app_auth_token"].as_str(),
            );
            assert_eq!(content, case["sign_content"].as_str().unwrap(), "{note}");
            for key in &keys {
                let header = v3::sign_request(
                    key,
                    auth,
                    case["http_method"].as_str().unwrap(),
                    case["request_uri"].as_str().unwrap(),
                    case["body"].as_str().unwrap(),
                    case["app_auth_token"].as_str(),
                );
                assert_eq!(header, case["authorization"].as_str().unwrap(), "{note}");
                assert_eq!(
                    v3::parse_authorization(&header),
                    Some((auth.to_string(), case["sign"].as_str().unwrap().to_string()))
                );
            }
        } else {
            let h = &case["response_headers"];
            let ts = h["alipay-timestamp"].as_str().unwrap();
            let nonce = h["alipay-nonce"].as_str().unwrap();
            let body = case["body"].as_str().unwrap();
            assert_eq!(
                v3::response_sign_content(ts, nonce, body),
                case["sign_content"].as_str().unwrap()
            );
            let sig = h["alipay-signature"].as_str().unwrap();
            assert!(v3::verify_response(&alipay, ts, nonce, body, sig), "{note}");
            let tampered = body.replace("0001", "0009");
            assert!(!v3::verify_response(&alipay, ts, nonce, &tampered, sig));
        }
    }
}

#[test]
fn own_public_key_as_alipay_key_is_refused_by_name() {
    let app = SignKey::from_file(&key_file("app_private_pkcs8_bare.txt")).unwrap();
    let own = VerifyKey::from_file(&key_file("app_public_bare.txt")).unwrap();
    let err = sign::ensure_distinct(&app, &own).unwrap_err();
    assert!(matches!(err, KeyError::OwnPublicKey));
    assert!(err
        .to_string()
        .contains("public half of the app's own private key"));
    sign::ensure_distinct(&app, &alipay_public()).unwrap();
}

#[test]
fn bare_and_pem_public_keys_are_the_same_key() {
    let a = VerifyKey::from_file(&key_file("alipay_public.pem")).unwrap();
    let b = VerifyKey::from_file(&key_file("alipay_public_bare.txt")).unwrap();
    assert!(a.same_key(&b));
}

#[test]
fn swapped_key_kinds_are_named() {
    let err = VerifyKey::from_file(&key_file("alipay_private_pkcs1.pem")).unwrap_err();
    assert!(
        matches!(err, KeyError::PrivateGivenAsPublic { .. }),
        "{err}"
    );
    let err = SignKey::from_file(&key_file("app_public.pem")).unwrap_err();
    assert!(err.to_string().contains("public key"), "{err}");
}
