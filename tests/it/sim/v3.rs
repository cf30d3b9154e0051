//! v3 REST on the same listener and state (§3): every method the client uses, the
//! Authorization check, bare bodies, the HTTP status mapping, signed headers, and
//! `alipay-trace-id` on every answer.

use serde_json::{json, Value};
use shopsync::alipay::sign::{SignKey, VerifyKey};
use shopsync::alipay::v3::{sign_request, verify_response};
use shopsync::clock::Clock;
use shopsync::sim::{FaultKind, FaultRule, RateSpec, Trigger};

use super::client::*;
use crate::helpers::key_file;

/// What a v3 call sends besides method, URI and body.
#[derive(Default, Clone)]
pub(super) struct V3Opts {
    pub(super) token: Option<String>,
    /// Inserted after `app_id` in the auth string (certificate mode).
    pub(super) app_cert_sn: Option<String>,
    /// The `alipay-root-cert-sn` header.
    pub(super) root_cert_sn: Option<String>,
    /// image.upload: the file part beside the `data` JSON part (the body).
    pub(super) file: Option<Vec<u8>>,
}

pub(super) struct V3Answer {
    pub(super) status: u16,
    /// `None` without signature headers; else whether `alipay-signature` verifies.
    pub(super) signed: Option<bool>,
    pub(super) headers: reqwest::header::HeaderMap,
    pub(super) body: Value,
}

