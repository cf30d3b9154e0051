//! ISV mode at scale (issue 14): M merchants × N stores in one process, one app quota,
//! against the simulator (one merchant per `app_auth_token`, the app limited to `QPS`,
//! 20 ms latency), which runs in a child process (this bench re-run as `isv-sim M`) so the
//! peak memory measured is the client's alone. Three passes: a first sync (every store a
//! create), a follow-up (every application approved meanwhile), an in-sync plan. Reported
//! as the other rows: wall ÷ (calls ÷ qps), the busiest second (the simulator's count),
//! throttles, and the client process's peak resident memory.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use shopsync::audit::AuditDb;
use shopsync::clock::{SharedClock, SystemClock};
use shopsync::config::Config;
use shopsync::sim::RateSpec;
use shopsync::sync::context::App;
use shopsync::sync::run::{RunOptions, RunResult};

use super::{common, LATENCY, QPS};

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

/// The child: the simulator for `merchants` tokens; prints its URL, serves until stdin
/// closes.
pub async fn serve_sim(merchants: usize) {
    let sim = common::sim::start_sim(common::sim::system_clock(), |c| {
        c.latency = Some(LATENCY);
        c.rate = Some(RateSpec {
            qps: QPS,
            burst: QPS,
        });
        // Audits settle as soon as they are due: by the second pass every shop is approved.
        c.audit_delay = chrono::Duration::seconds(1);
        c.app_auth_tokens = (0..merchants).map(token).collect();
    })
    .await;
    println!("{}", sim.gateway_url());
    tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin()
            .read_line(&mut sink)
            .map(|n| n > 0)
            .unwrap_or(false)
        {}
    })
    .await
    .unwrap();
    sim.shutdown().await;
}

/// The simulator's `/__sim/` control endpoints, from the parent.
struct SimControl {
    base: String,
    http: reqwest::Client,
}

impl SimControl {
    async fn stats(&self) -> serde_json::Value {
        let r = self
            .http
            .get(format!("{}/__sim/stats", self.base))
            .send()
            .await
            .unwrap();
        r.json().await.unwrap()
    }

    async fn reset(&self) {
        self.http
            .post(format!("{}/__sim/stats/reset", self.base))
            .send()
            .await
            .unwrap();
    }

    async fn process(&self) {
        self.http
            .post(format!("{}/__sim/process", self.base))
            .send()
            .await
            .unwrap();
    }
}

async fn pass(
    what: &str,
    sim: &SimControl,
    app: &App,
    names: &[String],
    apply: bool,
) -> Vec<RunResult> {
    sim.reset().await;
    let started = Instant::now();
    let runs = run_all(app, names, apply).await;
    let wall = started.elapsed().as_secs_f64();
    let stats = sim.stats().await;
    let calls: u64 = stats["call_counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    let ideal = calls as f64 / QPS as f64;
    println!("{what}:");
    println!("  calls {calls} ({})", stats["call_counts"]);
    println!(
        "  wall {wall:.2} s; calls ÷ qps {ideal:.2} s; ratio {:.3}",
        wall / ideal
    );
    println!(
        "  simulator: max calls in one second {} (limit {QPS}); throttled {}",
        stats["max_calls_in_one_second"], stats["throttled"]
    );
    println!("  client peak memory so far (VmHWM) {:.0} MiB", peak_mib());
    runs
}

pub async fn run(merchants: usize, stores: usize) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["isv-sim", &merchants.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let gateway = lines
        .find_map(|l| l.ok().filter(|l| l.starts_with("http")))
        .expect("the simulator child printed its URL");
    let sim = SimControl {
        base: gateway.trim_end_matches("/gateway.do").to_string(),
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
    };
    let dir = tempfile::tempdir().unwrap();
    for m in 0..merchants {
        common::write_export(&dir.path().join(format!("m{m}.csv")), stores, |_, _| {});
        std::fs::write(dir.path().join(format!("m{m}.token")), token(m)).unwrap();
    }
    let path = dir.path().join("shopsync.toml");
    std::fs::write(&path, config_text(&gateway, merchants)).unwrap();
    let cfg = Config::load_with_env(&path, std::iter::empty()).unwrap();
    let names = cfg.merchant_names();
    let clock: SharedClock = Arc::new(SystemClock);
    let db = Arc::new(AuditDb::open(&cfg.audit.database).unwrap());
    let app = App::connect(cfg, db, clock, None).await.unwrap();
    let total = merchants * stores;
    println!("ISV: {merchants} merchants × {stores} stores, the simulator in a child process");

    let runs = pass(
        &format!("ISV first sync ({total} creates)"),
        &sim,
        &app,
        &names,
        true,
    )
    .await;
    let created: u64 = runs.iter().map(|r| r.summary.created).sum();
    let failed: u64 = runs
        .iter()
        .map(|r| r.summary.failed + r.summary.unknown)
        .sum();
    println!("  created {created} of {total}, failed or unknown {failed}");

    tokio::time::sleep(Duration::from_secs(2)).await;
    sim.process().await;
    let runs = pass(
        &format!("ISV follow-up ({total} applications approved meanwhile) + plan"),
        &sim,
        &app,
        &names,
        false,
    )
    .await;
    let pending: usize = runs.iter().map(|r| r.plan.counts().pending as usize).sum();
    println!("  still pending {pending}");

    let runs = pass(
        &format!("ISV in-sync plan ({total} stores)"),
        &sim,
        &app,
        &names,
        false,
    )
    .await;
    let unchanged: u64 = runs.iter().map(|r| r.plan.counts().unchanged).sum();
    println!("  {unchanged} of {total} unchanged");
    drop(child.stdin.take());
    let _ = child.wait();
}
