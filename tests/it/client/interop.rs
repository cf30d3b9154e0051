//! The simulator accepts requests laid out exactly as Alipay's Python SDK sends them
//! (`DefaultAlipayClient.execute`: non-empty system parameters and `sign` in the query
//! string, `biz_content` in the form body), replaying the official vectors byte for byte,
//! and also with every parameter in the form body and an empty query.

use serde_json::Value;
use shopsync::alipay::envelope::{self, Verification};
use shopsync::alipay::sign::request_sign_content;

use super::{alipay_public, app_key, seed_fields, Env};
use crate::support::keys::vectors;

/// The system parameters the Python SDK puts in the query string (`__get_common_params`).
const COMMON: [&str; 9] = [
    "timestamp",
    "app_id",
    "method",
    "charset",
    "format",
    "version",
    "sign_type",
    "app_auth_token",
    "notify_url",
];

/// The vector's token; the create vector carries it.
const TOKEN: &str = "202611BB0123456789abcdef0123456789ab";

#[derive(Clone, Copy, Debug)]
enum Layout {
    /// System parameters + `sign` in the query, `biz_content` in the body.
    PythonSdk,
    /// Everything in the body, no query string.
    AllInBody,
}

/// Python's `urllib.parse.quote_plus` (safe = "", UTF-8).
fn quote_plus(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The SDK's `url_encode`: `k=quote_plus(v)` joined with `&`.
fn url_encode(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", quote_plus(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// One vector request: its params (empty values dropped, as the SDK's `has_value` does),
/// checked against the vector's `sign_content` and `sign`.
fn vector_request(index: usize) -> (Vec<(String, String)>, String) {
    let v = vectors();
    let req = &v["classic_requests"][index];
    let params: Vec<(String, String)> = req["params"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let content = request_sign_content(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    assert_eq!(content, req["sign_content"].as_str().unwrap());
    let sign = req["sign"].as_str().unwrap().to_string();
    assert_eq!(
        app_key().sign(&content),
        sign,
        "RSA2 signatures are deterministic"
    );
    (params, sign)
}

/// Send vector `index` in `layout` with reqwest, and return (code, sub_code, node) after
/// checking the answer verifies with the Alipay public key.
async fn send(env: &Env, index: usize, layout: Layout) -> (String, String, Value) {
    let (params, sign) = vector_request(index);
    let method = params
        .iter()
        .find(|(k, _)| k == "method")
        .unwrap()
        .1
        .clone();
    let (mut query, mut body): (Vec<_>, Vec<_>) = match layout {
        Layout::PythonSdk => params
            .into_iter()
            .partition(|(k, _)| COMMON.contains(&k.as_str())),
        Layout::AllInBody => (Vec::new(), params),
    };
    match layout {
        Layout::PythonSdk => query.push(("sign".into(), sign)),
        Layout::AllInBody => body.push(("sign".into(), sign)),
    }
    let url = if query.is_empty() {
        env.sim.gateway_url()
    } else {
        format!("{}?{}", env.sim.gateway_url(), url_encode(&query))
    };
    let resp = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(url)
        .header(
            "Content-type",
            "application/x-www-form-urlencoded;charset=utf-8",
        )
        .header("Cache-Control", "no-cache")
        .header("Connection", "Keep-Alive")
        .header("User-Agent", "alipay-sdk-python-3.7.0")
        .body(url_encode(&body))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    let extracted = envelope::extract(&text, &method).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(
        envelope::verify(&extracted, &alipay_public()),
        Verification::Valid,
        "{layout:?} {method}: {text}"
    );
    let node: Value = serde_json::from_str(extracted.content).unwrap();
    let code = node["code"].as_str().unwrap_or("").to_string();
    let sub = node["sub_code"].as_str().unwrap_or("").to_string();
    (code, sub, node)
}

async fn replay(layout: Layout) {
    // The app's own merchant: 42 shops, so the modify vector's shop id exists.
    let own = Env::start(|_| {}).await;
    for n in 1..=42 {
        own.sim.seed_shop(&format!("ST-{n:04}"), seed_fields(n));
    }
    let shop_id = "2026112500077000000000000042";
    assert!(own.sim.shops().iter().any(|s| s.shop_id == shop_id));

    let (code, _, node) = send(&own, 0, layout).await;
    assert_eq!(code, "10000", "summary: {node}");
    assert_eq!(node["total_items"], "42");

    let (code, _, node) = send(&own, 2, layout).await;
    assert_eq!(code, "10000", "modify: {node}");
    assert_eq!(node["apply_id"], "2026112500107000000000000001");
    own.finish_audits();
    let shop = own
        .sim
        .shops()
        .into_iter()
        .find(|s| s.shop_id == shop_id)
        .unwrap();
    assert_eq!(shop.fields.get("branch_shop_name").unwrap(), "南京西路店");
    assert!(!shop.fields.contains_key("avg_price"), "#EMPTY# cleared it");

    let (code, _, node) = send(&own, 3, layout).await;
    assert_eq!(code, "10000", "applyorder: {node}");
    let orders = node["biz_order_infos"].as_array().unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["apply_id"], "2026112500107000000000000001");
    assert_eq!(orders[0]["status"], "SUCCESS");

    // The create vector acts for a merchant through its app_auth_token.
    let merchant = Env::start(|c| c.app_auth_tokens = vec![TOKEN.into()]).await;
    let (code, _, node) = send(&merchant, 1, layout).await;
    assert_eq!(code, "10000", "create: {node}");
    assert_eq!(node["audit_status"], "AUDITING");
    let orders = merchant.sim.orders();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].store_id, "SH-0001");
    assert_eq!(
        orders[0].params["value_added"], "免费茶水、免费糖果 & \"外卖\"",
        "quotes, & and = survive the form encoding"
    );
    assert_eq!(
        orders[0].notify_url.as_deref(),
        Some("https://pos.example.com/alipay/notify?x=1&y=2")
    );
}

#[tokio::test]
async fn python_sdk_layout_replays_the_official_vectors() {
    replay(Layout::PythonSdk).await;
}

#[tokio::test]
async fn every_parameter_in_the_form_body_also_works() {
    replay(Layout::AllInBody).await;
}

#[tokio::test]
async fn a_tampered_vector_is_refused_unsigned() {
    let env = Env::start(|_| {}).await;
    let (mut params, sign) = vector_request(0);
    for (k, v) in params.iter_mut() {
        if k == "biz_content" {
            *v = v.replace("\"page_size\":100", "\"page_size\":99");
        }
    }
    params.push(("sign".into(), sign));
    let resp = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(env.sim.gateway_url())
        .header(
            "Content-type",
            "application/x-www-form-urlencoded;charset=utf-8",
        )
        .body(url_encode(&params))
        .send()
        .await
        .unwrap();
    let text = resp.text().await.unwrap();
    let extracted =
        envelope::extract(&text, "alipay.offline.market.shop.summary.batchquery").unwrap();
    assert_eq!(
        envelope::verify(&extracted, &alipay_public()),
        Verification::Unsigned
    );
    let node: Value = serde_json::from_str(extracted.content).unwrap();
    assert_eq!(node["code"], "40002");
    assert_eq!(node["sub_code"], "isv.invalid-signature");
}
