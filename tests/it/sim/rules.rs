//! The simulator's own statement of Alipay's rules (§8.4, §8.5), one raw signed request
//! per check: each violates exactly one rule of an otherwise valid create or modify and
//! must get the listed code, leaving no application behind. The requests are JSON built
//! here from the reference, not by the client's field rules.

use serde_json::{json, Value};
use shopsync::sim::{RuleStages, SimHandle, Stage};

use super::client::*;

/// Which shop a case writes to.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// A create of a fresh store.
    New,
    /// A modify of an approved, open shop (`TAKEN1`).
    Open,
    /// A modify of a frozen shop.
    Frozen,
    /// A modify of a shop whose review-triggering modify is under audit.
    UnderReview,
    /// A modify of a shop id that does not exist.
    Unknown,
}

/// One check: the fields set (`None` removes the field) on the valid request, the code.
struct Case {
    check: &'static str,
    target: Target,
    set: &'static [(&'static str, Option<&'static str>)],
    code: &'static str,
}

const fn case(
    check: &'static str,
    target: Target,
    set: &'static [(&'static str, Option<&'static str>)],
    code: &'static str,
) -> Case {
    Case {
        check,
        target,
        set,
        code,
    }
}

use Target::{Frozen, New, Open, UnderReview, Unknown};

/// A valid licence, so that the licence rule can run at the sync stage.
const LICENCE: &str = "91310000MA1FL1234X";

