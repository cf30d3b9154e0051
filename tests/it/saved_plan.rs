//! Saved plans through the real binary (docs/saved-plans.md, docs/design.md invariant 9):
//! `plan --out FILE` then `sync --plan FILE` applies exactly the reviewed writes; a store
//! whose export row or shop moved in between is stale (exit 3) while the others are
//! applied; a plan for another app, merchant or gateway, too old, or changed by one byte
//! is refused (exit 1) before anything is read or written; `show-plan` reads one back.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use shopsync::sim::SimHandle;
use shopsync::sync::saved_plan::{seal, unseal};

use crate::daemon_e2e::proc::{real_time_sim, write_files, BIN};
use crate::support::export::{csv_of, row, HEADER};

/// Environment overrides of one case.
type Env<'a> = Vec<(&'a str, &'a str)>;

const CREATE: &str = "alipay.offline.market.shop.create";
const MODIFY: &str = "alipay.offline.market.shop.modify";

fn shopsync(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    c.current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("SHOPSYNC_CONFIG")
        .env_remove("SHOPSYNC_APP_AUTH_TOKEN")
        .stdin(Stdio::null())
        .args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `shopsync --config shopsync.toml ARGS` in `dir`, asserting the exit code.
fn run_ok(dir: &Path, args: &[&str], code: i32) -> Output {
    let mut all = vec!["--config", "shopsync.toml"];
    all.extend_from_slice(args);
    let out = shopsync(dir, &all, &[]);
    assert_eq!(
        out.status.code(),
        Some(code),
        "shopsync {args:?}\nstdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

fn writes(sim: &SimHandle) -> (u64, u64) {
    let c = sim.call_counts();
    (
        c.get(CREATE).copied().unwrap_or(0),
        c.get(MODIFY).copied().unwrap_or(0),
    )
}

fn csv(rows: &[String]) -> String {
    let mut s = format!("{HEADER}\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

fn with_phone(n: usize, phone: &str) -> String {
    row(n).replace(&format!("021-6288{n:04}"), phone)
}

fn shop_of(sim: &SimHandle, store: &str) -> shopsync::sim::SimShop {
    sim.shops()
        .into_iter()
        .find(|s| s.store_id == store)
        .unwrap_or_else(|| panic!("no shop for {store}"))
}

fn runs_json(dir: &Path) -> serde_json::Value {
    let out = run_ok(dir, &["audit", "runs", "--format", "json"], 0);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A chain of `n` stores, synced and audited, in a fresh directory.
async fn synced_chain(n: usize) -> (SimHandle, tempfile::TempDir) {
    let sim = real_time_sim(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &sim.gateway_url(), "", &csv_of(n));
    run_ok(dir.path(), &["sync", "--wait", "20s"], 0);
    assert_eq!(sim.shops().len(), n);
    (sim, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_plan_applies_exactly_the_reviewed_writes_and_never_twice() {
    let (sim, dir) = synced_chain(4).await;
    let d = dir.path();
    // Reviewed: ST-0001's phone and ST-0002's address change; ST-0005 and ST-0006 are new.
    let reviewed = csv(&[
        with_phone(1, "021-62889991"),
        row(2).replace("南京西路2号", "南京西路200号"),
        row(3),
        row(4),
        row(5),
        row(6),
    ]);
    std::fs::write(d.join("stores.csv"), &reviewed).unwrap();
    let shown = run_ok(d, &["plan"], 2);
    let planned = run_ok(d, &["plan", "--out", "plan.json"], 2);
    assert_eq!(
        text(&planned.stdout),
        text(&shown.stdout),
        "plan --out shows the plan as plan does"
    );
    assert!(
        text(&planned.stderr).contains("Plan saved to plan.json"),
        "{}",
        text(&planned.stderr)
    );
    assert!(d.join("plan.json").is_file());

    // After the review, the export moves on: ST-0003 changes and ST-0007 appears. Neither
    // was reviewed, so neither is written.
    let mut later = reviewed.clone();
    later = later.replace(&row(3), &with_phone(3, "021-62889993"));
    later.push_str(&row(7));
    later.push('\n');
    std::fs::write(d.join("stores.csv"), later).unwrap();
    let before = writes(&sim);
    let applied = run_ok(d, &["sync", "--plan", "plan.json", "--wait", "20s"], 0);
    let stdout = text(&applied.stdout);
    assert!(stdout.contains("2 created, 2 modified"), "{stdout}");
    let after = writes(&sim);
    assert_eq!((after.0 - before.0, after.1 - before.1), (2, 2));
    assert!(sim.shops().iter().all(|s| s.store_id != "ST-0007"));
    assert_eq!(
        shop_of(&sim, "ST-0003")
            .fields
            .get("contact_number")
            .map(String::as_str),
        Some("021-62880003"),
        "the unreviewed change was not sent"
    );
    assert_eq!(
        shop_of(&sim, "ST-0001")
            .fields
            .get("contact_number")
            .map(String::as_str),
        Some("021-62889991")
    );
    assert_eq!(
        shop_of(&sim, "ST-0002")
            .fields
            .get("address")
            .map(String::as_str),
        Some("南京西路200号")
    );
    for store in ["ST-0005", "ST-0006"] {
        assert_eq!(
            sim.shops().iter().filter(|s| s.store_id == store).count(),
            1
        );
    }

    // The same plan again: its writes are done, so every one of its stores moved; nothing
    // is sent twice.
    let again = run_ok(d, &["sync", "--plan", "plan.json"], 3);
    let err = text(&again.stderr);
    assert!(
        err.contains("4 stores of the saved plan were skipped"),
        "{err}"
    );
    assert_eq!(
        writes(&sim),
        after,
        "nothing written by the second sync --plan"
    );
    for store in ["ST-0005", "ST-0006"] {
        assert_eq!(
            sim.shops().iter().filter(|s| s.store_id == store).count(),
            1
        );
    }
    // A plain sync afterwards sends what was not reviewed.
    run_ok(d, &["sync"], 0);
    assert_eq!(
        writes(&sim),
        (after.0 + 1, after.1 + 1),
        "ST-0007 created, ST-0003 modified"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_that_moved_since_the_plan_are_stale_exit_3_and_the_others_are_applied() {
    let (sim, dir) = synced_chain(3).await;
    let d = dir.path();
    std::fs::write(
        d.join("stores.csv"),
        csv(&[
            with_phone(1, "021-62889991"),
            with_phone(2, "021-62889992"),
            with_phone(3, "021-62889993"),
            row(4),
            row(5),
        ]),
    )
    .unwrap();
    run_ok(d, &["plan", "--out", "plan.json"], 2);

    // In between: ST-0001's row changes again, ST-0002's shop is edited on Alipay (the
    // simulator's control endpoint), ST-0005 leaves the export.
    std::fs::write(
        d.join("stores.csv"),
        csv(&[
            with_phone(1, "021-62880111"),
            with_phone(2, "021-62889992"),
            with_phone(3, "021-62889993"),
            row(4),
        ]),
    )
    .unwrap();
    let shop2 = shop_of(&sim, "ST-0002").shop_id;
    let resp = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("http://{}/__sim/edit", sim.addr()))
        .json(&serde_json::json!({"shop_id": shop2, "field": "address", "value": "淮海中路9号"}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{:?}", resp.text().await);

    let before = writes(&sim);
    let out = run_ok(d, &["sync", "--plan", "plan.json", "--wait", "20s"], 3);
    let err = text(&out.stderr);
    assert!(
        err.contains("3 stores of the saved plan were skipped"),
        "{err}"
    );
    assert!(err.contains("ST-0001 (its export row changed)"), "{err}");
    assert!(
        err.contains("ST-0002 (its shop on Alipay changed)"),
        "{err}"
    );
    assert!(
        err.contains("ST-0005 (it is no longer in the export)"),
        "{err}"
    );
    let after = writes(&sim);
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (1, 1),
        "ST-0004 created and ST-0003 modified, nothing else"
    );
    assert!(sim.shops().iter().any(|s| s.store_id == "ST-0004"));
    assert!(sim.shops().iter().all(|s| s.store_id != "ST-0005"));
    assert_eq!(
        shop_of(&sim, "ST-0002")
            .fields
            .get("address")
            .map(String::as_str),
        Some("淮海中路9号"),
        "the stale modify was not sent"
    );
    let runs = runs_json(d);
    assert_eq!(runs[0]["status"], "partial", "{runs}");
    let recorded = runs[0]["error"].as_str().unwrap_or_default();
    assert!(
        recorded.contains("stale") && recorded.contains("ST-0002"),
        "{runs}"
    );
    // `show` of the sync's plan says why each stale store was not written.
    let shown = run_ok(
        d,
        &["sync", "--plan", "plan.json", "--show-plan", "table"],
        3,
    );
    let table = text(&shown.stdout);
    assert!(
        table.contains("stale: the saved plan's modify was not sent, its export row changed"),
        "{table}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_for_another_target_too_old_or_changed_is_refused_before_anything_runs() {
    let (sim, dir) = synced_chain(2).await;
    let d = dir.path();
    std::fs::write(d.join("stores.csv"), csv_of(3)).unwrap();
    run_ok(d, &["plan", "--out", "plan.json"], 2);
    let file = std::fs::read_to_string(d.join("plan.json")).unwrap();
    let (body, _) = unseal(Path::new("plan.json"), &file).unwrap();
    let body = body.to_string();
    let made_at = {
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["header"]["made_at"].as_str().unwrap().to_string()
    };
    let day_before =
        chrono::DateTime::parse_from_rfc3339(&made_at).unwrap() - chrono::Duration::hours(25);
    let day_before = day_before
        .to_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let forged = |from: &str, to: &str| {
        assert!(body.contains(from), "{from} not in the plan");
        seal(&body.replacen(from, to, 1))
    };
    let one_byte = {
        let mut bytes = file.clone().into_bytes();
        let at = file.find("南京西路3号").unwrap() + "南京西路".len();
        bytes[at] = b'4';
        String::from_utf8(bytes).unwrap()
    };
    let runs_before = runs_json(d).as_array().unwrap().len();
    let writes_before = writes(&sim);
    let other_gateway = "http://127.0.0.1:9/gateway.do";
    // (file text, environment, what stderr must say)
    let cases: Vec<(String, Env<'_>, String)> = vec![
        (
            file.clone(),
            vec![("SHOPSYNC_ALIPAY_APP_ID", "2021000000000002")],
            "is for app id \"2021000000000001\", not \"2021000000000002\"".into(),
        ),
        (
            file.clone(),
            vec![("SHOPSYNC_ALIPAY_GATEWAY", other_gateway)],
            format!(
                "is for gateway \"{}\", not \"{other_gateway}\"",
                sim.gateway_url()
            ),
        ),
        (
            forged("\"merchant\":\"\"", "\"merchant\":\"鲜果坊\""),
            vec![],
            "is for merchant \"鲜果坊\", not \"\"".into(),
        ),
        (
            forged(&made_at, &day_before),
            vec![],
            "ago (".to_string() + &day_before[..19],
        ),
        (
            one_byte,
            vec![],
            "was changed or damaged after it was written".into(),
        ),
        (
            file[..file.len() / 2].to_string(),
            vec![],
            "is not a saved plan".into(),
        ),
    ];
    for (content, env, expected) in &cases {
        std::fs::write(d.join("refused.json"), content).unwrap();
        let out = shopsync(
            d,
            &[
                "--config",
                "shopsync.toml",
                "sync",
                "--plan",
                "refused.json",
            ],
            env,
        );
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{expected}: {err}");
        assert!(
            err.contains(expected.as_str()),
            "wanted {expected:?} in:\n{err}"
        );
    }
    assert_eq!(writes(&sim), writes_before, "a refused plan writes nothing");
    assert_eq!(
        runs_json(d).as_array().unwrap().len(),
        runs_before,
        "a refused plan starts no run"
    );

    // The digest is not a signature: whoever can write the file can seal an edited plan,
    // and it is then accepted (here: the 25-hour-old one, within --max-age 2d).
    std::fs::write(d.join("old.json"), forged(&made_at, &day_before)).unwrap();
    let refused = shopsync(
        d,
        &["--config", "shopsync.toml", "sync", "--plan", "old.json"],
        &[],
    );
    assert!(
        text(&refused.stderr).contains("more than --max-age 1day"),
        "{}",
        text(&refused.stderr)
    );
    run_ok(d, &["sync", "--plan", "old.json", "--max-age", "2d"], 0);
    assert_eq!(writes(&sim).0, writes_before.0 + 1);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_plan_reads_a_saved_plan_back_in_each_format_without_a_config() {
    let (sim, dir) = synced_chain(2).await;
    let d = dir.path();
    std::fs::write(
        d.join("stores.csv"),
        csv(&[with_phone(1, "021-62889991"), row(2), row(3)]),
    )
    .unwrap();
    let json = run_ok(d, &["plan", "--format", "json", "--out", "plan.json"], 2);
    let table = run_ok(d, &["plan"], 2);
    let table_all = run_ok(d, &["plan", "--all"], 2);
    let csv_out = run_ok(d, &["plan", "--format", "csv"], 2);
    let elsewhere = tempfile::tempdir().unwrap();
    let plan = d.join("plan.json");
    let plan = plan.to_str().unwrap();
    let show = |args: &[&str]| {
        let mut all = vec!["show-plan", plan];
        all.extend_from_slice(args);
        let out = shopsync(elsewhere.path(), &all, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    assert_eq!(show(&["--format", "json"]), text(&json.stdout));
    assert_eq!(show(&["--format", "csv"]), text(&csv_out.stdout));
    let shown = show(&[]);
    let (first, rest) = shown.split_once('\n').unwrap();
    assert!(
        first.starts_with(&format!("Saved plan {plan}: made ")),
        "{first}"
    );
    assert!(
        first.contains("app 2021000000000001, merchant -, gateway http://127.0.0.1:")
            && first.contains("digest sha256:"),
        "{first}"
    );
    assert_eq!(rest, text(&table.stdout));
    assert!(
        rest.contains("Plan: 1 to create, 1 to modify, 1 unchanged"),
        "{rest}"
    );
    let all = show(&["--all"]);
    assert_eq!(all.split_once('\n').unwrap().1, text(&table_all.stdout));
    assert!(all.contains("unchanged"), "{all}");

    let mut tampered = std::fs::read(d.join("plan.json")).unwrap();
    let at = tampered.len() / 2;
    tampered[at] = tampered[at].wrapping_add(1);
    std::fs::write(elsewhere.path().join("bad.json"), tampered).unwrap();
    let out = shopsync(elsewhere.path(), &["show-plan", "bad.json"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("bad.json"),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    sim.shutdown().await;
}
