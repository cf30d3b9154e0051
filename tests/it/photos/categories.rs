//! The category check: category.query for the ids the export uses (cached a day per app),
//! rows with an unknown or non-leaf category rejected naming the row and the id, names in
//! the plan; `validate --online` does the same and one signed read, `validate` alone
//! sends nothing.

use std::process::Command;

use assert_cmd::prelude::*;
use shopsync::exit::Exit;

use super::*;
use crate::support::export::csv_of;
use crate::support::sim::{start_sim, system_clock};

fn category_csv(categories: &[&str]) -> String {
    let mut s = format!("{HEADER},category_id,main_image,audit_images\n");
    for (i, c) in categories.iter().enumerate() {
        s.push_str(&format!(
            "{},{c},images/front.jpg,\"images/front.jpg,images/counter.jpg,images/seating.png\"\n",
            row(i + 1)
        ));
    }
    s
}

fn category_calls(h: &Harness) -> u64 {
    h.sim.call_counts().get(CATEGORY).copied().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_with_an_unknown_or_non_leaf_category_are_rejected_naming_row_and_id() {
    let csv = category_csv(&["2015050700000018", "2015050700000000", "2015050799999999"]);
    let h = photo_harness(csv, "").await;
    write_standard_photos(&h);
    let r = h.sync().await;
    assert_eq!(r.exit, Exit::Partial, "{:?}", r.message);
    assert_eq!(r.summary.created, 1);
    let rejected = rejects(&r);
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    assert_eq!(rejected[0].0, "ST-0002");
    assert_eq!(rejected[0].1, "category_id");
    assert!(
        rejected[0].2.starts_with(
            "category 2015050700000000 (美食) is not a leaf category; Alipay takes only the most specific ones, e.g. 2015050700000010 美食-火锅"
        ),
        "{}",
        rejected[0].2
    );
    assert_eq!(
        rejected[1],
        (
            "ST-0003".to_string(),
            "category_id".to_string(),
            "category 2015050799999999 is not a category Alipay knows (category.query)".to_string()
        )
    );
    let stored = h.ctx.db.rejects(Some(r.run)).unwrap();
    assert_eq!(stored[0].line, 3, "the row is named by its line");
    assert_eq!(stored[0].value.as_deref(), Some("2015050700000000"));
    assert_eq!(
        r.plan
            .categories
            .get("2015050700000018")
            .map(String::as_str),
        Some("美食-中餐-江浙菜")
    );
    // The non-leaf's answer listed its subtree: the leaf needed no call of its own.
    assert_eq!(category_calls(&h), 2);
    assert_eq!(
        uploads(&h),
        3,
        "rejected rows' photos are read but never uploaded"
    );

    // Within a day the answers are reused (an unknown id is asked again).
    let again = h.plan().await;
    assert_eq!(rejects(&again).len(), 2);
    assert_eq!(category_calls(&h), 3);
    // A day later they are asked again.
    h.clock.advance(chrono::Duration::hours(25));
    let later = h.plan().await;
    assert_eq!(rejects(&later).len(), 2);
    assert_eq!(category_calls(&h), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_online_checks_categories_with_one_signed_read_and_validate_alone_sends_nothing() {
    // The binary signs with the real clock.
    let sim = start_sim(system_clock(), |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("shopsync.toml");
    std::fs::write(&config, Harness::config_text(&sim.gateway_url(), "")).unwrap();
    let csv = csv_of(3).replacen(
        &format!("{HEADER}\n"),
        &format!("{HEADER},category_id\n"),
        1,
    );
    let mut lines: Vec<String> = csv.lines().map(str::to_string).collect();
    lines[1].push_str(",2015050700000000");
    lines[2].push_str(",2015050700000018");
    lines[3].push_str(",2015050700000000");
    std::fs::write(dir.path().join("stores.csv"), lines.join("\n") + "\n").unwrap();
    let run = |args: &[&str]| {
        Command::cargo_bin("shopsync")
            .unwrap()
            .env_remove("RUST_LOG")
            .env_remove("SHOPSYNC_CONFIG")
            .env_remove("SHOPSYNC_APP_AUTH_TOKEN")
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap()
    };

    let offline = run(&["validate"]);
    assert_eq!(
        offline.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&offline.stderr)
    );
    assert!(
        sim.call_counts().is_empty(),
        "validate alone sends nothing: {:?}",
        sim.call_counts()
    );

    let online = run(&["validate", "--online"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&online.stdout),
        String::from_utf8_lossy(&online.stderr),
    );
    assert_eq!(online.status.code(), Some(78), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Alipay answered a signed read (summary.batchquery, app 2021000000000001): 0 shop(s) listed."),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "Category 2015050700000018 (美食-中餐-江浙菜): a leaf Alipay takes, used by 1 row(s)."
        ),
        "{stdout}"
    );
    assert!(
        stderr.contains("category 2015050700000000 (美食) is not a leaf category")
            && stderr.contains("2 row(s): line 2 store ST-0001, line 4 store ST-0003"),
        "{stderr}"
    );
    let calls = sim.call_counts();
    assert_eq!(
        calls.get("alipay.offline.market.shop.summary.batchquery"),
        Some(&1)
    );
    assert!(calls.get(CATEGORY).is_some_and(|n| *n >= 1), "{calls:?}");
    assert!(
        !dir.path().join("audit.db").exists(),
        "validate --online writes no audit store"
    );

    // Fixed: valid.
    std::fs::write(dir.path().join("stores.csv"), csv_of(3)).unwrap();
    let fixed = run(&["validate", "--online"]);
    assert_eq!(
        fixed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&fixed.stderr)
    );
    sim.shutdown().await;
}
