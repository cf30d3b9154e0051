//! One upload per content: across stores and file names, across runs; a changed photo is
//! one upload and one modify of that field; a lost upload answer is sent again without a
//! duplicate effect; a failed upload fails only the stores that wait on it.

use shopsync::audit::UploadOutcome;
use shopsync::exit::Exit;
use shopsync::record::Field;
use shopsync::sim::{FaultKind, FaultRule, Trigger};
use shopsync::sync::plan::Action;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_photo_in_many_stores_is_one_upload() {
    // 40 stores; every tenth names the storefront by a second file with the same bytes.
    let rows: Vec<(usize, &str, &[&str])> = (1..=40usize)
        .map(|i| {
            let main = if i.is_multiple_of(10) {
                "images/copy-of-front.jpg"
            } else {
                "images/front.jpg"
            };
            (
                i,
                main,
                &[
                    "images/front.jpg",
                    "images/counter.jpg",
                    "images/seating.png",
                ][..],
            )
        })
        .collect();
    let h = photo_harness(photo_csv(&rows), "").await;
    write_standard_photos(&h);
    write_photo(&h, "images/copy-of-front.jpg", &sample("storefront-sh.jpg"));
    let plan = h.plan().await;
    assert_eq!(plan.plan.photos.len(), 3, "{:?}", plan.plan.photos);
    let front = &plan.plan.photos[0];
    assert_eq!(
        front.sources,
        ["images/front.jpg", "images/copy-of-front.jpg"]
    );
    assert_eq!(front.stores.len(), 40);

    let r = h.sync().await;
    assert_eq!(r.exit, Exit::Ok, "{:?}", r.message);
    assert_eq!(r.summary.created, 40);
    assert_eq!(
        uploads(&h),
        3,
        "three contents, whatever their names or uses"
    );
    h.finish_audits();
    let shops = h.sim.shops();
    assert_eq!(shops.len(), 40);
    let mains: std::collections::BTreeSet<&str> = shops
        .iter()
        .map(|s| s.fields["main_image"].as_str())
        .collect();
    assert_eq!(mains.len(), 1, "every store got the one id: {mains:?}");
    let again = h.sync().await;
    assert_eq!(again.summary.unchanged, 40, "{:?}", again.summary);
    assert_eq!(uploads(&h), 3, "a re-run uploads nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_photo_is_one_upload_and_one_modify_marked_for_review() {
    // Store 2 has a storefront photo of its own; the others share one.
    let mut rows = standard_rows(3);
    rows[1].1 = "images/own-front.jpg";
    let h = photo_harness(photo_csv(&rows), "").await;
    write_standard_photos(&h);
    write_photo(&h, "images/own-front.jpg", &sample("storefront-bj.jpg"));
    assert_eq!(h.sync().await.summary.created, 3);
    h.finish_audits();
    assert_eq!(h.sync().await.summary.unchanged, 3);
    assert_eq!(uploads(&h), 4);
    let old_front = shop_of(&h, "ST-0002")["main_image"].clone();

    // The same file name, new bytes.
    let new_bytes = sample("storefront-hz.jpg");
    write_photo(&h, "images/own-front.jpg", &new_bytes);
    let plan = h.plan().await;
    assert_eq!(uploads(&h), 4, "plan uploads nothing");
    let modify = plan
        .plan
        .items
        .iter()
        .find(|i| matches!(i.action, Action::Modify { .. }))
        .expect("a modify");
    assert_eq!(modify.store_id.as_deref(), Some("ST-0002"));
    let Action::Modify {
        changes, review, ..
    } = &modify.action
    else {
        unreachable!()
    };
    assert!(*review, "main_image re-triggers Alipay's audit");
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].field, Field::MainImage);
    assert_eq!(changes[0].old.as_deref(), Some(old_front.as_str()));
    let sha = shopsync::sync::photos::resolve::sha256_hex(&new_bytes);
    assert_eq!(
        changes[0].new.as_deref(),
        Some(format!("upload:images/own-front.jpg@sha256:{}", &sha[..16]).as_str())
    );
    assert_eq!(plan.plan.counts().unchanged, 2);

    let r = h.sync().await;
    assert_eq!(r.exit, Exit::Ok, "{:?}", r.message);
    assert_eq!((r.summary.modified, r.summary.created), (1, 0));
    assert_eq!(uploads(&h), 5, "one more upload");
    let uploaded = h.ctx.db.uploads_for_run(r.run).unwrap();
    assert_eq!(uploaded.len(), 1);
    assert_eq!(uploaded[0].sha256, sha);
    let new_id = uploaded[0].image_id().unwrap().to_string();
    let action = h
        .ctx
        .db
        .actions_for_run(r.run)
        .unwrap()
        .into_iter()
        .next()
        .unwrap();
    assert_eq!(action.fields.get("main_image"), Some(&new_id));
    assert_eq!(action.fields.len(), 1, "only the changed field is sent");
    h.finish_audits();
    assert_eq!(shop_of(&h, "ST-0002")["main_image"], new_id);
    assert_ne!(new_id, old_front);
    let after = h.sync().await;
    assert_eq!(after.summary.unchanged, 3, "{:?}", after.summary);
    assert_eq!(uploads(&h), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_upload_answer_is_sent_again_without_a_duplicate_effect() {
    let h = photo_harness(photo_csv(&standard_rows(4)), "").await;
    write_standard_photos(&h);
    let issued = || -> usize { h.sim.state().images.values().map(Vec::len).sum() };
    let before = issued();
    // The simulator issues the first image id, then drops the connection.
    h.sim.add_fault(FaultRule {
        method: Some(UPLOAD.into()),
        kind: FaultKind::DropAfter,
        trigger: Trigger::Next(1),
    });
    let r = h.sync().await;
    assert_eq!(r.exit, Exit::Ok, "{:?}", r.message);
    assert_eq!(r.summary.created, 4);
    assert_eq!(uploads(&h), 4, "three contents, one of them sent twice");
    assert_eq!(
        issued(),
        before + 4,
        "the lost answer's id exists on Alipay's side, unused"
    );
    let rows = h.ctx.db.uploads_for_run(r.run).unwrap();
    assert_eq!(rows.len(), 3, "one recorded upload per content: {rows:?}");
    assert!(rows
        .iter()
        .all(|u| matches!(u.outcome, UploadOutcome::Uploaded { .. })));
    h.finish_audits();
    let again = h.sync().await;
    assert_eq!(again.summary.unchanged, 4, "{:?}", again.summary);
    assert_eq!(uploads(&h), 4, "nothing uploaded again");
    assert!(h.shops_per_store().values().all(|n| *n == 1));
    let recorded: Vec<String> = rows.iter().map(|u| u.image_id().unwrap().into()).collect();
    for s in h.sim.shops() {
        assert!(recorded.contains(&s.fields["main_image"]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_upload_fails_only_the_stores_that_wait_on_it() {
    // Store 1's storefront is its own; everything else is shared. Uploads go one at a
    // time in order of first use, so the first two upload calls (both attempts of store
    // 1's storefront) hit the fault.
    let mut rows = standard_rows(3);
    rows[0].1 = "images/own-front.jpg";
    let h = photo_harness(photo_csv(&rows), "concurrency = 1\nmax_attempts = 2\n").await;
    write_standard_photos(&h);
    write_photo(&h, "images/own-front.jpg", &sample("storefront-bj.jpg"));
    h.sim.add_fault(FaultRule {
        method: Some(UPLOAD.into()),
        kind: FaultKind::SystemError { applied: false },
        trigger: Trigger::Next(2),
    });
    let r = h.sync().await;
    assert_eq!(r.exit, Exit::Partial, "{:?}", r.message);
    assert_eq!(
        (r.summary.created, r.summary.failed),
        (2, 1),
        "{:?}",
        r.summary
    );
    assert!(!h.shops_per_store().contains_key("ST-0001"));
    assert_eq!(
        h.sim.call_counts().get("alipay.offline.market.shop.create"),
        Some(&2),
        "the store whose photo failed was not sent"
    );
    let rows = h.ctx.db.uploads_for_run(r.run).unwrap();
    let failed = rows
        .iter()
        .find(|u| u.source == "images/own-front.jpg")
        .unwrap();
    let UploadOutcome::Failed { code, sub_code, .. } = &failed.outcome else {
        panic!("{failed:?}");
    };
    assert_eq!(code.as_deref(), Some("40004"));
    assert_eq!(sub_code.as_deref(), Some("SYSTEM_ERROR"));
    assert_eq!(failed.stores.len(), 1);

    // The next run uploads it and creates the store.
    let next = h.sync().await;
    assert_eq!(next.exit, Exit::Ok, "{:?}", next.message);
    assert_eq!(next.summary.created, 1);
    assert_eq!(h.ctx.db.uploads_for_run(next.run).unwrap().len(), 1);
}
