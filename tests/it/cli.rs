//! The real binary: exit codes, stdout and stderr of `validate`, `plan`, `sync`, `audit`.

use std::process::Command;

use assert_cmd::prelude::*;
use shopsync::sim::SimHandle;

use crate::harness::Harness;
use crate::support::export::{csv_of, HEADER};
use crate::support::keys::key_file;
use crate::support::sim::{start_sim, system_clock};

fn shopsync() -> Command {
    let mut c = Command::cargo_bin("shopsync").unwrap();
    c.env_remove("RUST_LOG")
        .env_remove("SHOPSYNC_CONFIG")
        .env_remove("SHOPSYNC_APP_AUTH_TOKEN");
    c
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The simulator on the wall clock (the binary signs with real time), audits at once.
async fn sim() -> SimHandle {
    start_sim(system_clock(), |c| c.audit_delay = chrono::Duration::zero()).await
}

#[test]
fn validate_accepts_the_shipped_config() {
    let out = shopsync()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["validate"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("is valid"));
}

#[test]
fn validate_names_the_own_public_key_mistake_and_every_other_problem() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "stores.csv", &csv_of(2));
    let text = Harness::config_text(
        "https://openapi.alipay.com/gateway.do",
        "[rate_limit]\nburst = 0\n",
    )
    .replace(
        &key_file("alipay_public.pem").display().to_string(),
        &key_file("app_public.pem").display().to_string(),
    )
    .replace("[rate_limit]\nqps = 1000\n", "");
    let cfg = write(dir.path(), "bad.toml", &text);
    let out = shopsync()
        .args(["--config"])
        .arg(&cfg)
        .arg("validate")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(
        err.contains("public half of the app's own private key"),
        "{err}"
    );
    assert!(err.contains("burst must be at least 1"), "{err}");
}

#[test]
fn a_typo_in_the_config_is_an_error_naming_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        Harness::config_text("simulator", "").replace("[audit]", "[audit]\ndatabse = \"x.db\"");
    let cfg = write(dir.path(), "typo.toml", &text);
    for cmd in ["validate", "plan", "sync"] {
        let out = shopsync()
            .arg("--config")
            .arg(&cfg)
            .arg(cmd)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(78), "{cmd}: {err}");
        assert!(
            err.contains("typo.toml") && err.contains("databse"),
            "{cmd}: {err}"
        );
    }
}

#[test]
fn a_missing_export_fails_validate_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "c.toml", &Harness::config_text("simulator", ""));
    let out = shopsync()
        .arg("--config")
        .arg(&cfg)
        .arg("validate")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78));
    assert!(err.contains("stores.csv"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_and_sync_exit_codes_through_the_binary() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let mut csv = csv_of(3);
    csv.push_str("ST-BAD,分店,310000,310100,310106,南京西路9号,121.4,31.2,call-me,周一-周日 09:00-22:00,30\n");
    write(dir.path(), "stores.csv", &csv);
    let cfg = write(
        dir.path(),
        "c.toml",
        &Harness::config_text(&sim.gateway_url(), ""),
    );
    let run = |args: &[&str]| {
        let cfg = cfg.clone();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        async move {
            tokio::task::spawn_blocking(move || {
                shopsync()
                    .arg("--config")
                    .arg(&cfg)
                    .args(&args)
                    .output()
                    .unwrap()
            })
            .await
            .unwrap()
        }
    };
    let plan = run(&["plan", "--format", "json"]).await;
    assert_eq!(
        plan.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(json["counts"]["create"], 3);
    assert_eq!(json["counts"]["rejected"], 1);

    let sync = run(&["sync", "--wait", "5s"]).await;
    let stdout = String::from_utf8_lossy(&sync.stdout);
    assert_eq!(
        sync.status.code(),
        Some(3),
        "rejected rows make it partial: {stdout}"
    );
    assert!(stdout.contains("3 created"), "{stdout}");
    assert_eq!(sim.shops().len(), 3);

    // Fix the export: in sync now.
    write(dir.path(), "stores.csv", &csv_of(3));
    let plan = run(&["plan"]).await;
    assert_eq!(
        plan.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&plan.stdout)
    );
    let audit = run(&["audit", "runs"]).await;
    assert_eq!(audit.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&audit.stdout).contains("partial"));
    let csv_plan = run(&["plan", "--format", "csv", "--all"]).await;
    let text = String::from_utf8_lossy(&csv_plan.stdout);
    assert!(
        text.starts_with("action,store_id,shop_id,field,old,new,detail"),
        "{text}"
    );
    assert_eq!(
        text.lines().filter(|l| l.starts_with("unchanged,")).count(),
        3
    );
    let _ = HEADER;
}
