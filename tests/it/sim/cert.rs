//! Certificate mode (§2.9): the simulator's SNs against the official SDK's vectors, and
//! the simulator in certificate mode over real HTTP.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use shopsync::alipay::envelope::{self, Verification};
use shopsync::alipay::sign::{SignKey, VerifyKey};
use shopsync::sim::cert::{self, CertMode};

use super::client::*;
use super::v3::{v3_call, V3Opts};
use crate::helpers::{key_file, shared_dir};

const DOWNLOAD: &str = "alipay.open.app.alipaycert.download";

fn cert_dir() -> std::path::PathBuf {
    shared_dir().join("protocol-vectors/cert")
}

fn cert_vectors() -> serde_json::Value {
    let text = std::fs::read_to_string(cert_dir().join("vectors.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn sn_of(file: &str) -> String {
    let (_, certs) = cert::read_pem(&cert_dir().join(file)).unwrap();
    cert::sn(&certs[0])
}

#[test]
fn the_simulator_computes_the_vectors_sns() {
    let v = cert_vectors();
    let sn = &v["sn"];
    assert_eq!(
        sn_of("appCertPublicKey_2021000000000001.crt"),
        sn["app_cert_sn"]
    );
    assert_eq!(sn_of("alipayCertPublicKey_RSA2.crt"), sn["alipay_cert_sn"]);
    assert_eq!(
        sn_of("alipayCertPublicKey_RSA2_rotated.crt"),
        sn["alipay_cert_sn_rotated"]
    );
    let (_, roots) = cert::read_pem(&cert_dir().join("alipayRootCert.crt")).unwrap();
    assert_eq!(roots.len(), 3);
    assert_eq!(
        roots.iter().filter(|c| cert::rsa_family(c)).count(),
        2,
        "the SM2 root is skipped"
    );
    assert_eq!(
        cert::root_sn(&roots, "root").unwrap(),
        sn["alipay_root_cert_sn"]
    );
    // CRLF files give the same answers.
    let text = std::fs::read_to_string(cert_dir().join("alipayRootCert.crt")).unwrap();
    let crlf = cert::parse_pem(&text.replace('\n', "\r\n"), "crlf").unwrap();
    assert_eq!(
        cert::root_sn(&crlf, "crlf").unwrap(),
        sn["alipay_root_cert_sn"]
    );
}

fn key(name: &str) -> SignKey {
    SignKey::from_file(&key_file(name)).unwrap()
}

fn public(name: &str) -> VerifyKey {
    VerifyKey::from_file(&key_file(name)).unwrap()
}

fn file(name: &str) -> String {
    std::fs::read_to_string(cert_dir().join(name)).unwrap()
}

/// Certificate mode with the vector files; a rotation to the `_rotated` certificate after
/// `rotate_after` calls (never, if `None`).
fn vector_mode(rotate_after: Option<u64>) -> CertMode {
    let mode = CertMode::from_pem(
        &file("appCertPublicKey_2021000000000001.crt"),
        &file("alipayCertPublicKey_RSA2.crt"),
        &file("alipayRootCert.crt"),
        key("alipay_private_pkcs8.pem"),
    )
    .unwrap();
    mode.with_rotation(
        &file("alipayCertPublicKey_RSA2_rotated.crt"),
        key("alipay_rotated_private_pkcs8.pem"),
        rotate_after.unwrap_or(u64::MAX),
    )
    .unwrap()
}

fn sns() -> Vec<(String, String)> {
    let v = cert_vectors();
    vec![
        (
            "app_cert_sn".into(),
            v["sn"]["app_cert_sn"].as_str().unwrap().into(),
        ),
        (
            "alipay_root_cert_sn".into(),
            v["sn"]["alipay_root_cert_sn"].as_str().unwrap().into(),
        ),
    ]
}

/// When the vectors' requests were made (2026-12-02 03:20:42 in China).
fn vector_time() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 19, 20, 42).unwrap() + chrono::Duration::milliseconds(482)
}

