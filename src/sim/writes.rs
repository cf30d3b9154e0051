//! create (§4.2) and modify (§4.3): validation, the apply order each accepted write opens,
//! and a modify without review-triggering changes applied at once (§8.5).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::api::Outcome;
use super::config::SimConfig;
use super::records::{SimOrder, SimShop};
use super::rules::{self, Format, Kind, OnModify, EMPTY};
use super::state::State;
use super::validate::{self, string_params, Ctx};

fn accepted(apply_id: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("apply_id".into(), json!(apply_id));
    m.insert("audit_status".into(), json!("AUDITING"));
    m
}

fn notify_url(p: &BTreeMap<String, String>) -> Option<String> {
    p.get("operate_notify_url").cloned()
}

pub fn create(
    cfg: &SimConfig,
    st: &mut State,
    merchant: &str,
    now: DateTime<Utc>,
    biz: &Map<String, Value>,
) -> Outcome {
    let p = string_params(biz).ok_or_else(|| Kind::Create.code("INVALID_PARAM"))?;
    validate::validate(
        Kind::Create,
        &p,
        &Ctx {
            cfg,
            state: st,
            merchant,
            now,
        },
    )?;
    let apply_id = st.new_apply_id(now);
    let internal = st.new_internal_request_id(now);
    let changes = rules::FIELDS
        .iter()
        .filter(|r| r.format != Format::StoreCode)
        .filter_map(|r| p.get(r.name).map(|v| (r.name.to_string(), Some(v.clone()))))
        .collect();
    let request_id = p.get("request_id").cloned().unwrap_or_default();
    st.request_ids.insert(request_id.clone());
    st.insert_order(SimOrder {
        apply_id: apply_id.clone(),
        action: "CREATE_SHOP".into(),
        merchant_id: merchant.to_string(),
        status: "PROCESS".into(),
        sub_status: "RISK_AUDITING".into(),
        biz_id: None,
        request_id,
        internal_request_id: internal,
        store_id: p.get("store_id").cloned().unwrap_or_default(),
        params: biz.clone(),
        changes,
        notify_url: notify_url(&p),
        result_code: None,
        result_desc: None,
        created: now,
        modified: now,
        audit_due: Some(now + cfg.audit_delay),
    });
    tracing::debug!(apply_id = %apply_id, "Simulated shop create accepted.");
    Ok(accepted(&apply_id))
}

pub fn modify(
    cfg: &SimConfig,
    st: &mut State,
    merchant: &str,
    now: DateTime<Utc>,
    biz: &Map<String, Value>,
) -> Outcome {
    let p = string_params(biz).ok_or_else(|| Kind::Modify.code("INVALID_PARAM"))?;
    validate::validate(
        Kind::Modify,
        &p,
        &Ctx {
            cfg,
            state: st,
            merchant,
            now,
        },
    )?;
    let shop_id = p.get("shop_id").cloned().unwrap_or_default();
    let Some(shop) = st.shop(&shop_id) else {
        return Err(rules::Check::ShopUnknown.code(Kind::Modify).into());
    };
    // Sent fields change (the store code included); immutable ones were checked equal and
    // create-only ones are ignored.
    let changes: BTreeMap<String, Option<String>> = rules::FIELDS
        .iter()
        .filter(|r| r.on_modify == OnModify::Change)
        .filter_map(|r| {
            p.get(r.name)
                .map(|v| (r.name.to_string(), (v != EMPTY).then(|| v.clone())))
        })
        .collect();
    let review = changes.iter().any(|(k, v)| {
        rules::field(k).is_some_and(|r| r.review) && shop.fields.get(k) != v.as_ref()
    });
    let store_id = p
        .get("store_id")
        .cloned()
        .unwrap_or_else(|| shop.store_id.clone());
    let apply_id = st.new_apply_id(now);
    let internal = st.new_internal_request_id(now);
    let request_id = p.get("request_id").cloned().unwrap_or_default();
    st.request_ids.insert(request_id.clone());
    let mut order = SimOrder {
        apply_id: apply_id.clone(),
        action: "MODIFY_SHOP".into(),
        merchant_id: merchant.to_string(),
        status: "PROCESS".into(),
        sub_status: "RISK_AUDITING".into(),
        biz_id: Some(shop_id.clone()),
        request_id,
        internal_request_id: internal,
        store_id,
        params: biz.clone(),
        changes,
        notify_url: notify_url(&p),
        result_code: None,
        result_desc: None,
        created: now,
        modified: now,
        audit_due: Some(now + cfg.audit_delay),
    };
    st.update_shop(&shop_id, |shop| {
        if review {
            shop.pending_modify = Some(apply_id.clone());
            shop.audit_status = "AUDITING".into();
            shop.audit_desc = None;
        } else {
            apply_changes(shop, &order.changes, now);
            order.status = "SUCCESS".into();
            order.sub_status = "FINISH".into();
            order.audit_due = None;
        }
    });
    st.insert_order(order);
    Ok(accepted(&apply_id))
}

pub fn apply_changes(
    shop: &mut SimShop,
    changes: &BTreeMap<String, Option<String>>,
    now: DateTime<Utc>,
) {
    for (k, v) in changes {
        if k == "store_id" {
            if let Some(v) = v {
                shop.store_id = v.clone();
            }
            continue;
        }
        match v {
            Some(v) => {
                shop.fields.insert(k.clone(), v.clone());
            }
            None => {
                shop.fields.remove(k);
            }
        }
    }
    shop.gmt_modified = now;
}
