//! `POST /gateway.do`: parameter merging, the §8.2 checks in order, dispatch to the methods,
//! and the §8.8 response construction with faults applied on top.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Map, Value};

use super::faults::FaultKind;
use super::handle::Shared;
use super::methods;
use super::ratelimit::Limited;
use super::state::{OWN_MERCHANT, TOKEN_MERCHANT};
use super::writes::{self, Outcome};
use super::METHODS;
use crate::alipay::envelope::node_name;
use crate::alipay::sign::{request_sign_content, SignKey};
use crate::alipay::timestamp;

/// What the server does with the connection.
pub enum Reply {
    Body {
        status: u16,
        content_type: &'static str,
        body: String,
    },
    /// Close without a response.
    Drop,
    /// Hold the connection for `hold_timeout`, then close.
    Hold,
    /// Declare the full length, send `keep` bytes, close.
    Truncated { body: String, keep: usize },
    /// A JSON body with extra headers (v3), optionally truncated to `keep` bytes.
    Headers {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
        keep: Option<usize>,
    },
}

pub const JSON: &str = "application/json;charset=utf-8";

/// The parsed request: merged text parameters, the file part, and any name conflict.
pub struct Incoming {
    pub params: BTreeMap<String, String>,
    pub conflict: bool,
    pub file: Option<Vec<u8>>,
}