#[tokio::test]
async fn the_official_sdks_cert_mode_requests_are_accepted_as_sent() {
    let (h, c) = setup_at(vector_time(), |cfg| cfg.cert = Some(vector_mode(None))).await;
    let v = cert_vectors();
    let accepted = &v["classic"][0];
    let pairs = |x: &Value| -> Vec<(String, String)> {
        x.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect()
    };
    let req = &accepted["request"];
    let resp = c
        .raw(&pairs(&req["query"]), &pairs(&req["form"]))
        .await
        .unwrap();
    let a = c.parse(SUMMARY, resp.text().await.unwrap());
    assert_eq!(
        (a.code(), a.verification),
        ("10000", Verification::Valid),
        "{}",
        a.body
    );
    let cert_sn = v["sn"]["alipay_cert_sn"].as_str().unwrap();
    assert!(
        a.body
            .contains(&format!(",\"alipay_cert_sn\":\"{cert_sn}\",\"sign\":")),
        "{}",
        a.body
    );
    // The v3 request, byte for byte.
    let v3req = &v["v3"][0]["request"];
    let resp = c
        .http
        .post(format!(
            "{}{}",
            c.url.trim_end_matches("/gateway.do"),
            v3req["path"].as_str().unwrap()
        ))
        .header("authorization", v3req["authorization"].as_str().unwrap())
        .header(
            "alipay-root-cert-sn",
            v3req["alipay_root_cert_sn"].as_str().unwrap(),
        )
        .header("content-type", "application/json")
        .body(v3req["body"].as_str().unwrap().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["alipay-sn"].to_str().unwrap(), cert_sn);
    let sig = resp.headers()["alipay-signature"]
        .to_str()
        .unwrap()
        .to_string();
    let (ts, nonce) = (
        resp.headers()["alipay-timestamp"]
            .to_str()
            .unwrap()
            .to_string(),
        resp.headers()["alipay-nonce"].to_str().unwrap().to_string(),
    );
    let body = resp.text().await.unwrap();
    assert!(public("alipay_public.pem").verify(format!("{ts}\n{nonce}\n{body}\n").as_bytes(), &sig));
    h.shutdown().await;
}

#[tokio::test]
async fn cert_mode_checks_both_sns_unsigned_like_other_request_checks() {
    let (h, mut c) = setup(|cfg| cfg.cert = Some(vector_mode(None))).await;
    let good = sns();
    type Params = Vec<(String, String)>;
    let cases: [(Params, &str, &str); 4] = [
        (vec![good[1].clone()], "40001", "isv.missing-app-cert-sn"),
        (
            vec![("app_cert_sn".into(), "0".repeat(32)), good[1].clone()],
            "40002",
            "isv.app-cert-not-exist",
        ),
        (
            vec![good[0].clone()],
            "40001",
            "isv.missing-alipay-root-cert-sn",
        ),
        (
            vec![
                good[0].clone(),
                (
                    "alipay_root_cert_sn".into(),
                    "ea4932cc76e699b5dabf715119a5389d".into(),
                ),
            ],
            "40002",
            "isv.invalid-alipay-root-cert-sn",
        ),
    ];
    for (extra, code, sub) in cases {
        c.extra = extra;
        let a = c.call(CATEGORY, json!({})).await;
        assert_eq!(
            (a.code(), a.sub_code(), a.verification),
            (code, sub, Verification::Unsigned),
            "{}",
            a.body
        );
        assert!(!a.body.contains("alipay_cert_sn"));
    }
    // v3: the app SN in the auth string, the root SN in its header.
    let alipay = public("alipay_public.pem");
    let v3 = |opts: V3Opts| {
        let c = &c;
        let alipay = alipay.clone();
        async move {
            v3_call(
                c,
                &c.app_key,
                &alipay,
                "GET",
                "/v3/alipay/offline/market/shop/category/query",
                "",
                &opts,
            )
            .await
        }
    };
    let app_sn = Some(good[0].1.clone());
    let root_sn = Some(good[1].1.clone());
    for (opts, code) in [
        (
            V3Opts {
                root_cert_sn: root_sn.clone(),
                ..V3Opts::default()
            },
            "missing-app-cert-sn",
        ),
        (
            V3Opts {
                app_cert_sn: Some("1".repeat(32)),
                root_cert_sn: root_sn.clone(),
                ..V3Opts::default()
            },
            "app-cert-not-exist",
        ),
        (
            V3Opts {
                app_cert_sn: app_sn.clone(),
                ..V3Opts::default()
            },
            "missing-alipay-root-cert-sn",
        ),
        (
            V3Opts {
                app_cert_sn: app_sn.clone(),
                root_cert_sn: Some("x".into()),
                ..V3Opts::default()
            },
            "invalid-alipay-root-cert-sn",
        ),
    ] {
        let a = v3(opts).await;
        assert_eq!(
            (a.status, a.body["code"].as_str(), a.signed),
            (400, Some(code), None)
        );
        assert!(a.header("alipay-sn").is_none() && a.header("alipay-trace-id").is_some());
    }
    let a = v3(V3Opts {
        app_cert_sn: app_sn,
        root_cert_sn: root_sn,
        ..V3Opts::default()
    })
    .await;
    assert_eq!((a.status, a.signed), (200, Some(true)));
    assert_eq!(
        a.header("alipay-sn"),
        cert_vectors()["sn"]["alipay_cert_sn"].as_str()
    );
    h.shutdown().await;
}

