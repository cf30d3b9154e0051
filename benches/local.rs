//! Local work: parse + validate an export of N stores, turn N summary records into remote
//! shops, and plan against them, all in memory, on one thread. Prints wall times and peak
//! memory (VmHWM).
//!
//! `cargo bench --bench local` (N = 100000; `-- 200000` for another size; `-- runs=9` for
//! another number of runs). Each run is a fresh process (so the peak memory of one run is
//! not hidden by an earlier one); the summary line gives the median and the range, because
//! on a VM the cost of first touching memory varies from run to run.

mod common;

use shopsync::ids::{ShopId, StoreId};
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use shopsync::alipay::koubei::ShopSummary;
use shopsync::record::{Field, FieldValues};
use shopsync::source::{self, SourceConfig};
use shopsync::sync::plan::{self, PlanInput, PlanSettings, RemoteShop};

use common::{mib, status_kib, write_export, CATEGORY, IMG1};

const CHILD: &str = "SHOPSYNC_BENCH_LOCAL_CHILD";

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    if std::env::var_os(CHILD).is_some() {
        return one_run(n);
    }
    let runs: usize = std::env::args()
        .find_map(|a| a.strip_prefix("runs=")?.parse().ok())
        .unwrap_or(5);
    // (total ms, process peak MiB, MiB added by the work)
    let mut results: Vec<(f64, f64, f64)> = Vec::new();
    for run in 1..=runs {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .arg(n.to_string())
            .env(CHILD, "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        if run == 1 {
            print!(
                "{}",
                text.lines()
                    .filter(|l| !l.starts_with("result "))
                    .map(|l| format!("{l}\n"))
                    .collect::<String>()
            );
        }
        let r: Vec<f64> = text
            .lines()
            .find_map(|l| l.strip_prefix("result "))
            .expect("a child run prints its result")
            .split(' ')
            .map(|v| v.parse().unwrap())
            .collect();
        println!(
            "  run {run}: total {:>7.1} ms, peak {:>6.1} MiB, added {:>6.1} MiB",
            r[0], r[1], r[2]
        );
        results.push((r[0], r[1], r[2]));
    }
    let mut totals: Vec<f64> = results.iter().map(|r| r.0).collect();
    totals.sort_by(f64::total_cmp);
    let peak = results.iter().map(|r| r.1).fold(0.0, f64::max);
    let added = results.iter().map(|r| r.2).fold(0.0, f64::max);
    println!(
        "local work, {runs} runs: median {:.1} ms (min {:.1}, max {:.1}); peak memory {:.1} MiB, of which the work added {:.1} MiB",
        totals[totals.len() / 2],
        totals[0],
        totals[totals.len() - 1],
        peak,
        added
    );
}

