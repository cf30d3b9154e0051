//! Every method over real HTTP, the gateway checks, rate limits, audits and modify rules.

use chrono::Duration;
use serde_json::{json, Value};
use shopsync::alipay::envelope::Verification;
use shopsync::alipay::sign::{request_sign_content, SignKey};
use shopsync::alipay::timestamp;
use shopsync::sim::RateSpec;

use super::client::*;
use crate::helpers::key_file;

#[tokio::test]
async fn every_method_answers_signed_and_the_create_audit_completes() {
    let (h, c) = setup(|_| {}).await;
    let cat = c.call(CATEGORY, json!({})).await;
    assert_eq!(cat.verification, Verification::Valid);
    assert_eq!(cat.code(), "10000");
    let cats = cat.node["shop_category_config_infos"].as_array().unwrap();
    let leaf = cats.iter().find(|x| x["id"] == "2015050700000018").unwrap();
    assert_eq!(leaf["is_leaf"], "true");
    assert_eq!(leaf["level"], "3");
    assert!(cats
        .iter()
        .any(|x| x["id"] == "2015050700000000" && x["is_leaf"] == "false"));

    let up = c.upload("JPG", vec![0xff; 1000]).await;
    assert_eq!(up.verification, Verification::Valid, "{}", up.body);
    let image_id = up.field("image_id");
    assert_eq!(image_id.len(), 32);
    let big = c.upload("jpg", vec![0; 5 * 1024 * 1024 + 1]).await;
    assert_eq!(
        (big.code(), big.sub_code()),
        ("40004", "isv.exceed-max-size")
    );
    let bad = c.upload("tiff", vec![1; 10]).await;
    assert_eq!((bad.code(), bad.sub_code()), ("40004", "isv.unknown-fomat"));

    let mut biz = create_biz("S001", "r1");
    biz["audit_images"] = json!(format!("{IMG1},{image_id}"));
    let cr = c.call(CREATE, biz).await;
    assert_eq!(cr.verification, Verification::Valid);
    assert_eq!(cr.node_name, "alipay_offline_market_shop_create_response");
    let apply_id = cr.field("apply_id");
    assert_eq!(apply_id.len(), 28);
    assert_eq!(&apply_id[..13], "2026112500107");
    assert_eq!(cr.field("audit_status"), "AUDITING");
    assert!(cr.body.starts_with(
        "{\"alipay_offline_market_shop_create_response\":{\"code\":\"10000\",\"msg\":\"Success\","
    ));

    let sum = c
        .call(SUMMARY, json!({"page_no": 1, "page_size": 20}))
        .await;
    assert_eq!(
        sum.field("total_items"),
        "0",
        "pending creates are not listed"
    );
    let ao = c
        .call(APPLY, json!({"biz_type": "SHOP", "apply_ids": [apply_id]}))
        .await;
    let order = &ao.node["biz_order_infos"][0];
    assert_eq!(
        (order["status"].as_str(), order["sub_status"].as_str()),
        (Some("PROCESS"), Some("RISK_AUDITING"))
    );
    assert!(order.get("biz_id").is_none());
    assert_eq!(
        ao.node["total_items"],
        json!(1),
        "paging numbers are JSON numbers"
    );
    // The official model: only category and name, and Alipay's own 16-digit request id.
    let ctx: Value = serde_json::from_str(order["biz_context_info"].as_str().unwrap()).unwrap();
    assert_eq!(
        ctx,
        json!({"category_id": "2015050700000018", "main_shop_name": "海底捞"})
    );
    let internal = order["request_id"].as_str().unwrap();
    assert!(internal.len() == 16 && internal.chars().all(|c| c.is_ascii_digit()));
    assert_ne!(internal, "r1");
    assert!(order.get("store_id").is_none());

    finish_audits(&h, &c);
    let sum = c.call(SUMMARY, json!({})).await;
    assert_eq!(sum.field("total_items"), "1");
    assert_eq!(sum.field("current_page_no"), "1");
    let info = &sum.node["shop_summary_infos"][0];
    let shop_id = info["shop_id"].as_str().unwrap().to_string();
    assert_eq!(&shop_id[8..13], "00077");
    assert_eq!(info["per_pay"], "3500");
    assert_eq!(info["status"], "OPEN");
    assert!(info.get("store_id").is_none());
    assert_eq!(info["category_infos"][2]["category_id"], "2015050700000018");

    let ao = c
        .call(APPLY, json!({"biz_type": "SHOP", "apply_ids": [apply_id]}))
        .await;
    assert_eq!(ao.node["biz_order_infos"][0]["status"], "SUCCESS");
    assert_eq!(ao.node["biz_order_infos"][0]["biz_id"], json!(shop_id));

    let d = c.call(DETAIL, json!({"shop_id": shop_id})).await;
    assert_eq!(d.verification, Verification::Valid);
    assert_eq!(
        (
            d.field("store_id").as_str(),
            d.field("audit_status").as_str()
        ),
        ("S001", "AUDIT_SUCCESS")
    );
    assert_eq!(d.field("is_online"), "T");
    let d = c
        .call(DETAIL, json!({"shop_id": "2026112500077000000000009999"}))
        .await;
    assert_eq!((d.code(), d.sub_code()), ("40004", "INVALID_SHOPID"));

    let b = c
        .call(
            "alipay.offline.market.shop.batchquery",
            json!({"page_no": "1"}),
        )
        .await;
    assert_eq!(b.node["shop_ids"], json!([shop_id]));
    assert_eq!(
        (
            b.field("current_pageno").as_str(),
            b.field("total_pageno").as_str()
        ),
        ("1", "1")
    );
    let b = c
        .call(
            "alipay.offline.market.shop.batchquery",
            json!({"page_no": "0"}),
        )
        .await;
    assert_eq!(b.sub_code(), "INVALID_PARAM");
    let s = c.call(SUMMARY, json!({"page_size": 101})).await;
    assert_eq!(
        (s.code(), s.sub_code(), s.verification),
        ("40004", "INVALID_PARAMETER", Verification::Valid)
    );

    assert_eq!(h.call_counts()[CREATE], 1);
    h.shutdown().await;
}

