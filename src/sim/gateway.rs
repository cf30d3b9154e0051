//! `POST /gateway.do`: parameter merging (§2.3), the §8.2 checks in order, the business
//! step, and the §8.8 response construction with faults applied on top.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::api::{Api, Outcome};
use super::dispatch::{self, Upload};
use super::faults::FaultKind;
use super::keys::sign_answer;
use super::merchants::merchant_of;
use super::ratelimit::Limited;
use super::reply::{msg_of, sub_msg_of, Reply};
use super::shared::Shared;
use super::signing::classic_request_content;
use crate::alipay::timestamp;

/// The parsed request: merged text parameters, the file part, and any name conflict.
pub struct Incoming {
    pub params: BTreeMap<String, String>,
    pub conflict: bool,
    pub file: Option<Vec<u8>>,
}

impl Incoming {
    /// Merge query and body pairs; a name sent twice with different values is a conflict.
    pub fn new(pairs: Vec<(String, String)>, file: Option<Vec<u8>>) -> Self {
        let mut params = BTreeMap::new();
        let mut conflict = false;
        for (k, v) in pairs {
            if let Some(old) = params.get(&k) {
                conflict |= *old != v;
                continue;
            }
            params.insert(k, v);
        }
        Self {
            params,
            conflict,
            file,
        }
    }
}

/// One response node, before it is written.
struct Node {
    name: String,
    code: &'static str,
    sub_code: Option<String>,
    sub_msg: Option<String>,
    fields: Map<String, Value>,
    signed: bool,
}

impl Node {
    fn error(
        name: String,
        code: &'static str,
        sub: &str,
        sub_msg: Option<String>,
        signed: bool,
    ) -> Self {
        Node {
            name,
            code,
            sub_code: Some(sub.to_string()),
            sub_msg,
            fields: Map::new(),
            signed,
        }
    }

    fn from_outcome(name: String, outcome: Outcome) -> Self {
        match outcome {
            Ok(fields) => Node {
                name,
                code: "10000",
                sub_code: None,
                sub_msg: None,
                fields,
                signed: true,
            },
            Err(r) => Node::error(name, "40004", &r.sub_code, r.sub_msg, true),
        }
    }

    /// `code`, `msg`, `sub_code`, `sub_msg`, then the fields, serialised once (§8.8).
    fn text(&self) -> String {
        let mut head = Map::new();
        head.insert("code".into(), json!(self.code));
        head.insert("msg".into(), json!(msg_of(self.code)));
        if let Some(sub) = &self.sub_code {
            head.insert("sub_code".into(), json!(sub));
            let msg = self.sub_msg.as_deref().unwrap_or_else(|| sub_msg_of(sub));
            head.insert("sub_msg".into(), json!(msg));
        }
        // The fields are appended as they serialise (a summary page is not copied).
        let mut out = Value::Object(head).to_string();
        out.pop();
        for (k, v) in &self.fields {
            out.push(',');
            out.push_str(&Value::String(k.clone()).to_string());
            out.push(':');
            out.push_str(&v.to_string());
        }
        out.push('}');
        out
    }
}

/// An unsigned request-check error: in the method's node, or `error_response` when the
/// method is missing or unknown.
fn unsigned(api: Option<Api>, code: &'static str, sub: &str, sub_msg: Option<String>) -> Reply {
    let name = api.map_or_else(|| "error_response".to_string(), Api::node);
    let node = Node::error(name, code, sub, sub_msg, false);
    Reply::json(
        200,
        Vec::new(),
        format!("{{\"{}\":{}}}", node.name, node.text()),
    )
}