#[tokio::test]
async fn after_n_calls_answers_name_the_rotated_certificate_which_download_serves() {
    let (h, mut c) = setup(|cfg| cfg.cert = Some(vector_mode(Some(3)))).await;
    c.extra = sns();
    let v = cert_vectors();
    let (old_sn, new_sn) = (
        v["sn"]["alipay_cert_sn"].as_str().unwrap(),
        v["sn"]["alipay_cert_sn_rotated"].as_str().unwrap(),
    );
    let (old_key, new_key) = (
        public("alipay_public.pem"),
        public("alipay_rotated_public.pem"),
    );
    let rotated_chain = file("alipayCertPublicKey_RSA2_rotated.crt");
    for n in 1..=4 {
        let a = c.call(CATEGORY, json!({})).await;
        let ex = envelope::extract(&a.body, CATEGORY).unwrap();
        let sign = ex.sign.as_deref().unwrap();
        let (sn, key, other) = if n <= 3 {
            (old_sn, &old_key, &new_key)
        } else {
            (new_sn, &new_key, &old_key)
        };
        assert!(
            a.body.contains(&format!("\"alipay_cert_sn\":\"{sn}\"")),
            "call {n}: {}",
            a.body
        );
        assert!(
            key.verify(ex.content.as_bytes(), sign),
            "call {n} signed under {sn}"
        );
        assert!(!other.verify(ex.content.as_bytes(), sign));
    }
    assert_eq!(h.alipay_cert_sn().as_deref(), Some(new_sn));
    // The rotated certificate is served by download; an unknown one is not.
    let a = c.call(DOWNLOAD, json!({"alipay_cert_sn": new_sn})).await;
    assert_eq!(a.code(), "10000", "{}", a.body);
    let content = B64.decode(a.field("alipay_cert_content")).unwrap();
    assert_eq!(String::from_utf8(content).unwrap(), rotated_chain);
    let a = c.call(DOWNLOAD, json!({"alipay_cert_sn": old_sn})).await;
    assert_eq!(a.code(), "10000");
    let a = c
        .call(DOWNLOAD, json!({"alipay_cert_sn": "f".repeat(32)}))
        .await;
    assert_eq!(
        (a.code(), a.sub_code(), a.verification),
        ("40004", "ALIPAY_CERT_NOT_EXIST", Verification::Invalid)
    );
    assert!(new_key.verify(
        envelope::extract(&a.body, DOWNLOAD)
            .unwrap()
            .content
            .as_bytes(),
        envelope::extract(&a.body, DOWNLOAD)
            .unwrap()
            .sign
            .as_deref()
            .unwrap()
    ));
    h.shutdown().await;
}

