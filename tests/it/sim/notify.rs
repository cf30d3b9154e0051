//! Notifications and the /__sim/ control endpoints.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::Duration;
use serde_json::{json, Value};
use shopsync::alipay::sign::{verify_notification, VerifyKey};

use super::client::*;
use crate::helpers::key_file;

type Form = Vec<(String, String)>;

#[tokio::test]
async fn notifications_are_signed_and_retried_until_acknowledged() {
    let received: Arc<Mutex<Vec<Form>>> = Arc::default();
    let r2 = received.clone();
    let app = axum::Router::new().route(
        "/notify",
        axum::routing::post(move |body: String| {
            let r = r2.clone();
            async move {
                let form: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
                    .into_owned()
                    .collect();
                let mut v = r.lock().unwrap();
                v.push(form);
                if v.len() == 1 {
                    "fail"
                } else {
                    " success\n"
                }
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
                assert!(
                    std::time::Instant::now() < deadline,
                    "notifications did not arrive"
                );
                tokio::time::sleep(StdDuration::from_millis(20)).await;
            }
        }
    };
    wait_for(2).await;
    let alipay = VerifyKey::from_file(&key_file("alipay_public.pem")).unwrap();
    let forms = received.lock().unwrap().clone();
    for f in &forms {
        assert!(verify_notification(
            &alipay,
            f.iter().map(|(k, v)| (k.as_str(), v.as_str()))
        ));
    }
    let get =
        |f: &Vec<(String, String)>, k: &str| f.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
    let ok = forms
        .iter()
        .find(|f| get(f, "request_id").as_deref() == Some("reqA"))
        .unwrap();
    assert_eq!(get(ok, "apply_id"), Some(apply_id));
    assert_eq!(get(ok, "biz_type").as_deref(), Some("CREATE_SHOP_AUDIT"));
    assert_eq!(get(ok, "audit_status").as_deref(), Some("AUDIT_SUCCESS"));
    assert_eq!(get(ok, "shop_id"), Some(h.shops()[0].shop_id.clone()));
    assert_eq!(get(ok, "notify_id").unwrap().len(), 34);
    let failed = forms
        .iter()
        .find(|f| get(f, "request_id").as_deref() == Some("reqB"))
        .unwrap();
    assert_eq!(get(failed, "audit_status").as_deref(), Some("AUDIT_FAILED"));
    assert_eq!(get(failed, "shop_id"), None);
    assert_eq!(
        get(failed, "result_code").as_deref(),
        Some("RISK_AUDIT_FAIL")
    );

    // The first delivery was answered "fail": it is retried after 2 s of sim time, same id.
    let first = forms[0].clone();
    let pending = h
        .notifications()
        .into_iter()
        .filter(|n| !n.delivered)
        .count();
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
    let r: Value = http
        .post(format!("{base}/clock/advance"))
        .json(&json!({"seconds": 5}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(r["now"].is_string());
    let state: Value = http
        .get(format!("{base}/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let shop_id = state["shops"][0]["shop_id"]
        .as_str()
        .expect("approved after advance")
        .to_string();
    let r = http
        .post(format!("{base}/shop-status"))
        .json(&json!({"shop_id": shop_id, "status": "PAUSE"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(h.shops()[0].status, "PAUSE");
    let r = http
        .post(format!("{base}/faults"))
        .json(&json!({"spec": format!("unknown_error_not_applied:{CATEGORY}:next=1")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(c.call(CATEGORY, json!({})).await.code(), "20000");
    let stats: Value = http
        .get(format!("{base}/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["call_counts"][CATEGORY], 1);
    assert_eq!(stats["throttled"], 0);
    let r = http
        .post(format!("{base}/faults"))
        .json(&json!({"spec": "bogus"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let seeded = h.seed_shop(
        "OLD1",
        BTreeMap::from([("main_shop_name".to_string(), "老店".to_string())]),
    );
    let d = c.call(DETAIL, json!({"shop_id": seeded})).await;
    assert_eq!(d.field("store_id"), "OLD1");
    h.shutdown().await;
}

#[tokio::test]
async fn notification_switches_suppress_or_duplicate() {
    let received: Arc<Mutex<Vec<Form>>> = Arc::default();
    let r2 = received.clone();
    let app = axum::Router::new().route(
        "/n",
        axum::routing::post(move |body: String| {
            let r = r2.clone();
            async move {
                let form: Form = form_urlencoded::parse(body.as_bytes())
                    .into_owned()
                    .collect();
                r.lock().unwrap().push(form);
                "success"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/n", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let (h, c) = setup(|cfg| cfg.duplicate_notifications = true).await;
    let mut biz = create_biz("S1", "r1");
    biz["operate_notify_url"] = json!(url);
    c.call(CREATE, biz).await;
    finish_audits(&h, &c);
    let deadline = std::time::Instant::now() + StdDuration::from_secs(10);
    while received.lock().unwrap().len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "duplicates did not arrive"
        );
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    let got = received.lock().unwrap().clone();
    assert_eq!(
        got[0], got[1],
        "the same notification, same notify_id, twice"
    );
    h.shutdown().await;

    let (h, c) = setup(|cfg| cfg.suppress_notifications = true).await;
    let mut biz = create_biz("S1", "r1");
    biz["operate_notify_url"] = json!(url);
    c.call(CREATE, biz).await;
    finish_audits(&h, &c);
    let log = h.notifications();
    assert_eq!(log.len(), 1);
    assert!(log[0].gave_up && log[0].attempts == 0);
    h.shutdown().await;
}
