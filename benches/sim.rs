//! The simulator's own cost per call: requests signed in advance (so the client costs
//! almost nothing), sent 8 at a time over loopback to a simulator whose runtime has one
//! worker thread; the CPU time of the simulator's threads (from /proc/self/task/*/schedstat)
//! divided by the calls gives "calls per second on one core".
//!
//! `cargo bench --bench sim` (`-- 5000` for another call count per phase).

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::StreamExt;
use serde_json::{json, Value};
use shopsync::alipay::sign::SignKey;
use shopsync::alipay::timestamp;
use shopsync::sim::signing::classic_request_content;

/// Thread ids of the simulator's runtime.
static SIM_THREADS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn sim_cpu_ns() -> u64 {
    SIM_THREADS
        .lock()
        .unwrap()
        .iter()
        .filter_map(|tid| std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// A signed classic request: query string and form body.
fn signed(key: &SignKey, method: &str, biz: &Value) -> (String, String) {
    let mut p: BTreeMap<String, String> = [
        ("app_id", "2021000000000001"),
        ("method", method),
        ("format", "json"),
        ("charset", "utf-8"),
        ("sign_type", "RSA2"),
        ("version", "1.0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    p.insert("timestamp".into(), timestamp::format(chrono::Utc::now()));
    p.insert("biz_content".into(), biz.to_string());
    let sign = key.sign(&classic_request_content(&p));
    let biz = p.remove("biz_content").unwrap();
    p.insert("sign".into(), sign);
    let q = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&p)
        .finish();
    let b = form_urlencoded::Serializer::new(String::new())
        .append_pair("biz_content", &biz)
        .finish();
    (q, b)
}

fn create_biz(i: usize) -> Value {
    json!({
        "store_id": format!("B{i}"), "category_id": common::CATEGORY, "main_shop_name": "鲜果坊",
        "branch_shop_name": format!("分店{i}号"), "province_code": "310000", "city_code": "310100",
        "district_code": "310106", "address": format!("南京西路{i}号"), "longitude": "121.45",
        "latitude": "31.22", "contact_number": "021-12345678", "main_image": common::IMG1,
        "audit_images": format!("{},{}", common::IMG1, common::IMG2), "request_id": format!("b{i}"),
        "op_role": "ISV", "biz_version": "2.0"
    })
}

fn main() {
    let calls: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(3000);
    let sim_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .on_thread_start(|| {
            if let Ok(p) = std::fs::read_link("/proc/thread-self") {
                let tid = p.file_name().unwrap().to_string_lossy().into_owned();
                SIM_THREADS.lock().unwrap().push(tid);
            }
        })
        .enable_all()
        .build()
        .unwrap();
    let sim = sim_rt.block_on(common::sim::start_sim(common::sim::system_clock(), |c| {
        c.audit_delay = chrono::Duration::hours(1);
    }));
    let mut shop_ids = Vec::new();
    for i in 0..1000 {
        let fields = common::row_values(i)
            .into_iter()
            .filter(|(k, _)| *k != "store_id")
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        shop_ids.push(sim.seed_shop(&format!("S{i}"), fields));
    }
    let (app, ..) = common::keys::test_keys();
    let url = sim.gateway_url();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "simulator: {calls} calls per phase, 8 in flight, simulator runtime on one worker thread"
    );
    type Make<'a> = Box<dyn Fn(usize) -> (String, Value) + 'a>;
    let phases: Vec<(&str, Make)> = vec![
        (
            "summary.batchquery (100 shops a page)",
            Box::new(|_| {
                (
                    "alipay.offline.market.shop.summary.batchquery".into(),
                    json!({"page_no": 1, "page_size": 100}),
                )
            }),
        ),
        (
            "querydetail",
            Box::new(|i| {
                (
                    "alipay.offline.market.shop.querydetail".into(),
                    json!({"shop_id": shop_ids[i % shop_ids.len()]}),
                )
            }),
        ),
        (
            "create (every one stays under audit)",
            Box::new(|i| ("alipay.offline.market.shop.create".into(), create_biz(i))),
        ),
        (
            "category.query",
            Box::new(|_| {
                (
                    "alipay.offline.market.shop.category.query".into(),
                    json!({}),
                )
            }),
        ),
    ];
    for (name, make) in &phases {
        let requests: Vec<(String, String)> = (0..calls)
            .map(|i| {
                let (m, biz) = make(i);
                signed(&app, &m, &biz)
            })
            .collect();
        let cpu0 = sim_cpu_ns();
        let t = Instant::now();
        let ok = Arc::new(Mutex::new(0usize));
        rt.block_on(async {
            futures::stream::iter(requests)
                .map(|(q, b)| {
                    let (http, url, ok) = (http.clone(), url.clone(), ok.clone());
                    async move {
                        let text = http
                            .post(format!("{url}?{q}"))
                            .header(
                                "content-type",
                                "application/x-www-form-urlencoded;charset=utf-8",
                            )
                            .body(b)
                            .send()
                            .await
                            .unwrap()
                            .text()
                            .await
                            .unwrap();
                        if text.contains("\"code\":\"10000\"") {
                            *ok.lock().unwrap() += 1;
                        }
                    }
                })
                .buffer_unordered(8)
                .collect::<Vec<()>>()
                .await;
        });
        let wall = t.elapsed().as_secs_f64();
        let cpu = (sim_cpu_ns() - cpu0) as f64 / 1e9;
        let ok = *ok.lock().unwrap();
        assert_eq!(ok, calls, "{name}: every call answered 10000");
        println!(
            "  {name}: {:.0} calls/s wall; simulator CPU {:.0} µs/call = {:.0} calls/s on one core",
            calls as f64 / wall,
            cpu / calls as f64 * 1e6,
            calls as f64 / cpu
        );
    }
    sim_rt.block_on(sim.shutdown());
}
