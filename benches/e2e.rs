//! End to end against the simulator with 20 ms answer latency and the simulator's app
//! limit equal to the configured qps (100):
//! 1. `plan` of 20,000 stores already on Alipay, mapped and in sync (200 summary pages);
//! 2. `sync` of 2,000 creates + 2,000 modifies;
//! 3. the first `sync` of 2,000 stores with 4 photo files each (a storefront and three
//!    audit photos), 20% of the 8,000 references to 10 chain-wide photos and the rest
//!    unique: 6,410 uploads, then 2,000 creates.
//!
//! 4. ISV mode: 200 merchants × 250 stores in one process on one quota (`isv.rs`).
//!
//! For each: wall time ÷ (calls ÷ qps) (1.0 = the quota is the only limit), the most calls
//! the simulator saw in one second, and how often it throttled.
//!
//! `cargo bench --bench e2e` (`-- quick` for 1/10 of the sizes; `-- isv` for the ISV rows
//! alone, `-- photos` for the photo row alone).

mod common;
#[path = "e2e/isv.rs"]
mod isv;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use shopsync::record::{normalise, Field};
use shopsync::sim::{RateSpec, SimHandle};
use shopsync::sync::run::RunOptions;

const QPS: u32 = 100;
const LATENCY: Duration = Duration::from_millis(20);

/// Alipay's copy of store `i`: the export's values, normalised, plus the defaults.
fn shop_fields(i: usize) -> BTreeMap<String, String> {
    common::row_values(i)
        .into_iter()
        .skip(1)
        .chain(common::defaults())
        .map(|(k, v)| {
            let f = Field::from_name(k).unwrap();
            (k.to_string(), normalise(f, &v).unwrap().unwrap())
        })
        .collect()
}

async fn sim() -> SimHandle {
    common::sim::start_sim(common::sim::system_clock(), |c| {
        c.latency = Some(LATENCY);
        c.rate = Some(RateSpec {
            qps: QPS,
            burst: QPS,
        });
        c.audit_delay = chrono::Duration::hours(1);
    })
    .await
}

fn total_calls(sim: &SimHandle) -> u64 {
    sim.call_counts().values().sum()
}

fn report(what: &str, sim: &SimHandle, wall: Duration, calls: u64) {
    let ideal = calls as f64 / QPS as f64;
    println!("{what}:");
    println!("  calls {calls} ({:?})", sim.call_counts());
    println!(
        "  wall {:.2} s; calls ÷ qps {:.2} s; ratio {:.3}",
        wall.as_secs_f64(),
        ideal,
        wall.as_secs_f64() / ideal
    );
    println!(
        "  simulator: max calls in one second {} (limit {QPS}); throttled {}",
        sim.max_calls_in_one_second(),
        sim.throttled_count()
    );
}

async fn plan_run(n: usize) {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    common::write_export(&dir.path().join("stores.csv"), n, |_, _| {});
    let ctx = common::context(dir.path(), &sim.gateway_url(), QPS, 8).await;
    let t = Instant::now();
    // In sync: mapped, with the values Alipay accepted recorded (as after an earlier sync).
    for i in 1..=n {
        let fields = shop_fields(i);
        let shop = sim.seed_shop(&format!("S{i}"), fields.clone());
        let now = chrono::Utc::now();
        ctx.db
            .set_mapping(&format!("S{i}").into(), &shop.into(), "adopted", now)
            .unwrap();
        ctx.db
            .set_accepted_values(&format!("S{i}").into(), &fields, now)
            .unwrap();
    }
    println!(
        "(seeded and mapped {n} shops in {:.1} s)",
        t.elapsed().as_secs_f64()
    );
    // The summary read alone, then the whole plan run.
    let before = total_calls(&sim);
    let started = Instant::now();
    let shops = shopsync::sync::remote::read_shops(
        &ctx.gateway,
        &shopsync::alipay::koubei::SummaryQuery::default(),
        3,
        8,
    )
    .await
    .unwrap();
    assert_eq!(shops.len(), n);
    report(
        &format!("summary read alone ({n} shops)"),
        &sim,
        started.elapsed(),
        total_calls(&sim) - before,
    );
    // A fresh one-second window for the run.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = total_calls(&sim);
    let started = Instant::now();
    let r = ctx
        .run(&RunOptions {
            apply: false,
            ..Default::default()
        })
        .await
        .unwrap();
    let wall = started.elapsed();
    let c = r.plan.counts();
    println!(
        "plan: {} unchanged, {} modify, {} create, {} remote-only; exit {:?}",
        c.unchanged, c.modify, c.create, c.remote_only, r.exit
    );
    report(
        &format!("plan of {n} stores"),
        &sim,
        wall,
        total_calls(&sim) - before,
    );
    sim.shutdown().await;
}

