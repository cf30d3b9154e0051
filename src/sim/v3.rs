//! v3 REST (§3) on the same listener and state: `Authorization` check, the same methods,
//! bare JSON bodies, HTTP status mapping, signed response headers (§8.8).

use std::convert::Infallible;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::Rng;
use serde_json::{json, Map, Value};

use super::faults::FaultKind;
use super::gateway::Reply;
use super::handle::Shared;
use super::methods;
use super::ratelimit::Limited;
use super::state::{OWN_MERCHANT, TOKEN_MERCHANT};
use super::writes;
use super::METHODS;
use crate::alipay::sign::SignKey;
use crate::alipay::v3::{parse_authorization, request_sign_content, response_sign_content};

/// A v3 request as received.
pub struct V3Request {
    pub http_method: String,
    /// Path plus `?query`, exactly as requested.
    pub uri: String,
    pub authorization: Option<String>,
    pub app_auth_token: Option<String>,
    pub content_type: String,
    pub body: Vec<u8>,
}

fn error_body(code: &str, message: &str) -> String {
    json!({"code": code, "message": message,
           "links": [{"link": "https://opendocs.alipay.com/open-v3/common/errorcode", "desc": "解决方案"}]})
    .to_string()
}

fn unsigned(status: u16, code: &str, message: &str) -> Reply {
    Reply::Headers {
        status,
        headers: Vec::new(),
        body: error_body(code, message),
        keep: None,
    }
}

/// Split a multipart upload into the `data` JSON text and the file bytes.
async fn multipart(content_type: &str, body: Vec<u8>) -> Option<(String, Option<Vec<u8>>)> {
    let boundary = multer::parse_boundary(content_type).ok()?;
    let stream =
        futures::stream::once(async move { Ok::<_, Infallible>(axum::body::Bytes::from(body)) });
    let mut mp = multer::Multipart::new(stream, boundary);
    let (mut data, mut file) = (String::new(), None);
    while let Some(field) = mp.next_field().await.ok()? {
        let name = field.name().unwrap_or("").to_string();
        let bytes = field.bytes().await.ok()?;
        if name == "data" {
            data = String::from_utf8(bytes.to_vec()).ok()?;
        } else if name == "image_content" {
            file = Some(bytes.to_vec());
        }
    }
    Some((data, file))
}

