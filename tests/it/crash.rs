//! The real `shopsync sync` killed with SIGKILL at seeded random points of a 500-store sync,
//! run again after each kill; then one run finishes and a follow-up collects the audits.
//! Half the kill points are a random time into the run (start-up, reading the export and
//! the summary pages, the first writes), half "after N more creates reached Alipay" (N
//! random), so the kills land among the writes rather than after a quick run finished.
//! The simulator lives in this process (system clock: the child has its own) and keeps
//! running across the kills.
//!
//! `SHOPSYNC_TEST_HEAVY=1`: 50 kills of a 1000-store sync.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shopsync::audit::{AuditDb, RunStatus};

use crate::harness::Harness;
use crate::support::export::csv_of;
use crate::support::sim::{start_sim, system_clock};

const CREATE: &str = "alipay.offline.market.shop.create";
const EXTRA: &str = "[sync]\nconcurrency = 16\n";

fn heavy() -> bool {
    std::env::var("SHOPSYNC_TEST_HEAVY").is_ok_and(|v| v == "1")
}

fn shopsync(dir: &Path, args: &[&str], log: &str) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_shopsync"));
    cmd.current_dir(dir)
        .arg("--config")
        .arg(dir.join("shopsync.toml"))
        .args(["--log-format", "json"])
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join(format!("{log}.out"))).unwrap())
        .stderr(std::fs::File::create(dir.join(format!("{log}.err"))).unwrap())
        .kill_on_drop(true);
    cmd
}

fn tail(dir: &Path, log: &str) -> String {
    let text = std::fs::read_to_string(dir.join(format!("{log}.err"))).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_never_duplicates_a_shop() {
    let (stores, kills, max_sleep_ms) = if heavy() {
        (1000, 50, 600)
    } else {
        (500, 20, 400)
    };
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    // The system clock: audits finish at the first request after the create.
    let sim = start_sim(system_clock(), |c| {
        c.audit_delay = chrono::Duration::zero();
        c.seed = 7;
    })
    .await;
    std::fs::write(dir.path().join("stores.csv"), csv_of(stores)).unwrap();
    std::fs::write(
        dir.path().join("shopsync.toml"),
        Harness::config_text(&sim.gateway_url(), EXTRA),
    )
    .unwrap();

    let creates = || sim.call_counts().get(CREATE).copied().unwrap_or(0);
    let mut rng = StdRng::seed_from_u64(0xc0ffee);
    let mut finished_early = 0;
    for i in 0..kills {
        let log = format!("kill-{i:02}");
        let before = creates();
        let mut child = shopsync(dir.path(), &["sync"], &log).spawn().unwrap();
        // The kill point (seeded): a random time into the run, or the moment N more creates
        // have reached the simulator (watched, so the kill lands among the writes).
        let at = Duration::from_millis(rng.random_range(0..=max_sleep_ms));
        let after_creates = rng.random_range(1..=20u64);
        let kill_point = async {
            if i % 2 == 0 {
                tokio::time::sleep(at).await;
            } else {
                while creates() < before + after_creates {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
        };
        tokio::select! {
            status = child.wait() => {
                // The sync finished before its kill point: nothing left to interrupt.
                let status = status.unwrap();
                assert!(status.code().is_some(), "kill {i}: {status:?}");
                finished_early += 1;
                continue;
            }
            _ = kill_point => {}
        }
        child.start_kill().unwrap();
        let status = child.wait().await.unwrap();
        if status.code().is_some() {
            // It exited on its own just before the signal landed.
            finished_early += 1;
        }
    }
    let writes_during_kills = creates();

    // One run that finishes, then the audit follow-up.
    let status = shopsync(dir.path(), &["sync"], "final")
        .status()
        .await
        .unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "final sync: {status:?}\n{}",
        tail(dir.path(), "final")
    );
    let status = shopsync(dir.path(), &["follow-up"], "follow-up")
        .status()
        .await
        .unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "follow-up: {status:?}\n{}",
        tail(dir.path(), "follow-up")
    );

    // Exactly one shop per store.
    let mut per_store = std::collections::BTreeMap::new();
    for s in sim.shops() {
        *per_store.entry(s.store_id.clone()).or_insert(0u32) += 1;
    }
    let doubles: Vec<_> = per_store.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        doubles.is_empty(),
        "stores without exactly one shop: {doubles:?}"
    );
    assert_eq!(per_store.len(), stores, "every store has its shop");
    let pending: Vec<_> = sim
        .orders()
        .into_iter()
        .filter(|o| o.status == "PROCESS")
        .collect();
    assert!(
        pending.is_empty(),
        "applications still under audit: {}",
        pending.len()
    );

    let db = AuditDb::open(&dir.path().join("audit.db")).unwrap();
    assert_eq!(db.integrity_check().unwrap(), "ok");
    let unresolved = db.unresolved_actions().unwrap();
    assert!(
        unresolved.is_empty(),
        "writes without a final outcome: {unresolved:?}"
    );
    assert!(db.pending_applications().unwrap().is_empty());
    let map = db.shop_map().unwrap();
    assert_eq!(map.len(), stores, "every store is mapped");
    let runs = db.runs(kills + 10).unwrap();
    let interrupted = runs
        .iter()
        .filter(|r| r.status == Some(RunStatus::Interrupted))
        .count();
    let resolved: usize = runs
        .iter()
        .map(|r| {
            db.actions_for_run(r.id)
                .unwrap()
                .iter()
                .filter(|a| a.resolved_at.is_some())
                .count()
        })
        .sum();
    // The kills did land inside runs (most of them), and some between a write's intent
    // and its outcome.
    // Regression f80d4bb: 18 of 20 kill points landed after a quick run had finished.
    assert!(
        interrupted >= kills / 2,
        "{interrupted} of {kills} kills interrupted a run: {runs:?}"
    );
    assert!(
        resolved > 0,
        "no kill landed between a write's intent and its outcome"
    );
    eprintln!(
        "crash: {stores} stores, {kills} kills ({finished_early} finished first), {interrupted} runs \
         interrupted, {resolved} writes resolved after a kill, creates sent {writes_during_kills:?} \
         during the kills, {:?} in all; {:.1}s",
        sim.call_counts().get("alipay.offline.market.shop.create"),
        started.elapsed().as_secs_f64()
    );
}
