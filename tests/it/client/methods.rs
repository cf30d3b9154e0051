//! Every typed method of the client against the simulator.

use std::collections::BTreeSet;

use futures::TryStreamExt;
use shopsync::alipay::koubei::SummaryQuery;
use shopsync::alipay::ErrorClass;
use shopsync::record::CLEAR as EMPTY;
use shopsync::sim::ForcedOutcome;

use super::{
    create_fields, create_write, expect_class, modify_write, seed_fields, Env, APPLY, SUMMARY,
};
use crate::harness::{each_mode, Setup};

async fn summary_page_and_pages_cover_every_shop_once(setup: Setup) {
    let env = Env::start_in(setup, |_| {}).await;
    let mut seeded = BTreeSet::new();
    for n in 1..=230 {
        seeded.insert(env.sim.seed_shop(&format!("ST-{n:04}"), seed_fields(n)));
    }

    let page = env
        .gw
        .summary_page(&SummaryQuery::default(), 2, 20)
        .await
        .unwrap();
    assert_eq!(page.current_page_no, 2);
    assert_eq!(page.total_items, 230);
    assert_eq!(page.total_page_no, 12);
    assert_eq!(page.shop_summary_infos.len(), 20);
    let first = &page.shop_summary_infos[0];
    assert!(seeded.contains(first.shop_id.as_str()));
    assert_eq!(first.status.as_deref(), Some("OPEN"));
    assert_eq!(first.per_pay.as_deref(), Some("3500"));
    assert_eq!(first.main_image.as_deref(), Some(super::IMG1));
    assert!(!first.category_infos.is_empty());

    let before = env.calls(SUMMARY);
    let pages: Vec<_> = env
        .gw
        .summary_pages(&SummaryQuery::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(env.calls(SUMMARY) - before, 3, "one call per page");
    assert_eq!(pages.len(), 3);
    let sizes: Vec<usize> = pages.iter().map(|p| p.shop_summary_infos.len()).collect();
    assert_eq!(sizes, vec![100, 100, 30]);
    let mut seen = BTreeSet::new();
    for p in &pages {
        assert!(p.shop_summary_infos.len() <= 100);
        for s in &p.shop_summary_infos {
            assert!(seen.insert(s.shop_id.clone()), "{} listed twice", s.shop_id);
        }
    }
    assert_eq!(
        seen.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>(),
        seeded
    );
}

async fn create_is_audited_then_listed_and_detailed(setup: Setup) {
    let env = Env::start_in(setup, |_| {}).await;
    let res = env
        .gw
        .shop_create(&create_write("ST-0001", "req0001"))
        .await
        .unwrap();
    let apply_id = res.apply_id.clone().expect("apply_id");
    assert_eq!(res.audit_status.as_deref(), Some("AUDITING"));

    let pending = env
        .gw
        .applyorder_batchquery(std::slice::from_ref(&apply_id))
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].status.map(|s| s.as_str()), Some("PROCESS"));
    assert_eq!(pending[0].shop_id(), None);
    assert!(env.sim.shops().is_empty());

    env.finish_audits();
    let orders = env
        .gw
        .applyorder_batchquery(std::slice::from_ref(&apply_id))
        .await
        .unwrap();
    assert_eq!(orders.len(), 1);
    let order = &orders[0];
    assert_eq!(order.apply_id, apply_id);
    assert_eq!(order.status.map(|s| s.as_str()), Some("SUCCESS"));
    assert_eq!(order.action.as_deref(), Some("CREATE_SHOP"));
    let shop_id = order.shop_id().expect("biz_id of a successful create");

    let page = env
        .gw
        .summary_page(&SummaryQuery::default(), 1, 100)
        .await
        .unwrap();
    let listed: Vec<&str> = page
        .shop_summary_infos
        .iter()
        .map(|s| s.shop_id.as_str())
        .collect();
    assert_eq!(listed, vec![shop_id.as_str()]);
    assert_eq!(
        page.shop_summary_infos[0].branch_shop_name.as_deref(),
        Some("分店0001号")
    );

    let detail = env
        .gw
        .shop_querydetail(&shop_id, Some("ISV"))
        .await
        .unwrap();
    assert_eq!(detail.shop_id, shop_id);
    assert_eq!(detail.store_id.as_deref(), Some("ST-0001"));
    assert_eq!(detail.audit_status.as_deref(), Some("AUDIT_SUCCESS"));
    assert_eq!(
        detail.fields.get("address").map(String::as_str),
        Some("南京西路1号")
    );
}

