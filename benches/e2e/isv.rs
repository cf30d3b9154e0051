//! ISV mode at scale (issue 14): M merchants × N stores in one process, one app quota,
//! against the simulator (one merchant per `app_auth_token`, the app limited to `QPS`,
//! 20 ms latency). A first sync (every store a create), then an in-sync plan. Reported as
//! the other rows: wall ÷ (calls ÷ qps), the busiest second, throttles, and the process's
//! peak resident memory (client and simulator together).

use std::sync::Arc;
use std::time::Instant;

use shopsync::audit::AuditDb;
use shopsync::clock::{SharedClock, SystemClock};
use shopsync::config::Config;
use shopsync::sim::{RateSpec, SimHandle};
use shopsync::sync::context::App;
use shopsync::sync::run::{RunOptions, RunResult};

use super::{common, report, total_calls, LATENCY, QPS};

fn token(m: usize) -> String {
    format!("tok{m:04}isv")
}

/// The app (test keys, the simulator's URL) and one `[[merchant]]` per export `m<i>.csv`.
fn config_text(gateway: &str, merchants: usize) -> String {
    let defaults: String = common::defaults()
        .iter()
        .map(|(k, v)| format!("{k} = \"{v}\"\n"))
        .collect();
    let mut text = format!(
        r#"[alipay]
gateway = "{gateway}"
app_id = "2021000000000001"
app_private_key = "{app}"
alipay_public_key = "{alipay}"
connect_timeout = "2s"
request_timeout = "30s"

[sync]
concurrency = 8
max_creates = 1000000
max_modifies = 1000000
# The two example ids are fewer than the default 3 distinct audit photos.
min_audit_images = 2

[rate_limit]
qps = {QPS}

[audit]
database = "audit.db"
"#,
        app = common::keys::key_file("app_private_pkcs8.pem").display(),
        alipay = common::keys::key_file("alipay_public.pem").display(),
    );
    for m in 0..merchants {
        text.push_str(&format!(
            "\n[[merchant]]\nname = \"m{m}\"\napp_auth_token_file = \"m{m}.token\"\n[merchant.source]\npath = \"m{m}.csv\"\n[merchant.source.defaults]\n{defaults}"
        ));
    }
    text
}

/// Every merchant at once (as `shopsync sync` / `plan` runs them); the results.
async fn run_all(app: &App, names: &[String], apply: bool) -> Vec<RunResult> {
    let opts = RunOptions {
        apply,
        force: true,
        ..Default::default()
    };
    let runs = futures::future::join_all(names.iter().map(|name| {
        let opts = &opts;
        async move { app.context(name).unwrap().run(opts).await.unwrap() }
    }))
    .await;
    runs
}

fn peak_mib() -> f64 {
    common::mib(common::status_kib("VmHWM"))
}

pub async fn run(merchants: usize, stores: usize) {
    let sim: SimHandle = common::sim::start_sim(common::sim::system_clock(), |c| {
        c.latency = Some(LATENCY);
        c.rate = Some(RateSpec {
            qps: QPS,
            burst: QPS,
        });
        // Audits settle at once, so the second run finds every shop approved and in sync.
        c.audit_delay = chrono::Duration::zero();
        c.app_auth_tokens = (0..merchants).map(token).collect();
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    for m in 0..merchants {
        common::write_export(&dir.path().join(format!("m{m}.csv")), stores, |_, _| {});
    }
    let path = dir.path().join("shopsync.toml");
    std::fs::write(&path, config_text(&sim.gateway_url(), merchants)).unwrap();
    for m in 0..merchants {
        std::fs::write(dir.path().join(format!("m{m}.token")), token(m)).unwrap();
    }
    let cfg = Config::load_with_env(&path, std::iter::empty()).unwrap();
    let names = cfg.merchant_names();
    let clock: SharedClock = Arc::new(SystemClock);
    let db = Arc::new(AuditDb::open(&cfg.audit.database).unwrap());
    let app = App::connect(cfg, db, clock, None).await.unwrap();
    let total = merchants * stores;

    let before = total_calls(&sim);
    let started = Instant::now();
    let runs = run_all(&app, &names, true).await;
    let wall = started.elapsed();
    let created: u64 = runs.iter().map(|r| r.summary.created).sum();
    let failed: u64 = runs
        .iter()
        .map(|r| r.summary.failed + r.summary.unknown)
        .sum();
    println!("ISV first sync: {merchants} merchants × {stores} stores: created {created} of {total}, failed or unknown {failed}");
    report(
        &format!("ISV first sync ({total} creates)"),
        &sim,
        wall,
        total_calls(&sim) - before,
    );
    println!(
        "  peak memory (process, client + simulator) {:.0} MiB",
        peak_mib()
    );

    sim.process_due();
    let before = total_calls(&sim);
    let started = Instant::now();
    let runs = run_all(&app, &names, false).await;
    let wall = started.elapsed();
    let unchanged: u64 = runs.iter().map(|r| r.plan.counts().unchanged).sum();
    println!("ISV in-sync plan: {unchanged} of {total} unchanged");
    report(
        &format!("ISV in-sync plan ({total} stores)"),
        &sim,
        wall,
        total_calls(&sim) - before,
    );
    println!(
        "  peak memory (process, client + simulator) {:.0} MiB",
        peak_mib()
    );
    sim.shutdown().await;
}
