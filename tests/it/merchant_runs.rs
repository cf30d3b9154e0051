//! Saved plans, HTML reports and alerts of an ISV config (`[[merchant]]` tables) through
//! the real binary: `plan --out` and `sync --report` write one file per merchant, named
//! after it; a saved plan is its merchant's (refused for another, exit 1; without
//! `--merchant` only its merchant runs); `report RUN --html` and the alerts name the
//! merchant of the run.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use shopsync::sim::SimHandle;

use crate::alerts::robots::{live, webhook, HOOK_SECRET};
use crate::daemon_e2e::proc::{real_time_sim, BIN};
use crate::support::export::{row, HEADER};
use crate::support::http_receiver::{Received, Receiver};
use crate::support::keys::key_file;

const ACME_TOKEN: &str = "202612BBacmeTOKEN0001";
const BRAVO_TOKEN: &str = "202612BBbravoTOKEN002";
const CREATE: &str = "alipay.offline.market.shop.create";

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `shopsync --config shopsync.toml ARGS` in `dir`, asserting the exit code.
pub(crate) fn run(dir: &Path, args: &[&str], code: i32) -> Output {
    let out = Command::new(BIN)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("SHOPSYNC_CONFIG")
        .env_remove("SHOPSYNC_APP_AUTH_TOKEN")
        .stdin(Stdio::null())
        .args(["--config", "shopsync.toml"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "shopsync {args:?}\nstdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// Bravo's stores: `BR-0101`… (their own ids, addresses and phones).
fn bravo_row(n: usize) -> String {
    row(100 + n).replace("ST-0", "BR-0")
}

fn csv(rows: &[String]) -> String {
    let mut s = format!("{HEADER}\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

/// The config: one app, merchants `acme` and `bravo` (`names`: their names in this
/// order), each with its token file and export, and a signed webhook.
/// The stores use the two example image ids (the simulator opts in to them): two distinct
/// audit photos, so `[sync] min_audit_images = 2`.
fn write_config(dir: &Path, gateway: &str, hook: &str, names: [&str; 2]) {
    let defaults = "category_id = \"2015050700000018\"\nbrand_name = \"鲜果坊\"\nmain_shop_name = \"鲜果坊\"\nmain_image = \"1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC\"\naudit_images = \"1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC,4Q8Pp00AT7eo9NoAJkMR3AAAACMAAUYT\"\n";
    let mut toml = format!(
        "[alipay]\ngateway = \"{gateway}\"\napp_id = \"2021000000000001\"\napp_private_key = \"{}\"\nalipay_public_key = \"{}\"\nconnect_timeout = \"2s\"\nrequest_timeout = \"5s\"\n\n\
         [rate_limit]\nqps = 1000\n\n[audit]\ndatabase = \"audit.db\"\n\n\
         [sync]\nmin_audit_images = 2\n\n\
         [[alert]]\nkind = \"webhook\"\nurl = \"{hook}\"\nsecret_file = \"hook.secret\"\ntimeout = \"5s\"\n",
        key_file("app_private_pkcs8.pem").display(),
        key_file("alipay_public.pem").display(),
    );
    for (name, file) in names.iter().zip(["acme", "bravo"]) {
        toml.push_str(&format!(
            "\n[[merchant]]\nname = \"{name}\"\napp_auth_token_file = \"{file}.token\"\n\n[merchant.source]\npath = \"{file}.csv\"\n\n[merchant.source.defaults]\n{defaults}"
        ));
    }
    std::fs::write(dir.join("shopsync.toml"), toml).unwrap();
    std::fs::write(dir.join("acme.token"), ACME_TOKEN).unwrap();
    std::fs::write(dir.join("bravo.token"), BRAVO_TOKEN).unwrap();
    std::fs::write(dir.join("hook.secret"), HOOK_SECRET).unwrap();
}

fn creates(sim: &SimHandle) -> u64 {
    sim.call_counts().get(CREATE).copied().unwrap_or(0)
}

fn runs(dir: &Path) -> Vec<serde_json::Value> {
    let out = run(dir, &["audit", "runs", "--format", "json"], 0);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array().unwrap().clone()
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The `Merchant` row of a report's header, e.g. `<th …>Merchant</th><td>acme</td>`.
fn header_merchant(page: &str) -> Option<String> {
    let at = page.find(">Merchant</th><td>")? + ">Merchant</th><td>".len();
    let end = page[at..].find("</td>")?;
    Some(page[at..at + end].to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_reports_and_alerts_of_each_merchant_are_its_own() {
    let hook = Receiver::start(live(|s, at| Box::new(webhook(s, at)), HOOK_SECRET)).await;
    let sim = real_time_sim(|c| {
        c.app_auth_tokens = vec![ACME_TOKEN.into(), BRAVO_TOKEN.into()];
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let hook_url = hook.url("/hooks/shopsync");
    write_config(d, &sim.gateway_url(), &hook_url, ["acme", "bravo"]);
    std::fs::write(d.join("acme.csv"), csv(&[row(1), row(2)])).unwrap();
    std::fs::write(d.join("bravo.csv"), csv(&[bravo_row(1), bravo_row(2)])).unwrap();

    // Both merchants sync; `--report` writes one page per merchant, named after it.
    let out = run(d, &["sync", "--wait", "20s", "--report", "report.html"], 0);
    let err = text(&out.stderr);
    assert!(!d.join("report.html").exists(), "{err}");
    let acme_page = read(d, "report.acme.html");
    let bravo_page = read(d, "report.bravo.html");
    assert_eq!(header_merchant(&acme_page).as_deref(), Some("acme"));
    assert_eq!(header_merchant(&bravo_page).as_deref(), Some("bravo"));
    assert!(acme_page.contains("ST-0001") && acme_page.contains("ST-0002"));
    assert!(
        !acme_page.contains("BR-0"),
        "bravo's stores in acme's report"
    );
    assert!(bravo_page.contains("BR-0101") && !bravo_page.contains("ST-000"));
    assert!(hook.received().is_empty(), "two clean runs alert nothing");

    // acme gets a new store, bravo a bad row. `plan --out` saves each merchant's plan.
    std::fs::write(d.join("acme.csv"), csv(&[row(1), row(2), row(3)])).unwrap();
    let bad = bravo_row(3).replace("021-62880103", "call-us");
    std::fs::write(
        d.join("bravo.csv"),
        csv(&[bravo_row(1), bravo_row(2), bad.clone()]),
    )
    .unwrap();
    let planned = run(d, &["plan", "--out", "plan.json"], 2);
    let stdout = text(&planned.stdout);
    assert!(stdout.contains("Merchant acme:") && stdout.contains("Merchant bravo:"));
    assert!(!d.join("plan.json").exists());
    let shown = run(d, &["show-plan", "plan.acme.json"], 0);
    let shown = text(&shown.stdout);
    let first = shown.lines().next().unwrap_or_default();
    assert!(first.contains("merchant acme,"), "{first}");
    assert!(shown.contains("Merchant acme:") && shown.contains("ST-0003"));
    assert!(!shown.contains("BR-0"), "{shown}");
    let json = run(d, &["show-plan", "plan.bravo.json", "--format", "json"], 0);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["merchant"], "bravo", "{json}");

    // acme's plan, applied as bravo's: refused before anything runs.
    let (runs_before, creates_before) = (runs(d).len(), creates(&sim));
    let refused = run(
        d,
        &["sync", "--plan", "plan.acme.json", "--merchant", "bravo"],
        1,
    );
    let err = text(&refused.stderr);
    assert!(
        err.contains("is for merchant \"acme\", not \"bravo\""),
        "{err}"
    );
    // A config whose merchants are now named otherwise: refused too, naming them.
    write_config(d, &sim.gateway_url(), &hook_url, ["acme-sh", "bravo"]);
    let refused = run(d, &["sync", "--plan", "plan.acme.json"], 1);
    let err = text(&refused.stderr);
    assert!(
        err.contains("is for merchant \"acme\", not \"acme-sh, bravo\""),
        "{err}"
    );
    assert_eq!(
        (runs(d).len(), creates(&sim)),
        (runs_before, creates_before)
    );

    // Without --merchant, only the plan's merchant runs: ST-0003 is created, bravo's bad
    // row does not make a run.
    write_config(d, &sim.gateway_url(), &hook_url, ["acme", "bravo"]);
    let applied = run(d, &["sync", "--plan", "plan.acme.json", "--wait", "20s"], 0);
    let stdout = text(&applied.stdout);
    assert!(stdout.contains("merchant acme: "), "{stdout}");
    assert!(!stdout.contains("merchant bravo"), "{stdout}");
    assert_eq!(creates(&sim), creates_before + 1);
    assert!(sim.shops().iter().any(|s| s.store_id == "ST-0003"));
    let after = runs(d);
    assert_eq!(after.len(), runs_before + 1);
    assert_eq!(after[0]["merchant"], "acme", "{:?}", after[0]);
    assert!(
        hook.received().is_empty(),
        "acme's clean run alerts nothing"
    );

    // bravo's partial run: one alert, naming bravo.
    run(d, &["sync", "--merchant", "bravo"], 3);
    let bravo_run = runs(d)[0].clone();
    assert_eq!(bravo_run["merchant"], "bravo");
    let run_id = bravo_run["id"].as_i64().unwrap();
    let bodies: Vec<serde_json::Value> = hook.received().iter().map(Received::json).collect();
    assert_eq!(bodies.len(), 1, "{bodies:#?}");
    let b = &bodies[0];
    assert_eq!(b["event"], "run_partial", "{b}");
    assert_eq!(b["merchant"], "bravo", "{b}");
    assert_eq!(b["run_id"], run_id, "{b}");
    assert!(b["title"].as_str().unwrap().contains("(bravo)"), "{b}");
    assert_eq!(b["command"], format!("shopsync audit show {run_id}"));

    // The report of bravo's run, from the audit store: bravo's, with its rejected row.
    let html = format!("run-{run_id}.html");
    run(d, &["report", &run_id.to_string(), "--html", &html], 0);
    let page = read(d, &html);
    assert_eq!(header_merchant(&page).as_deref(), Some("bravo"));
    assert!(
        page.contains("BR-0103") && page.contains("call-us"),
        "{page}"
    );
    assert!(!page.contains("ST-000"), "acme's stores in bravo's report");
    sim.shutdown().await;
}
