//! Issue 9, through the real binary: no secret in any log line or database byte on any
//! failure path, rejected rows in the audit trail, closed pipes, the database directory,
//! the simulator with the configured keys, the lock while the daemon idles, `audit show`,
//! times with offsets, exit codes and streams, plain-http gateways, the config search path.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use shopsync::alipay::sign::SignKey;
use shopsync::sim::SimHandle;

use crate::daemon_e2e::proc::{real_time_sim, write_files, BIN};
use crate::support::export::{csv_of, row, HEADER};
use crate::support::keys::key_file;

const TOKEN: &str = "202612BBsecretTOKEN42";

fn shopsync(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("SHOPSYNC_CONFIG")
        .env_remove("SHOPSYNC_APP_AUTH_TOKEN")
        .env_remove("SHOPSYNC_TEST_PANIC")
        .stdin(Stdio::null());
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    shopsync(dir).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every byte of every audit database file (main, WAL, shared memory, lock) in `dir`.
fn database_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("audit.db") {
            all.extend(std::fs::read(&p).unwrap());
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Lines of the app private key's base64 body: none may appear anywhere.
fn key_fragments() -> Vec<String> {
    std::fs::read_to_string(key_file("app_private_pkcs8.pem"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 16)
        .map(str::to_string)
        .collect()
}

fn assert_no_secret(what: &str, bytes: &[u8]) {
    assert!(!contains(bytes, TOKEN), "{what} holds the app_auth_token");
    assert!(
        !contains(bytes, "secretTOKEN"),
        "{what} holds part of the token"
    );
    for line in key_fragments() {
        assert!(!contains(bytes, &line), "{what} holds private key material");
    }
}

async fn sim_with(tune: impl FnOnce(&mut shopsync::sim::SimConfig)) -> SimHandle {
    real_time_sim(tune).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_log_or_the_database_on_any_failure_path() {
    // (name, gateway URL or sim, extra TOML, env, expected exit)
    let accepting = sim_with(|c| c.app_auth_tokens.push(TOKEN.to_string())).await;
    let other_app_key = SignKey::generate().unwrap();
    let wrong_app_key = sim_with(|c| {
        c.app_public_key = other_app_key.verify_key();
        c.app_auth_tokens.push(TOKEN.to_string());
    })
    .await;
    let refusing_token = sim_with(|_| {}).await;
    let slow = sim_with(|c| {
        c.app_auth_tokens.push(TOKEN.to_string());
        c.latency = Some(std::time::Duration::from_secs(3));
    })
    .await;
    let wrong_alipay = SignKey::generate().unwrap();
    let wrong_alipay_pem = wrong_alipay.verify_key().to_pem();
    let cases: Vec<(&str, String, String, Option<i32>)> = vec![
        (
            "unreachable gateway",
            "http://127.0.0.1:9/gateway.do".into(),
            String::new(),
            Some(1),
        ),
        (
            "40002 invalid-signature echoing the signed string",
            wrong_app_key.gateway_url(),
            String::new(),
            Some(78),
        ),
        (
            "20001 revoked token",
            refusing_token.gateway_url(),
            String::new(),
            Some(78),
        ),
        ("timeouts", slow.gateway_url(), String::new(), Some(1)),
        (
            "answers signed by another key",
            accepting.gateway_url(),
            "WRONG_ALIPAY_KEY".into(),
            Some(78),
        ),
        ("a panic", accepting.gateway_url(), "PANIC".into(), None),
    ];
    for (name, gateway, extra, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let config = write_files(dir.path(), &gateway, "", &csv_of(3));
        let mut toml = std::fs::read_to_string(&config).unwrap();
        toml = toml.replace("request_timeout = \"5s\"", "request_timeout = \"1s\"");
        if extra == "WRONG_ALIPAY_KEY" {
            let p = dir.path().join("other_alipay_public.pem");
            std::fs::write(&p, &wrong_alipay_pem).unwrap();
            toml = toml.replace(
                &key_file("alipay_public.pem").display().to_string(),
                &p.display().to_string(),
            );
        }
        std::fs::write(&config, toml).unwrap();
        let mut cmd = shopsync(dir.path());
        cmd.args(["--config", config.to_str().unwrap(), "sync"])
            .args(["--log-level", "debug"])
            .env("SHOPSYNC_APP_AUTH_TOKEN", TOKEN);
        if extra == "PANIC" {
            cmd.env("SHOPSYNC_TEST_PANIC", "1");
        }
        let out = cmd.output().unwrap();
        let stderr = text(&out.stderr);
        match expected {
            Some(code) => assert_eq!(out.status.code(), Some(code), "{name}:\n{stderr}"),
            None => {
                assert!(stderr.contains("shopsync panicked"), "{name}:\n{stderr}");
                assert!(stderr.contains("[redacted]"), "{name}:\n{stderr}");
            }
        }
        assert_no_secret(&format!("{name}: stderr"), &out.stderr);
        assert_no_secret(&format!("{name}: stdout"), &out.stdout);
        assert_no_secret(&format!("{name}: database"), &database_bytes(dir.path()));
        if expected.is_some() {
            // The failure is recorded (redacted), and `audit` prints no secret either.
            let audit = run(
                dir.path(),
                &[
                    "--config",
                    config.to_str().unwrap(),
                    "audit",
                    "runs",
                    "--format",
                    "json",
                ],
            );
            assert_eq!(audit.status.code(), Some(0), "{}", text(&audit.stderr));
            let runs: serde_json::Value = serde_json::from_slice(&audit.stdout).unwrap();
            assert!(
                runs[0]["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{name}: the run records why it failed: {runs}"
            );
            assert_no_secret(&format!("{name}: audit runs"), &audit.stdout);
            let show = run(
                dir.path(),
                &["--config", config.to_str().unwrap(), "audit", "show", "1"],
            );
            assert_no_secret(&format!("{name}: audit show"), &show.stdout);
        }
    }
    for sim in [accepting, wrong_app_key, refusing_token, slow] {
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rejected_row_is_in_the_audit_trail_with_line_field_reason_and_value() {
    let sim = real_time_sim(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let csv = format!(
        "{HEADER}\n{}\n{}\n{}\n",
        row(1),
        row(2).replace("021-62880002", "call-us"),
        row(3).replace(
            "ST-0003",
            "ST 0003 with spaces that are far too long for alipay"
        )
    );
    let config = write_files(dir.path(), &sim.gateway_url(), "", &csv);
    let config = config.to_str().unwrap();
    let sync = run(dir.path(), &["--config", config, "sync"]);
    assert_eq!(sync.status.code(), Some(3), "{}", text(&sync.stderr));

    let show = text(&run(dir.path(), &["--config", config, "audit", "show", "1"]).stdout);
    assert!(show.contains("Rejected rows (2), never sent:"), "{show}");
    assert!(
        show.contains("stores.csv:3: store ST-0002: contact_number:")
            && show.contains("(value \"call-us\")"),
        "{show}"
    );
    assert!(show.contains("stores.csv:4: store_id:"), "{show}");

    let store = text(
        &run(
            dir.path(),
            &["--config", config, "audit", "store", "ST-0002"],
        )
        .stdout,
    );
    assert!(store.contains("Rejected export rows:"), "{store}");
    assert!(
        store.contains("run 1: ") && store.contains("stores.csv:3: store ST-0002"),
        "{store}"
    );

    let all = run(dir.path(), &["--config", config, "audit", "rejects"]);
    assert_eq!(all.status.code(), Some(0));
    let one = run(
        dir.path(),
        &[
            "--config", config, "audit", "rejects", "--run", "1", "--format", "json",
        ],
    );
    let rows: serde_json::Value = serde_json::from_slice(&one.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2, "{rows}");
    assert_eq!(rows[0]["line"], 3);
    assert_eq!(rows[0]["field"], "contact_number");
    assert_eq!(rows[0]["value"], "call-us");
    assert!(text(&all.stdout).contains("contact_number"));
    sim.shutdown().await;
}

/// Spawn with stdout (or stderr) a pipe whose reading end is closed at once.
fn spawn_with_closed(dir: &Path, args: &[&str], close_stdout: bool) -> Output {
    let mut cmd = shopsync(dir);
    cmd.args(args);
    if close_stdout {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    } else {
        cmd.stderr(Stdio::piped()).stdout(Stdio::piped());
    }
    let mut child = cmd.spawn().unwrap();
    if close_stdout {
        drop(child.stdout.take());
    } else {
        drop(child.stderr.take());
    }
    child.wait_with_output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_stdout_or_stderr_never_interrupts_a_run() {
    let sim = real_time_sim(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_files(dir.path(), &sim.gateway_url(), "", &csv_of(40));
    let config = config.to_str().unwrap();
    // stderr closed while the run logs every write (debug level).
    let out = spawn_with_closed(
        dir.path(),
        &[
            "--config",
            config,
            "--log-level",
            "debug",
            "sync",
            "--show-plan",
            "table",
        ],
        false,
    );
    let code = out.status.code();
    assert!(code == Some(74) || code == Some(0), "exit {code:?}");
    assert!(!text(&out.stdout).contains("panicked"));
    assert!(
        text(&out.stdout).contains("40 created"),
        "{}",
        text(&out.stdout)
    );
    // stdout closed: the second run (all unchanged) still finishes and is recorded.
    let out = spawn_with_closed(
        dir.path(),
        &["--config", config, "sync", "--show-plan", "table"],
        true,
    );
    assert_eq!(out.status.code(), Some(74), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );
    let runs = run(
        dir.path(),
        &["--config", config, "audit", "runs", "--format", "json"],
    );
    let runs: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 2);
    for r in runs.as_array().unwrap() {
        assert_eq!(r["status"], "ok", "every run finished: {r}");
    }
    assert_eq!(
        sim.call_counts().get("alipay.offline.market.shop.create"),
        Some(&40)
    );
    // A query whose reader goes away (`audit runs | head -1`) is not an error.
    let mut child = shopsync(dir.path())
        .args(["--config", config, "audit", "runs"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("ID"), "{first}");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = spawn_with_closed(
        dir.path(),
        &["--config", config, "daemon", "--print-schedule"],
        true,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("panicked"));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_database_directory_is_created() {
    let sim = real_time_sim(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_files(dir.path(), &sim.gateway_url(), "", &csv_of(2));
    let toml = std::fs::read_to_string(&config).unwrap().replace(
        "database = \"audit.db\"",
        "database = \"state/deep/audit.db\"",
    );
    std::fs::write(&config, toml).unwrap();
    let config = config.to_str().unwrap();
    let v = run(dir.path(), &["--config", config, "validate"]);
    assert_eq!(v.status.code(), Some(0), "{}", text(&v.stderr));
    assert!(
        !dir.path().join("state").exists(),
        "validate writes nothing"
    );
    let s = run(dir.path(), &["--config", config, "sync"]);
    assert_eq!(s.status.code(), Some(0), "{}", text(&s.stderr));
    assert!(dir.path().join("state/deep/audit.db").is_file());
    sim.shutdown().await;
}

#[test]
fn the_simulator_uses_the_configured_keys_and_catches_the_own_public_key_mistake() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_files(dir.path(), "simulator", "", &csv_of(2));
    let good_text = std::fs::read_to_string(&good).unwrap();
    let bad_text = good_text.replace(
        &key_file("alipay_public.pem").display().to_string(),
        &key_file("app_public.pem").display().to_string(),
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, bad_text).unwrap();
    for cmd in ["validate", "sync"] {
        let out = run(dir.path(), &["--config", bad.to_str().unwrap(), cmd]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(78), "{cmd}: {err}");
        assert!(
            err.contains("public half of the app's own private key"),
            "{cmd}: {err}"
        );
    }
    let out = run(dir.path(), &["--config", good.to_str().unwrap(), "sync"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("2 created"),
        "{}",
        text(&out.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_waits_for_a_held_lock_then_runs_or_gives_up_naming_it() {
    let sim = real_time_sim(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_files(dir.path(), &sim.gateway_url(), "", &csv_of(2));
    let config = config.to_str().unwrap();
    let db = dir.path().join("audit.db");
    let held = shopsync::daemon::lock::InstanceLock::acquire(&db).unwrap();
    let out = run(
        dir.path(),
        &["--config", config, "sync", "--lock-timeout", "300ms"],
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Waiting up to 300ms"), "{err}");
    assert!(err.contains("Another shopsync"), "{err}");
    assert!(err.contains("audit.db.lock"), "{err}");
    // Waiting: released once the sync says it waits, the sync then runs.
    let mut child = shopsync(dir.path())
        .args(["--config", config, "sync", "--lock-timeout", "60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("Waiting up to") {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "the sync says it waits"
        );
    }
    drop(held);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).contains("2 created"),
        "{}",
        text(&out.stdout)
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_show_tells_what_became_of_each_write_in_readable_lines() {
    let sim = real_time_sim(|c| c.audit_delay = chrono::Duration::milliseconds(300)).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_files(dir.path(), &sim.gateway_url(), "", &csv_of(3));
    let config = config.to_str().unwrap();
    let out = run(dir.path(), &["--config", config, "sync"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        stdout.contains("3 created") && stdout.contains("3 pending"),
        "{stdout}"
    );
    assert!(
        stdout.contains("3 applications still under Alipay's audit"),
        "{stdout}"
    );
    let before = text(&run(dir.path(), &["--config", config, "audit", "show", "1"]).stdout);
    assert!(before.contains("under Alipay's audit since"), "{before}");
    // The audit ends; a follow-up records it; `audit show` says so.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let f = run(dir.path(), &["--config", config, "follow-up"]);
        assert_eq!(f.status.code(), Some(0), "{}", text(&f.stderr));
        if text(&f.stdout).contains(" 0 still under audit") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the audits never ended"
        );
    }
    let after = text(&run(dir.path(), &["--config", config, "audit", "show", "1"]).stdout);
    let shops: Vec<String> = sim.shops().into_iter().map(|s| s.shop_id).collect();
    assert_eq!(shops.len(), 3);
    for shop in &shops {
        assert!(
            after.contains("approved at") && after.contains(shop.as_str()),
            "{after}"
        );
    }
    assert!(
        !after.contains("ACTION"),
        "no bare sequence-number column: {after}"
    );
    assert!(
        after.lines().all(|l| l.chars().count() <= 200),
        "no 600-character lines:\n{after}"
    );
    assert!(
        after.contains("+08:00"),
        "times carry their offset: {after}"
    );
    let json = run(
        dir.path(),
        &["--config", config, "audit", "show", "1", "--format", "json"],
    );
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(
        v["run"]["started_at"].as_str().unwrap().ends_with('Z'),
        "JSON keeps UTC: {v}"
    );
    assert_eq!(v["applications"].as_array().unwrap().len(), 3);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_and_streams_say_what_happened() {
    let sim = real_time_sim(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_files(dir.path(), &sim.gateway_url(), "", &csv_of(10));
    let config = config.to_str().unwrap();
    // A usage error is 64, not 2 (plan's "changes pending").
    assert_eq!(
        run(dir.path(), &["sync", "--no-such-flag"]).status.code(),
        Some(64)
    );
    assert_eq!(run(dir.path(), &["--help"]).status.code(), Some(0));
    // `audit runs --format json` (the flag after the subcommand) works.
    let s = run(dir.path(), &["--config", config, "sync"]);
    assert_eq!(s.status.code(), Some(0), "{}", text(&s.stderr));
    let j = run(
        dir.path(),
        &["--config", config, "audit", "runs", "--format", "json"],
    );
    assert_eq!(j.status.code(), Some(0), "{}", text(&j.stderr));
    serde_json::from_slice::<serde_json::Value>(&j.stdout).unwrap();
    // Unknown store: exit 1 with the reason.
    let n = run(dir.path(), &["--config", config, "audit", "store", "NOPE"]);
    assert_eq!(n.status.code(), Some(1));
    assert!(text(&n.stderr).contains("NOPE"), "{}", text(&n.stderr));
    // A plan the shrink guard would stop says so and exits 4.
    std::fs::write(dir.path().join("stores.csv"), csv_of(2)).unwrap();
    let p = run(dir.path(), &["--config", config, "plan"]);
    assert_eq!(p.status.code(), Some(4), "{}", text(&p.stderr));
    assert!(
        text(&p.stderr).contains("a sync would stop"),
        "{}",
        text(&p.stderr)
    );
    // A string key whose value is digits, from the environment.
    let v = shopsync(dir.path())
        .args(["--config", config, "validate"])
        .env("SHOPSYNC_ALIPAY_APP_ID", "2021000000000001")
        .env("SHOPSYNC_RATE_LIMIT_QPS", "5")
        .output()
        .unwrap();
    assert_eq!(v.status.code(), Some(0), "{}", text(&v.stderr));
    sim.shutdown().await;

    // With the simulator and --log-format json, every stderr line is JSON.
    let dir = tempfile::tempdir().unwrap();
    let config = write_files(dir.path(), "simulator", "", &csv_of(2));
    let out = run(
        dir.path(),
        &[
            "--config",
            config.to_str().unwrap(),
            "--log-format",
            "json",
            "sync",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for line in text(&out.stderr).lines() {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "not JSON: {line}"
        );
    }
}

#[test]
fn plain_http_gateways_are_refused_unless_loopback_or_explicitly_allowed() {
    let dir = tempfile::tempdir().unwrap();
    for (gateway, extra, code) in [
        ("http://example.com/gateway.do", "", 78),
        ("http://10.1.2.3:8080/gateway.do", "", 78),
        ("http://127.0.0.1:8090/gateway.do", "", 0),
        ("http://[::1]:8090/gateway.do", "", 0),
        ("http://localhost:8090/gateway.do", "", 0),
        ("https://example.com/gateway.do", "", 0),
        (
            "http://10.1.2.3:8080/gateway.do",
            "allow_insecure_http = true\n",
            0,
        ),
    ] {
        let config = write_files(dir.path(), gateway, "", &csv_of(1));
        let toml = std::fs::read_to_string(&config)
            .unwrap()
            .replace("[alipay]\n", &format!("[alipay]\n{extra}"));
        std::fs::write(&config, toml).unwrap();
        let out = run(
            dir.path(),
            &["--config", config.to_str().unwrap(), "validate"],
        );
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{gateway} {extra}: {err}");
        if code == 78 {
            assert!(
                err.contains("plain http") && err.contains("allow_insecure_http"),
                "{err}"
            );
        }
    }
}

#[test]
fn without_config_the_search_path_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["plan"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(
        err.contains("config/shopsync.toml") && err.contains("/etc/shopsync/shopsync.toml"),
        "{err}"
    );
    std::fs::create_dir(dir.path().join("config")).unwrap();
    write_files(&dir.path().join("config"), "simulator", "", &csv_of(1));
    std::fs::rename(
        dir.path().join("config/stores.csv"),
        dir.path().join("stores.csv"),
    )
    .unwrap();
    let out = run(dir.path(), &["validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
