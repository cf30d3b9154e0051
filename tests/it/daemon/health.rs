//! Metrics rendering and the health listener over real HTTP.
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use shopsync::daemon::health::{serve, Metrics, RunResult};
use tokio::sync::oneshot;

async fn start(
    metrics: Arc<Metrics>,
) -> (
    String,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, metrics, async {
        let _ = rx.await;
    }));
    (base, tx, task)
}

async fn get(url: &str) -> (u16, String, String) {
    let resp = reqwest::get(url).await.unwrap();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (resp.status().as_u16(), ct, resp.text().await.unwrap())
}

/// Every sample belongs to a family declared with HELP and TYPE before it, is named
/// `shopsync_*`, and has a numeric value.
fn check_exposition(text: &str) {
    let mut typed = BTreeSet::new();
    let mut helped = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            helped.insert(rest.split(' ').next().unwrap().to_string());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let name = parts.next().unwrap();
            let kind = parts.next().unwrap();
            assert!(["counter", "gauge"].contains(&kind), "{line}");
            typed.insert(name.to_string());
        } else {
            let name_end = line.find(['{', ' ']).unwrap();
            let name = &line[..name_end];
            assert!(name.starts_with("shopsync_"), "{line}");
            assert!(
                typed.contains(name) && helped.contains(name),
                "undeclared: {line}"
            );
            let value = line.rsplit(' ').next().unwrap();
            value
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("value of {line}"));
        }
    }
}

#[tokio::test]
async fn healthz_is_ok_before_any_run() {
    let m = Arc::new(Metrics::new());
    let (base, stop, task) = start(m).await;
    let (status, ct, body) = get(&format!("{base}/healthz")).await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("application/json"), "{ct}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["last_run_at"], serde_json::Value::Null);
    assert_eq!(v["last_result"], serde_json::Value::Null);
    assert_eq!(v["pending_applications"], 0);
    let (_, _, metrics) = get(&format!("{base}/metrics")).await;
    check_exposition(&metrics);
    assert!(
        metrics.contains("shopsync_runs_total{result=\"success\"} 0\n"),
        "{metrics}"
    );
    assert!(metrics.contains("shopsync_last_run_timestamp_seconds 0\n"));
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn metrics_and_healthz_follow_the_runs() {
    let m = Arc::new(Metrics::new());
    let (base, stop, task) = start(Arc::clone(&m)).await;

    let t1 = Utc.with_ymd_and_hms(2026, 11, 25, 18, 31, 40).unwrap();
    m.record_call("alipay.offline.market.shop.create", "ok");
    m.record_call("alipay.offline.market.shop.create", "ok");
    m.record_call("alipay.offline.market.shop.modify", "business");
    m.record_call("weird\"method\\", "retry");
    m.record_throttled("alipay.offline.market.shop.create");
    m.record_notification();
    m.set_pending_applications(3);
    m.record_run(RunResult::Partial, t1, Duration::from_millis(1500), 2);

    let (status, ct, text) = get(&format!("{base}/metrics")).await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    check_exposition(&text);
    for line in [
        "shopsync_runs_total{result=\"partial\"} 1",
        "shopsync_runs_total{result=\"failed\"} 0",
        "shopsync_alipay_calls_total{method=\"alipay.offline.market.shop.create\",class=\"ok\"} 2",
        "shopsync_alipay_calls_total{method=\"alipay.offline.market.shop.modify\",class=\"business\"} 1",
        "shopsync_alipay_calls_total{method=\"weird\\\"method\\\\\",class=\"retry\"} 1",
        "shopsync_alipay_throttled_total{method=\"alipay.offline.market.shop.create\"} 1",
        "shopsync_notifications_total 1",
        "shopsync_pending_applications 3",
        "shopsync_rejected_rows 2",
        "shopsync_last_run_duration_seconds 1.5",
        &format!("shopsync_last_run_timestamp_seconds {}", t1.timestamp()),
        "shopsync_last_run_success 1",
        "# TYPE shopsync_runs_total counter",
        "# TYPE shopsync_pending_applications gauge",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }

    let (status, _, body) = get(&format!("{base}/healthz")).await;
    assert_eq!(status, 200, "a partial run is not a failure");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["last_result"], "partial");
    assert_eq!(v["last_run_at"], t1.to_rfc3339());
    assert_eq!(v["pending_applications"], 3);

    let t2 = t1 + chrono::Duration::days(1);
    m.record_run(RunResult::Failed, t2, Duration::from_secs(4), 0);
    let (status, _, body) = get(&format!("{base}/healthz")).await;
    assert_eq!(status, 503);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["last_result"], "failed");
    assert_eq!(v["status"], "failing");
    let (_, _, text) = get(&format!("{base}/metrics")).await;
    assert!(text.contains("shopsync_last_run_success 0\n"));
    assert!(
        text.contains("shopsync_rejected_rows 0\n"),
        "gauge of the last run only"
    );
    assert!(text.contains("shopsync_runs_total{result=\"failed\"} 1\n"));

    m.record_run(RunResult::GuardStopped, t2, Duration::from_secs(1), 0);
    assert_eq!(
        get(&format!("{base}/healthz")).await.0,
        503,
        "a guard stop needs an operator"
    );
    m.record_run(RunResult::Success, t2, Duration::from_secs(1), 0);
    assert_eq!(get(&format!("{base}/healthz")).await.0, 200);

    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}
