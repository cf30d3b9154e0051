//! Alerts raised by the real binary at the end of a sync and after follow-ups, received
//! by loopback stand-ins of a JSON webhook and a DingTalk robot (signatures checked): one
//! alert per event with the counts and `shopsync audit show RUN`, audit rejections batched
//! per run, a rejected token, and a destination that never answers holding nothing up.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use shopsync::sim::ForcedOutcome;

use super::robots::*;
use crate::daemon_e2e::proc::{real_time_sim, write_files, Proc, BIN};
use crate::support::export::{csv_of, row, HEADER};
use crate::support::http_receiver::{Received, Receiver, Reply};
use crate::support::poll::poll;

const TOKEN: &str = "202612BBalertTOKEN77";

fn shopsync(dir: &Path, args: &[&str], token: bool) -> Output {
    let mut c = Command::new(BIN);
    c.current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("SHOPSYNC_CONFIG")
        .env_remove("SHOPSYNC_APP_AUTH_TOKEN")
        .stdin(Stdio::null())
        .args(["--config", "shopsync.toml"])
        .args(args);
    if token {
        c.env("SHOPSYNC_APP_AUTH_TOKEN", TOKEN);
    }
    c.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The receivers every test sends to: a signed webhook and a signing DingTalk robot.
struct Robots {
    hook: Receiver,
    ding: Receiver,
}

impl Robots {
    async fn start() -> Self {
        Robots {
            hook: Receiver::start(live(|s, at| Box::new(webhook(s, at)), HOOK_SECRET)).await,
            ding: Receiver::start(live(|s, at| Box::new(dingtalk(s, at)), DING_SECRET)).await,
        }
    }

    /// The `[[alert]]` tables, their secrets written into `dir`.
    fn toml(&self, dir: &Path) -> String {
        std::fs::write(dir.join("hook.secret"), HOOK_SECRET).unwrap();
        std::fs::write(dir.join("ding.secret"), DING_SECRET).unwrap();
        format!(
            "[[alert]]\nkind = \"webhook\"\nname = \"oncall\"\nurl = \"{}\"\nsecret_file = \"hook.secret\"\ntimeout = \"5s\"\n\n\
             [[alert]]\nkind = \"dingtalk\"\nurl = \"{}\"\nsecret_file = \"ding.secret\"\nevents = [\"run_failed\", \"guard_stop\"]\n",
            self.hook.url("/hooks/shopsync"),
            self.ding.url(&format!("/robot/send?access_token={DING_TOKEN}"))
        )
    }

    /// The webhook bodies received so far.
    fn hooks(&self) -> Vec<serde_json::Value> {
        self.hook.received().iter().map(Received::json).collect()
    }
}

fn assert_no_secret(what: &str, bytes: &[u8]) {
    let t = text(bytes);
    for s in ALL_SECRETS.iter().chain([&TOKEN]) {
        assert!(!t.contains(s), "{what} holds a secret:\n{t}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_a_partial_and_a_guarded_sync_each_send_one_alert_with_counts_and_command() {
    let robots = Robots::start().await;
    let sim = real_time_sim(|_| {}).await;
    // (gateway, extra TOML, export, exit, event)
    let bad_row = format!(
        "{HEADER}\n{}\n{}\n",
        row(1),
        row(2).replace("021-62880002", "call-us")
    );
    let cases = [
        (
            "http://127.0.0.1:9/gateway.do".to_string(),
            "",
            csv_of(2),
            1,
            "run_failed",
        ),
        (sim.gateway_url(), "", bad_row, 3, "run_partial"),
        (
            sim.gateway_url(),
            "[sync]\nmax_creates = 1\n",
            csv_of(3),
            4,
            "guard_stop",
        ),
        // Stores the simulator has not seen: a run with nothing to report.
        (
            sim.gateway_url(),
            "",
            format!("{HEADER}\n{}\n", row(10)),
            0,
            "",
        ),
    ];
    let mut sent = 0;
    let mut dinged = 0;
    for (gateway, extra, csv, exit, event) in cases {
        let dir = tempfile::tempdir().unwrap();
        let extra = format!("{extra}\n{}", robots.toml(dir.path()));
        write_files(dir.path(), &gateway, &extra, &csv);
        let out = shopsync(dir.path(), &["sync"], false);
        assert_eq!(
            out.status.code(),
            Some(exit),
            "{event}: {}",
            text(&out.stderr)
        );
        assert_no_secret(event, &out.stderr);
        assert_no_secret(event, &out.stdout);
        let hooks = robots.hooks();
        if event.is_empty() {
            assert_eq!(hooks.len(), sent, "an ok run sends nothing: {hooks:#?}");
            continue;
        }
        sent += 1;
        assert_eq!(hooks.len(), sent, "{event}: one alert: {hooks:#?}");
        let v = &hooks[sent - 1];
        assert_eq!(v["event"], event, "{v}");
        assert_eq!(v["run_id"], 1, "{v}");
        assert_eq!(v["command"], "shopsync audit show 1", "{v}");
        assert_eq!(v["app_id"], "2021000000000001", "{v}");
        assert!(v["counts"].is_object(), "{v}");
        match event {
            "run_partial" => {
                assert_eq!(v["counts"]["rejected"], 1, "{v}");
                assert_eq!(v["counts"]["created"], 1, "{v}");
            }
            "guard_stop" => {
                assert_eq!(v["counts"]["stores"], 3, "{v}");
                assert!(
                    v["reason"].as_str().unwrap().contains("max_creates = 1"),
                    "{v}"
                );
            }
            _ => assert!(!v["reason"].as_str().unwrap().is_empty(), "{v}"),
        }
        // DingTalk takes only run_failed and guard_stop; its message has the command.
        if event != "run_partial" {
            dinged += 1;
        }
        let dings = robots.ding.received();
        assert_eq!(dings.len(), dinged, "{event}");
        if event != "run_partial" {
            let md = dings[dinged - 1].json()["markdown"]["text"]
                .as_str()
                .unwrap()
                .to_string();
            assert!(md.starts_with("### shopsync: run 1 "), "{md}");
            assert!(md.contains("`shopsync audit show 1`"), "{md}");
        }
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_rejections_send_one_batched_alert_per_run() {
    let robots = Robots::start().await;
    let sim = real_time_sim(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_files(d, &sim.gateway_url(), &robots.toml(d), &csv_of(3));
    sim.force_outcome("ST-0001", ForcedOutcome::Fail("门头照不清晰".into()));
    sim.force_outcome(
        "ST-0003",
        ForcedOutcome::Fail("营业执照与门店名称不符".into()),
    );
    // Found by --wait: both rejections of run 1 in one alert; the run itself is ok.
    let out = shopsync(d, &["sync", "--wait", "20s"], false);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let hooks = robots.hooks();
    assert_eq!(hooks.len(), 1, "{hooks:#?}");
    let v = &hooks[0];
    assert_eq!(v["event"], "audit_rejected");
    assert_eq!(v["run_id"], 1);
    assert_eq!(v["reason"], "Alipay's audit rejected 2 applications.");
    assert_eq!(v["command"], "shopsync audit show 1");
    let details: Vec<&str> = v["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(details.len(), 2, "{v}");
    assert!(
        details[0].starts_with("ST-0001 (") && details[0].ends_with("): 门头照不清晰"),
        "{details:?}"
    );
    assert!(details[1].starts_with("ST-0003 ("), "{details:?}");
    assert!(
        robots.ding.received().is_empty(),
        "DingTalk does not take audit_rejected"
    );

    // Found by `follow-up`: a rejection of run 2's write, alerted once, by that run.
    let mut csv = csv_of(3);
    csv.push_str(&row(4));
    csv.push('\n');
    std::fs::write(d.join("stores.csv"), csv).unwrap();
    sim.force_outcome("ST-0004", ForcedOutcome::Fail("地址不存在".into()));
    let out = shopsync(d, &["sync"], false);
    // Stores 1 and 3 are blocked now (their data was rejected); the run itself is ok.
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(robots.hooks().len(), 1, "nothing new yet");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let f = shopsync(d, &["follow-up"], false);
        assert_eq!(f.status.code(), Some(0), "{}", text(&f.stderr));
        if text(&f.stdout).contains("1 rejected") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the audit never ended"
        );
    }
    let hooks = robots.hooks();
    assert_eq!(hooks.len(), 2, "{hooks:#?}");
    assert_eq!(hooks[1]["event"], "audit_rejected");
    assert_eq!(hooks[1]["run_id"], 2);
    assert_eq!(
        hooks[1]["details"][0].as_str().unwrap().split(' ').next(),
        Some("ST-0004")
    );
    // Another follow-up finds nothing new and sends nothing.
    let f = shopsync(d, &["follow-up"], false);
    assert_eq!(f.status.code(), Some(0));
    assert_eq!(robots.hooks().len(), 2);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_is_alerted_and_a_silent_destination_holds_nothing_up() {
    let robots = Robots::start().await;
    let silent = Receiver::start(|_| Reply::Hang).await;
    // The simulator knows no app_auth_token: every call with one is 20001.
    let sim = real_time_sim(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let extra = format!(
        "{}\n[[alert]]\nkind = \"webhook\"\nname = \"silent\"\nurl = \"{}\"\ntimeout = \"1s\"\n",
        robots.toml(d),
        silent.url("/never")
    );
    write_files(d, &sim.gateway_url(), &extra, &csv_of(2));
    let out = shopsync(d, &["sync"], true);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    let hooks = robots.hooks();
    let events: Vec<&str> = hooks.iter().map(|v| v["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["run_failed", "token_rejected"], "{hooks:#?}");
    let token = &hooks[1];
    assert!(
        token["reason"]
            .as_str()
            .unwrap()
            .contains("aop.invalid-app-auth-token"),
        "{token}"
    );
    assert_eq!(token["run_id"], 1);
    // The silent destination got both and answered neither: a WARN each, same exit.
    assert_eq!(silent.received().len(), 2);
    assert_eq!(stderr.matches("Alert not delivered").count(), 2, "{stderr}");
    assert!(stderr.contains("error=timed out"), "{stderr}");
    assert_no_secret("stderr", &out.stderr);
    for body in robots
        .hook
        .received()
        .iter()
        .chain(robots.ding.received().iter())
    {
        assert_no_secret("an alert", &body.body);
    }

    // A secret that cannot be read is a configuration error, named without its value.
    std::fs::remove_file(d.join("hook.secret")).unwrap();
    for cmd in ["validate", "sync"] {
        let out = shopsync(d, &[cmd], false);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(78), "{cmd}: {err}");
        assert!(
            err.contains("[[alert]] 1 (oncall)") && err.contains("hook.secret"),
            "{cmd}: {err}"
        );
        assert_no_secret(cmd, &out.stderr);
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_alerts_each_partial_run_once_and_the_rejections_its_follow_ups_find() {
    let robots = Robots::start().await;
    let sim = real_time_sim(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    sim.force_outcome("ST-0002", ForcedOutcome::Fail("门头照不清晰".into()));
    let extra = format!(
        "[schedule]\ncron = \"* * * * * *\"\ntimezone = \"Asia/Shanghai\"\nfollow_up = \"1s\"\ngrace = \"10s\"\n\n{}",
        robots.toml(d)
    );
    let csv = format!(
        "{HEADER}\n{}\n{}\n{}\n",
        row(1),
        row(2),
        row(3).replace("021-62880003", "call-us")
    );
    let config = write_files(d, &sim.gateway_url(), &extra, &csv);
    let mut daemon = Proc::spawn(
        d,
        "daemon",
        &["--config", config.to_str().unwrap(), "daemon"],
    );
    poll(Duration::from_secs(60), "an audit_rejected alert", || {
        daemon.assert_running();
        let found = robots
            .hooks()
            .iter()
            .any(|v| v["event"] == "audit_rejected");
        std::future::ready(found.then_some(()))
    })
    .await;
    daemon.signal("TERM");
    let status = daemon.wait_for_exit(Duration::from_secs(30)).await;
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "{}",
        daemon.stderr()
    );

    let hooks = robots.hooks();
    let partial: Vec<i64> = hooks
        .iter()
        .filter(|v| v["event"] == "run_partial")
        .map(|v| v["run_id"].as_i64().unwrap())
        .collect();
    assert_eq!(partial.first(), Some(&1), "{hooks:#?}");
    let mut distinct = partial.clone();
    distinct.dedup();
    assert_eq!(distinct, partial, "each run alerted once: {partial:?}");
    let first = hooks.iter().find(|v| v["event"] == "run_partial").unwrap();
    assert_eq!(first["counts"]["rejected"], 1, "{first}");
    assert_eq!(first["command"], "shopsync audit show 1");
    let rejected: Vec<&serde_json::Value> = hooks
        .iter()
        .filter(|v| v["event"] == "audit_rejected")
        .collect();
    assert_eq!(rejected.len(), 1, "{hooks:#?}");
    assert_eq!(rejected[0]["run_id"], 1, "the run that sent the create");
    let detail = rejected[0]["details"][0].as_str().unwrap();
    assert!(
        detail.starts_with("ST-0002 (") && detail.ends_with("门头照不清晰"),
        "{detail}"
    );
    assert_no_secret("the daemon's log", daemon.stderr().as_bytes());
    sim.shutdown().await;
}
