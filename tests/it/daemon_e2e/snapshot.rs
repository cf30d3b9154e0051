//! Simulator state snapshot (docs/protocol.md §8.1): a simulator started from a saved file
//! answers exactly like the one that saved it, and a sync against it sees the same Alipay.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use shopsync::alipay::ratelimit::RateLimiter;
use shopsync::alipay::{Gateway, GatewayConfig};
use shopsync::clock::SharedClock;
use shopsync::exit::Exit;
use shopsync::sim::{self, SimError, SimHandle};

use crate::harness::{Harness, Options};
use crate::support::export::{csv_of, row, HEADER};
use crate::support::keys::test_keys;
use crate::support::sim::{start_sim, system_clock, try_start_sim};

const CREATE: &str = "alipay.offline.market.shop.create";
const SUMMARY: &str = "alipay.offline.market.shop.summary.batchquery";
const DETAIL: &str = "alipay.offline.market.shop.querydetail";
const APPLYORDER: &str = "alipay.offline.market.applyorder.batchquery";

fn client(sim: &SimHandle, clock: SharedClock) -> Gateway {
    let (app, _, _, alipay_pub) = test_keys();
    Gateway::new(
        GatewayConfig {
            url: sim.gateway_url(),
            app_id: sim.app_id().to_string(),
            app_auth_token: None,
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
        },
        app,
        alipay_pub,
        clock,
        Arc::new(RateLimiter::new(None, &BTreeMap::new())),
    )
    .unwrap()
}

/// The verified node text, or the error's code/sub_code.
async fn answer(gw: &Gateway, method: &str, biz: &str, write: bool) -> String {
    match gw.call(method, biz, write).await {
        Ok(v) => v.node,
        Err(e) => format!("error {} {:?}", e.code.unwrap_or_default(), e.sub_code),
    }
}

