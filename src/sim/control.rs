//! `/__sim/` control endpoints: JSON in, JSON out, never signed. The list is in the
//! module docs of `sim` (and `shopsync simulate --help`).

use std::sync::Arc;

use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use super::config::ForcedOutcome;
use super::faults::FaultRule;
use super::ops;
use super::shared::Shared;

fn ok(v: Value) -> (StatusCode, String) {
    (StatusCode::OK, v.to_string())
}

fn bad(msg: &str) -> (StatusCode, String) {
    (StatusCode::BAD_REQUEST, json!({ "error": msg }).to_string())
}

fn not_found(msg: &str) -> (StatusCode, String) {
    (StatusCode::NOT_FOUND, json!({ "error": msg }).to_string())
}

pub fn handle(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    body: &[u8],
) -> (StatusCode, String) {
    let input: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(_) => return bad("body is not JSON"),
        }
    };
    let s = |k: &str| input.get(k).and_then(Value::as_str);
    match (method.as_str(), path) {
        ("GET", "state") => ok(serde_json::to_value(ops::state(shared)).unwrap_or(Value::Null)),
        ("GET", "stats") => ok(ops::stats_json(shared)),
        ("POST", "cert/rotate") => match shared.rotate() {
            true => ok(json!({ "alipay_cert_sn": shared.alipay_cert_sn() })),
            false => bad("no further certificate to rotate to (certificate mode with a rotation)"),
        },
        ("POST", "stats/reset") => {
            ops::reset_stats(shared);
            ok(json!({}))
        }
        ("GET", "notifications") => {
            ok(serde_json::to_value(ops::notifications(shared)).unwrap_or(Value::Null))
        }
        ("POST", "clock/advance") => {
            let Some(secs) = input.get("seconds").and_then(Value::as_i64) else {
                return bad("need {\"seconds\": N}");
            };
            ops::advance_clock(shared, chrono::Duration::seconds(secs));
            ok(json!({ "now": crate::alipay::timestamp::format(shared.now()) }))
        }
        ("POST", "process") => {
            ops::process_due(shared);
            ok(json!({ "now": crate::alipay::timestamp::format(shared.now()) }))
        }
        ("POST", "force") => {
            let outcome = match s("outcome") {
                Some("success") => ForcedOutcome::Success,
                Some("fail") => {
                    ForcedOutcome::Fail(s("reason").unwrap_or("强制审核驳回").to_string())
                }
                _ => return bad("outcome must be success or fail"),
            };
            let Some(key) = s("key") else {
                return bad("need key");
            };
            ops::force_outcome(shared, key, outcome);
            ok(json!({}))
        }
        ("POST", "shop-status") => match (s("shop_id"), s("status")) {
            (Some(id), Some(st @ ("OPEN" | "PAUSE" | "FREEZE" | "CLOSE"))) => {
                if ops::set_shop_status(shared, id, st) {
                    ok(json!({}))
                } else {
                    not_found("unknown shop_id")
                }
            }
            _ => bad("need shop_id and status OPEN/PAUSE/FREEZE/CLOSE"),
        },
        ("POST", "edit") => match (s("shop_id"), s("field")) {
            (Some(id), Some(field)) => {
                if ops::edit_shop(shared, id, field, s("value")) {
                    ok(json!({}))
                } else {
                    not_found("unknown shop_id")
                }
            }
            _ => bad("need shop_id, field and value"),
        },
        ("POST", "faults") => {
            if input.get("clear").and_then(Value::as_bool) == Some(true) {
                ops::clear_faults(shared);
                return ok(json!({}));
            }
            let rule = if let Some(spec) = s("spec") {
                match spec.parse::<FaultRule>() {
                    Ok(r) => r,
                    Err(e) => return bad(&e.to_string()),
                }
            } else if let Some(r) = input.get("rule") {
                match serde_json::from_value::<FaultRule>(r.clone()) {
                    Ok(r) => r,
                    Err(e) => return bad(&e.to_string()),
                }
            } else {
                return bad("need spec, rule or clear");
            };
            ops::add_fault(shared, rule);
            ok(json!({}))
        }
        _ => not_found("unknown control endpoint"),
    }
}
