//! `SimConfig::latency`: every answer waits at least that long; without it, no wait.

use std::sync::Arc;
use std::time::{Duration, Instant};

use shopsync::alipay::koubei::SummaryQuery;
use shopsync::alipay::ratelimit::RateLimiter;
use shopsync::alipay::{Gateway, GatewayConfig};
use shopsync::clock::SystemClock;
use shopsync::sim::{self, SimConfig};

use crate::harness::test_keys;

async fn one_call(latency: Option<Duration>) -> Duration {
    let (app, app_pub, alipay, alipay_pub) = test_keys();
    let mut cfg = SimConfig::new(app_pub, alipay);
    cfg.latency = latency;
    let sim = sim::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let gw = Gateway::new(
        GatewayConfig {
            url: sim.gateway_url(),
            app_id: sim.app_id().to_string(),
            app_auth_token: None,
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
        },
        app,
        alipay_pub,
        Arc::new(SystemClock),
        Arc::new(RateLimiter::unlimited()),
    )
    .unwrap();
    // Warm the connection so the measured call is one round trip.
    gw.summary_page(&SummaryQuery::default(), 1, 10)
        .await
        .unwrap();
    let started = Instant::now();
    gw.summary_page(&SummaryQuery::default(), 1, 10)
        .await
        .unwrap();
    started.elapsed()
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let with = one_call(Some(Duration::from_millis(300))).await;
    assert!(
        with >= Duration::from_millis(300),
        "answered after {with:?}"
    );
}

/// Pages after the first are read concurrently (the simulator sees several summary calls
/// in flight at once while each waits its 200 ms), and every shop comes back once.
#[tokio::test]
async fn summary_pages_are_read_concurrently() {
    let (app, app_pub, alipay, alipay_pub) = test_keys();
    let mut cfg = SimConfig::new(app_pub, alipay);
    cfg.latency = Some(Duration::from_millis(200));
    let sim = sim::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut seeded = Vec::new();
    for i in 0..950 {
        let fields = [("main_shop_name".to_string(), format!("店{i}"))].into();
        seeded.push(sim.seed_shop(&format!("S{i}"), fields));
    }
    let gw = Gateway::new(
        GatewayConfig {
            url: sim.gateway_url(),
            app_id: sim.app_id().to_string(),
            app_auth_token: None,
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
        },
        app,
        alipay_pub,
        Arc::new(SystemClock),
        Arc::new(RateLimiter::unlimited()),
    )
    .unwrap();
    let shops = shopsync::sync::remote::read_shops(&gw, &SummaryQuery::default(), 3, 8)
        .await
        .unwrap();
    let mut got: Vec<String> = shops.iter().map(|s| s.shop_id.to_string()).collect();
    assert_eq!(got.len(), 950);
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 950);
    assert_eq!(
        sim.call_counts()["alipay.offline.market.shop.summary.batchquery"],
        10
    );
    assert!(
        sim.peak_in_flight() > 1,
        "pages were read one at a time (peak {} in flight)",
        sim.peak_in_flight()
    );
}
