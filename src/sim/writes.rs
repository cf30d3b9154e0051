//! create/modify (§4.2, §4.3) and the audit state machine that settles them (§8.5),
//! including the notifications each audit outcome queues (§8.6).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::ids;
use super::state::{SentNotification, SimOrder, SimShop, State};
use super::validate::{self, audit_rejection, string_params, Ctx, Kind, EMPTY};
use super::{ForcedOutcome, SimConfig};
use crate::alipay::sign::notify_sign_content;
use crate::alipay::timestamp;
use crate::record::Field;

/// A business answer: the fields of a `10000` node, or the `sub_code` of a `40004`.
pub type Outcome = Result<Map<String, Value>, String>;

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
    let p = string_params(biz).ok_or("SHOP_CREATE_INVALID_PARAM")?;
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
    let changes = Field::ALL
        .iter()
        .filter_map(|f| {
            p.get(f.name())
                .map(|v| (f.name().to_string(), Some(v.clone())))
        })
        .collect();
    let request_id = p.get("request_id").cloned().unwrap_or_default();
    st.request_ids.insert(request_id.clone());
    st.orders.insert(
        apply_id.clone(),
        SimOrder {
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
        },
    );
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
    let p = string_params(biz).ok_or("SHOP_MODIFY_INVALID_PARAM")?;
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
    let Some(shop) = st.shops.get(&shop_id) else {
        return Err("SHOP_MODIFY_SHOP_NOT_EXISTS".into());
    };
    let mut changes: BTreeMap<String, Option<String>> = BTreeMap::new();
    for f in Field::ALL {
        if f.immutable() || f.create_only() {
            continue;
        }
        if let Some(v) = p.get(f.name()) {
            changes.insert(f.name().into(), (v != EMPTY).then(|| v.clone()));
        }
    }
    if let Some(s) = p.get("store_id") {
        changes.insert("store_id".into(), Some(s.clone()));
    }
    let review = changes.iter().any(|(k, v)| {
        Field::from_name(k).is_some_and(Field::triggers_review) && shop.fields.get(k) != v.as_ref()
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
    if let Some(shop) = st.shops.get_mut(&shop_id) {
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
    }
    st.orders.insert(apply_id.clone(), order);
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

/// Run every audit due at `now`, in due order.
pub fn process_due(cfg: &SimConfig, st: &mut State, now: DateTime<Utc>) {
    let mut due: Vec<(DateTime<Utc>, String)> = st
        .orders
        .values()
        .filter(|o| o.status == "PROCESS")
        .filter_map(|o| {
            o.audit_due
                .filter(|d| *d <= now)
                .map(|d| (d, o.apply_id.clone()))
        })
        .collect();
    due.sort();
    for (_, apply_id) in due {
        settle(cfg, st, &apply_id, now);
    }
}

fn settle(cfg: &SimConfig, st: &mut State, apply_id: &str, now: DateTime<Utc>) {
    let Some(order) = st.orders.get(apply_id).cloned() else {
        return;
    };
    let create = order.action == "CREATE_SHOP";
    let forced = st
        .forced
        .remove(apply_id)
        .or_else(|| st.forced.remove(&order.store_id));
    let shop_id = order.biz_id.clone();
    let data: BTreeMap<String, String> = if create {
        order
            .changes
            .iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
            .collect()
    } else {
        let mut shop = match shop_id.as_ref().and_then(|id| st.shops.get(id)) {
            Some(s) => s.clone(),
            None => return,
        };
        apply_changes(&mut shop, &order.changes, now);
        shop.fields
    };
    let failure = match forced {
        Some(ForcedOutcome::Success) => None,
        Some(ForcedOutcome::Fail(reason)) => Some(reason),
        None => audit_rejection(cfg, &data, create),
    };
    let mut notify_shop_id = None;
    let (mut is_online, mut is_show) = ("F".to_string(), "F".to_string());
    match &failure {
        None if create => {
            let id = st.new_shop_id(now);
            st.insert_shop(SimShop {
                shop_id: id.clone(),
                store_id: order.store_id.clone(),
                merchant_id: order.merchant_id.clone(),
                status: "OPEN".into(),
                audit_status: "AUDIT_SUCCESS".into(),
                audit_desc: None,
                is_online: "T".into(),
                is_show: "T".into(),
                fields: data,
                pending_modify: None,
                gmt_create: now,
                gmt_modified: now,
            });
            notify_shop_id = Some(id);
            (is_online, is_show) = ("T".into(), "T".into());
        }
        _ => {
            if let Some(shop) = shop_id.as_ref().and_then(|id| st.shops.get_mut(id)) {
                shop.pending_modify = None;
                match &failure {
                    None => {
                        apply_changes(shop, &order.changes, now);
                        shop.audit_status = "AUDIT_SUCCESS".into();
                        shop.audit_desc = None;
                    }
                    Some(reason) => {
                        shop.audit_status = "AUDIT_FAILED".into();
                        shop.audit_desc = Some(reason.clone());
                    }
                }
                notify_shop_id = Some(shop.shop_id.clone());
                (is_online, is_show) = (shop.is_online.clone(), shop.is_show.clone());
            }
        }
    }
    let Some(o) = st.orders.get_mut(apply_id) else {
        return;
    };
    o.sub_status = "FINISH".into();
    o.modified = now;
    o.audit_due = None;
    match &failure {
        None => {
            o.status = "SUCCESS".into();
            if create {
                o.biz_id = notify_shop_id.clone();
            }
        }
        Some(reason) => {
            o.status = "FAIL".into();
            o.result_code = Some("RISK_AUDIT_FAIL".into());
            o.result_desc = Some(reason.clone());
        }
    }
    tracing::debug!(apply_id = %apply_id, status = %o.status, "Simulated audit settled.");
    let Some(url) = order.notify_url.clone() else {
        return;
    };
    let mut form: Vec<(String, String)> = vec![
        ("notify_id".into(), ids::notify_id(&mut st.rng)),
        ("notify_time".into(), timestamp::format(now)),
        ("notify_type".into(), "shop_audit_result".into()),
        (
            "biz_type".into(),
            if create {
                "CREATE_SHOP_AUDIT"
            } else {
                "MODIFY_SHOP_AUDIT"
            }
            .into(),
        ),
        ("version".into(), "2.0".into()),
        ("apply_id".into(), apply_id.to_string()),
        ("request_id".into(), order.request_id.clone()),
    ];
    if let Some(id) = notify_shop_id {
        form.push(("shop_id".into(), id));
    }
    let audit = if failure.is_none() {
        "AUDIT_SUCCESS"
    } else {
        "AUDIT_FAILED"
    };
    form.push(("audit_status".into(), audit.into()));
    form.push(("is_online".into(), is_online));
    form.push(("is_show".into(), is_show));
    if let Some(reason) = failure {
        form.push(("result_code".into(), "RISK_AUDIT_FAIL".into()));
        form.push(("result_desc".into(), reason));
    }
    let content = notify_sign_content(form.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    form.push(("sign_type".into(), "RSA2".into()));
    form.push(("sign".into(), cfg.alipay_key.sign(&content)));
    let suppressed = cfg.suppress_notifications;
    let n = SentNotification {
        notify_id: form[0].1.clone(),
        apply_id: apply_id.to_string(),
        url,
        form,
        attempts: 0,
        delivered: false,
        gave_up: suppressed,
        last_error: suppressed.then(|| "suppressed by the simulator".to_string()),
        next_attempt: (!suppressed).then_some(now),
        in_flight: false,
    };
    if cfg.duplicate_notifications && !suppressed {
        st.notifications.push(n.clone());
    }
    st.notifications.push(n);
}
