//! The simulator over real HTTP: signed requests built here, responses verified with the
//! Alipay test key, the clock driven by hand.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};
use shopsync::alipay::envelope::{self, Verification};
use shopsync::alipay::sign::{request_sign_content, verify_notification, SignKey, VerifyKey};
use shopsync::alipay::timestamp;
use shopsync::clock::ManualClock;
use shopsync::sim::{self, FaultKind, FaultRule, ForcedOutcome, RateSpec, SimConfig, SimHandle, Trigger};

use crate::helpers::key_file;

const CREATE: &str = "alipay.offline.market.shop.create";
const MODIFY: &str = "alipay.offline.market.shop.modify";
const SUMMARY: &str = "alipay.offline.market.shop.summary.batchquery";
const DETAIL: &str = "alipay.offline.market.shop.querydetail";
const APPLY: &str = "alipay.offline.market.applyorder.batchquery";
const CATEGORY: &str = "alipay.offline.market.shop.category.query";
const UPLOAD: &str = "alipay.offline.material.image.upload";
const IMG1: &str = "1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC";
const IMG2: &str = "4Q8Pp00AT7eo9NoAJkMR3AAAACMAAUYT";

/// A minimal classic client: signs with the app test key, verifies with the Alipay test key.
struct Client {
    url: String,
    app_key: SignKey,
    alipay: VerifyKey,
    clock: ManualClock,
    http: reqwest::Client,
    token: Option<String>,
}

/// One answer: the raw body, the verification result and the parsed node.
#[derive(Debug)]
struct Answer {
    body: String,
    verification: Verification,
    node_name: String,
    node: Value,
}

impl Answer {
    fn code(&self) -> &str {
        self.node["code"].as_str().unwrap_or("")
    }
    fn sub_code(&self) -> &str {
        self.node["sub_code"].as_str().unwrap_or("")
    }
    fn field(&self, k: &str) -> String {
        self.node[k].as_str().unwrap_or_else(|| panic!("no {k} in {}", self.body)).to_string()
    }
}

impl Client {
    fn system_params(&self, method: &str) -> Vec<(String, String)> {
        let mut p = vec![
            ("app_id".to_string(), "2021000000000001".to_string()),
            ("method".into(), method.into()),
            ("format".into(), "json".into()),
            ("charset".into(), "utf-8".into()),
            ("sign_type".into(), "RSA2".into()),
            ("timestamp".into(), timestamp::format(shopsync::clock::Clock::now(&self.clock))),
            ("version".into(), "1.0".into()),
        ];
        if let Some(t) = &self.token {
            p.push(("app_auth_token".into(), t.clone()));
        }
        p
    }

    fn sign(&self, params: &[(String, String)]) -> String {
        self.app_key
            .sign(&request_sign_content(params.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
    }

    /// Send `query` pairs in the URL and `body` pairs as the form body.
    async fn raw(&self, query: &[(String, String)], body: &[(String, String)]) -> reqwest::Result<reqwest::Response> {
        let q = form_urlencoded::Serializer::new(String::new()).extend_pairs(query).finish();
        let b = form_urlencoded::Serializer::new(String::new()).extend_pairs(body).finish();
        self.http
            .post(format!("{}?{}", self.url, q))
            .header("content-type", "application/x-www-form-urlencoded;charset=utf-8")
            .body(b)
            .send()
            .await
    }

    fn parse(&self, method: &str, body: String) -> Answer {
        let ex = envelope::extract(&body, method).unwrap_or_else(|e| panic!("{e}: {body}"));
        let verification = envelope::verify(&ex, &self.alipay);
        let node: Value = serde_json::from_str(ex.content).expect("node parses");
        let node_name = ex.node.clone();
        Answer {
            verification,
            node_name,
            node,
            body,
        }
    }

    async fn try_call(&self, method: &str, biz: Value) -> reqwest::Result<Answer> {
        let mut q = self.system_params(method);
        let biz = vec![("biz_content".to_string(), biz.to_string())];
        let mut all = q.clone();
        all.extend(biz.clone());
        q.push(("sign".into(), self.sign(&all)));
        let resp = self.raw(&q, &biz).await?;
        assert_eq!(resp.status(), 200);
        let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
        assert_eq!(ct, "application/json;charset=utf-8");
        let body = resp.text().await?;
        Ok(self.parse(method, body))
    }

    async fn call(&self, method: &str, biz: Value) -> Answer {
        self.try_call(method, biz).await.expect("HTTP call")
    }

    async fn upload(&self, image_type: &str, bytes: Vec<u8>) -> Answer {
        let mut q = self.system_params(UPLOAD);
        let mut all = q.clone();
        all.push(("image_type".into(), image_type.into()));
        all.push(("image_name".into(), "front".into()));
        q.push(("sign".into(), self.sign(&all)));
        let qs = form_urlencoded::Serializer::new(String::new()).extend_pairs(&q).finish();
        let form = reqwest::multipart::Form::new()
            .text("image_type", image_type.to_string())
            .text("image_name", "front")
            .part("image_content", reqwest::multipart::Part::bytes(bytes).file_name("front.jpg"));
        let resp = self.http.post(format!("{}?{qs}", self.url)).multipart(form).send().await.unwrap();
        self.parse(UPLOAD, resp.text().await.unwrap())
    }
}

fn start_time() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 18, 30, 0).unwrap()
}

