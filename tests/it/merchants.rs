//! Issue 14, through the real binary: one app, many merchants (`[[merchant]]`), one quota.
//! Each merchant's shops exist only under its token; the quota holds across them; a
//! revoked token fails only its merchant; `--merchant` scopes every command; the same
//! store id in two merchants is two shops; an old single-merchant database keeps working.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use shopsync::sim::SimHandle;

use crate::daemon_e2e::proc::{real_time_sim, BIN};
use crate::support::export::csv_of;
use crate::support::keys::key_file;

const CREATE: &str = "alipay.offline.market.shop.create";

/// `(name, token, stores)` of each merchant.
pub(crate) type Merchants<'a> = &'a [(&'a str, &'a str, usize)];

/// An ISV config for `merchants` (each with its own export `NAME.csv`, token in
/// `TOKEN_NAME`), the app at `qps`.
pub(crate) fn isv_config(dir: &Path, gateway: &str, qps: u32, merchants: Merchants<'_>) -> PathBuf {
    let mut text = format!(
        r#"[alipay]
gateway = "{gateway}"
app_id = "2021000000000001"
app_private_key = "{app_key}"
alipay_public_key = "{alipay_pub}"
connect_timeout = "2s"
request_timeout = "5s"

[rate_limit]
qps = {qps}

# The stores use the two example image ids (the simulator opts in to them): two distinct
# audit photos, below the default minimum of 3.
[sync]
min_audit_images = 2

[audit]
database = "audit.db"
"#,
        app_key = key_file("app_private_pkcs8.pem").display(),
        alipay_pub = key_file("alipay_public.pem").display(),
    );
    for (name, _, stores) in merchants {
        std::fs::write(dir.join(format!("{name}.csv")), csv_of(*stores)).unwrap();
        text.push_str(&format!(
            r#"
[[merchant]]
name = "{name}"
app_auth_token_env = "TOKEN_{name}"

[merchant.source]
path = "{name}.csv"

[merchant.source.defaults]
category_id = "2015050700000018"
brand_name = "鲜果坊"
main_shop_name = "鲜果坊"
main_image = "1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC"
audit_images = "1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC,4Q8Pp00AT7eo9NoAJkMR3AAAACMAAUYT"
"#
        ));
    }
    let path = dir.join("shopsync.toml");
    std::fs::write(&path, text).unwrap();
    path
}

pub(crate) fn run(dir: &Path, config: &Path, merchants: Merchants<'_>, args: &[&str]) -> Output {
    let mut c = Command::new(BIN);
    c.arg("--config")
        .arg(config)
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("SHOPSYNC_APP_AUTH_TOKEN")
        .stdin(Stdio::null());
    for (name, token, _) in merchants {
        c.env(format!("TOKEN_{name}"), token);
    }
    c.output().unwrap()
}

