//! Log set-up, checked in child processes (the subscriber is process-global): JSON lines
//! on stderr, RUST_LOG honoured, --log-level overriding it.
use std::process::Command;

use shopsync::logging::{init, LogFormat};

const CHILD_ENV: &str = "SHOPSYNC_TEST_LOGGING_CHILD";
const TEST: &str = "daemon::logging::json_and_pretty_logs_go_to_stderr_with_levels";

/// Run this test's child role: `SHOPSYNC_TEST_LOGGING_CHILD=<format>,<level or ->`.
fn child(spec: &str, rust_log: Option<&str>) -> (String, String) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, spec)
        .env_remove("RUST_LOG");
    if let Some(r) = rust_log {
        cmd.env("RUST_LOG", r);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn json_and_pretty_logs_go_to_stderr_with_levels() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        let (format, level) = spec.split_once(',').unwrap();
        let format = if format == "json" {
            LogFormat::Json
        } else {
            LogFormat::Pretty
        };
        init(format, (level != "-").then_some(level)).unwrap();
        assert!(init(format, None).is_err(), "a second init is refused");
        tracing::info!(
            store_id = "S001",
            apply_id = "A1",
            "Shop creation submitted."
        );
        tracing::debug!("Debug detail.");
        return;
    }

    let (stdout, stderr) = child("json,-", None);
    assert!(!stdout.contains("Shop creation"), "logs never go to stdout");
    let line = stderr
        .lines()
        .find(|l| l.contains("Shop creation submitted."))
        .unwrap_or_else(|| panic!("no log line in {stderr}"));
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["level"], "INFO");
    assert_eq!(v["message"], "Shop creation submitted.");
    assert_eq!(v["store_id"], "S001");
    assert!(!stderr.contains("Debug detail."), "default level is info");
    assert!(!stderr.contains('\u{1b}'), "no ANSI escapes");

    let (_, stderr) = child("pretty,-", Some("warn"));
    assert!(
        !stderr.contains("Shop creation"),
        "RUST_LOG=warn hides info"
    );

    let (_, stderr) = child("pretty,debug", Some("warn"));
    assert!(
        stderr.contains("Shop creation submitted."),
        "--log-level overrides RUST_LOG"
    );
    assert!(
        stderr.contains("store_id") && stderr.contains("S001"),
        "{stderr}"
    );
    assert!(stderr.contains("Debug detail."));
}
