//! Database sources through the real binary (`validate`, `plan`) and a whole run: where
//! the password comes from, the exit codes of a refused login, a missing database and an
//! unreachable server, the password never shown or stored, and the shrink guard.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use assert_cmd::prelude::*;
use shopsync::clock::{ManualClock, SharedClock};
use shopsync::config::Config;
use shopsync::exit::Exit;

use crate::harness::Harness;
use crate::source_db::{sample_database, sample_source_text, BOTH, DEFAULTS};
use crate::support::db_servers::{self, TestDb};
use crate::support::sim::start_sim;

const QUERY: &str = "SELECT id AS store_id, phone AS contact_number FROM t";

fn shopsync() -> Command {
    let mut c = Command::cargo_bin("shopsync").unwrap();
    c.env_remove("RUST_LOG")
        .env_remove("SHOPSYNC_CONFIG")
        .env_remove("SHOPSYNC_APP_AUTH_TOKEN")
        .env_remove("CREDENTIALS_DIRECTORY");
    c
}

/// A whole config for `gateway` with `source` (a `[source]` table and its subtables) as its
/// source.
fn full_config(dir: &Path, gateway: &str, source: &str) -> std::path::PathBuf {
    let base = Harness::config_text(gateway, "");
    let start = base.find("[source]").unwrap();
    let end = base.find("[rate_limit]").unwrap();
    let text = format!("{}{source}\n\n{}", &base[..start], &base[end..]);
    let path = dir.join("shopsync.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `[source]` keys (and `[defaults]`, as `source_db::DEFAULTS` writes it) as a config's
/// `[source]` table.
fn section(keys: &str) -> String {
    format!(
        "[source]\n{}",
        keys.replace("[defaults]", "[source.defaults]")
    )
}

fn source_table(db: &TestDb, password_line: &str, extra: &str) -> String {
    section(&format!(
        "kind = {:?}\nurl = {:?}\n{password_line}\nquery = {QUERY:?}\n{extra}\n{DEFAULTS}",
        db.server.kind.source_kind(),
        db.url(),
    ))
}

fn table_with_one_store(db: &TestDb) {
    db.sql("CREATE TABLE t (id VARCHAR(32), phone VARCHAR(32)); INSERT INTO t VALUES ('S1', '021-62881234');");
}

fn run(config: &Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = shopsync();
    cmd.arg("--config").arg(config).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr)
    );
    (status.code(), text)
}

#[test]
fn the_password_comes_from_a_systemd_credential_or_an_environment_variable() {
    for kind in BOTH {
        let db = db_servers::server(kind).database();
        table_with_one_store(&db);
        let dir = tempfile::tempdir().unwrap();
        let credentials = dir.path().join("credentials");
        std::fs::create_dir(&credentials).unwrap();
        std::fs::write(credentials.join("pos-db"), format!("{}\n", db.password)).unwrap();
        let credential = credentials.display().to_string();

        let config = full_config(
            dir.path(),
            "simulator",
            &source_table(&db, "password_file = \"credential:pos-db\"", ""),
        );
        let (code, out) = run(
            &config,
            &["validate"],
            &[("CREDENTIALS_DIRECTORY", &credential)],
        );
        assert_eq!(code, Some(0), "{kind:?}: {out}");
        assert!(
            out.contains("readable, 2 columns, mapping complete"),
            "{out}"
        );
        assert!(out.contains(&db.url()), "{out}");

        let config = full_config(
            dir.path(),
            "simulator",
            &source_table(&db, "password_env = \"POS_TEST_DB_PASSWORD\"", ""),
        );
        let (code, out) = run(
            &config,
            &["validate"],
            &[("POS_TEST_DB_PASSWORD", &db.password)],
        );
        assert_eq!(code, Some(0), "{kind:?}: {out}");
        let (code, out) = run(&config, &["validate"], &[]);
        assert_eq!(code, Some(78), "{kind:?}: {out}");
        assert!(out.contains("POS_TEST_DB_PASSWORD is not set"), "{out}");
    }
}

#[test]
fn a_password_in_the_url_is_refused_without_repeating_it() {
    let dir = tempfile::tempdir().unwrap();
    let source = format!(
        "kind = \"postgres\"\nurl = \"postgres://pos:Url-Secret-93@127.0.0.1/pos\"\nquery = {QUERY:?}\n{DEFAULTS}"
    );
    let config = full_config(dir.path(), "simulator", &section(&source));
    for cmd in ["validate", "plan"] {
        let (code, out) = run(&config, &[cmd], &[]);
        assert_eq!(code, Some(78), "{cmd}: {out}");
        assert!(out.contains("must not contain a password"), "{cmd}: {out}");
        assert!(!out.contains("Url-Secret-93"), "{cmd}: {out}");
    }
}