#[tokio::test]
async fn gateway_checks_answer_unsigned_errors() {
    let (h, c) = setup(|cfg| cfg.app_auth_tokens = vec!["tok1".into()]).await;
    let biz = vec![("biz_content".to_string(), "{}".to_string())];
    let send = |q: Vec<(String, String)>| {
        let c = &c;
        let biz = biz.clone();
        async move { c.raw(&q, &biz).await.unwrap().text().await.unwrap() }
    };
    let signed = |mut q: Vec<(String, String)>, key: &SignKey| {
        let mut all = q.clone();
        all.extend(biz.clone());
        let s = key.sign(&request_sign_content(
            all.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        ));
        q.push(("sign".into(), s));
        q
    };
    // Wrong signing key.
    let wrong = SignKey::from_file(&key_file("alipay_private_pkcs8.pem")).unwrap();
    let body = send(signed(c.system_params(CATEGORY), &wrong)).await;
    let a = c.parse(CATEGORY, body);
    assert_eq!((a.code(), a.sub_code()), ("40002", "isv.invalid-signature"));
    assert_eq!(a.verification, Verification::Unsigned);
    assert!(a.field("sub_msg").contains("biz_content={}&charset=utf-8"));
    // Unknown app id.
    let mut q = c.system_params(CATEGORY);
    q[0].1 = "2021000000000999".into();
    let a = c.parse(CATEGORY, send(signed(q, &c.app_key)).await);
    assert_eq!(
        (a.sub_code(), a.verification),
        ("isv.invalid-app-id", Verification::Unsigned)
    );
    // Stale timestamp.
    let mut q = c.system_params(CATEGORY);
    q[5].1 = timestamp::format(start_time() - Duration::minutes(11));
    let a = c.parse(CATEGORY, send(signed(q, &c.app_key)).await);
    assert_eq!(a.sub_code(), "isv.invalid-timestamp");
    // Missing method.
    let q: Vec<_> = c
        .system_params(CATEGORY)
        .into_iter()
        .filter(|(k, _)| k != "method")
        .collect();
    let a = c.parse(CATEGORY, send(signed(q, &c.app_key)).await);
    assert_eq!(
        (a.node_name.as_str(), a.code(), a.sub_code()),
        ("error_response", "40001", "isv.missing-method")
    );
    // Same name, different values in query and body.
    let mut q = signed(c.system_params(CATEGORY), &c.app_key);
    q.push(("biz_content".into(), "{\"x\":1}".into()));
    let a = c.parse(CATEGORY, send(q).await);
    assert_eq!(a.sub_code(), "isv.invalid-parameter");
    // Unknown token.
    let mut q = c.system_params(CATEGORY);
    q.push(("app_auth_token".into(), "nope".into()));
    let a = c.parse(CATEGORY, send(signed(q, &c.app_key)).await);
    assert_eq!(
        (a.code(), a.sub_code()),
        ("20001", "aop.invalid-app-auth-token")
    );
    // Illegal JSON.
    let mut q = c.system_params(CATEGORY);
    let bad = vec![("biz_content".to_string(), "{oops".to_string())];
    let mut all = q.clone();
    all.extend(bad.clone());
    q.push(("sign".into(), c.sign(&all)));
    let a = c.parse(
        CATEGORY,
        c.raw(&q, &bad).await.unwrap().text().await.unwrap(),
    );
    assert_eq!(a.sub_code(), "isv.illegal-json");
    // Everything in the body works too.
    let all = signed(c.system_params(CATEGORY), &c.app_key);
    let mut body_only = all.clone();
    body_only.extend(biz.clone());
    let a = c.parse(
        CATEGORY,
        c.raw(&[], &body_only).await.unwrap().text().await.unwrap(),
    );
    assert_eq!((a.code(), a.verification), ("10000", Verification::Valid));
    assert_eq!(h.call_counts().values().sum::<u64>(), 8);
    h.shutdown().await;
}

#[tokio::test]
async fn rate_limits_answer_signed_40005_without_side_effects() {
    let (h, c) = setup(|cfg| {
        cfg.rate = Some(RateSpec { qps: 1, burst: 3 });
        cfg.method_rates
            .insert(CREATE.into(), RateSpec { qps: 1, burst: 1 });
    })
    .await;
    let a = c.call(CREATE, create_biz("S1", "r1")).await;
    assert_eq!(a.code(), "10000");
    let a = c.call(CREATE, create_biz("S2", "r2")).await;
    assert_eq!(
        (a.code(), a.sub_code(), a.verification),
        ("40005", "isv.method-call-limited", Verification::Valid)
    );
    // The method-throttled call took no app token: two more calls fit the app burst of 3.
    for _ in 0..2 {
        assert_eq!(c.call(CATEGORY, json!({})).await.code(), "10000");
    }
    let a = c.call(CATEGORY, json!({})).await;
    assert_eq!((a.code(), a.sub_code()), ("40005", "isv.app-call-limited"));
    assert_eq!(h.orders().len(), 1, "throttled create left no order");
    assert_eq!(h.throttled_count(), 2);
    assert!(h.max_calls_in_one_second() >= 5);
    h.shutdown().await;
}
