//! The audit state machine (§8.5): each application under audit settles when due (a forced
//! outcome, else the audit-stage rules), and each outcome queues its signed notification
//! (§8.6).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::audit_rules::audit_rejection;
use super::config::{ForcedOutcome, SimConfig};
use super::ids;
use super::records::{SentNotification, SimShop};
use super::signing::notification_content;
use super::state::State;
use super::writes::apply_changes;
use crate::alipay::sign::SignKey;
use crate::alipay::timestamp;

/// Run every audit due at `now`, in due order. `true` when a notification was queued.
/// Notifications are signed with `key`.
pub fn process_due(cfg: &SimConfig, key: &SignKey, st: &mut State, now: DateTime<Utc>) -> bool {
    let due = st.due_at(now);
    let queued = st.notifications().len();
    for apply_id in due {
        settle(cfg, key, st, &apply_id, now);
    }
    st.notifications().len() > queued
}

fn settle(cfg: &SimConfig, key: &SignKey, st: &mut State, apply_id: &str, now: DateTime<Utc>) {
    let Some(order) = st.order(apply_id).cloned() else {
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
        let mut shop = match shop_id.as_ref().and_then(|id| st.shop(id)) {
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
            let updated = shop_id.as_ref().and_then(|id| {
                st.update_shop(id, |shop| {
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
                    (
                        shop.shop_id.clone(),
                        shop.is_online.clone(),
                        shop.is_show.clone(),
                    )
                })
            });
            if let Some((id, online, show)) = updated {
                notify_shop_id = Some(id);
                (is_online, is_show) = (online, show);
            }
        }
    }
    let settled = st.update_order(apply_id, |o| {
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
        o.status.clone()
    });
    let Some(status) = settled else { return };
    tracing::debug!(apply_id = %apply_id, status = %status, "Simulated audit settled.");
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
    let content = notification_content(&form);
    form.push(("sign_type".into(), "RSA2".into()));
    form.push(("sign".into(), key.sign(&content)));
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
        st.queue_notification(n.clone());
    }
    st.queue_notification(n);
}
