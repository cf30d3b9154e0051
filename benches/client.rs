//! Per-call CPU of the client and of the simulator: `summary.batchquery` (sign + send +
//! verify + parse on the client; verify + answer + sign on the simulator) against an
//! unthrottled local simulator, in each way an app can be set up: key or certificate mode,
//! classic or v3.
//!
//! The simulator runs on its own one-worker runtime whose threads are named `sim`; the
//! client on a current_thread runtime on the main thread. CPU time, not wall time:
//! - process CPU (every thread, also ones that ended) from /proc/self/stat;
//! - the simulator's CPU is the sum of its `sim` threads' schedstat times;
//! - client CPU = process − simulator (it also holds reqwest's and the runtime's work).
//!
//! "calls/s on one core" is calls ÷ CPU seconds: what one core could sustain.
//!
//! `cargo bench --bench client` (`-- 5000` for another call count).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use shopsync::alipay::koubei::SummaryQuery;
use shopsync::alipay::ratelimit::RateLimiter;
use shopsync::alipay::{Gateway, GatewayConfig, Protocol};
use shopsync::clock::SystemClock;

/// Linux reports /proc/<pid>/stat times in USER_HZ ticks, 100 per second on every
/// architecture Rust targets.
const USER_HZ: u64 = 100;

/// CPU time of the whole process (ns): utime + stime of /proc/self/stat, 10 ms resolution.
fn process_cpu_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name (field 2) may hold spaces; fields after its ')' are plain.
    let after = stat.rsplit_once(')').map(|(_, a)| a).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the ')'.
    let ticks: u64 = fields
        .get(11..13)
        .map(|f| f.iter().filter_map(|x| x.parse::<u64>().ok()).sum())
        .unwrap_or(0);
    ticks * (1_000_000_000 / USER_HZ)
}

/// CPU time (ns) of this process's threads named `name`, from their schedstat.
fn threads_cpu_ns(name: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim_end() == name)
        })
        .filter_map(|t| {
            std::fs::read_to_string(t.path().join("schedstat"))
                .ok()?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

/// The RSA-2048 part of a call: one request signature and one answer verification, alone.
fn signing_alone() {
    let (app, _, _, _) = common::keys::test_keys();
    let public = app.verify_key();
    let content = "app_id=2021000000000001&biz_content={\"page_no\":1,\"page_size\":100}&charset=utf-8&format=json&method=alipay.offline.market.shop.summary.batchquery&sign_type=RSA2&timestamp=2026-12-02 03:20:42&version=1.0";
    let n = 2000;
    let cpu0 = common::thread_cpu_ns();
    let mut sig = String::new();
    for _ in 0..n {
        sig = app.sign(content);
    }
    let sign_cpu = common::thread_cpu_ns() - cpu0;
    let cpu0 = common::thread_cpu_ns();
    for _ in 0..n {
        assert!(public.verify(content.as_bytes(), &sig));
    }
    let verify_cpu = common::thread_cpu_ns() - cpu0;
    println!(
        "RSA-2048 alone ({n} each): sign {:.0} µs, verify {:.1} µs (CPU)",
        sign_cpu as f64 / n as f64 / 1e3,
        verify_cpu as f64 / n as f64 / 1e3
    );
}

/// The client of `url` in key or certificate mode (the test PKI), on `protocol`.
fn client(url: &str, protocol: Protocol, certs: bool) -> Gateway {
    let gw = if certs {
        let (app, _, _, _) = common::keys::test_keys();
        let cfg = GatewayConfig {
            url: url.to_string(),
            app_id: common::pki::APP_ID.into(),
            app_auth_token: None,
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
        };
        let certs = common::pki::client_certs(chrono::Utc::now());
        let limiter = Arc::new(RateLimiter::unlimited());
        Gateway::with_certificates(cfg, app, certs, Arc::new(SystemClock), limiter).unwrap()
    } else {
        common::gateway(url, RateLimiter::unlimited())
    };
    gw.with_protocol(protocol)
}

fn main() {
    let calls: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(3000);
    signing_alone();
    let sim_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("sim")
        .enable_all()
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (label, protocol, certs) in [
        ("key mode, classic", Protocol::Classic, false),
        ("key mode, v3", Protocol::V3, false),
        ("certificate mode, classic", Protocol::Classic, true),
        ("certificate mode, v3", Protocol::V3, true),
    ] {
        let sim = sim_rt.block_on(common::sim::start_sim(common::sim::system_clock(), |c| {
            if certs {
                c.cert = Some(common::pki::sim_mode(None));
            }
        }));
        for i in 0..10 {
            let fields = [("main_shop_name".to_string(), format!("鲜果坊{i}"))].into();
            sim.seed_shop(&format!("S{i}"), fields);
        }
        let gw = client(&sim.gateway_url(), protocol, certs);
        println!(
            "client ({label}): summary.batchquery (10 shops per answer), unthrottled simulator on its own thread, {calls} calls"
        );
        rt.block_on(measure(&gw, calls));
        sim_rt.block_on(sim.shutdown());
    }
}

/// Warm up, then `calls` calls at 1 and at 8 in flight; print the CPU per call.
async fn measure(gw: &Gateway, calls: usize) {
    let q = SummaryQuery::default();
    {
        // Warm up: connection, key caches.
        for _ in 0..50 {
            gw.summary_page(&q, 1, 100).await.unwrap();
        }
        for in_flight in [1usize, 8] {
            let (proc0, sim0, main0) = (
                process_cpu_ns(),
                threads_cpu_ns("sim"),
                common::thread_cpu_ns(),
            );
            let t = Instant::now();
            let results: Vec<usize> = futures::stream::iter(0..calls)
                .map(|_| async {
                    gw.summary_page(&q, 1, 100)
                        .await
                        .unwrap()
                        .shop_summary_infos
                        .len()
                })
                .buffer_unordered(in_flight)
                .collect()
                .await;
            let wall = t.elapsed().as_secs_f64();
            let sim_cpu = (threads_cpu_ns("sim") - sim0) as f64 / 1e9;
            let process_cpu = (process_cpu_ns() - proc0) as f64 / 1e9;
            let main_cpu = (common::thread_cpu_ns() - main0) as f64 / 1e9;
            let client_cpu = (process_cpu - sim_cpu).max(main_cpu);
            assert!(results.iter().all(|&n| n == 10));
            let per_call = |cpu: f64| cpu / calls as f64 * 1e6;
            println!(
                "  {in_flight} in flight: {:.0} calls/s wall; client CPU {:.0} µs/call = {:.0} calls/s on one core \
                 (main thread {:.0} µs/call); simulator CPU {:.0} µs/call = {:.0} calls/s on one core",
                calls as f64 / wall,
                per_call(client_cpu),
                calls as f64 / client_cpu,
                per_call(main_cpu),
                per_call(sim_cpu),
                calls as f64 / sim_cpu,
            );
        }
    }
}
