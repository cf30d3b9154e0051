//! `SimConfig::latency`: every answer waits at least that long; without it, no wait.

use std::sync::Arc;
use std::time::{Duration, Instant};

use shopsync::alipay::shop::SummaryQuery;
use shopsync::alipay::{Gateway, GatewayConfig};
use shopsync::clock::SystemClock;
use shopsync::ratelimit::RateLimiter;
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
    let without = one_call(None).await;
    assert!(
        without < Duration::from_millis(300),
        "answered after {without:?}"
    );
}