pub(crate) fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Create applications per merchant id on the simulator, each as its store ids (the
/// shops themselves appear only after the audit).
fn shops_by_merchant(sim: &SimHandle) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut m: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for o in sim
        .orders()
        .into_iter()
        .filter(|o| o.action == "CREATE_SHOP")
    {
        m.entry(o.merchant_id.clone())
            .or_default()
            .push(o.store_id.clone());
    }
    for v in m.values_mut() {
        v.sort();
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_merchants_share_one_quota_and_keep_their_shops_apart() {
    let merchants: Merchants<'_> = &[
        ("xgf", "tok-xgf-1111", 30),
        ("hm", "tok-hm-2222", 20),
        ("lb", "tok-lb-3333", 5),
    ];
    let sim = real_time_sim(|c| {
        c.app_auth_tokens = merchants.iter().map(|(_, t, _)| t.to_string()).collect();
        c.audit_delay = chrono::Duration::milliseconds(200);
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = isv_config(dir.path(), &sim.gateway_url(), 20, merchants);
    let v = run(dir.path(), &config, merchants, &["validate"]);
    assert_eq!(v.status.code(), Some(0), "{}", text(&v.stderr));
    let out = run(dir.path(), &config, merchants, &["sync"]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout,
        text(&out.stderr)
    );
    for (name, _, n) in merchants {
        assert!(
            stdout.contains(&format!("merchant {name}: Run"))
                && stdout.contains(&format!("{n} created")),
            "a summary line per merchant: {stdout}"
        );
    }
    // Each merchant's shops are created under its own token; ST-0001 of xgf and of hm are
    // two shops.
    let by_merchant = shops_by_merchant(&sim);
    assert_eq!(by_merchant.len(), 3, "{by_merchant:?}");
    for (_, token, n) in merchants {
        let id = sim.merchant_of_token(Some(token)).unwrap();
        assert_eq!(by_merchant[&id].len(), *n, "{by_merchant:?}");
    }
    assert!(by_merchant
        .values()
        .all(|stores| stores.contains(&"ST-0001".to_string())));
    // One quota for the app, across its merchants.
    let max = sim.max_calls_in_one_second();
    assert!(max <= 20, "{max} calls in one second at app qps 20");
    // The audit store keeps them apart: each merchant's runs, mappings and applications.
    let runs = run(dir.path(), &config, merchants, &["audit", "runs"]);
    let table = text(&runs.stdout);
    assert!(
        table.lines().next().unwrap().starts_with("MERCHANT"),
        "{table}"
    );
    for (name, _, _) in merchants {
        assert!(table.contains(name), "{table}");
    }
    // The second run is a no-op for everyone.
    let again = run(dir.path(), &config, merchants, &["sync"]);
    let stdout = text(&again.stdout);
    assert_eq!(again.status.code(), Some(0), "{stdout}");
    assert_eq!(sim.call_counts().get(CREATE), Some(&55));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_fails_only_its_merchant() {
    let merchants: Merchants<'_> = &[("good", "tok-good-1111", 5), ("gone", "tok-gone-2222", 5)];
    // The simulator knows only the first token: the second merchant's authorisation was
    // revoked (20001 aop.invalid-app-auth-token).
    let sim = real_time_sim(|c| c.app_auth_tokens = vec!["tok-good-1111".into()]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = isv_config(dir.path(), &sim.gateway_url(), 100, merchants);
    let out = run(dir.path(), &config, merchants, &["sync"]);
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(78),
        "the worst merchant's code:\n{stderr}"
    );
    assert!(stderr.contains("merchant gone:"), "{stderr}");
    assert!(stderr.contains("invalid-app-auth-token"), "{stderr}");
    assert!(
        text(&out.stdout).contains("merchant good: Run"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        sim.call_counts().get(CREATE),
        Some(&5),
        "good's creates all went through"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merchant_scopes_every_command() {
    let merchants: Merchants<'_> = &[("a", "tok-a-11111111", 3), ("b", "tok-b-22222222", 4)];
    let sim = real_time_sim(|c| {
        c.app_auth_tokens = merchants.iter().map(|(_, t, _)| t.to_string()).collect();
        c.audit_delay = chrono::Duration::days(1);
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = isv_config(dir.path(), &sim.gateway_url(), 100, merchants);
    let d = dir.path();
    // plan --merchant shows only that merchant's plan.
    let p = run(
        d,
        &config,
        merchants,
        &["plan", "--merchant", "a", "--format", "json"],
    );
    assert_eq!(p.status.code(), Some(2), "{}", text(&p.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&p.stdout).unwrap();
    assert_eq!(doc["merchant"], "a");
    assert_eq!(doc["counts"]["create"], 3);
    // sync --merchant b writes only b's stores.
    let s = run(d, &config, merchants, &["sync", "--merchant", "b"]);
    assert_eq!(s.status.code(), Some(0), "{}", text(&s.stderr));
    assert_eq!(sim.call_counts().get(CREATE), Some(&4));
    let s = run(d, &config, merchants, &["sync", "--merchant", "a"]);
    assert_eq!(s.status.code(), Some(0), "{}", text(&s.stderr));
    // audit runs / pending / rejects, scoped and not.
    let all = text(
        &run(
            d,
            &config,
            merchants,
            &["audit", "runs", "--format", "json"],
        )
        .stdout,
    );
    let all: serde_json::Value = serde_json::from_str(&all).unwrap();
    let only_a = text(
        &run(
            d,
            &config,
            merchants,
            &["audit", "runs", "--merchant", "a", "--format", "json"],
        )
        .stdout,
    );
    let only_a: serde_json::Value = serde_json::from_str(&only_a).unwrap();
    assert!(all.as_array().unwrap().len() > only_a.as_array().unwrap().len());
    assert!(
        only_a
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["merchant"] == "a"),
        "{only_a}"
    );
    let pending = text(
        &run(
            d,
            &config,
            merchants,
            &["audit", "pending", "--merchant", "b"],
        )
        .stdout,
    );
    assert_eq!(
        pending.lines().filter(|l| l.contains("ST-")).count(),
        4,
        "{pending}"
    );
    assert!(
        pending.lines().next().unwrap().starts_with("MERCHANT"),
        "{pending}"
    );
    let store = run(
        d,
        &config,
        merchants,
        &["audit", "store", "ST-0004", "--merchant", "a"],
    );
    assert_eq!(store.status.code(), Some(1), "a has no ST-0004");
    let store = run(
        d,
        &config,
        merchants,
        &["audit", "store", "ST-0004", "--merchant", "b"],
    );
    assert_eq!(store.status.code(), Some(0));
    // follow-up --merchant, and an unknown merchant is a usage error.
    let f = run(d, &config, merchants, &["follow-up", "--merchant", "a"]);
    assert_eq!(f.status.code(), Some(0), "{}", text(&f.stderr));
    assert!(
        text(&f.stdout).contains("merchant a:"),
        "{}",
        text(&f.stdout)
    );
    let nope = run(d, &config, merchants, &["plan", "--merchant", "nope"]);
    assert_eq!(nope.status.code(), Some(64), "{}", text(&nope.stderr));
    assert!(
        text(&nope.stderr).contains("nope"),
        "{}",
        text(&nope.stderr)
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_merchant_is_not_starved_by_a_large_one() {
    // Policy: each merchant runs `[sync] concurrency` writes at once and every waiting call
    // competes for the app's one limiter, so the quota is split evenly among the merchants
    // with work: the small merchant's 20 creates interleave with the large one's first
    // ~20, they do not wait for its 300.
    let merchants: Merchants<'_> = &[
        ("big", "tok-big-1111", 300),
        ("small", "tok-small-2222", 20),
    ];
    let sim = real_time_sim(|c| {
        c.app_auth_tokens = merchants.iter().map(|(_, t, _)| t.to_string()).collect();
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = isv_config(dir.path(), &sim.gateway_url(), 40, merchants);
    let toml = std::fs::read_to_string(&config)
        .unwrap()
        .replace("[sync]\n", "[sync]\nmax_creates = 10000\n");
    std::fs::write(&config, toml).unwrap();
    let out = run(dir.path(), &config, merchants, &["sync"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Apply ids are issued in order of acceptance.
    let mut orders = sim.orders();
    orders.sort_by(|a, b| a.apply_id.cmp(&b.apply_id));
    assert_eq!(orders.len(), 320);
    let small = sim.merchant_of_token(Some(merchants[1].1)).unwrap();
    let last_small = orders
        .iter()
        .rposition(|o| o.merchant_id == small)
        .expect("small's orders");
    // From the small merchant's first accepted create to its last, the large one gets
    // about one turn per small turn (equal concurrency, one FIFO queue): at most 20 of its
    // creates interleave, not the 300 it has waiting. (When the small merchant starts, e.g.
    // after a slower export read, is not part of the policy.)
    let first_small = orders.iter().position(|o| o.merchant_id == small).unwrap();
    let span = last_small - first_small + 1;
    assert!(
        span <= 48,
        "the small merchant's 20 creates were spread over {span} of the app's creates (fair share: about 40)"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_made_before_merchants_keeps_working() {
    let sim = real_time_sim(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let config =
        crate::daemon_e2e::proc::write_files(dir.path(), &sim.gateway_url(), "", &csv_of(3));
    // The shop of ST-0001 exists on Alipay and the old database maps it.
    let mut fields = std::collections::BTreeMap::new();
    for (k, v) in [
        ("main_shop_name", "鲜果坊"),
        ("branch_shop_name", "分店0001号"),
    ] {
        fields.insert(k.to_string(), v.to_string());
    }
    let shop = sim.seed_shop("ST-0001", fields);
    // An audit database as the previous schema (migrations 1 and 2) left it.
    {
        let conn = rusqlite::Connection::open(dir.path().join("audit.db")).unwrap();
        let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/audit/migrations");
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);",
        )
        .unwrap();
        for (v, file) in [(1, "0001_init.sql"), (2, "0002_rejects.sql")] {
            conn.execute_batch(&std::fs::read_to_string(migrations.join(file)).unwrap())
                .unwrap();
            conn.execute(
                "INSERT INTO schema_migrations VALUES (?1, ?2, '2026-11-30T00:00:00.000Z')",
                rusqlite::params![v, file],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO runs (kind, source, store_count, status, started_at, finished_at, summary_json)
             VALUES ('sync', 'stores.csv', 1, 'ok', '2026-11-30T00:00:00.000Z', '2026-11-30T00:01:00.000Z', NULL)",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO shop_map (store_id, shop_id, how, mapped_at) VALUES ('ST-0001', ?1, 'created', '2026-11-30T00:00:30.000Z')",
            [&shop],
        )
        .unwrap();
    }
    let out = run(dir.path(), &config, &[], &["sync"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The old mapping holds: ST-0001 is not created again; the two others are.
    assert_eq!(sim.call_counts().get(CREATE), Some(&2));
    let runs = text(&run(dir.path(), &config, &[], &["audit", "runs"]).stdout);
    assert_eq!(
        runs.lines().filter(|l| l.contains("sync")).count(),
        2,
        "{runs}"
    );
    assert!(
        !runs.starts_with("MERCHANT"),
        "one merchant: no merchant column\n{runs}"
    );
    let store = text(&run(dir.path(), &config, &[], &["audit", "store", "ST-0001"]).stdout);
    assert!(store.contains(&shop), "{store}");
    sim.shutdown().await;
}
