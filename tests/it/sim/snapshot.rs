//! Issued image ids survive a snapshot, per merchant; version 1 files (one image list)
//! still load.

use serde_json::{json, Value};

use super::client::*;

/// The sub_code of a create whose photos are all `id` ("" when accepted).
async fn with_image(c: &Client, id: &str, store: &str, req: &str) -> String {
    let mut b = create_biz(store, req);
    b["main_image"] = json!(id);
    b["audit_images"] = json!(id);
    c.call(CREATE, b).await.sub_code().to_string()
}

#[tokio::test]
async fn issued_images_are_kept_per_merchant_in_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.json");
    let tokens = |cfg: &mut shopsync::sim::SimConfig| {
        cfg.preload_example_images = false;
        cfg.app_auth_tokens = vec!["tokA".into()];
    };
    let (h, mut c) = setup(tokens).await;
    let own = c.upload("jpg", vec![1; 10]).await.field("image_id");
    c.token = Some("tokA".into());
    let theirs = c.upload("jpg", vec![2; 10]).await.field("image_id");
    h.save_snapshot(&path).unwrap();
    h.shutdown().await;

    let text = std::fs::read_to_string(&path).unwrap();
    let saved: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(saved["version"], 2);
    assert_eq!(
        saved["images"].as_object().unwrap().len(),
        2,
        "{}",
        saved["images"]
    );

    let p = path.clone();
    let (h, mut c) = setup(move |cfg| {
        tokens(cfg);
        cfg.snapshot = Some(p);
    })
    .await;
    c.token = Some("tokA".into());
    assert_eq!(
        with_image(&c, &own, "S1", "r1").await,
        "SHOP_CREATE_INVALID_PARAM"
    );
    assert_eq!(with_image(&c, &theirs, "S1", "r2").await, "");
    c.token = None;
    assert_eq!(with_image(&c, &own, "S2", "r3").await, "");
    h.shutdown().await;

    // Version 1 kept one list, the two example ids in it whether uploaded or not.
    let mut v1 = saved.clone();
    v1["version"] = json!(1);
    v1["images"] = json!([own, IMG1]);
    let old = dir.path().join("v1.json");
    std::fs::write(&old, v1.to_string()).unwrap();
    let (h, mut c) = setup(move |cfg| {
        tokens(cfg);
        cfg.snapshot = Some(old);
    })
    .await;
    assert_eq!(with_image(&c, &own, "S1", "r1").await, "");
    c.token = Some("tokA".into());
    assert_eq!(
        with_image(&c, &own, "S2", "r2").await,
        "",
        "v1 images belonged to both"
    );
    assert_eq!(
        with_image(&c, IMG1, "S3", "r3").await,
        "SHOP_CREATE_INVALID_PARAM"
    );
    h.shutdown().await;
}
