//! Local work: parse + validate an export of N stores, turn N summary records into remote
//! shops, and plan against them, all in memory. Prints wall times and peak memory (VmHWM).
//!
//! `cargo bench --bench local` (N = 100000; `-- 200000` for another size).

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use shopsync::alipay::shop::ShopSummary;
use shopsync::plan::{self, PlanInput, PlanSettings, RemoteShop};
use shopsync::source::{self, SourceConfig};

use common::{mib, status_kib, write_export, CATEGORY, IMG1};

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("stores.csv");
    // Every 10th store has new opening hours: 10% modifies, the rest unchanged.
    write_export(&csv, n, |i, v| {
        if i % 10 == 0 {
            v[9].1 = "周一-周日 10:00-21:00".into();
        }
    });
    // Summaries as summary.batchquery returns them, built before measuring.
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
    let mapping: HashMap<String, String> = (1..=n)
        .map(|i| (format!("S{i}"), format!("2015{i:012}")))
        .collect();
    // The values Alipay last accepted (recorded by earlier syncs): the export's, normalised.
    let accepted: HashMap<String, BTreeMap<String, String>> = (1..=n)
        .map(|i| {
            let values = common::row_values(i)
                .into_iter()
                .skip(1)
                .chain(common::defaults())
                .map(|(k, v)| {
                    let f = shopsync::store::Field::from_name(k).unwrap();
                    (
                        k.to_string(),
                        shopsync::store::normalise(f, &v).unwrap().unwrap(),
                    )
                })
                .collect();
            (format!("S{i}"), values)
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
    let t1 = Instant::now();
    let remote: Vec<RemoteShop> = shopsync::remote::to_remote(&summaries);
    let t_remote = t1.elapsed();
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
    let total = t0.elapsed();
    let hwm = status_kib("VmHWM");
    let c = p.counts();
    assert_eq!(loaded.stores.len(), n);
    println!("local work, {n} stores ({file_mib:.1} MiB CSV) vs {n} remote shops, one thread:");
    println!(
        "  parse + validate   {:>8.1} ms",
        t_load.as_secs_f64() * 1e3
    );
    println!(
        "  summary → remote   {:>8.1} ms",
        t_remote.as_secs_f64() * 1e3
    );
    println!(
        "  plan               {:>8.1} ms",
        t_plan.as_secs_f64() * 1e3
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
        "  memory: VmHWM {:.1} MiB (before: HWM {:.1} MiB, RSS {:.1} MiB; summaries held as input)",
        mib(hwm),
        mib(hwm0),
        mib(rss0)
    );
    println!(
        "  memory added by the work: {:.1} MiB",
        mib(hwm.saturating_sub(rss0))
    );
    drop((p, remote, loaded));
}
