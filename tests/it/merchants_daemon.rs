//! Issue 14, the daemon in ISV mode through the real binary: every merchant runs on the
//! schedule, each audit notification is recorded under the merchant whose write it
//! answers, `/healthz` reports each merchant's last run and `/metrics` has per-merchant
//! series next to the app-wide ones.

use std::time::Duration;

use crate::daemon_e2e::proc::{free_port, get, real_time_sim, Proc};
use crate::merchants::{isv_config, run, text, Merchants};
use crate::support::poll::poll;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_runs_every_merchant_and_routes_each_notification_to_its_merchant() {
    let merchants: Merchants<'_> = &[("a", "tok-a-11111111", 3), ("b", "tok-b-22222222", 2)];
    let sim = real_time_sim(|c| {
        c.app_auth_tokens = merchants.iter().map(|(_, t, _)| t.to_string()).collect();
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (health, notify) = (free_port(), free_port());
    let config = isv_config(d, &sim.gateway_url(), 100, merchants);
    // The daemon is spawned without the test's environment: tokens come from files here.
    let mut toml = std::fs::read_to_string(&config).unwrap();
    for (name, token, _) in merchants {
        std::fs::write(d.join(format!("{name}.token")), token).unwrap();
        toml = toml.replace(
            &format!("app_auth_token_env = \"TOKEN_{name}\""),
            &format!("app_auth_token_file = \"{name}.token\""),
        );
    }
    let toml = toml
        .replace(
            "request_timeout = \"5s\"\n",
            &format!("request_timeout = \"5s\"\noperate_notify_url = \"http://127.0.0.1:{notify}/alipay/notify\"\n"),
        )
        .replace(
            "[audit]\ndatabase = \"audit.db\"\n",
            &format!(
                "[audit]\ndatabase = \"audit.db\"\n\n[schedule]\ncron = \"* * * * * *\"\ntimezone = \"Asia/Shanghai\"\nfollow_up = \"1h\"\ngrace = \"10s\"\n\n[notify]\nlisten = \"127.0.0.1:{notify}\"\n\n[health]\nlisten = \"127.0.0.1:{health}\"\n"
            ),
        );
    std::fs::write(&config, toml).unwrap();
    let cfg = config.to_str().unwrap();
    let mut daemon = Proc::spawn(d, "daemon", &["--config", cfg, "daemon"]);

    // Every store of both merchants created, audited, and each notification delivered.
    let url = format!("http://127.0.0.1:{health}/healthz");
    poll(Duration::from_secs(60), "5 delivered notifications", || {
        daemon.assert_running();
        let n = sim.notifications();
        async move { (n.len() == 5 && n.iter().all(|n| n.delivered)).then_some(()) }
    })
    .await;
    let doc: serde_json::Value = poll(Duration::from_secs(30), "both merchants' last runs", || {
        daemon.assert_running();
        let url = url.clone();
        async move {
            let (_, body) = get(&url).await?;
            let v: serde_json::Value = serde_json::from_str(&body).ok()?;
            let done = ["a", "b"]
                .iter()
                .all(|m| v["merchants"][m]["last_result"] == "success");
            done.then_some(v)
        }
    })
    .await;
    assert_eq!(doc["status"], "ok", "{doc}");
    let (_, metrics) = get(&format!("http://127.0.0.1:{health}/metrics"))
        .await
        .unwrap();
    for m in ["a", "b"] {
        assert!(
            metrics.contains(&format!(
                "shopsync_merchant_runs_total{{merchant=\"{m}\",result=\"success\"}}"
            )),
            "{metrics}"
        );
        assert!(
            metrics.contains(&format!(
                "shopsync_merchant_writes_total{{merchant=\"{m}\",kind=\"create\"}}"
            )),
            "{metrics}"
        );
    }
    assert!(
        metrics.contains("shopsync_alipay_calls_total{"),
        "{metrics}"
    );
    daemon.signal("TERM");
    let status = daemon.wait_for_exit(Duration::from_secs(15)).await;
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "{}",
        daemon.stderr()
    );

    // Each notification is recorded under the merchant that sent its request_id.
    let conn = rusqlite::Connection::open(d.join("audit.db")).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT n.merchant, a.merchant FROM notifications n
             JOIN actions a ON a.request_id = n.request_id",
        )
        .unwrap();
    let pairs: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(pairs.len(), 5, "{pairs:?}");
    assert!(pairs.iter().all(|(n, a)| n == a), "{pairs:?}");
    assert_eq!(
        pairs.iter().filter(|(n, _)| n == "a").count(),
        3,
        "{pairs:?}"
    );
    // And the applications of each merchant are final: nothing pending for either.
    for (name, _, _) in merchants {
        let p = run(
            d,
            &config,
            merchants,
            &["audit", "pending", "--merchant", name],
        );
        let out = text(&p.stdout);
        assert_eq!(
            out.lines().filter(|l| l.contains("ST-")).count(),
            0,
            "{out}"
        );
    }
    sim.shutdown().await;
}
