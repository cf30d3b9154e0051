//! `shopsync daemon` as a real process: a manual `plan`/`sync` while it idles, a second
//! daemon refused,
//! `/healthz` and `/metrics` after a scheduled run, SIGTERM, and `--print-schedule`.

use std::process::Command;
use std::time::Duration;

use super::proc::{free_port, get, real_time_sim, write_files, Proc, BIN};
use crate::support::export::csv_of;
use crate::support::poll::poll;

fn daemon_toml(cron: &str, health_port: u16) -> String {
    format!(
        "[schedule]\ncron = \"{cron}\"\ntimezone = \"Asia/Shanghai\"\nfollow_up = \"0s\"\ngrace = \"10s\"\n\n[health]\nlisten = \"127.0.0.1:{health_port}\"\n"
    )
}

async fn wait_healthy(daemon: &mut Proc, port: u16) -> serde_json::Value {
    let url = format!("http://127.0.0.1:{port}/healthz");
    let body = poll(Duration::from_secs(30), "the daemon's /healthz", || {
        daemon.assert_running();
        let url = url.clone();
        async move { get(&url).await }
    })
    .await;
    assert_eq!(body.0, 200, "{}", body.1);
    serde_json::from_str(&body.1).unwrap()
}

/// Issue 9: while the daemon idles, `plan` and `sync` used to exit 1 on its lock. The
/// daemon now holds the run lock only while a job runs; a second daemon is still refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_while_the_daemon_idles_runs_and_a_second_daemon_is_refused() {
    let sim = real_time_sim(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // Once a year: the daemon idles.
    let config = write_files(
        dir.path(),
        &sim.gateway_url(),
        &daemon_toml("0 0 1 1 *", port),
        &csv_of(3),
    );
    let config = config.to_str().unwrap();
    let mut daemon = Proc::spawn(dir.path(), "daemon", &["--config", config, "daemon"]);
    let health = wait_healthy(&mut daemon, port).await;
    assert_eq!(health["last_run_at"], serde_json::Value::Null);

    let run = |cmd: &str| {
        Command::new(BIN)
            .args(["--config", config, cmd, "--lock-timeout", "0s"])
            .env_remove("SHOPSYNC_APP_AUTH_TOKEN")
            .output()
            .unwrap()
    };
    let plan = run("plan");
    assert_eq!(
        plan.status.code(),
        Some(2),
        "plan works while the daemon idles:\n{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    let sync = run("sync");
    assert_eq!(
        sync.status.code(),
        Some(0),
        "sync works while the daemon idles:\n{}",
        String::from_utf8_lossy(&sync.stderr)
    );
    assert_eq!(
        sim.call_counts().get("alipay.offline.market.shop.create"),
        Some(&3)
    );

    let second = Command::new(BIN)
        .args(["--config", config, "daemon"])
        .env_remove("SHOPSYNC_APP_AUTH_TOKEN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(stderr.contains("Another shopsync"), "{stderr}");
    assert!(
        stderr.contains(&format!("pid {}", daemon.child.id())),
        "{stderr}"
    );
    let lock = dir.path().join("audit.db.daemon.lock");
    assert!(stderr.contains(&lock.display().to_string()), "{stderr}");

    daemon.signal("TERM");
    let status = daemon.wait_for_exit(Duration::from_secs(10)).await;
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "stderr:\n{}",
        daemon.stderr()
    );
    sim.shutdown().await;
}

fn metric(text: &str, line_prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(line_prefix))
        .and_then(|l| l[line_prefix.len()..].trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_metrics_after_a_scheduled_run_then_sigterm_exits_0() {
    let sim = real_time_sim(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = write_files(
        dir.path(),
        &sim.gateway_url(),
        &daemon_toml("* * * * * *", port),
        &csv_of(4),
    );
    let config = config.to_str().unwrap();
    let mut daemon = Proc::spawn(dir.path(), "daemon", &["--config", config, "daemon"]);
    wait_healthy(&mut daemon, port).await;
    let url = format!("http://127.0.0.1:{port}/healthz");
    let health: serde_json::Value =
        poll(Duration::from_secs(30), "a finished scheduled run", || {
            daemon.assert_running();
            let url = url.clone();
            async move {
                let (_, body) = get(&url).await?;
                let v: serde_json::Value = serde_json::from_str(&body).ok()?;
                (!v["last_run_at"].is_null()).then_some(v)
            }
        })
        .await;
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["last_result"], "success", "{health}");
    let at = health["last_run_at"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{at}");
    assert!(health["pending_applications"].is_u64(), "{health}");
    assert_eq!(
        sim.call_counts().get("alipay.offline.market.shop.create"),
        Some(&4)
    );

    let (status, metrics) = get(&format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let runs = metric(&metrics, "shopsync_runs_total{result=\"success\"}").unwrap();
    assert!(runs >= 1.0, "{metrics}");
    let creates = metric(
        &metrics,
        "shopsync_alipay_calls_total{method=\"alipay.offline.market.shop.create\",class=\"success\"}",
    );
    assert_eq!(creates, Some(4.0), "{metrics}");
    assert!(
        metric(
            &metrics,
            "shopsync_alipay_calls_total{method=\"alipay.offline.market.shop.summary.batchquery\",class=\"success\"}"
        )
        .is_some_and(|n| n >= 1.0),
        "{metrics}"
    );
    let pending = metric(&metrics, "shopsync_pending_applications ").unwrap();
    assert!(pending <= 4.0, "{metrics}");
    assert!(
        metrics.contains("# TYPE shopsync_pending_applications gauge"),
        "{metrics}"
    );
    assert_eq!(
        metric(&metrics, "shopsync_last_run_success "),
        Some(1.0),
        "{metrics}"
    );

    daemon.signal("TERM");
    let status = daemon.wait_for_exit(Duration::from_secs(10)).await;
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "stderr:\n{}",
        daemon.stderr()
    );
    assert!(get(&url).await.is_none(), "the health listener stopped");
    sim.shutdown().await;
}

#[test]
fn print_schedule_shows_five_times_in_shanghai() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_files(
        dir.path(),
        "http://127.0.0.1:9/gateway.do",
        "[schedule]\ncron = \"30 2 * * *\"\n",
        &csv_of(1),
    );
    let out = Command::new(BIN)
        .args([
            "--config",
            config.to_str().unwrap(),
            "daemon",
            "--print-schedule",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("Asia/Shanghai"), "{stdout}");
    let times: Vec<&str> = stdout.lines().filter(|l| l.contains("+08:00")).collect();
    assert_eq!(times.len(), 5, "{stdout}");
    let mut prev = None;
    for line in times {
        let ts = line.trim().split(" (").next().unwrap();
        let t = chrono::DateTime::parse_from_str(ts, "%Y-%m-%d %H:%M:%S %:z").unwrap();
        assert_eq!(t.format("%H:%M:%S").to_string(), "02:30:00", "{line}");
        if let Some(p) = prev {
            assert_eq!(t - p, chrono::Duration::days(1), "{stdout}");
        }
        prev = Some(t);
    }
    assert!(
        !dir.path().join("audit.db.lock").exists(),
        "printing takes no lock"
    );
}