async fn rejected_audit_reports_fail_with_reason(setup: Setup) {
    let env = Env::start_in(setup, |_| {}).await;
    env.sim
        .force_outcome("ST-0002", ForcedOutcome::Fail("门头照不清晰".into()));
    let res = env
        .gw
        .shop_create(&create_write("ST-0002", "req0002"))
        .await
        .unwrap();
    let apply_id = res.apply_id.unwrap();
    env.finish_audits();
    let orders = env.gw.applyorder_batchquery(&[apply_id]).await.unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].status.map(|s| s.as_str()), Some("FAIL"));
    assert_eq!(orders[0].result_code.as_deref(), Some("RISK_AUDIT_FAIL"));
    assert_eq!(orders[0].result_desc.as_deref(), Some("门头照不清晰"));
    assert_eq!(orders[0].shop_id(), None);
    assert!(env.sim.shops().is_empty());
}

async fn modify_clears_avg_price_and_refuses_non_clearable_empty(setup: Setup) {
    let env = Env::start_in(setup, |_| {}).await;
    let shop_id = env.create_approved("ST-0003", "req0003").await;
    let per_pay = |env: &Env| {
        let gw = env.gw.clone();
        async move {
            let page = gw
                .summary_page(&SummaryQuery::default(), 1, 100)
                .await
                .unwrap();
            page.shop_summary_infos[0].per_pay.clone()
        }
    };
    assert_eq!(per_pay(&env).await.as_deref(), Some("3500"));

    let res = env
        .gw
        .shop_modify(&modify_write(&shop_id, "req0004", &[("avg_price", EMPTY)]))
        .await
        .unwrap();
    assert!(res.apply_id.is_some());
    env.finish_audits();
    assert_eq!(per_pay(&env).await, None, "per_pay disappears once cleared");
    let detail = env
        .gw
        .shop_querydetail(&shop_id.clone().into(), None)
        .await
        .unwrap();
    assert!(!detail.fields.contains_key("avg_price"));

    let err = expect_class(
        env.gw
            .shop_modify(&modify_write(&shop_id, "req0005", &[("address", EMPTY)]))
            .await,
        ErrorClass::Business,
    );
    assert_eq!(err.code.as_deref(), Some("40004"));
    assert!(err.is("SHOP_MODIFY_INVALID_PARAM"), "{err}");
    assert!(err.signed);
    let detail = env
        .gw
        .shop_querydetail(&shop_id.clone().into(), None)
        .await
        .unwrap();
    assert_eq!(
        detail.fields.get("address").map(String::as_str),
        Some("南京西路1号")
    );
}

async fn shop_batchquery_lists_the_merchants_shop_ids(setup: Setup) {
    let env = Env::start_in(setup, |_| {}).await;
    let mut seeded = BTreeSet::new();
    for n in 1..=3 {
        seeded.insert(env.sim.seed_shop(&format!("ST-{n:04}"), seed_fields(n)));
    }
    let page = env.gw.shop_batchquery(1).await.unwrap();
    assert_eq!(page.current_pageno, 1);
    assert_eq!(page.total_pageno, 1);
    assert_eq!(
        page.shop_ids
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>(),
        seeded
    );
    let empty = env.gw.shop_batchquery(2).await.unwrap();
    assert!(empty.shop_ids.is_empty());
}

