//! v3 REST on the same listener: Authorization check, bare bodies, signed headers.

use serde_json::{json, Value};
use shopsync::alipay::sign::SignKey;
use shopsync::alipay::v3::{auth_string, sign_request, verify_response};
use shopsync::clock::Clock;

use super::client::*;
use crate::helpers::key_file;

struct V3Answer {
    status: u16,
    signed: Option<bool>,
    body: Value,
}

async fn v3(c: &Client, key: &SignKey, method: &str, uri: &str, body: &str) -> V3Answer {
    let auth = auth_string(
        "2021000000000001",
        "5f0e6b2c9d1a4f7e8b3c2d1e0f9a8b7c",
        c.clock.now().timestamp_millis(),
    );
    let header = sign_request(key, &auth, method, uri, body, None);
    let base = c.url.trim_end_matches("/gateway.do");
    let req = if method == "GET" {
        c.http.get(format!("{base}{uri}"))
    } else {
        c.http
            .post(format!("{base}{uri}"))
            .header("content-type", "application/json")
            .body(body.to_string())
    };
    let resp = req.header("authorization", header).send().await.unwrap();
    let status = resp.status().as_u16();
    let h = |k: &str| {
        resp.headers()
            .get(k)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let (ts, nonce, sig) = (
        h("alipay-timestamp"),
        h("alipay-nonce"),
        h("alipay-signature"),
    );
    let text = resp.text().await.unwrap();
    let signed = match (ts, nonce, sig) {
        (Some(t), Some(n), Some(s)) => Some(verify_response(&c.alipay, &t, &n, &text, &s)),
        _ => None,
    };
    V3Answer {
        status,
        signed,
        body: serde_json::from_str(&text).unwrap(),
    }
}

#[tokio::test]
async fn v3_shares_state_and_signs_responses() {
    let (h, c) = setup(|_| {}).await;
    let cr = v3(
        &c,
        &c.app_key,
        "POST",
        "/v3/alipay/offline/market/shop/create",
        &create_biz("V1", "v3r1").to_string(),
    )
    .await;
    assert_eq!((cr.status, cr.signed), (200, Some(true)));
    assert_eq!(cr.body["audit_status"], "AUDITING");
    assert!(cr.body.get("code").is_none(), "bare business object");
    finish_audits(&h, &c);
    let shop_id = h.shops()[0].shop_id.clone();
    let d = v3(
        &c,
        &c.app_key,
        "GET",
        &format!("/v3/alipay/offline/market/shop/querydetail?shop_id={shop_id}&op_role=ISV"),
        "",
    )
    .await;
    assert_eq!((d.status, d.signed), (200, Some(true)));
    assert_eq!(d.body["store_id"], "V1");
    let missing = v3(
        &c,
        &c.app_key,
        "GET",
        "/v3/alipay/offline/market/shop/querydetail?shop_id=1",
        "",
    )
    .await;
    assert_eq!((missing.status, missing.signed), (400, Some(true)));
    assert_eq!(missing.body["code"], "INVALID_SHOPID");
    let wrong = SignKey::from_file(&key_file("alipay_private_pkcs8.pem")).unwrap();
    let bad = v3(
        &c,
        &wrong,
        "POST",
        "/v3/alipay/offline/market/shop/summary/batchquery",
        "{}",
    )
    .await;
    assert_eq!(
        (bad.status, bad.signed),
        (400, None),
        "unauthenticated errors carry no signature"
    );
    assert_eq!(bad.body["code"], "invalid-signature");
    // The classic gateway sees the v3-created shop.
    let sum = c.call(SUMMARY, json!({})).await;
    assert_eq!(sum.field("total_items"), "1");
    h.shutdown().await;
}