/// Exit 78 for `validate` and `plan`, the message names the source (its URL without
/// password); neither the wrong password nor the right one appears in the output or the
/// audit store.
#[test]
fn a_refused_login_or_a_missing_database_exits_78_naming_the_source_not_the_password() {
    for kind in BOTH {
        let db = db_servers::server(kind).database();
        table_with_one_store(&db);
        let wrong = TestDb {
            server: db.server,
            name: db.name.clone(),
            user: db.user.clone(),
            password: format!("Wrong-{}", db.password),
        };
        let missing = TestDb {
            server: db.server,
            name: "no_such_db".into(),
            user: db.user.clone(),
            password: db.password.clone(),
        };
        for (case, target, needle) in [
            ("wrong password", &wrong, "refused the login"),
            ("missing database", &missing, "no_such_db"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let password = target.password_file(dir.path(), "pw");
            let line = format!("password_file = {:?}", password.display().to_string());
            let config = full_config(dir.path(), "simulator", &source_table(target, &line, ""));
            for cmd in ["validate", "plan"] {
                let (code, out) = run(&config, &[cmd], &[]);
                assert_eq!(code, Some(78), "{kind:?} {case} {cmd}: {out}");
                assert!(out.contains(&target.url()), "{kind:?} {case} {cmd}: {out}");
                assert!(out.contains(needle), "{kind:?} {case} {cmd}: {out}");
                assert!(!out.contains(&db.password), "{kind:?} {case} {cmd}: {out}");
            }
            let audit = std::fs::read(dir.path().join("audit.db")).unwrap();
            let audit = String::from_utf8_lossy(&audit);
            assert!(
                audit.contains(&target.url()),
                "{kind:?} {case}: the run is recorded"
            );
            assert!(
                !audit.contains(&db.password),
                "{kind:?} {case}: password in the audit store"
            );
        }
    }
}

#[test]
fn an_unreachable_server_is_retried_for_connect_retry_then_the_run_fails_with_exit_1() {
    for kind in BOTH {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let scheme = if kind == db_servers::Kind::Postgres {
            "postgres"
        } else {
            "mysql"
        };
        let source = format!(
            "kind = {:?}\nurl = \"{scheme}://pos@127.0.0.1:{port}/pos\"\nquery = {QUERY:?}\n\
             connect_timeout = \"1s\"\nconnect_retry = \"2s\"\n{DEFAULTS}",
            kind.source_kind()
        );
        let dir = tempfile::tempdir().unwrap();
        let config = full_config(dir.path(), "simulator", &section(&source));
        let started = std::time::Instant::now();
        let (code, out) = run(&config, &["plan"], &[]);
        assert_eq!(code, Some(1), "{kind:?}: {out}");
        let retries = out.matches("Database unreachable; retrying.").count();
        assert!(retries >= 2, "{kind:?}: {retries} retries: {out}");
        assert!(out.contains("server unreachable after"), "{kind:?}: {out}");
        assert!(
            out.contains(&format!("127.0.0.1:{port}")),
            "{kind:?}: {out}"
        );
        // Bounded: 2 s of retries, not the default minute (a generous margin for CI).
        assert!(
            started.elapsed() < std::time::Duration::from_secs(40),
            "{kind:?}"
        );
    }
}

/// The shrink guard counts rows whatever the source: a sync from PostgreSQL, then the
/// table loses most of its rows, and the next sync stops before any write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_source_that_shrank_trips_the_shrink_guard() {
    let clock = ManualClock::new(chrono::Utc::now());
    let shared: SharedClock = Arc::new(clock.clone());
    let sim = start_sim(shared.clone(), |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let kind = db_servers::Kind::Postgres;
    let db = sample_database(kind);
    let source = sample_source_text(kind, &db, dir.path());
    let path = full_config(dir.path(), &sim.gateway_url(), &source);
    let cfg = Config::load_with_env(&path, std::iter::empty()).unwrap();
    let ctx = Harness::context(cfg, shared.clone()).await;
    let sync = shopsync::sync::run::RunOptions {
        apply: true,
        ..Default::default()
    };
    let first = ctx.run(&sync).await.unwrap();
    assert_eq!(first.summary.created, 50, "{:?}", first.message);
    clock.advance(chrono::Duration::seconds(5));
    sim.process_due();

    db.sql("DELETE FROM stores WHERE code NOT LIKE 'XGF-HZ-%'");
    let second = ctx.run(&sync).await.unwrap();
    assert_eq!(second.exit, Exit::Guard, "{:?}", second.message);
    let message = second.message.unwrap_or_default();
    assert!(
        message.contains("12 rows, far fewer than the 50"),
        "{message}"
    );
    assert_eq!(sim.shops().len(), 50);
}