/// The §8.4 table, in its order.
#[rustfmt::skip]
const CHECKS: &[Case] = &[
    case("request_id missing", New, &[("request_id", None)], "SHOP_CREATE_INVALID_PARAM"),
    case("request_id not alphanumeric", New, &[("request_id", Some("r-1"))], "SHOP_CREATE_INVALID_PARAM"),
    case("request_id reused by a create", New, &[("request_id", Some("used1"))], "SHOP_CREATE_REPEAT_REQUEST"),
    case("request_id reused by a modify", Open, &[("request_id", Some("used1"))], "SHOP_MODIFY_INVALID_PARAM"),
    case("modify: unknown shop", Unknown, &[("address", Some("南京西路2号"))], "SHOP_MODIFY_SHOP_NOT_EXISTS"),
    case("modify: frozen shop", Frozen, &[("address", Some("南京西路2号"))], "SHOP_STATUS_CANOT_MODIFY"),
    case("modify: review pending", UnderReview, &[("address", Some("南京西路2号"))], "NOT_ALLOWED_CONCURRENT_MODIFY"),
    case("modify: category", Open, &[("category_id", Some("2015050700000019"))], "CATEGORY_CANOT_MODIFY"),
    case("modify: province", Open, &[("province_code", Some("330000"))], "PROVINCE_CITY_CANOT_MODIFY"),
    case("modify: city", Open, &[("city_code", Some("330100"))], "PROVINCE_CITY_CANOT_MODIFY"),
    case("#EMPTY# in a create", New, &[("avg_price", Some("#EMPTY#"))], "SHOP_CREATE_INVALID_PARAM"),
    case("#EMPTY# on a field that cannot be cleared", Open, &[("address", Some("#EMPTY#"))], "SHOP_MODIFY_INVALID_PARAM"),
    case("store_id missing (create)", New, &[("store_id", None)], "OUT_SHOP_ID_RULE_ERROR"),
    case("store_id of 33 chars", New, &[("store_id", Some("S23456789012345678901234567890123"))], "OUT_SHOP_ID_RULE_ERROR"),
    case("store_id of 33 chars (modify)", Open, &[("store_id", Some("S23456789012345678901234567890123"))], "OUT_SHOP_ID_RULE_ERROR"),
    case("store_id of an approved shop", New, &[("store_id", Some("TAKEN1"))], "SHOP_CREATE_UNIQUE_CONSTRAINT_OUTSHOPID_ERROR"),
    case("store_id of a pending create", New, &[("store_id", Some("PENDING1"))], "SHOP_CREATE_UNIQUE_CONSTRAINT_OUTSHOPID_ERROR"),
    case("store_id of another shop (modify)", Open, &[("store_id", Some("FROZEN1"))], "SHOP_MODIFY_UNIQUE_CONSTRAINT_OUTSHOPID_ERROR"),
    case("category_id missing", New, &[("category_id", None)], "SHOP_CREATE_INVALID_PARAM"),
    case("main_shop_name missing", New, &[("main_shop_name", None)], "SHOP_CREATE_INVALID_PARAM"),
    case("address missing", New, &[("address", None)], "SHOP_CREATE_INVALID_PARAM"),
    case("longitude missing", New, &[("longitude", None)], "SHOP_CREATE_INVALID_PARAM"),
    case("latitude missing", New, &[("latitude", None)], "SHOP_CREATE_INVALID_PARAM"),
    case("contact_number missing", New, &[("contact_number", None)], "SHOP_CREATE_INVALID_PARAM"),
    case("main_image missing", New, &[("main_image", None)], "SHOP_CREATE_INVALID_PARAM"),
    case("audit_images missing", New, &[("audit_images", None)], "SHOP_CREATE_INVALID_PARAM"),
    case("an empty string counts as absent", New, &[("main_image", Some(""))], "SHOP_CREATE_INVALID_PARAM"),
    case("district missing", New, &[("district_code", None)], "AREA_CAN_NOT_NULL"),
    case("province missing", New, &[("province_code", None)], "AREA_CAN_NOT_NULL"),
    case("district not in the fixture", New, &[("district_code", Some("310199"))], "AREA_NOT_LEGALITY"),
    case("district of another city", New, &[("district_code", Some("330106"))], "AREA_NOT_LEGALITY"),
    case("district of another city (modify)", Open, &[("district_code", Some("110105"))], "AREA_NOT_LEGALITY"),
    case("category unknown", New, &[("category_id", Some("2015050799999999"))], "SHOP_CREATE_CATOGORY_NOT_EXISTS"),
    case("category not a leaf", New, &[("category_id", Some("2015050700000000"))], "SHOP_CREATE_CATOGORY_NOT_EXISTS"),
    case("main_shop_name of 21 chars", New, &[("main_shop_name", Some("一二三四五六七八九十一二三四五六七八九十一"))], "SHOP_CREATE_INVALID_PARAM"),
    case("branch_shop_name of 1 char", New, &[("branch_shop_name", Some("店"))], "SHOP_CREATE_INVALID_PARAM"),
    case("branch_shop_name of 21 chars (modify)", Open, &[("branch_shop_name", Some("一二三四五六七八九十一二三四五六七八九十店"))], "SHOP_MODIFY_INVALID_PARAM"),
    case("address of 3 chars", New, &[("address", Some("南京路"))], "SHOP_CREATE_INVALID_PARAM"),
    case("address of 51 chars", New, &[("address", Some("一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十号"))], "SHOP_CREATE_INVALID_PARAM"),
    case("business_time with overlapping days", New, &[("business_time", Some("周一-周五 09:00-20:00,周五-周日 10:00-22:00"))], "BUSINESS_TIME_RULE_ERROR"),
    case("business_time without a leading zero", Open, &[("business_time", Some("周一-周五 9:00-20:00"))], "BUSINESS_TIME_RULE_ERROR"),
    case("longitude not a decimal", New, &[("longitude", Some("121.4a"))], "SHOP_CREATE_INVALID_PARAM"),
    case("latitude of 16 chars", New, &[("latitude", Some("31.2200000000001"))], "SHOP_CREATE_INVALID_PARAM"),
    case("longitude east of 136", New, &[("longitude", Some("136.5"))], "SHOP_CREATE_LOCATION_VALIDATE_FAIL"),
    case("latitude south of 3 (modify)", Open, &[("latitude", Some("2.9"))], "SHOP_MODIFY_LOCATION_VALIDATE_FAIL"),
    case("contact_number with a space", New, &[("contact_number", Some("021 12345678"))], "SHOP_CREATE_INVALID_PARAM"),
    case("notify_mobile with a letter", Open, &[("notify_mobile", Some("1380000000x"))], "SHOP_MODIFY_INVALID_PARAM"),
    case("a flag other than T/F", New, &[("wifi", Some("Y"))], "SHOP_CREATE_INVALID_PARAM"),
    case("biz_version other than 2.0", New, &[("biz_version", Some("1.0"))], "SHOP_CREATE_INVALID_PARAM"),
    case("avg_price with decimals", New, &[("avg_price", Some("56.73"))], "SHOP_CREATE_INVALID_PARAM"),
    case("avg_price of 0", New, &[("avg_price", Some("0"))], "SHOP_CREATE_INVALID_PARAM"),
    case("avg_price of 100000", Open, &[("avg_price", Some("100000"))], "SHOP_MODIFY_INVALID_PARAM"),
    case("isv_uid not starting 2088", New, &[("isv_uid", Some("2099000000000001"))], "SHOP_CREATE_INVALID_PARAM"),
    case("isv_uid of 15 digits", New, &[("isv_uid", Some("208800000000001"))], "SHOP_CREATE_INVALID_PARAM"),
    case("licence_code with a dash", New, &[("licence_code", Some("9131-0000"))], "LICENSE_NO_RULE_ERROR"),
    case("licence_expires not a date", New, &[("licence_expires", Some("2030/01/01"))], "VALIDITYDATE_RULE_ERROR"),
    case("licence_expires in the past", New, &[("licence_expires", Some("2020-01-01"))], "SHOP_CREATE_LICENSE_EXPIRES"),
    case("business_certificate_expires in the past (modify)", Open, &[("business_certificate_expires", Some("2026-11-24"))], "SHOP_MODIFY_LICENSE_EXPIRES"),
    case("no licence data (rule at the sync stage)", New, &[("licence_code", None)], "LICENSE_IS_REQUIRED"),
    case("main_image never issued", New, &[("main_image", Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))], "SHOP_CREATE_INVALID_PARAM"),
    case("audit_images holding an id never issued", Open, &[("audit_images", Some("1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC,BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"))], "SHOP_MODIFY_INVALID_PARAM"),
    case("brand_logo never issued", New, &[("brand_logo", Some("CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"))], "SHOP_CREATE_INVALID_PARAM"),
    case("implement_id of another shop", New, &[("implement_id", Some("DEV9,DEV1"))], "SHOP_CREATE_UNIQUE_CONSTRAINT_IMPLEMENTID_ERROR"),
    case("implement_id of another shop (modify)", Open, &[("implement_id", Some("DEV2"))], "SHOP_MODIFY_UNIQUE_CONSTRAINT_IMPLEMENTID_ERROR"),
    case("a forbidden word in the address", New, &[("address", Some("南京西路1号赌场"))], "EXIST_FORBIDDEN_WORD"),
    case("a forbidden word in the branch name (modify)", Open, &[("branch_shop_name", Some("赌场分店"))], "EXIST_FORBIDDEN_WORD"),
];

