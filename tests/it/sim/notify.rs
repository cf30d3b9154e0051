//! Notifications and the /__sim/ control endpoints.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use serde_json::{json, Value};
use shopsync::alipay::sign::{verify_notification, VerifyKey};
use tokio::sync::mpsc;

use super::client::*;
use crate::helpers::key_file;

type Form = Vec<(String, String)>;

/// How long a test waits for a notification before it fails.
const WAIT: StdDuration = StdDuration::from_secs(10);

/// A notification endpoint on loopback: every form it receives is handed to the test
/// through a channel (awaited, never polled); `answer(n)` is the body of the n-th reply.
struct Receiver {
    url: String,
    forms: mpsc::UnboundedReceiver<Form>,
}

impl Receiver {
    async fn start(answer: fn(usize) -> &'static str) -> Self {
        let (tx, forms) = mpsc::unbounded_channel();
        let seen = Arc::new(AtomicUsize::new(0));
        let app = axum::Router::new().route(
            "/notify",
            axum::routing::post(move |body: String| {
                let (tx, seen) = (tx.clone(), seen.clone());
                async move {
                    let form: Form = form_urlencoded::parse(body.as_bytes())
                        .into_owned()
                        .collect();
                    let _ = tx.send(form);
                    answer(seen.fetch_add(1, Ordering::SeqCst))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/notify", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, forms }
    }

    /// The next `n` forms received, in arrival order.
    async fn take(&mut self, n: usize) -> Vec<Form> {
        let mut out = Vec::new();
        for i in 0..n {
            let form = tokio::time::timeout(WAIT, self.forms.recv()).await;
            out.push(
                form.unwrap_or_else(|_| panic!("notification {} of {n} did not arrive", i + 1))
                    .unwrap(),
            );
        }
        out
    }
}

fn get(f: &Form, k: &str) -> Option<String> {
    f.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone())
}

#[tokio::test]
async fn notifications_are_signed_and_retried_until_acknowledged() {
    // The first delivery is refused, every later one acknowledged (whitespace trimmed).
    let mut rx = Receiver::start(|n| if n == 0 { "fail" } else { " success\n" }).await;
    let (h, c) = setup(|_| {}).await;
    let mut biz = create_biz("S1", "reqA");
    biz["operate_notify_url"] = json!(rx.url);
    let apply_id = c.call(CREATE, biz).await.field("apply_id");
    let mut bad = create_biz("S2", "reqB");
    bad["operate_notify_url"] = json!(rx.url);
    bad["audit_images"] = json!(IMG1);
    c.call(CREATE, bad).await;
    finish_audits(&h, &c);
    let forms = rx.take(2).await;
    let alipay = VerifyKey::from_file(&key_file("alipay_public.pem")).unwrap();
    for f in &forms {
        assert!(verify_notification(
            &alipay,
            f.iter().map(|(k, v)| (k.as_str(), v.as_str()))
        ));
    }
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
    let one_left = |log: &[shopsync::sim::SentNotification]| {
        log.iter().filter(|n| n.delivered).count() == 1 && log.iter().all(|n| n.attempts == 1)
    };
    assert!(
        h.wait_for_notifications(WAIT, one_left).await,
        "{:?}",
        h.notifications()
    );
    c.clock.advance(Duration::seconds(2));
    h.process_due();
    let third = rx.take(1).await.remove(0);
    assert_eq!(get(&third, "notify_id"), get(&first, "notify_id"));
    assert_eq!(get(&third, "notify_time"), get(&first, "notify_time"));
    let all_delivered = |log: &[shopsync::sim::SentNotification]| log.iter().all(|n| n.delivered);
    assert!(h.wait_for_notifications(WAIT, all_delivered).await);
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
    let mut rx = Receiver::start(|_| "success").await;
    let (h, c) = setup(|cfg| cfg.duplicate_notifications = true).await;
    let mut biz = create_biz("S1", "r1");
    biz["operate_notify_url"] = json!(rx.url);
    c.call(CREATE, biz).await;
    finish_audits(&h, &c);
    let got = rx.take(2).await;
    assert_eq!(
        got[0], got[1],
        "the same notification, same notify_id, twice"
    );
    h.shutdown().await;

    let (h, c) = setup(|cfg| cfg.suppress_notifications = true).await;
    let mut biz = create_biz("S1", "r1");
    biz["operate_notify_url"] = json!(rx.url);
    c.call(CREATE, biz).await;
    finish_audits(&h, &c);
    let log = h.notifications();
    assert_eq!(log.len(), 1);
    assert!(log[0].gave_up && log[0].attempts == 0);
    h.shutdown().await;
}