pub async fn handle(shared: &Arc<Shared>, inc: Incoming) -> Reply {
    let cfg = &shared.cfg;
    let p = &inc.params;
    let method = p
        .get("method")
        .map(String::as_str)
        .filter(|m| !m.is_empty());
    shared
        .stats
        .lock()
        .expect("stats lock")
        .record(method.unwrap_or("(missing)"));
    let api = method.and_then(Api::from_name);
    shared.count_cert_call();
    let fault = api.and_then(|a| shared.faults.lock().expect("faults lock").pick(a.name()));
    match fault {
        Some(FaultKind::DropBefore) => return Reply::Drop,
        Some(FaultKind::TimeoutBefore) => return Reply::Hold,
        Some(FaultKind::Gateway5xx) => return Reply::bad_gateway(),
        _ => {}
    }
    // 1. method
    let Some(api) = api else {
        let sub = if method.is_none() {
            ("40001", "isv.missing-method")
        } else {
            ("40002", "isv.invalid-method")
        };
        return unsigned(None, sub.0, sub.1, None);
    };
    if inc.conflict {
        return unsigned(Some(api), "40002", "isv.invalid-parameter", None);
    }
    // 2. missing system parameters
    for (name, sub) in [
        ("app_id", "isv.missing-app-id"),
        ("sign", "isv.missing-signature"),
        ("sign_type", "isv.missing-signature-type"),
        ("timestamp", "isv.missing-timestamp"),
        ("version", "isv.missing-version"),
    ] {
        if p.get(name).is_none_or(|v| v.is_empty()) {
            return unsigned(Some(api), "40001", sub, None);
        }
    }
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
    if !get("charset").is_empty() && !get("charset").eq_ignore_ascii_case("utf-8") {
        return unsigned(Some(api), "40002", "isv.invalid-charset", None);
    }
    // 3-5. app, sign type, timestamp
    if get("app_id") != cfg.app_id {
        return unsigned(Some(api), "40002", "isv.invalid-app-id", None);
    }
    if get("sign_type") != "RSA2" {
        return unsigned(Some(api), "40002", "isv.invalid-signature-type", None);
    }
    let now = shared.now();
    let fresh =
        timestamp::parse(get("timestamp")).is_some_and(|t| (t - now).abs() <= cfg.timestamp_skew);
    if !fresh {
        return unsigned(Some(api), "40002", "isv.invalid-timestamp", None);
    }
    // 5b. certificate mode: the app and root certificate SNs (§2.9)
    if let Some(cm) = &cfg.cert {
        let checks = [
            (
                "app_cert_sn",
                &cm.app_cert_sn,
                "isv.missing-app-cert-sn",
                "isv.app-cert-not-exist",
            ),
            (
                "alipay_root_cert_sn",
                &cm.root_cert_sn,
                "isv.missing-alipay-root-cert-sn",
                "isv.invalid-alipay-root-cert-sn",
            ),
        ];
        for (name, expected, missing, wrong) in checks {
            match get(name) {
                "" => return unsigned(Some(api), "40001", missing, None),
                sn if sn != expected => return unsigned(Some(api), "40002", wrong, None),
                _ => {}
            }
        }
    }
    // 6. signature
    let content = classic_request_content(p);
    if !cfg.app_key().verify(content.as_bytes(), get("sign")) {
        let msg = format!("验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：{content}");
        return unsigned(Some(api), "40002", "isv.invalid-signature", Some(msg));
    }
    // 7. token and permissions
    let token = get("app_auth_token");
    let Some(merchant) = merchant_of(&cfg.app_auth_tokens, Some(token)) else {
        return unsigned(Some(api), "20001", "aop.invalid-app-auth-token", None);
    };
    if cfg.disabled_methods.contains(api.name()) {
        return unsigned(Some(api), "40006", "isv.insufficient-isv-permissions", None);
    }
    // 8. rate limit
    let limited = shared
        .limiter
        .lock()
        .expect("limiter lock")
        .check(api.name());
    if let Err(which) = limited {
        shared.stats.lock().expect("stats lock").throttled += 1;
        let sub = match which {
            Limited::App => "isv.app-call-limited",
            Limited::Method => "isv.method-call-limited",
        };
        return write(
            shared,
            Node::error(api.node(), "40005", sub, None, true),
            fault,
        )
        .await;
    }
    // 9. biz_content
    // image.upload sends top-level text parameters instead.
    let text = p
        .get("biz_content")
        .filter(|s| !s.is_empty() && api != Api::ImageUpload);
    let biz: Map<String, Value> = match text {
        None => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => m,
            _ => return unsigned(Some(api), "40002", "isv.illegal-json", None),
        },
    };
    // 10. business
    let upload = Upload {
        image_type: get("image_type").to_string(),
        file: inc.file,
    };
    let outcome = dispatch::run(shared, api, &merchant, &biz, Some(&upload), fault.as_ref());
    let node = match &fault {
        Some(FaultKind::UnknownErrorApplied | FaultKind::UnknownErrorNotApplied) => {
            Node::error(api.node(), "20000", "isp.unknow-error", None, true)
        }
        Some(FaultKind::SystemError { .. }) => Node::error(
            api.node(),
            "40004",
            dispatch::system_error_code(api),
            None,
            true,
        ),
        _ => Node::from_outcome(api.node(), outcome),
    };
    write(shared, node, fault).await
}

/// Write a node as `{"<node>":<text>,"sign":"<b64>"}` with the output faults applied.
async fn write(shared: &Arc<Shared>, node: Node, fault: Option<FaultKind>) -> Reply {
    let text = node.text();
    let unsigned_success = fault == Some(FaultKind::UnsignedSuccess) && node.code == "10000";
    let sign = if node.signed && !unsigned_success {
        Some(sign_answer(shared, fault.as_ref(), &text).await)
    } else {
        None
    };
    let shown = if fault == Some(FaultKind::EscapedSlashes) {
        text.replace('/', "\\/")
    } else {
        text
    };
    // Certificate mode names the certificate beside `sign` (§2.9); the sign covers the node.
    let body = match (sign, shared.alipay_cert_sn()) {
        (Some(s), Some(sn)) => format!(
            "{{\"{}\":{},\"alipay_cert_sn\":\"{sn}\",\"sign\":\"{s}\"}}",
            node.name, shown
        ),
        (Some(s), None) => format!("{{\"{}\":{},\"sign\":\"{}\"}}", node.name, shown, s),
        (None, _) => format!("{{\"{}\":{}}}", node.name, shown),
    };
    match fault {
        Some(FaultKind::DropAfter) => Reply::Drop,
        Some(FaultKind::TimeoutAfter) => Reply::Hold,
        Some(FaultKind::TruncatedBody { keep }) => Reply::Truncated {
            status: 200,
            headers: Vec::new(),
            body,
            keep,
        },
        _ => Reply::json(200, Vec::new(), body),
    }
}
