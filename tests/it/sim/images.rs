//! image.upload as §4.8 says, and image ids in creates and modifies (§8.4): only ids the
//! simulator issued to the merchant, unless a test opts into the two example ids or any
//! well-formed id; a refusal names the field and the id.

use serde_json::json;
use shopsync::alipay::envelope::Verification;

use super::client::*;

const FIELDS: [&str; 7] = [
    "main_image",
    "audit_images",
    "brand_logo",
    "licence",
    "business_certificate",
    "auth_letter",
    "other_authorization",
];

#[tokio::test]
async fn upload_checks_type_and_size_and_issues_ids() {
    let (h, c) = setup(|_| {}).await;
    for t in ["jpg", "JPEG", "png", "Gif", "bmp"] {
        let a = c.upload(t, vec![1; 64]).await;
        assert_eq!(
            (a.code(), a.verification),
            ("10000", Verification::Valid),
            "{t}: {}",
            a.body
        );
        let id = a.field("image_id");
        assert!(
            id.len() == 32
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        );
        assert!(a.field("image_url").contains(&id));
    }
    for t in ["webp", "tiff", ""] {
        let a = c.upload(t, vec![1; 64]).await;
        assert_eq!(
            (a.code(), a.sub_code()),
            ("40004", "isv.unknown-fomat"),
            "{t:?}"
        );
    }
    let five_mb = 5 * 1024 * 1024;
    assert_eq!(c.upload("jpg", vec![0; five_mb]).await.code(), "10000");
    let a = c.upload("jpg", vec![0; five_mb + 1]).await;
    assert_eq!(
        (a.code(), a.sub_code(), a.verification),
        ("40004", "isv.exceed-max-size", Verification::Valid)
    );
    let images: usize = h.state().images.values().map(Vec::len).sum();
    assert_eq!(images, 6, "refused uploads issue nothing");
    h.shutdown().await;
}

#[tokio::test]
async fn the_example_ids_are_refused_unless_a_test_opts_in() {
    let (h, c) = setup(|cfg| cfg.preload_example_images = false).await;
    let a = c.call(CREATE, create_biz("S1", "r1")).await;
    assert_eq!(a.sub_code(), "SHOP_CREATE_INVALID_PARAM");
    let msg = a.field("sub_msg");
    assert!(msg.contains("main_image") && msg.contains(IMG1), "{msg}");
    // With uploaded photos the same create is accepted.
    let (front, inside) = (
        c.upload("jpg", vec![1; 10]).await.field("image_id"),
        c.upload("png", vec![2; 10]).await.field("image_id"),
    );
    let mut biz = create_biz("S1", "r2");
    biz["main_image"] = json!(front);
    biz["audit_images"] = json!(format!("{front},{inside}"));
    assert_eq!(c.call(CREATE, biz).await.code(), "10000");
    h.shutdown().await;
}

#[tokio::test]
async fn every_image_field_names_an_unknown_id() {
    let (h, c) = setup(|_| {}).await;
    let shop_id = create_approved(&h, &c, "S1", "r1").await;
    const UNKNOWN: &str = "Zz_-Zz_-Zz_-Zz_-Zz_-Zz_-Zz_-Zz_-";
    for (i, field) in FIELDS.into_iter().enumerate() {
        let value = if field == "audit_images" || field == "other_authorization" {
            format!("{IMG1}, {UNKNOWN}")
        } else {
            UNKNOWN.to_string()
        };
        let mut create = create_biz(&format!("N{i}"), &format!("c{i}"));
        create[field] = json!(value);
        let modify = json!({"shop_id": shop_id, "request_id": format!("m{i}"), field: value,
                            "op_role": "ISV", "biz_version": "2.0"});
        for (method, code, biz) in [
            (CREATE, "SHOP_CREATE_INVALID_PARAM", create),
            (MODIFY, "SHOP_MODIFY_INVALID_PARAM", modify),
        ] {
            let a = c.call(method, biz).await;
            assert_eq!(a.sub_code(), code, "{field}: {}", a.body);
            let msg = a.field("sub_msg");
            assert!(
                msg.contains(field) && msg.contains(UNKNOWN),
                "{field}: {msg}"
            );
        }
    }
    h.shutdown().await;
}

#[tokio::test]
async fn issued_ids_belong_to_the_merchant_that_uploaded_them() {
    let (h, mut c) = setup(|cfg| {
        cfg.preload_example_images = false;
        cfg.app_auth_tokens = vec!["tokA".into()];
    })
    .await;
    let own = c.upload("jpg", vec![1; 10]).await.field("image_id");
    c.token = Some("tokA".into());
    let theirs = c.upload("jpg", vec![1; 10]).await.field("image_id");
    let with = |id: &str, store: &str, req: &str| {
        let mut b = create_biz(store, req);
        b["main_image"] = json!(id);
        b["audit_images"] = json!(id);
        b
    };
    let a = c.call(CREATE, with(&own, "S1", "r1")).await;
    assert_eq!(
        a.sub_code(),
        "SHOP_CREATE_INVALID_PARAM",
        "another merchant's photo"
    );
    assert_eq!(
        c.call(CREATE, with(&theirs, "S1", "r2")).await.code(),
        "10000"
    );
    let state = h.state();
    assert_eq!(state.images.len(), 2, "{:?}", state.images);
    assert!(state.images.values().all(|ids| ids.len() == 1));
    h.shutdown().await;
}

#[tokio::test]
async fn accept_image_ids_takes_any_well_formed_id() {
    let (h, c) = setup(|cfg| {
        cfg.preload_example_images = false;
        cfg.accept_image_ids = true;
    })
    .await;
    let mut biz = create_biz("S1", "r1");
    biz["main_image"] = json!("A".repeat(32));
    biz["audit_images"] = json!(format!("{},{}", "b-_".repeat(10) + "xy", IMG2));
    assert_eq!(c.call(CREATE, biz).await.code(), "10000");
    for bad in [
        "A".repeat(31),
        "A".repeat(33),
        format!("{}.", "A".repeat(31)),
    ] {
        let mut biz = create_biz("S2", &format!("r{}", bad.len()));
        biz["main_image"] = json!(bad);
        let a = c.call(CREATE, biz).await;
        assert_eq!(a.sub_code(), "SHOP_CREATE_INVALID_PARAM", "{bad}");
    }
    h.shutdown().await;
}