async fn sync_run(creates: usize, modifies: usize) {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let n = creates + modifies;
    // Stores 1..=modifies exist on Alipay with other opening hours.
    common::write_export(&dir.path().join("stores.csv"), n, |_, _| {});
    let ctx = common::context(dir.path(), &sim.gateway_url(), QPS, 8).await;
    for i in 1..=modifies {
        let mut fields = shop_fields(i);
        fields.insert("business_time".into(), "周一-周日 10:00-21:00".into());
        let shop = sim.seed_shop(&format!("S{i}"), fields);
        ctx.db
            .set_mapping(
                &format!("S{i}").into(),
                &shop.into(),
                "adopted",
                chrono::Utc::now(),
            )
            .unwrap();
    }
    let before = total_calls(&sim);
    let started = Instant::now();
    let r = ctx
        .run(&RunOptions {
            apply: true,
            force: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let wall = started.elapsed();
    println!(
        "sync: created {}, modified {}, failed {}, unknown {}; exit {:?} {}",
        r.summary.created,
        r.summary.modified,
        r.summary.failed,
        r.summary.unknown,
        r.exit,
        r.message.unwrap_or_default()
    );
    report(
        &format!("sync of {creates} creates + {modifies} modifies"),
        &sim,
        wall,
        total_calls(&sim) - before,
    );
    sim.shutdown().await;
}

/// A distinct, whole JPEG per `n`: the sample storefront with a comment segment naming `n`
/// right after the start-of-image marker.
fn jpeg(base: &[u8], n: usize) -> Vec<u8> {
    let comment = format!("shopsync bench photo {n}");
    let mut out = Vec::with_capacity(base.len() + comment.len() + 4);
    out.extend_from_slice(&base[..2]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&((comment.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(comment.as_bytes());
    out.extend_from_slice(&base[2..]);
    out
}

async fn photo_sync_run(n: usize) {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/images/storefront-sh.jpg"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("photos")).unwrap();
    // Reference j of 4n: every fifth goes to one of 10 shared photos, the others to a
    // photo of their own.
    let name = |j: usize| {
        if j.is_multiple_of(5) {
            format!("photos/shared-{}.jpg", (j / 5) % 10)
        } else {
            format!("photos/p{j}.jpg")
        }
    };
    let mut written = std::collections::HashSet::new();
    let mut csv = format!("{},main_image,audit_images\n", common::HEADER);
    for i in 1..=n {
        let refs: Vec<String> = (0..4).map(|k| name((i - 1) * 4 + k)).collect();
        for (k, r) in refs.iter().enumerate() {
            if written.insert(r.clone()) {
                let seed = if r.contains("shared") {
                    1_000_000 + (i - 1) * 4 + k
                } else {
                    (i - 1) * 4 + k
                };
                std::fs::write(dir.path().join(r), jpeg(&base, seed)).unwrap();
            }
        }
        let row: Vec<String> = common::row_values(i).into_iter().map(|(_, v)| v).collect();
        csv.push_str(&format!(
            "{},{},\"{}\"\n",
            row.join(","),
            refs[0],
            refs[1..].join(",")
        ));
    }
    std::fs::write(dir.path().join("stores.csv"), csv).unwrap();
    let distinct = written.len();
    let ctx = common::context(dir.path(), &sim.gateway_url(), QPS, 8).await;
    let before = total_calls(&sim);
    let started = Instant::now();
    let r = ctx
        .run(&RunOptions {
            apply: true,
            force: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let wall = started.elapsed();
    let uploads = sim
        .call_counts()
        .get("alipay.offline.material.image.upload")
        .copied()
        .unwrap_or(0);
    println!(
        "photo sync: {distinct} distinct photo files for {} references; uploaded {} ({uploads} upload calls); created {}, failed {}, rejected {}; exit {:?} {}",
        n * 4,
        r.photos.uploaded,
        r.summary.created,
        r.summary.failed,
        r.summary.rejected,
        r.exit,
        r.message.unwrap_or_default()
    );
    report(
        &format!("first sync of {n} stores × 4 photos (20% shared)"),
        &sim,
        wall,
        total_calls(&sim) - before,
    );
    println!(
        "  peak RSS (VmHWM) {:.1} MiB",
        common::mib(common::status_kib("VmHWM"))
    );
    sim.shutdown().await;
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "isv-sim") {
        isv::serve_sim(args[i + 1].parse().unwrap()).await;
        return;
    }
    let scale = if std::env::args().any(|a| a == "quick") {
        10
    } else {
        1
    };
    println!(
        "simulator latency {} ms, simulator limit = client qps = {QPS}, concurrency 8",
        LATENCY.as_millis()
    );
    if std::env::args().any(|a| a == "isv") {
        isv::run(200 / scale, 250).await;
        return;
    }
    if std::env::args().any(|a| a == "photos") {
        photo_sync_run(2_000 / scale).await;
        return;
    }
    plan_run(20_000 / scale).await;
    sync_run(2_000 / scale, 2_000 / scale).await;
    photo_sync_run(2_000 / scale).await;
    isv::run(200 / scale, 250).await;
}
