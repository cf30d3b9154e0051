//! The systemd units in `systemd/`: `systemd-analyze verify` accepts them (with ExecStart
//! pointed at the real binary), the timer fires at 02:30 Shanghai time, and the hardening
//! is in place.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const UNITS: [&str; 3] = [
    "shopsync.service",
    "shopsync-sync.service",
    "shopsync-sync.timer",
];
const INSTALLED_BIN: &str = "/usr/local/bin/shopsync";

fn unit_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("systemd")
}

fn read_unit(name: &str) -> String {
    std::fs::read_to_string(unit_dir().join(name)).unwrap()
}

/// `systemd-analyze`, installed from Debian's `systemd` package if missing (we are root).
fn systemd_analyze() -> &'static str {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        let present = Command::new("systemd-analyze").arg("--version").output().is_ok_and(|o| o.status.success());
        if !present {
            let st = Command::new("sh")
                .args(["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd"])
                .status()
                .expect("run apt-get");
            assert!(st.success(), "installing systemd (for systemd-analyze) failed: {st}");
        }
    });
    "systemd-analyze"
}

/// Copies of all units in a temp dir, with ExecStart pointed at the built binary.
fn staged_units() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in UNITS {
        let text = read_unit(name).replace(INSTALLED_BIN, env!("CARGO_BIN_EXE_shopsync"));
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn analyze(args: &[&str], unit: &Path) -> Output {
    Command::new(systemd_analyze())
        .args(args)
        .arg(unit)
        .output()
        .unwrap()
}

fn all_output(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn every_unit_passes_systemd_analyze_verify() {
    let dir = staged_units();
    for name in UNITS {
        let out = analyze(&["verify", "--man=no"], &dir.path().join(name));
        let text = all_output(&out);
        assert!(out.status.success(), "{name}: verify failed:\n{text}");
        let about_ours: Vec<&str> = text
            .lines()
            .filter(|l| UNITS.iter().any(|u| l.contains(u)))
            .collect();
        assert!(about_ours.is_empty(), "{name}: verify complained:\n{text}");
    }
}

#[test]
fn verify_does_catch_a_broken_unit() {
    // Control: the check above would notice a typo or a missing binary.
    let dir = staged_units();
    let path = dir.path().join("shopsync.service");
    let text = std::fs::read_to_string(&path).unwrap();
    let broken = text
        .replace("Type=notify", "Tpye=notify")
        .replace(env!("CARGO_BIN_EXE_shopsync"), "/nonexistent/shopsync");
    std::fs::write(&path, broken).unwrap();
    let out = analyze(&["verify", "--man=no"], &path);
    let text = all_output(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("Tpye"), "{text}");
}

#[test]
fn the_units_carry_their_exec_lines_and_daemon_settings() {
    let daemon = read_unit("shopsync.service");
    let lines: Vec<&str> = daemon.lines().collect();
    for want in [
        "ExecStart=/usr/local/bin/shopsync daemon --config /etc/shopsync/shopsync.toml --log-format json",
        "Type=notify",
        "DynamicUser=yes",
        "StateDirectory=shopsync",
        "LoadCredential=alipay-app-private-key:/etc/shopsync/app_private_key.pem",
        "LoadCredential=app-auth-token:/etc/shopsync/app_auth_token",
        "Restart=on-failure",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "SystemCallFilter=@system-service",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
    ] {
        assert!(lines.contains(&want), "shopsync.service lacks {want:?}");
    }
    assert!(lines.iter().any(|l| l.starts_with("WatchdogSec=")));
    let stop = lines
        .iter()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .unwrap();
    let stop = humantime::parse_duration(stop).unwrap();
    assert!(
        stop > std::time::Duration::from_secs(60),
        "above the default 60 s grace: {stop:?}"
    );

    let oneshot = read_unit("shopsync-sync.service");
    assert!(oneshot.lines().any(|l| l == "Type=oneshot"));
    assert!(oneshot
        .lines()
        .any(|l| l == "ExecStart=/usr/local/bin/shopsync sync --config /etc/shopsync/shopsync.toml --log-format json"));
}

#[test]
fn timer_fires_at_02_30_shanghai_and_catches_up() {
    let timer = read_unit("shopsync-sync.timer");
    assert!(timer.lines().any(|l| l == "Persistent=true"));
    let spec = timer
        .lines()
        .find_map(|l| l.strip_prefix("OnCalendar="))
        .unwrap();
    assert_eq!(spec, "*-*-* 02:30:00 Asia/Shanghai");
    let out = Command::new(systemd_analyze())
        .args(["calendar", "--iterations=3", spec])
        .env("TZ", "UTC")
        .output()
        .unwrap();
    let text = all_output(&out);
    assert!(out.status.success(), "{text}");
    // 02:30 at UTC+8 is 18:30 UTC, every day.
    let elapses: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("UTC") && l.contains(':'))
        .collect();
    assert!(elapses.len() >= 3, "{text}");
    assert!(elapses.iter().all(|l| l.contains("18:30:00 UTC")), "{text}");
}

#[test]
fn offline_security_exposure_is_low() {
    let dir = staged_units();
    for name in ["shopsync.service", "shopsync-sync.service"] {
        let out = analyze(
            &["security", "--offline=yes", "--no-pager"],
            &dir.path().join(name),
        );
        let text = all_output(&out);
        let level: f64 = text
            .lines()
            .find_map(|l| l.split_once("Overall exposure level for ").map(|(_, r)| r))
            .and_then(|r| r.split(": ").nth(1))
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{name}: no exposure level in\n{text}"));
        assert!(level <= 2.0, "{name}: exposure {level}\n{text}");
    }
}