impl V3Answer {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// One signed v3 call; answers verified with `alipay`.
pub(super) async fn v3_call(
    c: &Client,
    key: &SignKey,
    alipay: &VerifyKey,
    verb: &str,
    uri: &str,
    body: &str,
    opts: &V3Opts,
) -> V3Answer {
    let ts = c.clock.now().timestamp_millis();
    let auth = match &opts.app_cert_sn {
        Some(sn) => {
            format!("app_id=2021000000000001,app_cert_sn={sn},nonce=5f0e6b2c,timestamp={ts}")
        }
        None => format!("app_id=2021000000000001,nonce=5f0e6b2c,timestamp={ts}"),
    };
    let signed_body = if verb == "GET" { "" } else { body };
    let header = sign_request(key, &auth, verb, uri, signed_body, opts.token.as_deref());
    let base = c.url.trim_end_matches("/gateway.do");
    let mut req = match verb {
        "GET" => c.http.get(format!("{base}{uri}")),
        _ => c.http.post(format!("{base}{uri}")),
    };
    req = match &opts.file {
        Some(bytes) => req.multipart(
            reqwest::multipart::Form::new()
                .part(
                    "data",
                    reqwest::multipart::Part::text(body.to_string())
                        .mime_str("application/json")
                        .unwrap(),
                )
                .part(
                    "image_content",
                    reqwest::multipart::Part::bytes(bytes.clone()).file_name("front.jpg"),
                ),
        ),
        None if verb == "GET" => req,
        None => req
            .header("content-type", "application/json")
            .body(body.to_string()),
    };
    req = req.header("authorization", header);
    if let Some(t) = &opts.token {
        req = req.header("alipay-app-auth-token", t);
    }
    if let Some(sn) = &opts.root_cert_sn {
        req = req.header("alipay-root-cert-sn", sn);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let h = |k: &str| headers.get(k).map(|v| v.to_str().unwrap().to_string());
    let signed = match (
        h("alipay-timestamp"),
        h("alipay-nonce"),
        h("alipay-signature"),
    ) {
        (Some(t), Some(n), Some(s)) => Some(verify_response(alipay, &t, &n, &text, &s)),
        _ => None,
    };
    V3Answer {
        status,
        signed,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

/// A v3 call with the test keys and no token.
async fn v3(c: &Client, verb: &str, uri: &str, body: &str) -> V3Answer {
    v3_call(
        c,
        &c.app_key,
        &c.alipay,
        verb,
        uri,
        body,
        &V3Opts::default(),
    )
    .await
}

const P: &str = "/v3/alipay/offline/market";

#[tokio::test]
async fn every_method_over_v3_on_the_classic_state() {
    let (h, c) = setup(|_| {}).await;
    let up = v3_call(
        &c,
        &c.app_key,
        &c.alipay,
        "POST",
        "/v3/alipay/offline/material/image/upload",
        r#"{"image_type":"PNG","image_name":"front"}"#,
        &V3Opts {
            file: Some(vec![7; 300]),
            ..V3Opts::default()
        },
    )
    .await;
    assert_eq!((up.status, up.signed), (200, Some(true)), "{}", up.body);
    let image_id = up.body["image_id"].as_str().unwrap().to_string();
    assert_eq!(image_id.len(), 32);
    let mut biz = create_biz("V1", "v3r1");
    biz["audit_images"] = json!(format!("{IMG1},{image_id}"));
    let cr = v3(&c, "POST", &format!("{P}/shop/create"), &biz.to_string()).await;
    assert_eq!((cr.status, cr.signed), (200, Some(true)), "{}", cr.body);
    assert_eq!(cr.body["audit_status"], "AUDITING");
    assert!(cr.body.get("code").is_none(), "bare business object");
    let apply_id = cr.body["apply_id"].as_str().unwrap().to_string();
    let ao = v3(
        &c,
        "POST",
        &format!("{P}/applyorder/batchquery"),
        &json!({"biz_type": "SHOP", "apply_ids": [apply_id]}).to_string(),
    )
    .await;
    assert_eq!(ao.body["biz_order_infos"][0]["status"], "PROCESS");
    assert_eq!(ao.body["total_items"], 1);
    finish_audits(&h, &c);
    // The classic gateway sees the v3-created shop, and v3 the classic-created one.
    let classic_id = create_approved(&h, &c, "C1", "cr1").await;
    let sum = v3(
        &c,
        "POST",
        &format!("{P}/shop/summary/batchquery"),
        r#"{"page_no":1,"page_size":20}"#,
    )
    .await;
    assert_eq!((sum.status, sum.signed), (200, Some(true)));
    assert_eq!(sum.body["total_items"], "2");
    assert_eq!(c.call(SUMMARY, json!({})).await.field("total_items"), "2");
    let v3_id = h
        .shops()
        .into_iter()
        .find(|s| s.store_id == "V1")
        .unwrap()
        .shop_id;
    let d = v3(
        &c,
        "GET",
        &format!("{P}/shop/querydetail?shop_id={classic_id}&op_role=ISV"),
        "",
    )
    .await;
    assert_eq!((d.status, d.body["store_id"].as_str()), (200, Some("C1")));
    let m = json!({"shop_id": v3_id, "request_id": "v3m1", "address": "南京西路9号", "op_role": "ISV", "biz_version": "2.0"});
    let md = v3(&c, "POST", &format!("{P}/shop/modify"), &m.to_string()).await;
    assert_eq!((md.status, md.signed), (200, Some(true)), "{}", md.body);
    let d = c.call(DETAIL, json!({"shop_id": v3_id})).await;
    assert_eq!(d.field("address"), "南京西路9号");
    let ids = v3(
        &c,
        "POST",
        &format!("{P}/shop/batchquery"),
        r#"{"page_no":"1"}"#,
    )
    .await;
    assert_eq!(ids.body["shop_ids"].as_array().unwrap().len(), 2);
    let cats = v3(
        &c,
        "GET",
        &format!("{P}/shop/category/query?category_id=2015050700000000&op_role=ISV"),
        "",
    )
    .await;
    assert_eq!((cats.status, cats.signed), (200, Some(true)));
    let infos = cats.body["shop_category_config_infos"].as_array().unwrap();
    let leaf = infos
        .iter()
        .find(|x| x["id"] == "2015050700000018")
        .unwrap();
    assert_eq!(
        (leaf["is_leaf"].as_str(), leaf["link"].as_str()),
        (Some("true"), Some("美食-中餐-江浙菜"))
    );
    assert!(infos
        .iter()
        .any(|x| x["id"] == "2015050700000000" && x["is_leaf"] == "false"));
    assert!(
        infos.iter().all(|x| x["id"] != "2015063000020190"),
        "only the subtree asked for"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn v3_maps_errors_to_http_statuses_and_traces_every_answer() {
    let (h, c) = setup(|cfg| {
        cfg.app_auth_tokens = vec!["tok1".into()];
        cfg.disabled_methods.insert(MODIFY.into());
        cfg.method_rates
            .insert(APPLY.into(), RateSpec { qps: 1, burst: 1 });
    })
    .await;
    let ok = |a: &V3Answer| assert!(a.header("alipay-trace-id").is_some_and(|t| !t.is_empty()));
    let wrong = SignKey::from_file(&key_file("alipay_private_pkcs8.pem")).unwrap();
    let cases: Vec<(V3Answer, u16, &str, Option<bool>)> = vec![
        (
            v3(&c, "GET", &format!("{P}/shop/querydetail?shop_id=1"), "").await,
            400,
            "INVALID_SHOPID",
            Some(true),
        ),
        (
            v3_call(
                &c,
                &wrong,
                &c.alipay,
                "POST",
                &format!("{P}/shop/summary/batchquery"),
                "{}",
                &V3Opts::default(),
            )
            .await,
            400,
            "invalid-signature",
            None,
        ),
        (
            v3_call(
                &c,
                &c.app_key,
                &c.alipay,
                "POST",
                &format!("{P}/shop/summary/batchquery"),
                "{}",
                &V3Opts {
                    token: Some("nope".into()),
                    ..V3Opts::default()
                },
            )
            .await,
            401,
            "invalid-app-auth-token",
            Some(true),
        ),
        (
            v3(&c, "POST", &format!("{P}/shop/modify"), "{}").await,
            403,
            "insufficient-isv-permissions",
            Some(true),
        ),
        (
            v3(&c, "POST", &format!("{P}/shop/nothing"), "{}").await,
            404,
            "invalid-method",
            None,
        ),
        (
            v3(&c, "POST", &format!("{P}/shop/querydetail"), "{}").await,
            404,
            "invalid-method",
            None,
        ),
        (
            v3(
                &c,
                "POST",
                &format!("{P}/applyorder/batchquery"),
                r#"{"biz_type":"SHOP"}"#,
            )
            .await,
            200,
            "",
            Some(true),
        ),
        (
            v3(
                &c,
                "POST",
                &format!("{P}/applyorder/batchquery"),
                r#"{"biz_type":"SHOP"}"#,
            )
            .await,
            429,
            "method-call-limited",
            Some(true),
        ),
        (
            v3(&c, "POST", &format!("{P}/shop/create"), "{oops").await,
            400,
            "illegal-json",
            Some(true),
        ),
    ];
    for (i, (a, status, code, signed)) in cases.iter().enumerate() {
        assert_eq!(
            (a.status, a.signed),
            (*status, *signed),
            "case {i}: {}",
            a.body
        );
        if !code.is_empty() {
            assert_eq!(a.body["code"], *code, "case {i}");
            assert!(a.body["message"].is_string() && a.body["links"].is_array());
        }
        ok(a);
    }
    let token = v3_call(
        &c,
        &c.app_key,
        &c.alipay,
        "POST",
        &format!("{P}/shop/summary/batchquery"),
        "{}",
        &V3Opts {
            token: Some("tok1".into()),
            ..V3Opts::default()
        },
    )
    .await;
    assert_eq!((token.status, token.signed), (200, Some(true)));
    h.add_fault(FaultRule {
        method: Some(CREATE.into()),
        kind: FaultKind::UnknownErrorNotApplied,
        trigger: Trigger::Next(1),
    });
    let a = v3(
        &c,
        "POST",
        &format!("{P}/shop/create"),
        &create_biz("X1", "x1").to_string(),
    )
    .await;
    assert_eq!(
        (a.status, a.body["code"].as_str(), a.signed),
        (500, Some("unknow-error"), Some(true))
    );
    ok(&a);
    h.add_fault(FaultRule {
        method: Some(SUMMARY.into()),
        kind: FaultKind::Gateway5xx,
        trigger: Trigger::Next(1),
    });
    let a = v3(&c, "POST", &format!("{P}/shop/summary/batchquery"), "{}").await;
    assert_eq!((a.status, a.signed), (502, None));
    assert!(h.orders().is_empty());
    h.shutdown().await;
}

#[tokio::test]
async fn v3_image_upload_refusals_use_the_v3_codes() {
    let (h, c) = setup(|_| {}).await;
    let upload = |data: &'static str, bytes: Vec<u8>| {
        let c = &c;
        async move {
            let opts = V3Opts {
                file: Some(bytes),
                ..V3Opts::default()
            };
            v3_call(
                c,
                &c.app_key,
                &c.alipay,
                "POST",
                "/v3/alipay/offline/material/image/upload",
                data,
                &opts,
            )
            .await
        }
    };
    let big = upload(
        r#"{"image_type":"jpg","image_name":"a"}"#,
        vec![0; 5 * 1024 * 1024 + 1],
    )
    .await;
    assert_eq!(
        (big.status, big.body["code"].as_str()),
        (400, Some("EXCEED_MAX_SIZE"))
    );
    let tiff = upload(r#"{"image_type":"tiff","image_name":"a"}"#, vec![1; 10]).await;
    assert_eq!(
        (tiff.status, tiff.body["code"].as_str()),
        (400, Some("UNKNOWN_FORMAT"))
    );
    assert_eq!(big.signed, Some(true));
    h.shutdown().await;
}
