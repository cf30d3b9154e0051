//! v3 REST (§3) on the same listener and state: the `Authorization` check, the same
//! business step, bare JSON bodies, the HTTP status mapping, and signed response headers
//! (§8.8). Every answer carries `alipay-trace-id`.

use std::convert::Infallible;
use std::sync::Arc;

use rand::Rng;
use serde_json::{json, Map, Value};

use super::api::{Api, Refusal};
use super::dispatch::{self, Upload};
use super::faults::FaultKind;
use super::keys::sign_answer;
use super::merchants::merchant_of;
use super::ratelimit::Limited;
use super::reply::{sub_msg_of, Reply};
use super::shared::Shared;
use super::signing::{v3_request_content, v3_response_content, Authorization};

/// A v3 request as received.
pub struct V3Request {
    pub http_method: String,
    /// Path plus `?query`, exactly as requested.
    pub uri: String,
    pub authorization: Option<String>,
    pub app_auth_token: Option<String>,
    /// `alipay-root-cert-sn` (certificate mode).
    pub root_cert_sn: Option<String>,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// `{code, message, links}` (§3 error body).
fn error_body(code: &str, message: &str) -> String {
    json!({"code": code, "message": message,
           "links": [{"link": "https://opendocs.alipay.com/open-v3/common/errorcode", "desc": "解决方案"}]})
    .to_string()
}

/// A 32-hex nonce and a 16-hex trace id from the seeded generator.
fn nonce_and_trace(shared: &Shared) -> (String, String) {
    let mut st = shared.state();
    let n: u128 = st.rng.random();
    let t: u64 = st.rng.random();
    (format!("{n:032x}"), format!("{t:016x}"))
}

/// An answer to a request whose signature was not verified: no signature headers.
fn unsigned(shared: &Shared, status: u16, code: &str, message: &str) -> Reply {
    let (_, trace) = nonce_and_trace(shared);
    Reply::json(
        status,
        vec![("alipay-trace-id".into(), trace)],
        error_body(code, message),
    )
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

/// The v3 code of a business refusal (image.upload's codes have their own v3 spelling).
fn v3_code(r: &Refusal) -> &str {
    match r.sub_code.as_str() {
        "isv.exceed-max-size" => "EXCEED_MAX_SIZE",
        "isv.unknown-fomat" => "UNKNOWN_FORMAT",
        "isv.invalid-arguments" => "INVALID_PARAM",
        code => code,
    }
}

pub async fn handle(shared: &Arc<Shared>, req: V3Request) -> Reply {
    let cfg = &shared.cfg;
    let path = req.uri.split('?').next().unwrap_or("");
    // Each method has one verb (§1); another verb is an unknown path.
    let api = Api::from_v3_path(path).filter(|a| a.v3_verb() == req.http_method);
    let Some(api) = api else {
        return unsigned(shared, 404, "invalid-method", sub_msg_of("invalid-method"));
    };
    shared.stats.lock().expect("stats lock").record(api.name());
    shared.count_cert_call();
    let fault = shared.faults.lock().expect("faults lock").pick(api.name());
    match fault {
        Some(FaultKind::DropBefore) => return Reply::Drop,
        Some(FaultKind::TimeoutBefore) => return Reply::Hold,
        Some(FaultKind::Gateway5xx) => return Reply::bad_gateway(),
        _ => {}
    }
    let (signed_body, file) = if api == Api::ImageUpload {
        match multipart(&req.content_type, req.body).await {
            Some(x) => x,
            None => return unsigned(shared, 400, "invalid-parameter", "multipart 解析失败"),
        }
    } else {
        (String::from_utf8_lossy(&req.body).into_owned(), None)
    };
    let Some(header) = req.authorization.as_deref() else {
        return unsigned(
            shared,
            400,
            "missing-timestamp",
            sub_msg_of("missing-timestamp"),
        );
    };
    let Some(auth) = Authorization::parse(header) else {
        return unsigned(shared, 400, "invalid-signature", "Authorization 格式错误");
    };
    let (Some(app_id), Some(_), Some(ts)) = (
        auth.item("app_id"),
        auth.item("nonce"),
        auth.item("timestamp"),
    ) else {
        return unsigned(
            shared,
            400,
            "invalid-parameter",
            "auth 串缺少 app_id/nonce/timestamp",
        );
    };
    if app_id != cfg.app_id {
        return unsigned(shared, 400, "invalid-app-id", sub_msg_of("invalid-app-id"));
    }
    let now = shared.now();
    let fresh = ts.parse::<i64>().is_ok_and(|ms| {
        (ms - now.timestamp_millis()).abs() <= cfg.timestamp_skew.num_milliseconds()
    });
    if !fresh {
        return unsigned(
            shared,
            400,
            "invalid-timestamp",
            sub_msg_of("invalid-timestamp"),
        );
    }
    if let Some(cm) = &cfg.cert {
        let app_sn = auth.item("app_cert_sn").unwrap_or("");
        let root_sn = req.root_cert_sn.as_deref().unwrap_or("");
        for (sent, expected, missing, wrong) in [
            (
                app_sn,
                &cm.app_cert_sn,
                "missing-app-cert-sn",
                "app-cert-not-exist",
            ),
            (
                root_sn,
                &cm.root_cert_sn,
                "missing-alipay-root-cert-sn",
                "invalid-alipay-root-cert-sn",
            ),
        ] {
            if sent.is_empty() {
                return unsigned(shared, 400, missing, sub_msg_of(missing));
            }
            if sent != expected {
                return unsigned(shared, 400, wrong, sub_msg_of(wrong));
            }
        }
    }
    let body_line = if req.http_method == "GET" {
        ""
    } else {
        &signed_body
    };
    let content = v3_request_content(
        &auth.auth_string,
        &req.http_method.to_ascii_uppercase(),
        &req.uri,
        body_line,
        req.app_auth_token.as_deref(),
    );
    if !cfg.app_key().verify(content.as_bytes(), &auth.sign) {
        let msg = format!("验签出错，验签字符串为：{content}");
        return unsigned(shared, 400, "invalid-signature", &msg);
    }
    // From here on every answer is signed.
    let answer = |status: u16, code: &str| (status, error_body(code, sub_msg_of(code)));
    let Some(merchant) = merchant_of(&cfg.app_auth_tokens, req.app_auth_token.as_deref()) else {
        let (s, b) = answer(401, "invalid-app-auth-token");
        return signed(shared, s, b, fault).await;
    };
    if cfg.disabled_methods.contains(api.name()) {
        let (s, b) = answer(403, "insufficient-isv-permissions");
        return signed(shared, s, b, fault).await;
    }
    let limited = shared
        .limiter
        .lock()
        .expect("limiter lock")
        .check(api.name());
    if let Err(which) = limited {
        shared.stats.lock().expect("stats lock").throttled += 1;
        let code = match which {
            Limited::App => "app-call-limited",
            Limited::Method => "method-call-limited",
        };
        let (s, b) = answer(429, code);
        return signed(shared, s, b, fault).await;
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
                let (s, b) = answer(400, "illegal-json");
                return signed(shared, s, b, fault).await;
            }
        }
    };
    let upload = Upload {
        image_type: biz
            .get("image_type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        file,
    };
    let outcome = dispatch::run(shared, api, &merchant, &biz, Some(&upload), fault.as_ref());
    let (status, body) = match (&fault, outcome) {
        (Some(FaultKind::UnknownErrorApplied | FaultKind::UnknownErrorNotApplied), _) => {
            answer(500, "unknow-error")
        }
        (Some(FaultKind::SystemError { .. }), _) => answer(400, dispatch::system_error_code(api)),
        (_, Ok(m)) => (200, Value::Object(m).to_string()),
        (_, Err(r)) => {
            let code = v3_code(&r);
            let message = r.sub_msg.as_deref().unwrap_or_else(|| sub_msg_of(code));
            (400, error_body(code, message))
        }
    };
    signed(shared, status, body, fault).await
}

/// Sign `timestamp\nnonce\nbody\n` into the `alipay-*` headers, with output faults applied.
async fn signed(
    shared: &Arc<Shared>,
    status: u16,
    body: String,
    fault: Option<FaultKind>,
) -> Reply {
    let ts = shared.now().timestamp_millis().to_string();
    let (nonce, trace) = nonce_and_trace(shared);
    let mut headers = vec![("alipay-trace-id".to_string(), trace)];
    let skip_sign = fault == Some(FaultKind::UnsignedSuccess) && status == 200;
    if !skip_sign {
        let content = v3_response_content(&ts, &nonce, &body);
        let sign = sign_answer(shared, fault.as_ref(), &content).await;
        headers.push(("alipay-timestamp".into(), ts));
        headers.push(("alipay-nonce".into(), nonce));
        headers.push(("alipay-signature".into(), sign));
        if let Some(sn) = shared.alipay_cert_sn() {
            headers.push(("alipay-sn".into(), sn.to_string()));
        }
    }
    match fault {
        Some(FaultKind::DropAfter) => Reply::Drop,
        Some(FaultKind::TimeoutAfter) => Reply::Hold,
        Some(FaultKind::TruncatedBody { keep }) => Reply::Truncated {
            status,
            headers,
            body,
            keep,
        },
        _ => Reply::json(status, headers, body),
    }
}
