//! Saved plans with photos (invariant 9): a planned write names each photo by file and
//! content hash, so a photo whose bytes change between `plan --out` and `sync --plan`
//! makes its store stale: neither that photo nor that store's write is sent, while the
//! other stores' photos are uploaded and their shops created as reviewed.

use std::process::{Command, Stdio};

use super::*;
use crate::daemon_e2e::proc::{real_time_sim, BIN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_changed_after_the_plan_was_saved_makes_its_store_stale() {
    let sim = real_time_sim(|c| c.preload_example_images = false).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("shopsync.toml"),
        Harness::config_text(&sim.gateway_url(), "[sync]\nmin_audit_images = 3\n"),
    )
    .unwrap();
    let mut rows = standard_rows(3);
    let own: &[&str] = &[
        "images/own-front.jpg",
        "images/counter.jpg",
        "images/seating.png",
    ];
    rows[1] = (2, "images/own-front.jpg", own);
    std::fs::write(d.join("stores.csv"), photo_csv(&rows)).unwrap();
    for (name, sample_name) in [
        ("images/front.jpg", "storefront-sh.jpg"),
        ("images/counter.jpg", "interior-counter.jpg"),
        ("images/seating.png", "interior-seating.png"),
        ("images/own-front.jpg", "storefront-bj.jpg"),
    ] {
        let path = d.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, sample(sample_name)).unwrap();
    }
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .current_dir(d)
            .env_remove("RUST_LOG")
            .env_remove("SHOPSYNC_CONFIG")
            .env_remove("SHOPSYNC_APP_AUTH_TOKEN")
            .stdin(Stdio::null())
            .arg("--config")
            .arg("shopsync.toml")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let (code, json, err) = run(&["plan", "--format", "json", "--out", "plan.json"]);
    assert_eq!(code, Some(2), "{json}{err}");
    assert_eq!(sim.call_counts().get(UPLOAD), None, "plan uploads nothing");
    assert!(json.contains("\"photos\":[{\"sha256\""), "{json}");
    // The saved plan shows what `plan` showed, photos and category names included.
    let (code, shown, err) = run(&["show-plan", "plan.json", "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(shown, json);
    // Store 2's storefront is re-exported with other bytes after the review.
    std::fs::write(d.join("images/own-front.jpg"), sample("storefront-hz.jpg")).unwrap();

    let (code, out, err) = run(&["sync", "--plan", "plan.json"]);
    let out = out + &err;
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("ST-0002"), "the stale store is named: {out}");
    let calls = sim.call_counts();
    assert_eq!(
        calls.get(UPLOAD),
        Some(&3),
        "front, counter, seating; not the changed photo: {calls:?}"
    );
    assert_eq!(
        calls.get("alipay.offline.market.shop.create"),
        Some(&2),
        "{calls:?}"
    );
    let created: Vec<String> = sim.orders().into_iter().map(|o| o.store_id).collect();
    assert!(
        !created.iter().any(|s| s == "ST-0002"),
        "no write for the stale store: {created:?}"
    );
    sim.shutdown().await;
}