impl Incoming {
    pub fn new(pairs: Vec<(String, String)>, file: Option<Vec<u8>>) -> Self {
        let mut params = BTreeMap::new();
        let mut conflict = false;
        for (k, v) in pairs {
            if let Some(old) = params.get(&k) {
                if *old != v {
                    conflict = true;
                }
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

fn msg_of(code: &str) -> &'static str {
    match code {
        "10000" => "Success",
        "20000" => "Service Currently Unavailable",
        "20001" => "Insufficient Token Permissions",
        "40001" => "Missing Required Arguments",
        "40002" => "Invalid Arguments",
        "40003" => "Insufficient Conditions",
        "40004" => "Business Failed",
        "40005" => "Call Limited",
        _ => "Insufficient Permissions",
    }
}

fn sub_msg_of(sub: &str) -> String {
    let s = match sub {
        "isv.invalid-parameter" => "参数无效",
        "isv.missing-method" | "isv.invalid-method" => "不存在的方法名",
        "isv.invalid-app-id" => "无效的AppID参数",
        "isv.invalid-signature-type" => "无效的签名类型",
        "isv.invalid-timestamp" => "非法的时间戳参数",
        "isv.invalid-charset" => "字符集错误",
        "isv.illegal-json" => "JSON格式不合法",
        "aop.invalid-app-auth-token" => "无效的应用授权令牌",
        "isv.insufficient-isv-permissions" => "ISV权限不足，建议在开发者中心检查签约是否已经生效",
        "isv.app-call-limited" => "应用调用频率超限",
        "isv.method-call-limited" => "接口调用频率超限",
        "isp.unknow-error" => "系统繁忙",
        "NOT_ALLOWED_CONCURRENT_MODIFY" => "门店正在审核中，不允许修改",
        "SHOP_CREATE_REPEAT_REQUEST" => "重复的请求",
        "SHOP_CREATE_UNIQUE_CONSTRAINT_OUTSHOPID_ERROR"
        | "SHOP_MODIFY_UNIQUE_CONSTRAINT_OUTSHOPID_ERROR" => "外部门店编号已存在",
        "SHOP_MODIFY_SHOP_NOT_EXISTS" | "INVALID_SHOPID" => "门店不存在",
        "CATEGORY_CANOT_MODIFY" => "品类不允许修改",
        "PROVINCE_CITY_CANOT_MODIFY" => "省市不允许修改",
        "SHOP_STATUS_CANOT_MODIFY" => "门店状态不允许修改",
        "AREA_CAN_NOT_NULL" => "省市区不能为空",
        "AREA_NOT_LEGALITY" => "省市区不合法",
        "SHOP_CREATE_CATOGORY_NOT_EXISTS" => "品类不存在",
        "BUSINESS_TIME_RULE_ERROR" => "营业时间格式错误",
        "OUT_SHOP_ID_RULE_ERROR" => "外部门店编号不合法",
        "isv.exceed-max-size" => "图片大小超过限制",
        "isv.unknown-fomat" => "图片格式不支持",
        _ if sub.ends_with("SYSTEM_ERROR") => "系统异常",
        _ => "参数不合法",
    };
    s.to_string()
}

/// One response node, before it is written.
struct Node {
    name: String,
    code: &'static str,
    sub_code: Option<String>,
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
        let mut fields = Map::new();
        if let Some(m) = sub_msg {
            fields.insert("sub_msg".into(), json!(m));
        }
        Node {
            name,
            code,
            sub_code: Some(sub.to_string()),
            fields,
            signed,
        }
    }

    fn from_outcome(name: String, outcome: Outcome) -> Self {
        match outcome {
            Ok(fields) => Node {
                name,
                code: "10000",
                sub_code: None,
                fields,
                signed: true,
            },
            Err(sub) => Node::error(name, "40004", &sub, None, true),
        }
    }

    /// `code`, `msg`, `sub_code`, `sub_msg`, then the fields, serialised once.
    fn text(&self) -> String {
        let mut m = Map::new();
        m.insert("code".into(), json!(self.code));
        m.insert("msg".into(), json!(msg_of(self.code)));
        if let Some(sub) = &self.sub_code {
            m.insert("sub_code".into(), json!(sub));
            let sub_msg = self
                .fields
                .get("sub_msg")
                .cloned()
                .unwrap_or_else(|| json!(sub_msg_of(sub)));
            m.insert("sub_msg".into(), sub_msg);
        }
        for (k, v) in &self.fields {
            if k != "sub_msg" {
                m.insert(k.clone(), v.clone());
            }
        }
        Value::Object(m).to_string()
    }
}

fn reply_json(body: String) -> Reply {
    Reply::Body {
        status: 200,
        content_type: JSON,
        body,
    }
}

fn unsigned(method: Option<&str>, code: &'static str, sub: &str, sub_msg: Option<String>) -> Reply {
    let name = method
        .filter(|m| METHODS.contains(m))
        .map(node_name)
        .unwrap_or_else(|| "error_response".into());
    let node = Node::error(name, code, sub, sub_msg, false);
    reply_json(format!("{{\"{}\":{}}}", node.name, node.text()))
}

const BAD_GATEWAY: &str = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>Tengine</center></body></html>";

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
    let known = method.filter(|m| METHODS.contains(m));
    let fault = known.and_then(|m| shared.faults.lock().expect("faults lock").pick(m));
    match fault {
        Some(FaultKind::DropBefore) => return Reply::Drop,
        Some(FaultKind::TimeoutBefore) => return Reply::Hold,
        Some(FaultKind::Gateway5xx) => {
            return Reply::Body {
                status: 502,
                content_type: "text/html",
                body: BAD_GATEWAY.into(),
            }
        }
        _ => {}
    }
    // 1. method
    let Some(method) = method else {
        return unsigned(None, "40001", "isv.missing-method", None);
    };
    if known.is_none() {
        return unsigned(None, "40002", "isv.invalid-method", None);
    }
    if inc.conflict {
        return unsigned(Some(method), "40002", "isv.invalid-parameter", None);
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
            return unsigned(Some(method), "40001", sub, None);
        }
    }
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
    if !get("charset").is_empty() && !get("charset").eq_ignore_ascii_case("utf-8") {
        return unsigned(Some(method), "40002", "isv.invalid-charset", None);
    }
    // 3-5
    if get("app_id") != cfg.app_id {
        return unsigned(Some(method), "40002", "isv.invalid-app-id", None);
    }
    if get("sign_type") != "RSA2" {
        return unsigned(Some(method), "40002", "isv.invalid-signature-type", None);
    }
    let now = shared.now();
    let fresh =
        timestamp::parse(get("timestamp")).is_some_and(|t| (t - now).abs() <= cfg.timestamp_skew);
    if !fresh {
        return unsigned(Some(method), "40002", "isv.invalid-timestamp", None);
    }
    // 6. signature
    let content = request_sign_content(p.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if !cfg.app_public_key.verify(content.as_bytes(), get("sign")) {
        let msg = format!("验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：{content}");
        return unsigned(Some(method), "40002", "isv.invalid-signature", Some(msg));
    }
    // 7. token and permissions
    let token = get("app_auth_token");
    let merchant = if token.is_empty() {
        OWN_MERCHANT
    } else if cfg.app_auth_tokens.iter().any(|t| t == token) {
        TOKEN_MERCHANT
    } else {
        return unsigned(Some(method), "20001", "aop.invalid-app-auth-token", None);
    };
    if cfg.disabled_methods.contains(method) {
        return unsigned(
            Some(method),
            "40006",
            "isv.insufficient-isv-permissions",
            None,
        );
    }
    let name = node_name(method);
    // 8. rate limit
    let limited = shared.limiter.lock().expect("limiter lock").check(method);
    if let Err(which) = limited {
        shared.stats.lock().expect("stats lock").throttled += 1;
        let sub = match which {
            Limited::App => "isv.app-call-limited",
            Limited::Method => "isv.method-call-limited",
        };
        let node = Node::error(name, "40005", sub, None, true);
        return write(shared, node, fault).await;
    }
    // 9. biz_content
    let biz: Map<String, Value> = if method == "alipay.offline.material.image.upload" {
        Map::new()
    } else {
        match p.get("biz_content").filter(|s| !s.is_empty()) {
            None => Map::new(),
            Some(text) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(m)) => m,
                _ => return unsigned(Some(method), "40002", "isv.illegal-json", None),
            },
        }
    };
    // 10. business
    let applies = fault.as_ref().is_none_or(FaultKind::applies);
    let outcome = {
        let mut st = shared.state.lock().expect("state lock");
        writes::process_due(cfg, &mut st, now);
        if !applies {
            Err(String::new())
        } else {
            match method {
                "alipay.offline.market.shop.summary.batchquery" => {
                    methods::summary(&st, merchant, &biz)
                }
                "alipay.offline.market.shop.create" => {
                    writes::create(cfg, &mut st, merchant, now, &biz)
                }
                "alipay.offline.market.shop.modify" => {
                    writes::modify(cfg, &mut st, merchant, now, &biz)
                }
                "alipay.offline.market.shop.querydetail" => {
                    methods::querydetail(&st, merchant, &biz)
                }
                "alipay.offline.market.shop.batchquery" => {
                    methods::shop_batchquery(&st, merchant, &biz)
                }
                "alipay.offline.market.applyorder.batchquery" => {
                    methods::applyorder(&st, merchant, now, &biz)
                }
                "alipay.offline.market.shop.category.query" => methods::category(&biz),
                _ => methods::image_upload(&mut st, get("image_type"), inc.file.as_deref()),
            }
        }
    };
    shared.wake.notify_one();
    let node = match &fault {
        Some(FaultKind::UnknownErrorApplied | FaultKind::UnknownErrorNotApplied) => {
            Node::error(name, "20000", "isp.unknow-error", None, true)
        }
        Some(FaultKind::SystemError { .. }) => {
            let sub = match method {
                "alipay.offline.market.shop.create" => "SHOP_CREATE_SYSTEM_ERROR",
                "alipay.offline.market.shop.modify" => "SHOP_MODIFY_SYSTEM_ERROR",
                _ => "SYSTEM_ERROR",
            };
            Node::error(name, "40004", sub, None, true)
        }
        _ => Node::from_outcome(name, outcome),
    };
    write(shared, node, fault).await
}