/// The §8.5 rules that run at the audit stage by default, moved to the sync stage.
#[rustfmt::skip]
const MOVED_TO_SYNC: &[Case] = &[
    case("fewer distinct audit_images than required", New, &[("audit_images", Some("1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC,1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC"))], "SHOP_CREATE_INVALID_PARAM"),
    case("a branch part in main_shop_name", New, &[("main_shop_name", Some("海底捞（南京西路店）"))], "SHOP_CREATE_INVALID_PARAM"),
    case("the reject marker", Open, &[("address", Some("南京西路9号#REJECT#"))], "SHOP_MODIFY_INVALID_PARAM"),
];

/// Shops in every state the cases need, and the ids they reference.
struct World {
    open: String,
    frozen: String,
    under_review: String,
}

async fn world(h: &SimHandle, c: &Client) -> World {
    let mut biz = with_licence(create_biz("TAKEN1", "used1"));
    biz["implement_id"] = json!("DEV1");
    assert_eq!(c.call(CREATE, biz).await.code(), "10000");
    let mut biz = with_licence(create_biz("FROZEN1", "f1"));
    biz["implement_id"] = json!("DEV2");
    assert_eq!(c.call(CREATE, biz).await.code(), "10000");
    let biz = with_licence(create_biz("REVIEW1", "v1"));
    assert_eq!(c.call(CREATE, biz).await.code(), "10000");
    finish_audits(h, c);
    let id = |store: &str| {
        h.shops()
            .into_iter()
            .find(|s| s.store_id == store)
            .expect("approved")
            .shop_id
    };
    let w = World {
        open: id("TAKEN1"),
        frozen: id("FROZEN1"),
        under_review: id("REVIEW1"),
    };
    h.set_shop_status(&w.frozen, "FREEZE");
    let review = json!({"shop_id": w.under_review, "request_id": "v2", "main_shop_name": "小龙坎",
                        "op_role": "ISV", "biz_version": "2.0"});
    assert_eq!(c.call(MODIFY, review).await.code(), "10000");
    let pending = with_licence(create_biz("PENDING1", "p1"));
    assert_eq!(c.call(CREATE, pending).await.code(), "10000");
    w
}