#[tokio::test]
async fn key_mode_holds_no_certificate_to_download() {
    let (h, c) = setup(|_| {}).await;
    let a = c
        .call(
            DOWNLOAD,
            json!({"alipay_cert_sn": "3f01cbad46d99cf484c891b432a879b5"}),
        )
        .await;
    assert_eq!(
        (a.code(), a.sub_code(), a.verification),
        ("40004", "ALIPAY_CERT_NOT_EXIST", Verification::Valid)
    );
    assert!(!a.body.contains("alipay_cert_sn\":"));
    h.shutdown().await;
}

/// `child` carries a valid SHA256withRSA signature by `issuer`'s key.
fn signed_by(child: &cert::Cert, issuer: &cert::Cert) -> bool {
    use x509_cert::der::{Decode, Encode};
    let parsed = x509_cert::Certificate::from_der(child.der()).unwrap();
    let tbs = parsed.tbs_certificate().to_der().unwrap();
    let sig = B64.encode(parsed.signature().raw_bytes());
    cert::public_key(issuer, "issuer")
        .unwrap()
        .verify(&tbs, &sig)
}

#[tokio::test]
async fn a_generated_pki_chains_to_its_root_and_serves_cert_mode() {
    let app_public = public("app_public.pem");
    let pki = tokio::task::spawn_blocking(move || {
        shopsync::sim::pki::generate(
            "2021000000000001",
            &app_public,
            key("alipay_private_pkcs8.pem"),
        )
        .unwrap()
    })
    .await
    .unwrap();
    let root = cert::parse_pem(&pki.root_pem, "root").unwrap();
    let chain = cert::parse_pem(&pki.alipay_chain_pem, "alipay").unwrap();
    let rotated = cert::parse_pem(&pki.rotated_chain_pem, "rotated").unwrap();
    let app = cert::parse_pem(&pki.app_cert_pem, "app").unwrap();
    assert_eq!(
        (root.len(), chain.len(), rotated.len(), app.len()),
        (1, 2, 2, 1)
    );
    assert!(signed_by(&root[0], &root[0]), "the root is self-signed");
    assert!(signed_by(&chain[1], &root[0]), "the CA chains to the root");
    for leaf in [&chain[0], &rotated[0], &app[0]] {
        assert!(signed_by(leaf, &chain[1]), "issued by the CA");
        assert!(!signed_by(leaf, &root[0]));
    }
    assert!(cert::public_key(&app[0], "app")
        .unwrap()
        .same_key(&public("app_public.pem")));
    assert_ne!(cert::sn(&chain[0]), cert::sn(&rotated[0]));
    let mode = CertMode::from_pem(
        &pki.app_cert_pem,
        &pki.alipay_chain_pem,
        &pki.root_pem,
        pki.alipay_key,
    )
    .unwrap()
    .with_rotation(&pki.rotated_chain_pem, pki.rotated_key.clone(), 1)
    .unwrap();
    let sns = vec![
        ("app_cert_sn".to_string(), cert::sn(&app[0])),
        (
            "alipay_root_cert_sn".to_string(),
            cert::root_sn(&root, "root").unwrap(),
        ),
    ];
    let (h, mut c) = setup(|cfg| cfg.cert = Some(mode)).await;
    c.extra = sns;
    let first = c.call(CATEGORY, json!({})).await;
    assert_eq!(
        (first.code(), first.verification),
        ("10000", Verification::Valid)
    );
    assert!(first.body.contains(&cert::sn(&chain[0])));
    c.alipay = pki.rotated_key.verify_key();
    let second = c.call(CATEGORY, json!({})).await;
    assert_eq!(
        second.verification,
        Verification::Valid,
        "the second call is answered under the rotated key"
    );
    assert!(second.body.contains(&cert::sn(&rotated[0])));
    h.shutdown().await;
}
