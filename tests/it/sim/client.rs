//! A minimal classic client for the simulator tests, and shared fixtures.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};
use shopsync::alipay::envelope::{self, Verification};
use shopsync::alipay::sign::{request_sign_content, SignKey, VerifyKey};
use shopsync::alipay::timestamp;
use shopsync::clock::ManualClock;
use shopsync::sim::{self, FaultKind, FaultRule, SimConfig, SimHandle, Trigger};

use crate::helpers::key_file;

pub(super) const CREATE: &str = "alipay.offline.market.shop.create";
pub(super) const MODIFY: &str = "alipay.offline.market.shop.modify";
pub(super) const SUMMARY: &str = "alipay.offline.market.shop.summary.batchquery";
pub(super) const DETAIL: &str = "alipay.offline.market.shop.querydetail";
pub(super) const APPLY: &str = "alipay.offline.market.applyorder.batchquery";
pub(super) const CATEGORY: &str = "alipay.offline.market.shop.category.query";
pub(super) const UPLOAD: &str = "alipay.offline.material.image.upload";
pub(super) const IMG1: &str = "1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC";
pub(super) const IMG2: &str = "4Q8Pp00AT7eo9NoAJkMR3AAAACMAAUYT";

/// A minimal classic client: signs with the app test key, verifies with the Alipay test key.
pub(super) struct Client {
    pub(super) url: String,
    pub(super) app_key: SignKey,
    pub(super) alipay: VerifyKey,
    pub(super) clock: ManualClock,
    pub(super) http: reqwest::Client,
    pub(super) token: Option<String>,
    /// More system parameters sent (and signed) with every call, e.g. certificate SNs.
    pub(super) extra: Vec<(String, String)>,
}

/// One answer: the raw body, the verification result and the parsed node.
#[derive(Debug)]
pub(super) struct Answer {
    pub(super) body: String,
    pub(super) verification: Verification,
    pub(super) node_name: String,
    pub(super) node: Value,
}

impl Answer {
    pub(super) fn code(&self) -> &str {
        self.node["code"].as_str().unwrap_or("")
    }
    pub(super) fn sub_code(&self) -> &str {
        self.node["sub_code"].as_str().unwrap_or("")
    }
    pub(super) fn field(&self, k: &str) -> String {
        self.node[k]
            .as_str()
            .unwrap_or_else(|| panic!("no {k} in {}", self.body))
            .to_string()
    }
}

impl Client {
    pub(super) fn system_params(&self, method: &str) -> Vec<(String, String)> {
        let mut p = vec![
            ("app_id".to_string(), "2021000000000001".to_string()),
            ("method".into(), method.into()),
            ("format".into(), "json".into()),
            ("charset".into(), "utf-8".into()),
            ("sign_type".into(), "RSA2".into()),
            (
                "timestamp".into(),
                timestamp::format(shopsync::clock::Clock::now(&self.clock)),
            ),
            ("version".into(), "1.0".into()),
        ];
        if let Some(t) = &self.token {
            p.push(("app_auth_token".into(), t.clone()));
        }
        p.extend(self.extra.iter().cloned());
        p
    }

    pub(super) fn sign(&self, params: &[(String, String)]) -> String {
        self.app_key.sign(&request_sign_content(
            params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        ))
    }

    /// Send `query` pairs in the URL and `body` pairs as the form body.
    pub(super) async fn raw(
        &self,
        query: &[(String, String)],
        body: &[(String, String)],
    ) -> reqwest::Result<reqwest::Response> {
        let q = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        let b = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(body)
            .finish();
        self.http
            .post(format!("{}?{}", self.url, q))
            .header(
                "content-type",
                "application/x-www-form-urlencoded;charset=utf-8",
            )
            .body(b)
            .send()
            .await
    }

    pub(super) fn parse(&self, method: &str, body: String) -> Answer {
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

    pub(super) async fn try_call(&self, method: &str, biz: Value) -> reqwest::Result<Answer> {
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

    pub(super) async fn call(&self, method: &str, biz: Value) -> Answer {
        self.try_call(method, biz).await.expect("HTTP call")
    }

    pub(super) async fn upload(&self, image_type: &str, bytes: Vec<u8>) -> Answer {
        let mut q = self.system_params(UPLOAD);
        let mut all = q.clone();
        all.push(("image_type".into(), image_type.into()));
        all.push(("image_name".into(), "front".into()));
        q.push(("sign".into(), self.sign(&all)));
        let qs = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&q)
            .finish();
        let form = reqwest::multipart::Form::new()
            .text("image_type", image_type.to_string())
            .text("image_name", "front")
            .part(
                "image_content",
                reqwest::multipart::Part::bytes(bytes).file_name("front.jpg"),
            );
        let resp = self
            .http
            .post(format!("{}?{qs}", self.url))
            .multipart(form)
            .send()
            .await
            .unwrap();
        self.parse(UPLOAD, resp.text().await.unwrap())
    }
}

pub(super) fn start_time() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 18, 30, 0).unwrap()
}

pub(super) async fn setup(tweak: impl FnOnce(&mut SimConfig)) -> (SimHandle, Client) {
    setup_at(start_time(), tweak).await
}

/// [`setup`] with the shared clock starting at `start`.
pub(super) async fn setup_at(
    start: chrono::DateTime<Utc>,
    tweak: impl FnOnce(&mut SimConfig),
) -> (SimHandle, Client) {
    let clock = ManualClock::new(start);
    let mut cfg = SimConfig::new(
        VerifyKey::from_file(&key_file("app_public.pem")).unwrap(),
        SignKey::from_file(&key_file("alipay_private_pkcs8.pem")).unwrap(),
    );
    cfg.clock = Arc::new(clock.clone());
    cfg.notify_retry = vec![StdDuration::from_secs(2), StdDuration::from_secs(10)];
    // issue 13: create_biz uses the two example image ids.
    cfg.preload_example_images = true;
    tweak(&mut cfg);
    let h = sim::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = Client {
        url: h.gateway_url(),
        app_key: SignKey::from_file(&key_file("app_private_pkcs8.pem")).unwrap(),
        alipay: h.alipay_public_key(),
        clock,
        http: reqwest::Client::builder()
            .no_proxy()
            .timeout(StdDuration::from_secs(10))
            .build()
            .unwrap(),
        token: None,
        extra: Vec::new(),
    };
    (h, client)
}

pub(super) fn create_biz(store_id: &str, request_id: &str) -> Value {
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
pub(super) fn finish_audits(h: &SimHandle, c: &Client) {
    c.clock.advance(Duration::seconds(3));
    h.process_due();
}

pub(super) async fn create_approved(
    h: &SimHandle,
    c: &Client,
    store_id: &str,
    request_id: &str,
) -> String {
    let a = c.call(CREATE, create_biz(store_id, request_id)).await;
    assert_eq!(a.code(), "10000", "{}", a.body);
    finish_audits(h, c);
    let shop = h
        .shops()
        .into_iter()
        .find(|s| s.store_id == store_id)
        .expect("approved");
    shop.shop_id
}

pub(super) fn rule(kind: FaultKind) -> FaultRule {
    FaultRule {
        method: Some(CREATE.into()),
        kind,
        trigger: Trigger::Next(1),
    }
}

impl Client {
    pub(super) fn clone_client(&self) -> Client {
        Client {
            url: self.url.clone(),
            app_key: self.app_key.clone(),
            alipay: self.alipay.clone(),
            clock: self.clock.clone(),
            http: self.http.clone(),
            token: self.token.clone(),
            extra: self.extra.clone(),
        }
    }
}