fn with_licence(mut biz: Value) -> Value {
    biz["licence_code"] = json!(LICENCE);
    biz
}

/// The valid request of a case's target, before its edits.
fn valid_request(w: &World, target: Target, n: usize) -> (&'static str, Value) {
    let modify = |shop_id: &str| {
        json!({"shop_id": shop_id, "request_id": format!("m{n}"), "op_role": "ISV",
               "biz_version": "2.0", "address": "南京西路8号"})
    };
    match target {
        New => (
            CREATE,
            with_licence(create_biz(&format!("NEW{n}"), &format!("c{n}"))),
        ),
        Open => (MODIFY, modify(&w.open)),
        Frozen => (MODIFY, modify(&w.frozen)),
        UnderReview => (MODIFY, modify(&w.under_review)),
        Unknown => (MODIFY, modify("2026112500077000000000009999")),
    }
}

/// Run every case; each must answer its code, signed, and open no application.
async fn run_table(h: &SimHandle, c: &Client, w: &World, cases: &[Case], first: usize) {
    let mut wrong = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let n = first + i;
        let (method, mut biz) = valid_request(w, case.target, n);
        for (k, v) in case.set {
            match v {
                Some(v) => biz[*k] = json!(v),
                None => {
                    biz.as_object_mut().unwrap().remove(*k);
                }
            }
        }
        let orders = h.orders().len();
        let a = c.call(method, biz).await;
        let got = (a.code(), a.sub_code());
        if got != ("40004", case.code) {
            wrong.push(format!(
                "{} ({:?}): got {got:?}, want {}",
                case.check, case.target, case.code
            ));
        }
        assert_eq!(
            a.verification,
            shopsync::alipay::envelope::Verification::Valid
        );
        assert_eq!(
            h.orders().len(),
            orders,
            "{}: a refused write opened an application",
            case.check
        );
    }
    assert!(
        wrong.is_empty(),
        "checks answered wrongly:\n{}",
        wrong.join("\n")
    );
}

/// The valid requests themselves are accepted: each case's failure is its own edit's.
async fn valid_requests_pass(c: &Client, w: &World) {
    for (n, target) in [(900, New), (901, Open)] {
        let (method, biz) = valid_request(w, target, n);
        let a = c.call(method, biz).await;
        assert_eq!(a.code(), "10000", "{target:?}: {}", a.body);
    }
}

#[tokio::test]
async fn every_synchronous_check_answers_its_code() {
    let (h, c) = setup(|cfg| {
        cfg.forbidden_words = vec!["赌场".into()];
        cfg.rules.licence_required = Stage::Sync;
    })
    .await;
    let w = world(&h, &c).await;
    run_table(&h, &c, &w, CHECKS, 0).await;
    valid_requests_pass(&c, &w).await;
    h.shutdown().await;
}

#[tokio::test]
async fn audit_stage_rules_moved_to_sync_answer_at_once() {
    let (h, c) = setup(|cfg| {
        cfg.min_audit_images = 2;
        cfg.rules = RuleStages {
            min_audit_images: Stage::Sync,
            branch_in_main_name: Stage::Sync,
            reject_marker: Stage::Sync,
            ..RuleStages::default()
        };
    })
    .await;
    let w = world(&h, &c).await;
    run_table(&h, &c, &w, MOVED_TO_SYNC, 0).await;
    valid_requests_pass(&c, &w).await;
    h.shutdown().await;
}

#[tokio::test]
async fn an_unknown_image_id_is_named_with_its_field() {
    let (h, c) = setup(|_| {}).await;
    let mut biz = create_biz("S1", "r1");
    biz["audit_images"] = json!(format!("{IMG1},ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"));
    let a = c.call(CREATE, biz).await;
    assert_eq!(a.sub_code(), "SHOP_CREATE_INVALID_PARAM");
    let msg = a.field("sub_msg");
    assert!(
        msg.contains("audit_images") && msg.contains("ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"),
        "{msg}"
    );
    h.shutdown().await;
}