async fn wrong_key(shared: &Arc<Shared>) -> Option<SignKey> {
    if let Some(k) = shared.wrong_key.get() {
        return Some(k.clone());
    }
    let s = shared.clone();
    tokio::task::spawn_blocking(move || match SignKey::generate() {
        Ok(k) => Some(s.wrong_key.get_or_init(|| k).clone()),
        Err(e) => {
            tracing::warn!(error = %e, "Cannot generate the wrong key; signing normally.");
            None
        }
    })
    .await
    .ok()
    .flatten()
}

/// Write a node as `{"<node>":<text>,"sign":"<b64>"}` with the output faults applied.
async fn write(shared: &Arc<Shared>, node: Node, fault: Option<FaultKind>) -> Reply {
    let text = node.text();
    let mut sign = None;
    if node.signed && !(fault == Some(FaultKind::UnsignedSuccess) && node.code == "10000") {
        let key = match fault {
            Some(FaultKind::WrongKey) => wrong_key(shared).await,
            _ => None,
        };
        let key = key.as_ref().unwrap_or(&shared.cfg.alipay_key);
        sign = Some(key.sign(&text));
    }
    if fault == Some(FaultKind::BadSignature) {
        sign = sign.map(|s| {
            let mut raw = B64.decode(&s).unwrap_or_default();
            if let Some(b) = raw.get_mut(10) {
                *b ^= 0x01;
            }
            B64.encode(raw)
        });
    }
    let shown = if fault == Some(FaultKind::EscapedSlashes) {
        text.replace('/', "\\/")
    } else {
        text
    };
    let body = match sign {
        Some(s) => format!("{{\"{}\":{},\"sign\":\"{}\"}}", node.name, shown, s),
        None => format!("{{\"{}\":{}}}", node.name, shown),
    };
    match fault {
        Some(FaultKind::DropAfter) => Reply::Drop,
        Some(FaultKind::TimeoutAfter) => Reply::Hold,
        Some(FaultKind::TruncatedBody { keep }) => Reply::Truncated { body, keep },
        _ => reply_json(body),
    }
}