async fn restored(h: &Harness, path: &std::path::Path) -> SimHandle {
    start_sim(Arc::new(h.clock.clone()), |c| {
        c.snapshot = Some(path.to_path_buf())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulator_started_from_a_snapshot_answers_like_the_one_that_saved_it() {
    let h = Harness::start(Options {
        csv: csv_of(6),
        ..Default::default()
    })
    .await;
    assert_eq!(h.sync().await.exit, Exit::Ok);
    h.finish_audits();
    // Pending work at save time: a review-triggering modify, a direct modify, and two
    // creates still under audit (their store ids are reserved).
    let mut csv = format!("{HEADER}\n");
    csv.push_str(&row(1).replace("分店0001号", "分店0001号新"));
    csv.push('\n');
    csv.push_str(&row(2).replace("南京西路2号", "南京西路22号"));
    csv.push('\n');
    for n in 3..=8 {
        csv.push_str(&row(n));
        csv.push('\n');
    }
    h.write_csv(&csv);
    let second = h.sync().await;
    assert_eq!(second.exit, Exit::Ok, "{:?}", second.message);
    assert_eq!(second.summary.created, 2);
    assert_eq!(second.summary.modified, 2);

    let path = h.path("sim-state.json");
    h.sim.save_snapshot(&path).unwrap();
    assert!(path.exists());
    let leftovers: Vec<_> = std::fs::read_dir(h.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temp file left behind: {leftovers:?}");

    let sim2 = restored(&h, &path).await;
    let before = serde_json::to_value(h.sim.state()).unwrap();
    assert_eq!(serde_json::to_value(sim2.state()).unwrap(), before);
    assert_eq!(h.sim.notifications().len(), sim2.notifications().len());

    let clock: SharedClock = Arc::new(h.clock.clone());
    let (gw1, gw2) = (client(&h.sim, clock.clone()), client(&sim2, clock));
    let summary = r#"{"op_role":"ISV","query_type":"MERCHANT_SELF","page_no":1,"page_size":100}"#;
    let a = answer(&gw1, SUMMARY, summary, false).await;
    assert!(a.contains(r#""total_items":"6""#), "{a}");
    assert_eq!(a, answer(&gw2, SUMMARY, summary, false).await);
    for shop in h.sim.shops() {
        let biz = format!(r#"{{"shop_id":"{}"}}"#, shop.shop_id);
        let a = answer(&gw1, DETAIL, &biz, false).await;
        assert!(a.contains(&shop.shop_id), "{a}");
        assert_eq!(a, answer(&gw2, DETAIL, &biz, false).await);
    }
    let ids: Vec<String> = h.sim.orders().iter().map(|o| o.apply_id.clone()).collect();
    assert_eq!(ids.len(), 10);
    let biz = serde_json::json!({ "biz_type": "SHOP", "apply_ids": ids }).to_string();
    let a = answer(&gw1, APPLYORDER, &biz, false).await;
    assert!(a.contains("PROCESS") && a.contains("SUCCESS"), "{a}");
    assert_eq!(a, answer(&gw2, APPLYORDER, &biz, false).await);

    // Used request ids, reserved store ids and id counters carry over.
    let pending = h
        .sim
        .orders()
        .into_iter()
        .find(|o| o.action == "CREATE_SHOP" && o.status == "PROCESS")
        .unwrap();
    let replay = serde_json::Value::Object(pending.params.clone()).to_string();
    let a = answer(&gw1, CREATE, &replay, true).await;
    assert!(a.starts_with("error 40004"), "{a}");
    assert_eq!(a, answer(&gw2, CREATE, &replay, true).await);
    let mut other = pending.params.clone();
    other.insert("request_id".into(), "snapshottestreserved".into());
    let other = serde_json::Value::Object(other).to_string();
    let a = answer(&gw1, CREATE, &other, true).await;
    assert!(
        a.starts_with("error 40004"),
        "a pending create reserves its store id: {a}"
    );
    assert_eq!(a, answer(&gw2, CREATE, &other, true).await);
    let mut fresh = pending.params.clone();
    fresh.insert("request_id".into(), "snapshottestnew".into());
    fresh.insert("store_id".into(), "ST-9001".into());
    let fresh = serde_json::Value::Object(fresh).to_string();
    let a = answer(&gw1, CREATE, &fresh, true).await;
    assert!(a.contains("apply_id"), "{a}");
    assert_eq!(
        a,
        answer(&gw2, CREATE, &fresh, true).await,
        "same next apply id"
    );
    sim2.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_against_the_restored_simulator_sees_the_same_alipay() {
    let h = Harness::start(Options {
        csv: csv_of(5),
        ..Default::default()
    })
    .await;
    assert_eq!(h.sync().await.summary.created, 5);
    let path = h.path("sim-state.json");
    // Saved while the five creates are under audit.
    h.sim.save_snapshot(&path).unwrap();
    h.sim.shutdown().await;

    let sim2 = restored(&h, &path).await;
    let cfg = Harness::write_config(h.dir.path(), &sim2.gateway_url(), "");
    let ctx = Harness::context(cfg, Arc::new(h.clock.clone())).await;
    h.clock.advance(chrono::Duration::seconds(5));
    sim2.process_due();
    let run = ctx
        .run(&shopsync::sync::run::RunOptions {
            apply: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(run.exit, Exit::Ok, "{:?}", run.message);
    assert_eq!(run.summary.created, 0, "no store created twice");
    assert_eq!(run.summary.modified, 0);
    assert_eq!(sim2.call_counts().get(CREATE), None);
    assert_eq!(sim2.shops().len(), 5);
    assert!(ctx.db.pending_applications().unwrap().is_empty());
    // Saving again over the file replaces it atomically.
    sim2.save_snapshot(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["version"], sim::SNAPSHOT_VERSION);
    assert_eq!(v["shops"].as_array().unwrap().len(), 5);
    sim2.shutdown().await;
}

#[tokio::test]
async fn a_missing_snapshot_starts_empty_and_a_corrupt_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sim = start_sim(system_clock(), |c| {
        c.snapshot = Some(dir.path().join("none.json"))
    })
    .await;
    assert!(sim.shops().is_empty());
    assert_eq!(
        sim.save_configured_snapshot().unwrap(),
        Some(dir.path().join("none.json").as_path())
    );
    sim.shutdown().await;

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"version\": 99}").unwrap();
    let err = match try_start_sim(system_clock(), |c| c.snapshot = Some(bad.clone())).await {
        Err(e) => e,
        Ok(_) => panic!("a corrupt snapshot must be refused"),
    };
    assert!(matches!(err, SimError::SnapshotInvalid { .. }), "{err:?}");
    assert!(err.to_string().contains("bad.json"), "{err}");
}