async fn applyorder_batchquery_chunks_150_ids_into_two_calls(setup: Setup) {
    let env = Env::start_in(setup, |_| {}).await;
    let mut apply_ids = Vec::new();
    for n in 1..=150 {
        let mut w = create_write(&format!("ST-{n:04}"), &format!("req{n:04}"));
        w.fields = create_fields(n);
        apply_ids.push(env.gw.shop_create(&w).await.unwrap().apply_id.unwrap());
    }
    // An id nobody issued is simply not found.
    let mut asked = apply_ids.clone();
    asked.push("2026112400000000000000000000".into());
    let before = env.calls(APPLY);
    let orders = env.gw.applyorder_batchquery(&asked).await.unwrap();
    assert_eq!(env.calls(APPLY) - before, 2, "151 ids: two chunks of ≤100");
    let found: BTreeSet<String> = orders.iter().map(|o| o.apply_id.to_string()).collect();
    assert_eq!(found.len(), orders.len(), "no order twice");
    assert_eq!(
        found,
        apply_ids
            .iter()
            .map(|a| a.to_string())
            .collect::<BTreeSet<_>>()
    );
}

async fn category_query_returns_the_tree_and_subtrees(setup: Setup) {
    let env = Env::start_in(setup, |_| {}).await;
    let all = env.gw.category_query(None).await.unwrap();
    assert!(all.len() > 1);
    let leaf = all
        .iter()
        .find(|c| c.id == "2015050700000018")
        .expect("the test category");
    assert_eq!(leaf.is_leaf.as_deref(), Some("true"));
    let top = all
        .iter()
        .find(|c| c.level.as_deref() == Some("1"))
        .expect("a top category");
    let sub = env.gw.category_query(Some(&top.id)).await.unwrap();
    assert!(!sub.is_empty() && sub.len() < all.len());
    assert!(sub.iter().any(|c| c.id == top.id));
    let err = expect_class(
        env.gw.category_query(Some("9999999999999999")).await,
        ErrorClass::Business,
    );
    assert!(err.signed);
}

async fn uploaded_image_is_usable_as_main_image(setup: Setup) {
    let env = Env::start_in(setup, |_| {}).await;
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
    jpeg.extend(std::iter::repeat_n(0x42u8, 4096));
    let image = env.gw.image_upload("jpg", "front", jpeg).await.unwrap();
    assert!(!image.image_id.is_empty());
    assert!(image.image_url.as_deref().unwrap_or("").starts_with("http"));

    // An id the simulator never issued is refused as main_image; the uploaded one is not.
    let mut bogus = create_write("ST-0010", "req0010");
    set(&mut bogus.fields, "main_image", "NotAnUploadedImageId0000");
    let err = expect_class(env.gw.shop_create(&bogus).await, ErrorClass::Business);
    assert!(err.is("SHOP_CREATE_INVALID_PARAM"), "{err}");

    let mut w = create_write("ST-0010", "req0011");
    set(&mut w.fields, "main_image", &image.image_id);
    w.fields.retain(|(k, _)| k != "audit_images");
    w.fields.push((
        "audit_images".into(),
        format!("{},{}", image.image_id, super::IMG2),
    ));
    env.gw.shop_create(&w).await.unwrap();
    env.finish_audits();
    let shop = env
        .sim
        .shops()
        .into_iter()
        .find(|s| s.store_id == "ST-0010")
        .expect("approved");
    assert_eq!(shop.fields.get("main_image"), Some(&image.image_id));

    let err = expect_class(
        env.gw.image_upload("tiff", "front", vec![1, 2, 3]).await,
        ErrorClass::Business,
    );
    assert!(err.signed);
}

fn set(fields: &mut [(String, String)], key: &str, value: &str) {
    for (k, v) in fields.iter_mut() {
        if k == key {
            *v = value.to_string();
        }
    }
}

each_mode!(
    summary_page_and_pages_cover_every_shop_once,
    create_is_audited_then_listed_and_detailed,
    rejected_audit_reports_fail_with_reason,
    modify_clears_avg_price_and_refuses_non_clearable_empty,
    shop_batchquery_lists_the_merchants_shop_ids,
    applyorder_batchquery_chunks_150_ids_into_two_calls,
    category_query_returns_the_tree_and_subtrees,
    uploaded_image_is_usable_as_main_image,
);
