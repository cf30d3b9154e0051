//! Certificate mode through the real binary: `validate` checks the three files (each
//! problem naming its file; expiry within 30 days a warning), and `sync` stops with exit 78
//! and a line saying what to check for expired, unchained or unknown certificates, on both
//! protocols, against the simulator in certificate mode.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{TimeZone, Utc};

use crate::daemon_e2e::proc::{real_time_sim, BIN};
use crate::harness::Harness;
use crate::support::export::csv_of;
use crate::support::keys::key_file;
use crate::support::pki::{self, CertPaths};

/// `shopsync.toml` and `stores.csv` in `dir`, the `[alipay]` lines given.
fn write_config(dir: &Path, gateway: &str, alipay: &str) -> PathBuf {
    let path = dir.join("shopsync.toml");
    std::fs::write(&path, Harness::config_text_for(gateway, "", alipay)).unwrap();
    std::fs::write(dir.join("stores.csv"), csv_of(3)).unwrap();
    path
}

fn cert_lines(protocol: &str, paths: &CertPaths) -> String {
    format!("protocol = \"{protocol}\"\n{}", paths.toml())
}

/// Run the binary; (exit code, stdout + stderr).
fn run(config: &Path, args: &[&str], clock_offset: Option<&str>) -> (Option<i32>, String) {
    let mut c = Command::new(BIN);
    c.arg("--config")
        .arg(config)
        .args(args)
        .current_dir(config.parent().unwrap())
        .env_remove("RUST_LOG")
        .env_remove("SHOPSYNC_APP_AUTH_TOKEN")
        .env_remove("SHOPSYNC_TEST_CLOCK_OFFSET");
    if let Some(offset) = clock_offset {
        c.env("SHOPSYNC_TEST_CLOCK_OFFSET", offset);
    }
    let out = c.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// The `[alipay]` lines of a case, written for its directory.
type Lines<'a> = Box<dyn Fn(&Path) -> String + 'a>;

/// The offset that puts the binary's clock at `at`.
fn offset_to(at: chrono::DateTime<Utc>) -> String {
    format!("{}s", (at - Utc::now()).num_seconds())
}

/// The shared PKI's files in `dir`, with `change` applied (a file replaced or removed).
fn files(dir: &Path, change: impl FnOnce(&CertPaths)) -> CertPaths {
    let paths = pki::write_files(dir);
    change(&paths);
    paths
}

#[test]
fn validate_checks_each_certificate_file_and_names_it() {
    let s = pki::shared();
    let f = pki::foreign();
    let other_key = key_file("alipay_private_pkcs8.pem");
    // (case, [alipay] lines besides the private key, the expected words)
    type Case = (&'static str, Lines<'static>, Vec<String>);
    let cases: Vec<Case> = vec![
        (
            "an unchained alipay_cert",
            Box::new(|d| {
                let p = files(d, |p| {
                    std::fs::write(&p.alipay_cert, &f.alipay_chain_pem).unwrap()
                });
                cert_lines("classic", &p)
            }),
            vec![
                "[alipay] alipay_cert:".into(),
                "does not chain to any root in".into(),
            ],
        ),
        (
            "a missing root bundle",
            Box::new(|d| {
                let p = files(d, |p| std::fs::remove_file(&p.alipay_root_cert).unwrap());
                cert_lines("v3", &p)
            }),
            vec![
                "[alipay] alipay_root_cert: cannot read certificate file".into(),
                "alipayRootCert.crt".into(),
            ],
        ),
        (
            "a file that holds no certificate",
            Box::new(|d| {
                let p = files(d, |p| {
                    std::fs::write(&p.app_cert, "not a certificate\n").unwrap()
                });
                cert_lines("classic", &p)
            }),
            vec!["[alipay] app_cert: no certificate in".into()],
        ),
        (
            "alipay_public_key beside the certificate files",
            Box::new(|d| {
                format!(
                    "{}alipay_public_key = {:?}\n",
                    cert_lines("classic", &pki::write_files(d)),
                    key_file("alipay_public.pem").display().to_string()
                )
            }),
            vec!["not both".into()],
        ),
        (
            "two of the three files",
            Box::new(|d| {
                let p = pki::write_files(d);
                format!(
                    "app_cert = {:?}\nalipay_cert = {:?}\n",
                    p.app_cert.display().to_string(),
                    p.alipay_cert.display().to_string()
                )
            }),
            vec!["missing: alipay_root_cert".into()],
        ),
    ];
    for (name, lines, words) in cases {
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(
            dir.path(),
            "http://127.0.0.1:9/gateway.do",
            &lines(dir.path()),
        );
        let (code, out) = run(&config, &["validate"], None);
        assert_eq!(code, Some(78), "{name}: {out}");
        for w in &words {
            assert!(out.contains(w.as_str()), "{name}: {w:?} missing in {out}");
        }
    }

    // The app certificate of another key pair: the private key does not match.
    let dir = tempfile::tempdir().unwrap();
    let text = Harness::config_text_for(
        "http://127.0.0.1:9/gateway.do",
        "",
        &cert_lines("classic", &pki::write_files(dir.path())),
    )
    .replace(
        &key_file("app_private_pkcs8.pem").display().to_string(),
        &other_key.display().to_string(),
    );
    let config = dir.path().join("shopsync.toml");
    std::fs::write(&config, text).unwrap();
    std::fs::write(dir.path().join("stores.csv"), csv_of(3)).unwrap();
    let (code, out) = run(&config, &["validate"], None);
    assert_eq!(code, Some(78), "{out}");
    assert!(
        out.contains("[alipay] app_cert:")
            && out.contains("does not hold the public half of app_private_key"),
        "{out}"
    );

    // The good files: valid, with their SNs; expired in 2045 (the PKI's end); a warning
    // within 30 days of it.
    let dir = tempfile::tempdir().unwrap();
    let paths = pki::write_files(dir.path());
    let config = write_config(
        dir.path(),
        "http://127.0.0.1:9/gateway.do",
        &cert_lines("v3", &paths),
    );
    let (code, out) = run(&config, &["validate"], None);
    assert_eq!(code, Some(0), "{out}");
    let app_sn = pki::leaf_sn(&s.app_cert_pem);
    assert!(out.contains(&format!("app_cert_sn {app_sn}")), "{out}");
    assert!(!out.contains("warning"), "{out}");

    let soon = offset_to(Utc.with_ymd_and_hms(2044, 12, 12, 12, 0, 0).unwrap());
    let (code, out) = run(&config, &["validate"], Some(&soon));
    assert_eq!(code, Some(0), "a warning is not a problem: {out}");
    assert!(
        out.contains("warning:")
            && out.contains("expires on 2045-01-01")
            && out.contains("(in 19 days)"),
        "{out}"
    );
    assert!(
        out.contains("appCertPublicKey_2021000000000001.crt"),
        "{out}"
    );

    let late = offset_to(Utc.with_ymd_and_hms(2045, 3, 1, 0, 0, 0).unwrap());
    let (code, out) = run(&config, &["validate"], Some(&late));
    assert_eq!(code, Some(78), "{out}");
    for key in ["[alipay] app_cert:", "[alipay] alipay_cert:"] {
        assert!(out.contains(key), "{key} in {out}");
    }
    assert!(out.contains("expired on 2045-01-01"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_problems_stop_a_sync_with_exit_78_and_what_to_check() {
    let sim = real_time_sim(|c| c.cert = Some(pki::sim_mode(None))).await;
    let url = sim.gateway_url();
    let (s, f) = (pki::shared(), pki::foreign());
    for protocol in ["classic", "v3"] {
        // (case, [alipay] lines, clock offset, the expected words)
        let cases: Vec<(&str, Lines, Option<String>, &str)> = vec![
            (
                "expired certificates",
                Box::new(|d| cert_lines(protocol, &pki::write_files(d))),
                Some(offset_to(Utc.with_ymd_and_hms(2045, 3, 1, 0, 0, 0).unwrap())),
                "expired on 2045-01-01",
            ),
            (
                "an Alipay certificate that does not chain to the root bundle",
                Box::new(|d| {
                    let p = files(d, |p| {
                        std::fs::write(&p.alipay_cert, &f.alipay_chain_pem).unwrap()
                    });
                    cert_lines(protocol, &p)
                }),
                None,
                "does not chain to any root in",
            ),
            (
                "a root bundle without the root",
                Box::new(|d| {
                    let p = files(d, |p| std::fs::write(&p.alipay_root_cert, &f.root_pem).unwrap());
                    cert_lines(protocol, &p)
                }),
                None,
                "does not chain to any root in",
            ),
            (
                "an app certificate Alipay does not know",
                Box::new(|d| cert_lines(protocol, &pki::write_files_of(d, f))),
                None,
                "[alipay] app_cert must be this app's certificate",
            ),
            (
                "a root bundle Alipay does not know",
                Box::new(|d| {
                    let p = files(d, |p| {
                        let both = format!("{}{}", s.root_pem, f.root_pem);
                        std::fs::write(&p.alipay_root_cert, both).unwrap()
                    });
                    cert_lines(protocol, &p)
                }),
                None,
                "[alipay] alipay_root_cert must be the alipayRootCert.crt",
            ),
            (
                "key mode against a certificate-mode app",
                Box::new(|_| {
                    format!(
                        "protocol = \"{protocol}\"\nalipay_public_key = {:?}\n",
                        key_file("alipay_public.pem").display().to_string()
                    )
                }),
                None,
                "the app is in certificate mode: configure [alipay] app_cert, alipay_cert and alipay_root_cert",
            ),
        ];
        for (name, lines, offset, words) in cases {
            let dir = tempfile::tempdir().unwrap();
            let config = write_config(dir.path(), &url, &lines(dir.path()));
            let (code, out) = run(&config, &["sync"], offset.as_deref());
            assert_eq!(code, Some(78), "{protocol}, {name}: {out}");
            assert!(
                out.contains(words),
                "{protocol}, {name}: {words:?} missing in {out}"
            );
        }
    }
    assert!(sim.orders().is_empty(), "nothing was written");
    sim.shutdown().await;
}
