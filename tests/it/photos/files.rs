//! Photo files: uploaded once, the shops created with the issued ids; `plan` never uploads;
//! broken files (corrupt, oversize, text named `.jpg`, missing) are rejected rows naming
//! store, field and file before any call; too few distinct audit photos likewise.

use shopsync::audit::UploadOutcome;
use shopsync::exit::Exit;
use shopsync::record::Field;
use shopsync::sync::plan::Action;
use shopsync::sync::report::{write_plan, PlanFormat};

use super::*;

crate::harness::each_protocol!(photo_files_are_uploaded_once_and_shops_created_with_the_issued_ids);

/// On both protocols: image.upload is multipart in each (classic: signed text fields and
/// the file; v3: the `data` JSON part and the file).
async fn photo_files_are_uploaded_once_and_shops_created_with_the_issued_ids(
    setup: crate::harness::Setup,
) {
    let h = photo_harness_on(setup, photo_csv(&standard_rows(3)), "").await;
    write_standard_photos(&h);

    // plan reads and checks the photos but never uploads them.
    let plan = h.plan().await;
    assert_eq!(plan.exit, Exit::Changes, "{:?}", plan.message);
    assert_eq!(uploads(&h), 0, "plan uploads nothing");
    assert_eq!(plan.plan.photos.len(), 3, "{:?}", plan.plan.photos);
    assert!(plan.plan.photos.iter().all(|p| p.stores.len() == 3));
    let types: Vec<&str> = plan
        .plan
        .photos
        .iter()
        .map(|p| p.image_type.as_str())
        .collect();
    assert_eq!(types, ["jpg", "jpg", "png"]);
    let Action::Create { fields } = &plan.plan.items[0].action else {
        panic!("{:?}", plan.plan.items[0]);
    };
    // The placeholder names the file and its content.
    let front_sha = shopsync::sync::photos::resolve::sha256_hex(&sample("storefront-sh.jpg"));
    assert_eq!(
        fields.get(Field::MainImage),
        Some(format!("upload:images/front.jpg@sha256:{}", &front_sha[..16]).as_str())
    );
    let mut table = Vec::new();
    write_plan(&plan.plan, PlanFormat::Table, false, &mut table).unwrap();
    let table = String::from_utf8(table).unwrap();
    assert!(
        table.contains(
            "Photos: 3 to upload before the writes that use them (3 store(s) wait on them)"
        ),
        "{table}"
    );
    assert!(table.contains("images/front.jpg (jpg,"), "{table}");
    assert!(table.contains("3 photo(s) to upload first"), "{table}");
    assert!(table.contains("category 美食-中餐-江浙菜"), "{table}");

    let first = h.sync().await;
    assert_eq!(first.exit, Exit::Ok, "{:?}", first.message);
    assert_eq!(first.summary.created, 3);
    assert_eq!(uploads(&h), 3, "one upload per distinct content");
    let rows = h.ctx.db.uploads_for_run(first.run).unwrap();
    assert_eq!(rows.len(), 3);
    let id_of = |source: &str| {
        rows.iter()
            .find(|u| u.source == source)
            .and_then(|u| u.image_id())
            .unwrap_or_else(|| panic!("{source} uploaded: {rows:?}"))
            .to_string()
    };
    let (front, counter, seating) = (
        id_of("images/front.jpg"),
        id_of("images/counter.jpg"),
        id_of("images/seating.png"),
    );
    assert!(rows.iter().all(|u| u.stores.len() == 3));
    assert!(
        h.sim
            .state()
            .images
            .values()
            .any(|issued| issued.contains(&front)),
        "the simulator issued it"
    );
    h.finish_audits();
    let again = h.sync().await;
    assert_eq!(again.exit, Exit::Ok, "{:?}", again.message);
    assert_eq!(again.summary.unchanged, 3, "{:?}", again.summary);
    assert_eq!(uploads(&h), 3, "a re-run uploads nothing");
    for n in 1..=3 {
        let shop = shop_of(&h, &format!("ST-{n:04}"));
        assert_eq!(shop.get("main_image"), Some(&front));
        assert_eq!(
            shop.get("audit_images"),
            Some(&format!("{front},{counter},{seating}"))
        );
    }
    // `audit store` says which file became which id.
    let mut out = Vec::new();
    shopsync::audit::run_command(
        &h.ctx.db,
        &shopsync::audit::AuditCommand::Store {
            store_id: "ST-0002".into(),
        },
        shopsync::audit::OutputFormat::Table,
        &mut out,
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(&format!("images/counter.jpg → {counter} (jpg,")),
        "{text}"
    );

    // A fresh process (the same audit store) knows the uploads too.
    let ctx = Harness::context(h.ctx.cfg.clone(), std::sync::Arc::new(h.clock.clone())).await;
    let fresh = ctx
        .run(&shopsync::sync::RunOptions {
            apply: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(fresh.summary.unchanged, 3, "{:?}", fresh.summary);
    assert_eq!(uploads(&h), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_photo_files_are_rejected_rows_naming_store_field_and_file() {
    let good = [
        "images/front.jpg",
        "images/counter.jpg",
        "images/seating.png",
    ];
    let csv = photo_csv(&[
        (1, "images/corrupt.jpg", &good[..]),
        (2, "images/huge.jpg", &good[..]),
        (3, "images/notes.jpg", &good[..]),
        (4, "images/missing.jpg", &good[..]),
        // A PNG named .jpg: its format is decided from the bytes.
        (5, "images/really-a-png.jpg", &good[..]),
        (
            6,
            "images/front.jpg",
            &["images/front.jpg", "images/counter.jpg", "images/empty.jpg"][..],
        ),
    ]);
    let h = photo_harness(csv, "").await;
    write_standard_photos(&h);
    let jpeg = sample("storefront-bj.jpg");
    write_photo(&h, "images/corrupt.jpg", &jpeg[..jpeg.len() * 2 / 3]);
    let mut huge = jpeg.clone();
    huge.resize(5 * 1024 * 1024 + 1, 0);
    write_photo(&h, "images/huge.jpg", &huge);
    write_photo(&h, "images/notes.jpg", b"opening hours: 9-22\n");
    write_photo(&h, "images/really-a-png.jpg", &sample("logo.png"));
    write_photo(&h, "images/empty.jpg", b"");

    let r = h.sync().await;
    assert_eq!(r.exit, Exit::Partial, "{:?}", r.message);
    assert_eq!(r.summary.created, 1, "{:?}", r.summary);
    let rejected = rejects(&r);
    let find = |store: &str| {
        rejected
            .iter()
            .find(|(s, _, _)| s == store)
            .unwrap_or_else(|| panic!("{store} rejected: {rejected:?}"))
            .clone()
    };
    let cases = [
        ("ST-0001", "main_image", "photo images/corrupt.jpg: a corrupt or truncated JPEG file"),
        ("ST-0002", "main_image", "photo images/huge.jpg: 5.0 MB; Alipay takes at most 5 MB"),
        ("ST-0003", "main_image", "photo images/notes.jpg: not a JPEG, PNG, GIF or BMP image (the bytes start with \"opening \")"),
        ("ST-0004", "main_image", "photo images/missing.jpg: no such file"),
        ("ST-0006", "audit_images", "photo images/empty.jpg: the file is empty"),
    ];
    for (store, field, reason) in cases {
        let (_, f, why) = find(store);
        assert_eq!(f, field, "{store}");
        assert!(why.starts_with(reason), "{store}: {why}");
    }
    assert_eq!(rejected.len(), cases.len(), "{rejected:?}");
    // Only the good contents were sent: the three standard photos and the PNG.
    assert_eq!(uploads(&h), 4);
    let rows = h.ctx.db.uploads_for_run(r.run).unwrap();
    let png = rows
        .iter()
        .find(|u| u.source == "images/really-a-png.jpg")
        .unwrap();
    assert_eq!(png.image_type, "png", "image_type follows the bytes");
    assert!(matches!(png.outcome, UploadOutcome::Uploaded { .. }));
    // The rejects are in the audit trail with file, line and value.
    let stored = h.ctx.db.rejects(Some(r.run)).unwrap();
    let corrupt = stored.iter().find(|j| j.line == 2).unwrap();
    assert_eq!(corrupt.store_id.as_deref(), Some("ST-0001"));
    assert_eq!(corrupt.value.as_deref(), Some("images/corrupt.jpg"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fewer_distinct_audit_photos_than_the_minimum_is_a_rejected_row() {
    let csv = photo_csv(&[
        // The same bytes under two names are one photo.
        (
            1,
            "images/front.jpg",
            &[
                "images/front.jpg",
                "images/front-copy.jpg",
                "images/counter.jpg",
            ][..],
        ),
        (
            2,
            "images/front.jpg",
            &[
                "images/front.jpg",
                "images/counter.jpg",
                "images/seating.png",
            ][..],
        ),
        // Ids count by id.
        (
            3,
            "images/front.jpg",
            &[
                "1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC",
                "4Q8Pp00AT7eo9NoAJkMR3AAAACMAAUYT",
            ][..],
        ),
    ]);
    let h = photo_harness(csv, "").await;
    write_standard_photos(&h);
    write_photo(&h, "images/front-copy.jpg", &sample("storefront-sh.jpg"));
    let r = h.plan().await;
    let rejected = rejects(&r);
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    for (store, field, why) in &rejected {
        assert!(store == "ST-0001" || store == "ST-0003", "{store}");
        assert_eq!(field, "audit_images");
        assert!(
            why.starts_with("2 distinct photo(s); Alipay needs at least 3"),
            "{why}"
        );
    }
    assert_eq!(r.plan.counts().create, 1);
    assert_eq!(uploads(&h), 0);
}
