//! Per-call client overhead: sign + send + verify + parse, against an unthrottled local
//! simulator running on its own thread. The client runs on a current_thread runtime on the
//! main thread; its CPU time is read from /proc/thread-self/schedstat, so "calls per second
//! on one core" is 1 ÷ (client CPU per call), whatever the simulator costs.
//!
//! `cargo bench --bench client` (`-- 5000` for another call count).

mod common;

use std::time::Instant;

use futures::StreamExt;
use shopsync::alipay::koubei::SummaryQuery;
use shopsync::alipay::ratelimit::RateLimiter;

fn main() {
    let calls: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(3000);
    let sim_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sim = sim_rt.block_on(common::start_sim(|_| {}));
    for i in 0..10 {
        let fields = [("main_shop_name".to_string(), format!("鲜果坊{i}"))].into();
        sim.seed_shop(&format!("S{i}"), fields);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let gw = common::gateway(&sim.gateway_url(), RateLimiter::unlimited());
    let q = SummaryQuery::default();
    println!(
        "client: summary.batchquery (10 shops per answer), unthrottled simulator on another thread"
    );
    rt.block_on(async {
        // Warm up: connection, key caches.
        for _ in 0..50 {
            gw.summary_page(&q, 1, 100).await.unwrap();
        }
        for in_flight in [1usize, 8] {
            let cpu0 = common::thread_cpu_ns();
            let t = Instant::now();
            let results: Vec<usize> = futures::stream::iter(0..calls)
                .map(|_| async { gw.summary_page(&q, 1, 100).await.unwrap().shop_summary_infos.len() })
                .buffer_unordered(in_flight)
                .collect()
                .await;
            let wall = t.elapsed().as_secs_f64();
            let cpu = (common::thread_cpu_ns() - cpu0) as f64 / 1e9;
            assert!(results.iter().all(|&n| n == 10));
            println!(
                "  {in_flight} in flight: {calls} calls in {wall:.2} s = {:.0} calls/s wall; client CPU {:.0} µs/call = {:.0} calls/s on one core",
                calls as f64 / wall,
                cpu / calls as f64 * 1e6,
                calls as f64 / cpu
            );
        }
    });
    sim_rt.block_on(sim.shutdown());
}
