//! Apply orders as Alipay's official `BizOrderQueryResponse` model has them (§4.6, §8.5):
//! `biz_context_info` holds only `category_id` and `main_shop_name`, `request_id` is the
//! simulator's own 16-digit id, there is no `store_id`; `rich_biz_context` is a test opt-in.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::client::*;

/// The fields of a `BizOrderQueryResponse` entry.
const OFFICIAL: [&str; 14] = [
    "apply_id",
    "action",
    "action_mode",
    "biz_type",
    "biz_id",
    "biz_context_info",
    "status",
    "sub_status",
    "result_code",
    "result_desc",
    "request_id",
    "op_id",
    "create_time",
    "update_time",
];

async fn orders_after_a_create_and_a_modify(rich: bool) -> Vec<Value> {
    let (h, c) = setup(|cfg| cfg.rich_biz_context = rich).await;
    let shop_id = create_approved(&h, &c, "S1", "r1").await;
    let m = json!({"shop_id": shop_id, "request_id": "m1", "address": "南京西路2号",
                   "op_role": "ISV", "biz_version": "2.0"});
    assert_eq!(c.call(MODIFY, m).await.code(), "10000");
    let a = c.call(APPLY, json!({"biz_type": "SHOP"})).await;
    h.shutdown().await;
    a.node["biz_order_infos"].as_array().unwrap().clone()
}

fn context(order: &Value) -> Value {
    serde_json::from_str(order["biz_context_info"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn apply_orders_follow_the_official_model() {
    let orders = orders_after_a_create_and_a_modify(false).await;
    assert_eq!(orders.len(), 2);
    let mut internal = BTreeSet::new();
    for o in &orders {
        for key in o.as_object().unwrap().keys() {
            assert!(
                OFFICIAL.contains(&key.as_str()),
                "{key} is not in the official model"
            );
        }
        let rid = o["request_id"].as_str().unwrap();
        assert!(
            rid.len() == 16 && rid.chars().all(|c| c.is_ascii_digit()),
            "{rid}"
        );
        assert!(!["r1", "m1"].contains(&rid));
        internal.insert(rid.to_string());
    }
    assert_eq!(internal.len(), 2, "each order has its own internal id");
    assert_eq!(
        context(&orders[0]),
        json!({"category_id": "2015050700000018", "main_shop_name": "海底捞"})
    );
    assert_eq!(orders[1]["action"], "MODIFY_SHOP");
    assert_eq!(
        context(&orders[1]),
        json!({}),
        "the modify sent neither field"
    );
}

#[tokio::test]
async fn a_test_may_opt_into_a_richer_biz_context() {
    let orders = orders_after_a_create_and_a_modify(true).await;
    assert_eq!(
        context(&orders[0]),
        json!({"category_id": "2015050700000018", "main_shop_name": "海底捞",
               "store_id": "S1", "request_id": "r1"})
    );
    assert_eq!(
        context(&orders[1]),
        json!({"store_id": "S1", "request_id": "m1"})
    );
    assert_eq!(orders[0]["request_id"].as_str().unwrap().len(), 16);
}
