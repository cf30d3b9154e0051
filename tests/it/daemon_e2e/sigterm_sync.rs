//! SIGTERM (and SIGINT) during a real `shopsync sync`: writes in flight finish and are
//! recorded, no new write starts, the audit store stays consistent, and the next run
//! completes the job with exactly one shop per store.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use shopsync::audit::AuditDb;

use super::proc::{real_time_sim, write_files, Proc, BIN};
use crate::support::export::csv_of;
use crate::support::poll::poll;

const CREATE: &str = "alipay.offline.market.shop.create";
const STORES: usize = 300;

async fn interrupted_sync_then_rerun(sig: &str) {
    let sim = real_time_sim(|c| c.latency = Some(Duration::from_millis(60))).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_files(
        dir.path(),
        &sim.gateway_url(),
        "[sync]\nconcurrency = 4\n",
        &csv_of(STORES),
    );
    let config = config.to_str().unwrap();
    let mut sync = Proc::spawn(dir.path(), "sync1", &["--config", config, "sync"]);
    poll(Duration::from_secs(60), "some creates to be sent", || {
        sync.assert_running();
        let n = sim.call_counts().get(CREATE).copied().unwrap_or(0);
        async move { (n >= 30).then_some(()) }
    })
    .await;
    sync.signal(sig);
    let status = sync
        .wait_for_exit(Duration::from_secs(20))
        .await
        .unwrap_or_else(|| panic!("sync still running 20 s after SIG{sig}:\n{}", sync.stderr()));
    assert!(
        matches!(status.code(), Some(0 | 1)),
        "SIG{sig}: exited {status} (not by its own exit code); stderr:\n{}",
        sync.stderr()
    );
    let sent = sim.call_counts().get(CREATE).copied().unwrap_or(0);
    assert!(
        sent < STORES as u64,
        "the signal stopped new writes ({sent} sent)"
    );

    let db = AuditDb::open(&dir.path().join("audit.db")).unwrap();
    assert_eq!(db.integrity_check().unwrap(), "ok");
    // No lost write: every create Alipay received is in the audit store under its request id.
    let orders = sim.orders();
    assert_eq!(orders.len() as u64, sent);
    for o in &orders {
        let action = db
            .action_by_request_id(&o.request_id.clone().into())
            .unwrap()
            .unwrap_or_else(|| panic!("create {} for {} not recorded", o.request_id, o.store_id));
        assert_eq!(action.store_id, o.store_id);
    }
    let unresolved_before: Vec<String> = db
        .unresolved_actions()
        .unwrap()
        .into_iter()
        .map(|a| a.request_id.to_string())
        .collect();
    drop(db);

    let out = Command::new(BIN)
        .args(["--config", config, "sync"])
        .env_remove("SHOPSYNC_APP_AUTH_TOKEN")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    poll(Duration::from_secs(30), "every audit to finish", || {
        let n = sim.shops().len();
        async move { (n >= STORES).then_some(()) }
    })
    .await;
    let mut per_store: BTreeMap<String, usize> = BTreeMap::new();
    for s in sim.shops() {
        *per_store.entry(s.store_id).or_insert(0) += 1;
    }
    assert_eq!(per_store.len(), STORES);
    assert!(per_store.values().all(|n| *n == 1), "a store has two shops");
    assert_eq!(
        sim.call_counts().get(CREATE).copied(),
        Some(STORES as u64),
        "no create sent twice"
    );

    let db = AuditDb::open(&dir.path().join("audit.db")).unwrap();
    assert_eq!(db.integrity_check().unwrap(), "ok");
    assert!(db.unresolved_actions().unwrap().is_empty());
    for r in unresolved_before {
        let a = db.action_by_request_id(&r.clone().into()).unwrap().unwrap();
        assert!(a.outcome.is_some() && a.resolved_at.is_some(), "{a:?}");
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_sync_loses_no_write() {
    interrupted_sync_then_rerun("TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_during_sync_loses_no_write() {
    interrupted_sync_then_rerun("INT").await;
}