fn one_run(n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("stores.csv");
    // Every 10th store has new opening hours: 10% modifies, the rest unchanged.
    write_export(&csv, n, |i, v| {
        if i % 10 == 0 {
            v[9].1 = "周一-周日 10:00-21:00".into();
        }
    });
    // Summaries as summary.batchquery pages deliver them, built before measuring; the work
    // consumes them as the sync does, page by page.
    let summaries: Vec<ShopSummary> = (1..=n)
        .map(|i| {
            let v: BTreeMap<&str, String> = common::row_values(i).into_iter().collect();
            serde_json::from_value(serde_json::json!({
                "shop_id": format!("2015{i:012}"),
                "main_shop_name": "鲜果坊",
                "branch_shop_name": v["branch_shop_name"],
                "brand_name": "鲜果坊",
                "address": v["address"],
                "province_code": "310000",
                "city_code": "310100",
                "district_code": "310106",
                "business_time": v["business_time"],
                "status": "OPEN",
                "per_pay": format!("{}", v["avg_price"].parse::<u64>().unwrap() * 100),
                "main_image": IMG1,
                "category_infos": [{"category_id": CATEGORY}],
            }))
            .unwrap()
        })
        .collect();
    let mapping: HashMap<StoreId, ShopId> = (1..=n)
        .map(|i| (format!("S{i}").into(), format!("2015{i:012}").into()))
        .collect();
    // The values Alipay last accepted (recorded by earlier syncs): the export's, normalised.
    let accepted: HashMap<StoreId, FieldValues> = (1..=n)
        .map(|i| {
            let values = common::row_values(i)
                .into_iter()
                .skip(1)
                .chain(common::defaults())
                .map(|(k, v)| {
                    let f = Field::from_name(k).unwrap();
                    (f, shopsync::record::normalise(f, &v).unwrap().unwrap())
                })
                // As the sync loads them: only the fields the plan compares with them.
                .filter(|(f, _)| f.compared_with_accepted())
                .collect();
            (format!("S{i}").into(), values)
        })
        .collect();
    let mut cfg: SourceConfig =
        toml::from_str(&format!("path = {:?}", csv.display().to_string())).unwrap();
    cfg.defaults = common::defaults()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let file_mib = std::fs::metadata(&csv).unwrap().len() as f64 / (1 << 20) as f64;
    let (hwm0, rss0) = (status_kib("VmHWM"), status_kib("VmRSS"));

    let t0 = Instant::now();
    let loaded = source::load(&cfg).unwrap();
    let t_load = t0.elapsed();
    let rss_load = status_kib("VmRSS");
    let t1 = Instant::now();
    let remote: Vec<RemoteShop> = shopsync::sync::remote::to_remote(summaries);
    let t_remote = t1.elapsed();
    let rss_remote = status_kib("VmRSS");
    let t2 = Instant::now();
    let settings = PlanSettings::default();
    let empty_failed = HashMap::new();
    let p = plan::plan(PlanInput {
        stores: &loaded.stores,
        rejected: &[],
        remote: &remote,
        mapping: &mapping,
        pending: &[],
        accepted: &accepted,
        failed: &empty_failed,
        settings: &settings,
    });
    let t_plan = t2.elapsed();
    let rss_plan = status_kib("VmRSS");
    let total = t0.elapsed();
    let hwm = status_kib("VmHWM");
    let c = p.counts();
    assert_eq!(loaded.stores.len(), n);
    println!("local work, {n} stores ({file_mib:.1} MiB CSV) vs {n} remote shops, one thread:");
    let grew = |after: u64, before: u64| mib(after.saturating_sub(before));
    println!(
        "  parse + validate   {:>8.1} ms   RSS +{:>6.1} MiB",
        t_load.as_secs_f64() * 1e3,
        grew(rss_load, rss0)
    );
    println!(
        "  summary → remote   {:>8.1} ms   RSS +{:>6.1} MiB",
        t_remote.as_secs_f64() * 1e3,
        grew(rss_remote, rss_load)
    );
    println!(
        "  plan               {:>8.1} ms   RSS +{:>6.1} MiB",
        t_plan.as_secs_f64() * 1e3,
        grew(rss_plan, rss_remote)
    );
    println!("  total              {:>8.1} ms", total.as_secs_f64() * 1e3);
    println!(
        "  plan: {} create, {} modify, {} unchanged, {} remote-only",
        c.create, c.modify, c.unchanged, c.remote_only
    );
    if let Some(item) = p.items.iter().find(|i| i.action.label() == "modify") {
        println!("  first modify: {:?}", item);
    }
    println!(
        "  memory: VmHWM {:.1} MiB (inputs before the work: HWM {:.1} MiB, RSS {:.1} MiB)",
        mib(hwm),
        mib(hwm0),
        mib(rss0)
    );
    println!(
        "  memory added by the work: {:.1} MiB",
        mib(hwm.saturating_sub(rss0))
    );
    println!(
        "result {:.1} {:.1} {:.1}",
        total.as_secs_f64() * 1e3,
        mib(hwm),
        mib(hwm.saturating_sub(rss0))
    );
    drop((p, remote, loaded));
}
