//! `/__sim/stats`: every call counted once, per wall-clock second and in the busiest
//! sliding second, so tests can assert a quota was kept in every second.

use serde_json::{json, Value};

use super::client::*;

#[tokio::test]
async fn calls_are_counted_per_second_and_can_be_reset() {
    let (h, c) = setup(|_| {}).await;
    for _ in 0..5 {
        c.call(CATEGORY, json!({})).await;
    }
    c.call(SUMMARY, json!({"page_size": 101})).await;
    let base = format!("http://{}/__sim", h.addr());
    let stats: Value = c
        .http
        .get(format!("{base}/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let app = &stats["app"];
    assert_eq!(app["calls"], 6);
    let per_second = app["per_second"].as_array().unwrap();
    let sum: u64 = per_second
        .iter()
        .map(|s| s["calls"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, 6);
    let seconds: Vec<u64> = per_second
        .iter()
        .map(|s| s["unix_second"].as_u64().unwrap())
        .collect();
    assert!(
        seconds.windows(2).all(|w| w[0] < w[1]),
        "in order, one entry per second"
    );
    let busiest = app["max_calls_in_a_calendar_second"].as_u64().unwrap();
    assert_eq!(
        busiest,
        per_second
            .iter()
            .map(|s| s["calls"].as_u64().unwrap())
            .max()
            .unwrap()
    );
    // Six quick calls on loopback: within one sliding second.
    assert_eq!(app["max_calls_in_one_second"], 6);
    assert_eq!(h.app_calls().calls, 6);
    assert_eq!(h.call_counts()[CATEGORY], 5);

    let r = c
        .http
        .post(format!("{base}/stats/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(h.app_calls().calls, 0);
    assert!(h.call_counts().is_empty());
    c.call(CATEGORY, json!({})).await;
    assert_eq!(h.app_calls().per_second.len(), 1);
    h.shutdown().await;
}
