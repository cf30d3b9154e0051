//! `shopsync report RUN --html FILE` and `sync --report FILE` through the real binary,
//! read back in headless Chromium: the run header, per-field old → new of a modify (the
//! old values recorded with the write, migration 5), a create, a rejection by Alipay's
//! audit with its reason, a rejected export row, blocked and remote-only stores (from the
//! plan with `sync --report`, a note with `report RUN`), pending applications with their
//! age, and the note for photos.

use std::path::Path;

use shopsync::sim::ForcedOutcome;

use crate::daemon_e2e::proc::{real_time_sim, write_files};
use crate::merchant_runs::run;
use crate::support::chromium::{dump_dom, text_content};
use crate::support::export::{csv_of, row, HEADER};

/// The page's text in Chromium, which must load it without a console message.
fn page_text(page: &Path) -> String {
    let loaded = dump_dom(page);
    assert!(loaded.console.is_empty(), "console: {:#?}", loaded.console);
    assert!(!loaded.dom.contains("<script"));
    text_content(&loaded.dom)
}

fn assert_has(text: &str, wanted: &[&str]) {
    for w in wanted {
        assert!(text.contains(w), "missing {w:?} in:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_report_and_report_run_show_what_the_run_did_in_a_browser() {
    let sim = real_time_sim(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_files(d, &sim.gateway_url(), "", &csv_of(3));
    run(d, &["sync", "--wait", "20s"], 0);
    // A shop on Alipay that the export does not list.
    let mut fields = std::collections::BTreeMap::new();
    for (k, v) in [
        ("main_shop_name", "鲜果坊"),
        ("branch_shop_name", "旧店"),
        ("address", "淮海中路1号"),
    ] {
        fields.insert(k.to_string(), v.to_string());
    }
    let old_shop = sim.seed_shop("ST-9999", fields);
    // Run 2: ST-0001's phone changes (a modify), ST-0002 moves to Beijing (blocked: a
    // shop's city cannot change), ST-0004 is new and its audit is rejected, ST-0005 is new,
    // ST-0006's row is bad.
    sim.force_outcome("ST-0004", ForcedOutcome::Fail("门头照不清晰".into()));
    let csv = format!(
        "{HEADER}\n{}\n{}\n{}\n{}\n{}\n{}\n",
        row(1).replace("021-62880001", "021-62889991"),
        row(2).replace("310000,310100,310106", "110000,110100,110101"),
        row(3),
        row(4),
        row(5),
        row(6).replace("021-62880006", "call-us"),
    );
    std::fs::write(d.join("stores.csv"), csv).unwrap();
    let out = run(d, &["sync", "--wait", "20s", "--report", "run2.html"], 3);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Report written to run2.html"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = page_text(&d.join("run2.html"));
    assert_has(
        &page,
        &[
            "shopsync sync run 2 — partial",
            "Exit code 3",
            "App id 2021000000000001",
            "+08:00",
            // The modify with its old value, recorded when the write was sent.
            "Modified (1)",
            "contact_number 021-62880001 021-62889991",
            "Created (1) Store Shop name Apply id ST-0005 鲜果坊(分店0005号)",
            // Alipay's audit rejected ST-0004's create.
            "Failed (1)",
            "ST-0004 create audit rejected",
            "门头照不清晰",
            "Rejected rows (not sent) (1)",
            "stores.csv 7 ST-0006 contact_number",
            "call-us",
            "Blocked (1)",
            "ST-0002",
            "On Alipay only (left alone) (1)",
            &old_shop,
            "Photos uploaded (0) Photo uploads are not recorded in the audit store yet",
        ],
    );
    assert!(
        !page.contains("The audit store does not keep these"),
        "{page}"
    );

    // The same run from the audit store alone: blocked and remote-only are a note.
    run(d, &["report", "2", "--html", "again.html"], 0);
    let again = page_text(&d.join("again.html"));
    assert_has(
        &again,
        &[
            "shopsync sync run 2 — partial",
            "Exit code 3",
            "contact_number 021-62880001 021-62889991",
            "ST-0004 create audit rejected",
            "stores.csv 7 ST-0006 contact_number",
            "Blocked (0) The audit store does not keep these (1 in this run)",
            "On Alipay only (left alone) (0) The audit store does not keep these (1 in this run)",
        ],
    );

    // Run 3, without waiting: ST-0007's create is still under audit, with its age.
    let mut csv = std::fs::read_to_string(d.join("stores.csv")).unwrap();
    csv.push_str(&row(7));
    csv.push('\n');
    std::fs::write(d.join("stores.csv"), csv).unwrap();
    run(d, &["sync", "--report", "run3.html"], 3);
    let page = page_text(&d.join("run3.html"));
    assert_has(&page, &["Pending audit (1)", "ST-0007", "create"]);
    // "… ST-0007 - <apply id> create <status> <submitted> +08:00 <age> Blocked …": the
    // row ends with the application's age in seconds.
    let pending = page.split("Pending audit (1)").nth(1).unwrap();
    let pending = pending.split("Blocked").next().unwrap();
    let age = pending.rsplit("+08:00 ").next().unwrap().trim();
    assert!(
        age.ends_with('s') && age[..age.len() - 1].chars().all(|c| c.is_ascii_digit()),
        "an age in seconds at the end of {pending:?}"
    );

    // A run that does not exist: exit 1, naming it; a file that cannot be written: 74.
    let missing = run(d, &["report", "99", "--html", "x.html"], 1);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("run 99"));
    let unwritable = run(d, &["report", "2", "--html", "no/such/dir/r.html"], 74);
    assert!(String::from_utf8_lossy(&unwritable.stderr).contains("no/such/dir/r.html"));
    sim.shutdown().await;
}