pub async fn handle(shared: &Arc<Shared>, req: V3Request) -> Reply {
    let cfg = &shared.cfg;
    let path = req.uri.split('?').next().unwrap_or("");
    let method = path.trim_start_matches("/v3/").replace('/', ".");
    if !METHODS.contains(&method.as_str()) {
        return unsigned(404, "invalid-method", "不存在的方法名");
    }
    shared.stats.lock().expect("stats lock").record(&method);
    let fault = shared.faults.lock().expect("faults lock").pick(&method);
    match fault {
        Some(FaultKind::DropBefore) => return Reply::Drop,
        Some(FaultKind::TimeoutBefore) => return Reply::Hold,
        Some(FaultKind::Gateway5xx) => {
            return Reply::Body {
                status: 502,
                content_type: "text/html",
                body: "<html><body><h1>502 Bad Gateway</h1></body></html>".into(),
            }
        }
        _ => {}
    }
    let upload = method == "alipay.offline.material.image.upload";
    let (signed_body, file) = if upload {
        match multipart(&req.content_type, req.body).await {
            Some(x) => x,
            None => return unsigned(400, "invalid-parameter", "multipart 解析失败"),
        }
    } else {
        (String::from_utf8_lossy(&req.body).into_owned(), None)
    };
    let Some(auth) = req.authorization.as_deref() else {
        return unsigned(400, "missing-timestamp", "缺少时间戳参数");
    };
    let Some((auth_string, sign)) = parse_authorization(auth) else {
        return unsigned(400, "invalid-signature", "Authorization 格式错误");
    };
    let kv: std::collections::BTreeMap<&str, &str> = auth_string
        .split(',')
        .filter_map(|p| p.split_once('='))
        .collect();
    let (Some(app_id), Some(_nonce), Some(ts)) =
        (kv.get("app_id"), kv.get("nonce"), kv.get("timestamp"))
    else {
        return unsigned(
            400,
            "invalid-parameter",
            "auth 串缺少 app_id/nonce/timestamp",
        );
    };
    if *app_id != cfg.app_id {
        return unsigned(400, "invalid-app-id", "无效的AppID参数");
    }
    let now = shared.now();
    let fresh = ts.parse::<i64>().is_ok_and(|ms| {
        (ms - now.timestamp_millis()).abs() <= cfg.timestamp_skew.num_milliseconds()
    });
    if !fresh {
        return unsigned(400, "invalid-timestamp", "非法的时间戳参数");
    }
    let content = request_sign_content(
        &auth_string,
        &req.http_method,
        &req.uri,
        if req.http_method == "GET" {
            ""
        } else {
            &signed_body
        },
        req.app_auth_token.as_deref(),
    );
    if !cfg.app_public_key.verify(content.as_bytes(), &sign) {
        return unsigned(
            400,
            "invalid-signature",
            &format!("验签出错，验签字符串为：{content}"),
        );
    }
    // From here on every response is signed.
    let merchant = match req.app_auth_token.as_deref() {
        None | Some("") => OWN_MERCHANT,
        Some(t) if cfg.app_auth_tokens.iter().any(|x| x == t) => TOKEN_MERCHANT,
        Some(_) => {
            return signed(
                shared,
                401,
                error_body("invalid-app-auth-token", "无效的应用授权令牌"),
                fault,
            )
            .await
        }
    };
    if cfg.disabled_methods.contains(&method) {
        let body = error_body("insufficient-isv-permissions", "ISV权限不足");
        return signed(shared, 403, body, fault).await;
    }
    let limited = shared.limiter.lock().expect("limiter lock").check(&method);
    if let Err(which) = limited {
        shared.stats.lock().expect("stats lock").throttled += 1;
        let code = match which {
            Limited::App => "app-call-limited",
            Limited::Method => "method-call-limited",
        };
        return signed(shared, 429, error_body(code, "调用频率超限"), fault).await;
    }
    let biz: Map<String, Value> = if req.http_method == "GET" {
        let q = req.uri.split_once('?').map(|x| x.1).unwrap_or("");
        form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .map(|(k, v)| (k, Value::String(v)))
            .collect()
    } else if signed_body.trim().is_empty() {
        Map::new()
    } else {
        match serde_json::from_str::<Value>(&signed_body) {
            Ok(Value::Object(m)) => m,
            _ => {
                return signed(
                    shared,
                    400,
                    error_body("illegal-json", "JSON格式不合法"),
                    fault,
                )
                .await
            }
        }
    };
    let applies = fault.as_ref().is_none_or(FaultKind::applies);
    let outcome = {
        let mut st = shared.state.lock().expect("state lock");
        writes::process_due(cfg, &mut st, now);
        if !applies {
            Err(String::new())
        } else {
            match method.as_str() {
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
                _ => {
                    let t = biz
                        .get("image_type")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    methods::image_upload(&mut st, &t, file.as_deref())
                }
            }
        }
    };
    shared.wake.notify_one();
    let (status, body) = match (&fault, outcome) {
        (Some(FaultKind::UnknownErrorApplied | FaultKind::UnknownErrorNotApplied), _) => {
            (500, error_body("unknow-error", "系统繁忙"))
        }
        (Some(FaultKind::SystemError { .. }), _) => {
            let code = match method.as_str() {
                "alipay.offline.market.shop.create" => "SHOP_CREATE_SYSTEM_ERROR",
                "alipay.offline.market.shop.modify" => "SHOP_MODIFY_SYSTEM_ERROR",
                _ => "SYSTEM_ERROR",
            };
            (400, error_body(code, "系统异常"))
        }
        (_, Ok(m)) => (200, Value::Object(m).to_string()),
        (_, Err(code)) => {
            let code = match code.as_str() {
                "isv.exceed-max-size" => "EXCEED_MAX_SIZE".to_string(),
                "isv.unknown-fomat" => "UNKNOWN_FORMAT".to_string(),
                "isv.invalid-arguments" => "INVALID_PARAM".to_string(),
                _ => code,
            };
            (400, error_body(&code, "业务处理失败"))
        }
    };
    signed(shared, status, body, fault).await
}

async fn wrong_key(shared: &Arc<Shared>) -> Option<SignKey> {
    if let Some(k) = shared.wrong_key.get() {
        return Some(k.clone());
    }
    let s = shared.clone();
    tokio::task::spawn_blocking(move || {
        SignKey::generate()
            .ok()
            .map(|k| s.wrong_key.get_or_init(|| k).clone())
    })
    .await
    .ok()
    .flatten()
}

/// Sign `timestamp\nnonce\nbody\n` into the `alipay-*` headers, with output faults applied.
async fn signed(
    shared: &Arc<Shared>,
    status: u16,
    body: String,
    fault: Option<FaultKind>,
) -> Reply {
    let ts = shared.now().timestamp_millis().to_string();
    let (nonce, trace) = {
        let mut st = shared.state.lock().expect("state lock");
        let n: u128 = st.rng.random();
        let t: u64 = st.rng.random();
        (format!("{n:032x}"), format!("{t:016x}"))
    };
    let mut headers = vec![("alipay-trace-id".to_string(), trace)];
    let skip_sign = fault == Some(FaultKind::UnsignedSuccess) && status == 200;
    if !skip_sign {
        let key = match fault {
            Some(FaultKind::WrongKey) => wrong_key(shared).await,
            _ => None,
        };
        let key = key.as_ref().unwrap_or(&shared.cfg.alipay_key);
        let mut sign = key.sign(&response_sign_content(&ts, &nonce, &body));
        if fault == Some(FaultKind::BadSignature) {
            let mut raw = B64.decode(&sign).unwrap_or_default();
            if let Some(b) = raw.get_mut(10) {
                *b ^= 0x01;
            }
            sign = B64.encode(raw);
        }
        headers.push(("alipay-timestamp".into(), ts));
        headers.push(("alipay-nonce".into(), nonce));
        headers.push(("alipay-signature".into(), sign));
    }
    match fault {
        Some(FaultKind::DropAfter) => Reply::Drop,
        Some(FaultKind::TimeoutAfter) => Reply::Hold,
        Some(FaultKind::TruncatedBody { keep }) => Reply::Headers {
            status,
            headers,
            body,
            keep: Some(keep),
        },
        _ => Reply::Headers {
            status,
            headers,
            body,
            keep: None,
        },
    }
}