async fn setup(tweak: impl FnOnce(&mut SimConfig)) -> (SimHandle, Client) {
    let clock = ManualClock::new(start_time());
    let mut cfg = SimConfig::new(
        VerifyKey::from_file(&key_file("app_public.pem")).unwrap(),
        SignKey::from_file(&key_file("alipay_private_pkcs8.pem")).unwrap(),
    );
    cfg.clock = Arc::new(clock.clone());
    cfg.notify_retry = vec![StdDuration::from_secs(2), StdDuration::from_secs(10)];
    tweak(&mut cfg);
    let h = sim::start(cfg, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let client = Client {
        url: h.gateway_url(),
        app_key: SignKey::from_file(&key_file("app_private_pkcs8.pem")).unwrap(),
        alipay: h.alipay_public_key(),
        clock,
        http: reqwest::Client::builder().no_proxy().timeout(StdDuration::from_secs(10)).build().unwrap(),
        token: None,
    };
    (h, client)
}

fn create_biz(store_id: &str, request_id: &str) -> Value {
    json!({
        "store_id": store_id, "category_id": "2015050700000018", "main_shop_name": "海底捞",
        "branch_shop_name": "南京西路店", "province_code": "310000", "city_code": "310100",
        "district_code": "310106", "address": "南京西路1000号", "longitude": "121.45",
        "latitude": "31.22", "contact_number": "021-12345678", "main_image": IMG1,
        "audit_images": format!("{IMG1},{IMG2}"), "avg_price": "35",
        "business_time": "周一-周五 09:00-20:00", "request_id": request_id,
        "op_role": "ISV", "biz_version": "2.0"
    })
}

/// Advance the sim clock past the audit delay and run due audits.
fn finish_audits(h: &SimHandle, c: &Client) {
    c.clock.advance(Duration::seconds(3));
    h.process_due();
}

async fn create_approved(h: &SimHandle, c: &Client, store_id: &str, request_id: &str) -> String {
    let a = c.call(CREATE, create_biz(store_id, request_id)).await;
    assert_eq!(a.code(), "10000", "{}", a.body);
    finish_audits(h, c);
    let shop = h.shops().into_iter().find(|s| s.store_id == store_id).expect("approved");
    shop.shop_id
}

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
    assert!(cats.iter().any(|x| x["id"] == "2015050700000000" && x["is_leaf"] == "false"));

    let up = c.upload("JPG", vec![0xff; 1000]).await;
    assert_eq!(up.verification, Verification::Valid, "{}", up.body);
    let image_id = up.field("image_id");
    assert_eq!(image_id.len(), 32);
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
    assert!(cr.body.starts_with("{\"alipay_offline_market_shop_create_response\":{\"code\":\"10000\",\"msg\":\"Success\","));

    let sum = c.call(SUMMARY, json!({"page_no": 1, "page_size": 20})).await;
    assert_eq!(sum.field("total_items"), "0", "pending creates are not listed");
    let ao = c.call(APPLY, json!({"biz_type": "SHOP", "apply_ids": [apply_id]})).await;
    let order = &ao.node["biz_order_infos"][0];
    assert_eq!((order["status"].as_str(), order["sub_status"].as_str()), (Some("PROCESS"), Some("RISK_AUDITING")));
    assert!(order.get("biz_id").is_none());
    assert_eq!(ao.node["total_items"], json!(1), "paging numbers are JSON numbers");
    let ctx: Value = serde_json::from_str(order["biz_context_info"].as_str().unwrap()).unwrap();
    assert_eq!(ctx["store_id"], "S001");
    assert_eq!(order["request_id"].as_str().unwrap().len(), 16);

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

    let ao = c.call(APPLY, json!({"biz_type": "SHOP", "apply_ids": [apply_id]})).await;
    assert_eq!(ao.node["biz_order_infos"][0]["status"], "SUCCESS");
    assert_eq!(ao.node["biz_order_infos"][0]["biz_id"], json!(shop_id));

    let d = c.call(DETAIL, json!({"shop_id": shop_id})).await;
    assert_eq!(d.verification, Verification::Valid);
    assert_eq!((d.field("store_id").as_str(), d.field("audit_status").as_str()), ("S001", "AUDIT_SUCCESS"));
    assert_eq!(d.field("is_online"), "T");
    let d = c.call(DETAIL, json!({"shop_id": "2026112500077000000000009999"})).await;
    assert_eq!((d.code(), d.sub_code()), ("40004", "INVALID_SHOPID"));

    let b = c.call("alipay.offline.market.shop.batchquery", json!({"page_no": "1"})).await;
    assert_eq!(b.node["shop_ids"], json!([shop_id]));
    assert_eq!((b.field("current_pageno").as_str(), b.field("total_pageno").as_str()), ("1", "1"));
    let b = c.call("alipay.offline.market.shop.batchquery", json!({"page_no": "0"})).await;
    assert_eq!(b.sub_code(), "INVALID_PARAM");
    let s = c.call(SUMMARY, json!({"page_size": 101})).await;
    assert_eq!((s.code(), s.sub_code(), s.verification), ("40004", "INVALID_PARAMETER", Verification::Valid));

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
        let s = key.sign(&request_sign_content(all.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
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
    assert_eq!((a.sub_code(), a.verification), ("isv.invalid-app-id", Verification::Unsigned));
    // Stale timestamp.
    let mut q = c.system_params(CATEGORY);
    q[5].1 = timestamp::format(start_time() - Duration::minutes(11));
    let a = c.parse(CATEGORY, send(signed(q, &c.app_key)).await);
    assert_eq!(a.sub_code(), "isv.invalid-timestamp");
    // Missing method.
    let q: Vec<_> = c.system_params(CATEGORY).into_iter().filter(|(k, _)| k != "method").collect();
    let a = c.parse(CATEGORY, send(signed(q, &c.app_key)).await);
    assert_eq!((a.node_name.as_str(), a.code(), a.sub_code()), ("error_response", "40001", "isv.missing-method"));
    // Same name, different values in query and body.
    let mut q = signed(c.system_params(CATEGORY), &c.app_key);
    q.push(("biz_content".into(), "{\"x\":1}".into()));
    let a = c.parse(CATEGORY, send(q).await);
    assert_eq!(a.sub_code(), "isv.invalid-parameter");
    // Unknown token.
    let mut q = c.system_params(CATEGORY);
    q.push(("app_auth_token".into(), "nope".into()));
    let a = c.parse(CATEGORY, send(signed(q, &c.app_key)).await);
    assert_eq!((a.code(), a.sub_code()), ("20001", "aop.invalid-app-auth-token"));
    // Illegal JSON.
    let mut q = c.system_params(CATEGORY);
    let bad = vec![("biz_content".to_string(), "{oops".to_string())];
    let mut all = q.clone();
    all.extend(bad.clone());
    q.push(("sign".into(), c.sign(&all)));
    let a = c.parse(CATEGORY, c.raw(&q, &bad).await.unwrap().text().await.unwrap());
    assert_eq!(a.sub_code(), "isv.illegal-json");
    // Everything in the body works too.
    let all = signed(c.system_params(CATEGORY), &c.app_key);
    let mut body_only = all.clone();
    body_only.extend(biz.clone());
    let a = c.parse(CATEGORY, c.raw(&[], &body_only).await.unwrap().text().await.unwrap());
    assert_eq!((a.code(), a.verification), ("10000", Verification::Valid));
    assert_eq!(h.call_counts().values().sum::<u64>(), 8);
    h.shutdown().await;
}

#[tokio::test]
async fn rate_limits_answer_signed_40005_without_side_effects() {
    let (h, c) = setup(|cfg| {
        cfg.rate = Some(RateSpec { qps: 1, burst: 3 });
        cfg.method_rates.insert(CREATE.into(), RateSpec { qps: 1, burst: 1 });
    })
    .await;
    let a = c.call(CREATE, create_biz("S1", "r1")).await;
    assert_eq!(a.code(), "10000");
    let a = c.call(CREATE, create_biz("S2", "r2")).await;
    assert_eq!((a.code(), a.sub_code(), a.verification), ("40005", "isv.method-call-limited", Verification::Valid));
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

#[tokio::test]
async fn rejected_audits_release_the_store_id() {
    let (h, c) = setup(|_| {}).await;
    let mut biz = create_biz("S1", "r1");
    biz["audit_images"] = json!(IMG1);
    let a = c.call(CREATE, biz).await;
    let apply1 = a.field("apply_id");
    let dup = c.call(CREATE, create_biz("S1", "r2")).await;
    assert_eq!(dup.sub_code(), "SHOP_CREATE_UNIQUE_CONSTRAINT_OUTSHOPID_ERROR");
    let rep = c.call(CREATE, create_biz("S9", "r1")).await;
    assert_eq!(rep.sub_code(), "SHOP_CREATE_REPEAT_REQUEST");
    let mut marked = create_biz("S2", "r3");
    marked["address"] = json!("南京西路1号#REJECT#");
    c.call(CREATE, marked).await;
    let forced = c.call(CREATE, create_biz("S3", "r4")).await;
    h.force_outcome("S3", ForcedOutcome::Fail("证照不清晰".into()));
    finish_audits(&h, &c);
    assert!(h.shops().is_empty());
    let orders = h.orders();
    assert!(orders.iter().all(|o| o.status == "FAIL" && o.result_code.as_deref() == Some("RISK_AUDIT_FAIL")));
    let f = orders.iter().find(|o| o.apply_id == forced.field("apply_id")).unwrap();
    assert_eq!(f.result_desc.as_deref(), Some("证照不清晰"));
    let ao = c.call(APPLY, json!({"biz_type": "SHOP", "apply_ids": [apply1]})).await;
    assert_eq!(ao.node["biz_order_infos"][0]["status"], "FAIL");
    assert!(ao.node["biz_order_infos"][0].get("biz_id").is_none());
    let again = c.call(CREATE, create_biz("S1", "r5")).await;
    assert_eq!(again.code(), "10000", "{}", again.body);
    let mut branchy = create_biz("S4", "r6");
    branchy["main_shop_name"] = json!("海底捞南京西路店");
    c.call(CREATE, branchy).await;
    finish_audits(&h, &c);
    let shops = h.shops();
    assert_eq!(shops.len(), 1);
    assert_eq!(shops[0].store_id, "S1");
    h.shutdown().await;
}

#[tokio::test]
async fn modify_rules_empty_immutable_and_concurrent() {
    let (h, c) = setup(|_| {}).await;
    let shop_id = create_approved(&h, &c, "S1", "r1").await;
    let m = |req: &str, extra: Value| {
        let mut b = json!({"shop_id": shop_id, "request_id": req, "op_role": "ISV", "biz_version": "2.0"});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let a = c.call(MODIFY, m("m1", json!({"avg_price": "#EMPTY#", "category_id": "2015050700000018"}))).await;
    assert_eq!((a.code(), a.field("audit_status").as_str()), ("10000", "AUDITING"));
    let shop = h.shops().into_iter().next().unwrap();
    assert!(!shop.fields.contains_key("avg_price"), "cleared at once");
    assert_eq!(h.orders().last().unwrap().status, "SUCCESS");
    let a = c.call(MODIFY, m("m2", json!({"address": "#EMPTY#"}))).await;
    assert_eq!(a.sub_code(), "SHOP_MODIFY_INVALID_PARAM");
    let a = c.call(MODIFY, m("m1", json!({"address": "南京西路2号"}))).await;
    assert_eq!(a.sub_code(), "SHOP_MODIFY_INVALID_PARAM", "request_id reuse");
    let a = c.call(MODIFY, m("m3", json!({"category_id": "2015050700000019"}))).await;
    assert_eq!(a.sub_code(), "CATEGORY_CANOT_MODIFY");
    let a = c.call(MODIFY, m("m4", json!({"city_code": "330100"}))).await;
    assert_eq!(a.sub_code(), "PROVINCE_CITY_CANOT_MODIFY");
    let a = c.call(MODIFY, json!({"shop_id": "2026112500077000000000009999", "request_id": "m5"})).await;
    assert_eq!(a.sub_code(), "SHOP_MODIFY_SHOP_NOT_EXISTS");

    let a = c.call(MODIFY, m("m6", json!({"main_shop_name": "小龙坎", "address": "南京西路3号"}))).await;
    assert_eq!(a.code(), "10000");
    let d = c.call(DETAIL, json!({"shop_id": shop_id})).await;
    assert_eq!((d.field("main_shop_name").as_str(), d.field("audit_status").as_str()), ("海底捞", "AUDITING"));
    assert_eq!(d.field("address"), "南京西路1000号", "nothing applies before approval");
    let a = c.call(MODIFY, m("m7", json!({"address": "南京西路4号"}))).await;
    assert_eq!(a.sub_code(), "NOT_ALLOWED_CONCURRENT_MODIFY");
    finish_audits(&h, &c);
    let d = c.call(DETAIL, json!({"shop_id": shop_id})).await;
    assert_eq!((d.field("main_shop_name").as_str(), d.field("address").as_str()), ("小龙坎", "南京西路3号"));
    assert_eq!(d.field("audit_status"), "AUDIT_SUCCESS");

    h.set_shop_status(&shop_id, "FREEZE");
    let a = c.call(MODIFY, m("m8", json!({"address": "南京西路5号"}))).await;
    assert_eq!(a.sub_code(), "SHOP_STATUS_CANOT_MODIFY");
    let sum = c.call(SUMMARY, json!({"shop_status": "FREEZE"})).await;
    assert_eq!(sum.field("total_items"), "1");
    h.edit_shop(&shop_id, "address", Some("外部修改1号"));
    let d = c.call(DETAIL, json!({"shop_id": shop_id})).await;
    assert_eq!(d.field("address"), "外部修改1号");
    h.shutdown().await;
}

fn rule(kind: FaultKind) -> FaultRule {
    FaultRule { method: Some(CREATE.into()), kind, trigger: Trigger::Next(1) }
}

#[tokio::test]
async fn faults_are_observable() {
    let (h, c) = setup(|cfg| cfg.hold_timeout = StdDuration::from_millis(400)).await;
    let orders = |h: &SimHandle| h.orders().len();
    let mut n = 0;
    let mut next = |h: &SimHandle, kind: FaultKind| {
        h.add_fault(rule(kind));
        n += 1;
        create_biz(&format!("S{n}"), &format!("r{n}"))
    };

    let b = next(&h, FaultKind::DropBefore);
    assert!(c.try_call(CREATE, b).await.is_err());
    assert_eq!(orders(&h), 0);
    let b = next(&h, FaultKind::DropAfter);
    assert!(c.try_call(CREATE, b).await.is_err());
    assert_eq!(orders(&h), 1);

    let short = Client { http: reqwest::Client::builder().no_proxy().timeout(StdDuration::from_millis(100)).build().unwrap(), ..c.clone_client() };
    let b = next(&h, FaultKind::TimeoutBefore);
    assert!(short.try_call(CREATE, b).await.unwrap_err().is_timeout());
    assert_eq!(orders(&h), 1);
    let b = next(&h, FaultKind::TimeoutAfter);
    assert!(short.try_call(CREATE, b).await.unwrap_err().is_timeout());
    assert_eq!(orders(&h), 2);

    let b = next(&h, FaultKind::UnknownErrorApplied);
    let a = c.call(CREATE, b).await;
    assert_eq!((a.code(), a.sub_code(), a.verification), ("20000", "isp.unknow-error", Verification::Valid));
    assert_eq!(orders(&h), 3);
    let b = next(&h, FaultKind::UnknownErrorNotApplied);
    assert_eq!(c.call(CREATE, b).await.code(), "20000");
    assert_eq!(orders(&h), 3);
    let b = next(&h, FaultKind::SystemError { applied: false });
    let a = c.call(CREATE, b).await;
    assert_eq!((a.sub_code(), a.verification), ("SHOP_CREATE_SYSTEM_ERROR", Verification::Valid));
    assert_eq!(orders(&h), 3);
    let b = next(&h, FaultKind::SystemError { applied: true });
    assert_eq!(c.call(CREATE, b).await.sub_code(), "SHOP_CREATE_SYSTEM_ERROR");
    assert_eq!(orders(&h), 4);

    let b = next(&h, FaultKind::BadSignature);
    let a = c.call(CREATE, b).await;
    assert_eq!((a.code(), a.verification), ("10000", Verification::Invalid));
    let b = next(&h, FaultKind::WrongKey);
    assert_eq!(c.call(CREATE, b).await.verification, Verification::Invalid);
    let b = next(&h, FaultKind::UnsignedSuccess);
    let a = c.call(CREATE, b).await;
    assert_eq!((a.code(), a.verification), ("10000", Verification::Unsigned));
    let b = next(&h, FaultKind::TruncatedBody { keep: 10 });
    assert!(c.try_call(CREATE, b).await.is_err());
    assert_eq!(orders(&h), 8);

    let b = next(&h, FaultKind::Gateway5xx);
    let mut q = c.system_params(CREATE);
    let biz = vec![("biz_content".to_string(), b.to_string())];
    let mut all = q.clone();
    all.extend(biz.clone());
    q.push(("sign".into(), c.sign(&all)));
    let resp = c.raw(&q, &biz).await.unwrap();
    assert_eq!(resp.status(), 502);
    assert!(resp.text().await.unwrap().contains("<html>"));
    assert_eq!(orders(&h), 8);

    h.add_fault(FaultRule { method: Some(UPLOAD.into()), kind: FaultKind::EscapedSlashes, trigger: Trigger::Next(1) });
    let a = c.upload("png", vec![7; 50]).await;
    assert!(a.body.contains("http:\\/\\/"));
    assert_eq!(a.verification, Verification::Valid, "valid only through the \\/ fallback");
    let ex = envelope::extract(&a.body, UPLOAD).unwrap();
    assert!(!c.alipay.verify(ex.content.as_bytes(), ex.sign.as_deref().unwrap()));
    h.shutdown().await;
}

impl Client {
    fn clone_client(&self) -> Client {
        Client {
            url: self.url.clone(),
            app_key: self.app_key.clone(),
            alipay: self.alipay.clone(),
            clock: self.clock.clone(),
            http: self.http.clone(),
            token: self.token.clone(),
        }
    }
}

#[tokio::test]
async fn probability_faults_repeat_with_the_seed() {
    let mut patterns = Vec::new();
    for _ in 0..2 {
        let (h, c) = setup(|cfg| cfg.seed = 42).await;
        h.add_fault(FaultRule { method: None, kind: FaultKind::BadSignature, trigger: Trigger::Probability(0.5) });
        let mut p = Vec::new();
        for _ in 0..12 {
            p.push(c.call(CATEGORY, json!({})).await.verification == Verification::Valid);
        }
        h.shutdown().await;
        patterns.push(p);
    }
    assert_eq!(patterns[0], patterns[1]);
    assert!(patterns[0].contains(&true) && patterns[0].contains(&false));
}

#[tokio::test]
async fn notifications_are_signed_and_retried_until_acknowledged() {
    let received: Arc<Mutex<Vec<Vec<(String, String)>>>> = Arc::default();
    let r2 = received.clone();
    let app = axum::Router::new().route(
        "/notify",
        axum::routing::post(move |body: String| {
            let r = r2.clone();
            async move {
                let form: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
                let mut v = r.lock().unwrap();
                v.push(form);
                if v.len() == 1 { "fail" } else { " success\n" }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let (h, c) = setup(|_| {}).await;
    let mut biz = create_biz("S1", "reqA");
    biz["operate_notify_url"] = json!(url);
    let apply_id = c.call(CREATE, biz).await.field("apply_id");
    let mut bad = create_biz("S2", "reqB");
    bad["operate_notify_url"] = json!(url);
    bad["audit_images"] = json!(IMG1);
    c.call(CREATE, bad).await;
    finish_audits(&h, &c);
    let wait_for = |n: usize| {
        let received = received.clone();
        async move {
            let deadline = std::time::Instant::now() + StdDuration::from_secs(10);
            while received.lock().unwrap().len() < n {
                assert!(std::time::Instant::now() < deadline, "notifications did not arrive");
                tokio::time::sleep(StdDuration::from_millis(20)).await;
            }
        }
    };
    wait_for(2).await;
    let alipay = VerifyKey::from_file(&key_file("alipay_public.pem")).unwrap();
    let forms = received.lock().unwrap().clone();
    for f in &forms {
        assert!(verify_notification(&alipay, f.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
    }
    let get = |f: &Vec<(String, String)>, k: &str| f.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
    let ok = forms.iter().find(|f| get(f, "request_id").as_deref() == Some("reqA")).unwrap();
    assert_eq!(get(ok, "apply_id"), Some(apply_id));
    assert_eq!(get(ok, "biz_type").as_deref(), Some("CREATE_SHOP_AUDIT"));
    assert_eq!(get(ok, "audit_status").as_deref(), Some("AUDIT_SUCCESS"));
    assert_eq!(get(ok, "shop_id"), Some(h.shops()[0].shop_id.clone()));
    assert_eq!(get(ok, "notify_id").unwrap().len(), 34);
    let failed = forms.iter().find(|f| get(f, "request_id").as_deref() == Some("reqB")).unwrap();
    assert_eq!(get(failed, "audit_status").as_deref(), Some("AUDIT_FAILED"));
    assert_eq!(get(failed, "shop_id"), None);
    assert_eq!(get(failed, "result_code").as_deref(), Some("RISK_AUDIT_FAIL"));

    // The first delivery was answered "fail": it is retried after 2 s of sim time, same id.
    let first = forms[0].clone();
    let pending = h.notifications().into_iter().filter(|n| !n.delivered).count();
    assert_eq!(pending, 1);
    c.clock.advance(Duration::seconds(2));
    h.process_due();
    wait_for(3).await;
    let third = received.lock().unwrap()[2].clone();
    assert_eq!(get(&third, "notify_id"), get(&first, "notify_id"));
    assert_eq!(get(&third, "notify_time"), get(&first, "notify_time"));
    let deadline = std::time::Instant::now() + StdDuration::from_secs(10);
    while h.notifications().iter().any(|n| !n.delivered) {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    assert_eq!(h.notifications().iter().map(|n| n.attempts).sum::<u32>(), 3);
    h.shutdown().await;
}

#[tokio::test]
async fn control_endpoints_drive_the_simulator() {
    let (h, c) = setup(|_| {}).await;
    let base = format!("http://{}/__sim", h.addr());
    let http = &c.http;
    c.call(CREATE, create_biz("S1", "r1")).await;
    let r: Value = http.post(format!("{base}/clock/advance")).json(&json!({"seconds": 5})).send().await.unwrap().json().await.unwrap();
    assert!(r["now"].is_string());
    let state: Value = http.get(format!("{base}/state")).send().await.unwrap().json().await.unwrap();
    let shop_id = state["shops"][0]["shop_id"].as_str().expect("approved after advance").to_string();
    let r = http.post(format!("{base}/shop-status")).json(&json!({"shop_id": shop_id, "status": "PAUSE"})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(h.shops()[0].status, "PAUSE");
    let r = http.post(format!("{base}/faults")).json(&json!({"spec": format!("unknown_error_not_applied:{CATEGORY}:next=1")})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(c.call(CATEGORY, json!({})).await.code(), "20000");
    let stats: Value = http.get(format!("{base}/stats")).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["call_counts"][CATEGORY], 1);
    assert_eq!(stats["throttled"], 0);
    let r = http.post(format!("{base}/faults")).json(&json!({"spec": "bogus"})).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let seeded = h.seed_shop("OLD1", BTreeMap::from([("main_shop_name".to_string(), "老店".to_string())]));
    let d = c.call(DETAIL, json!({"shop_id": seeded})).await;
    assert_eq!(d.field("store_id"), "OLD1");
    h.shutdown().await;
}
