//! The audit state machine: rejections, forced outcomes, modify rules.

use serde_json::{json, Value};
use shopsync::sim::ForcedOutcome;

use super::client::*;

#[tokio::test]
async fn rejected_audits_release_the_store_id() {
    let (h, c) = setup(|_| {}).await;
    let mut biz = create_biz("S1", "r1");
    biz["audit_images"] = json!(IMG1);
    let a = c.call(CREATE, biz).await;
    let apply1 = a.field("apply_id");
    let dup = c.call(CREATE, create_biz("S1", "r2")).await;
    assert_eq!(
        dup.sub_code(),
        "SHOP_CREATE_UNIQUE_CONSTRAINT_OUTSHOPID_ERROR"
    );
    let rep = c.call(CREATE, create_biz("S9", "r1")).await;
    assert_eq!(rep.sub_code(), "SHOP_CREATE_REPEAT_REQUEST");
    let mut marked = create_biz("S2", "r3");
    marked["address"] = json!("南京西路1号#REJECT#");
    c.call(CREATE, marked).await;
    let forced = c.call(CREATE, create_biz("S3", "r4")).await;
    h.force_outcome("S3", ForcedOutcome::Fail("证照不清晰".into()));
    finish_audits(&h, &c);
    assert!(h.shops().is_empty());
    let orders = h.orders();
    assert!(orders
        .iter()
        .all(|o| o.status == "FAIL" && o.result_code.as_deref() == Some("RISK_AUDIT_FAIL")));
    let f = orders
        .iter()
        .find(|o| o.apply_id == forced.field("apply_id"))
        .unwrap();
    assert_eq!(f.result_desc.as_deref(), Some("证照不清晰"));
    let ao = c
        .call(APPLY, json!({"biz_type": "SHOP", "apply_ids": [apply1]}))
        .await;
    assert_eq!(ao.node["biz_order_infos"][0]["status"], "FAIL");
    assert!(ao.node["biz_order_infos"][0].get("biz_id").is_none());
    let again = c.call(CREATE, create_biz("S1", "r5")).await;
    assert_eq!(again.code(), "10000", "{}", again.body);
    let mut branchy = create_biz("S4", "r6");
    branchy["main_shop_name"] = json!("海底捞南京西路店");
    c.call(CREATE, branchy).await;
    finish_audits(&h, &c);
    let shops = h.shops();
    assert_eq!(shops.len(), 1);
    assert_eq!(shops[0].store_id, "S1");
    h.shutdown().await;
}

#[tokio::test]
async fn modify_rules_empty_immutable_and_concurrent() {
    let (h, c) = setup(|_| {}).await;
    let shop_id = create_approved(&h, &c, "S1", "r1").await;
    let m = |req: &str, extra: Value| {
        let mut b =
            json!({"shop_id": shop_id, "request_id": req, "op_role": "ISV", "biz_version": "2.0"});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let a = c
        .call(
            MODIFY,
            m(
                "m1",
                json!({"avg_price": "#EMPTY#", "category_id": "2015050700000018"}),
            ),
        )
        .await;
    assert_eq!(
        (a.code(), a.field("audit_status").as_str()),
        ("10000", "AUDITING")
    );
    let shop = h.shops().into_iter().next().unwrap();
    assert!(!shop.fields.contains_key("avg_price"), "cleared at once");
    assert_eq!(h.orders().last().unwrap().status, "SUCCESS");
    let a = c.call(MODIFY, m("m2", json!({"address": "#EMPTY#"}))).await;
    assert_eq!(a.sub_code(), "SHOP_MODIFY_INVALID_PARAM");
    let a = c
        .call(MODIFY, m("m1", json!({"address": "南京西路2号"})))
        .await;
    assert_eq!(
        a.sub_code(),
        "SHOP_MODIFY_INVALID_PARAM",
        "request_id reuse"
    );
    let a = c
        .call(MODIFY, m("m3", json!({"category_id": "2015050700000019"})))
        .await;
    assert_eq!(a.sub_code(), "CATEGORY_CANOT_MODIFY");
    let a = c
        .call(MODIFY, m("m4", json!({"city_code": "330100"})))
        .await;
    assert_eq!(a.sub_code(), "PROVINCE_CITY_CANOT_MODIFY");
    let a = c
        .call(
            MODIFY,
            json!({"shop_id": "2026112500077000000000009999", "request_id": "m5"}),
        )
        .await;
    assert_eq!(a.sub_code(), "SHOP_MODIFY_SHOP_NOT_EXISTS");

    let a = c
        .call(
            MODIFY,
            m(
                "m6",
                json!({"main_shop_name": "小龙坎", "address": "南京西路3号"}),
            ),
        )
        .await;
    assert_eq!(a.code(), "10000");
    let d = c.call(DETAIL, json!({"shop_id": shop_id})).await;
    assert_eq!(
        (
            d.field("main_shop_name").as_str(),
            d.field("audit_status").as_str()
        ),
        ("海底捞", "AUDITING")
    );
    assert_eq!(
        d.field("address"),
        "南京西路1000号",
        "nothing applies before approval"
    );
    let a = c
        .call(MODIFY, m("m7", json!({"address": "南京西路4号"})))
        .await;
    assert_eq!(a.sub_code(), "NOT_ALLOWED_CONCURRENT_MODIFY");
    finish_audits(&h, &c);
    let d = c.call(DETAIL, json!({"shop_id": shop_id})).await;
    assert_eq!(
        (
            d.field("main_shop_name").as_str(),
            d.field("address").as_str()
        ),
        ("小龙坎", "南京西路3号")
    );
    assert_eq!(d.field("audit_status"), "AUDIT_SUCCESS");

    h.set_shop_status(&shop_id, "FREEZE");
    let a = c
        .call(MODIFY, m("m8", json!({"address": "南京西路5号"})))
        .await;
    assert_eq!(a.sub_code(), "SHOP_STATUS_CANOT_MODIFY");
    let sum = c.call(SUMMARY, json!({"shop_status": "FREEZE"})).await;
    assert_eq!(sum.field("total_items"), "1");
    h.edit_shop(&shop_id, "address", Some("外部修改1号"));
    let d = c.call(DETAIL, json!({"shop_id": shop_id})).await;
    assert_eq!(d.field("address"), "外部修改1号");
    h.shutdown().await;
}
