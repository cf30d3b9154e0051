//! Feishu / Lark custom bot (飞书自定义机器人).
//!
//! What we rely on (Feishu open platform, "自定义机器人使用指南",
//! open.feishu.cn/document/client-docs/bot-v3/add-custom-bot; Lark's is the same at
//! open.larksuite.com):
//! - `POST https://open.feishu.cn/open-apis/bot/v2/hook/TOKEN` (the token is the last
//!   path segment), JSON body `{"msg_type":"post","content":{"post":{"zh_cn":{"title":
//!   "…","content":[[{"tag":"text","text":"…"}], …]}}}}`: a rich-text post, one paragraph
//!   per line. The body may be at most 20 KB.
//! - Signing ("签名校验"): `timestamp` in *seconds* (within an hour of Feishu's clock); the
//!   string `timestamp + "\n" + secret` is the HMAC-SHA256 *key* and the message is
//!   empty; the base64 result is `sign`. Both go into the JSON body as strings:
//!   `{"timestamp":"1599360473","sign":"…",…}`.
//! - The answer is `{"code":0,"msg":"success",…}` (older bots: `"StatusCode":0`); any
//!   other code (19021 sign mismatch, 19024 keyword missing, 9499 bad request) means not
//!   delivered.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::markdown::{lines, one_line_title};
use super::{sign, AlertEvent, Prepared};
use crate::secret::Secret;

/// The request for `event`, signed with `secret` at `now` when there is one.
pub fn prepare(
    url: &reqwest::Url,
    secret: Option<&Secret>,
    event: &AlertEvent,
    now: DateTime<Utc>,
) -> Prepared {
    let paragraphs: Vec<Value> = lines(event)
        .into_iter()
        .map(|line| json!([{ "tag": "text", "text": line }]))
        .collect();
    let mut body = json!({
        "msg_type": "post",
        "content": { "post": { "zh_cn": {
            "title": one_line_title(event),
            "content": paragraphs,
        } } },
    });
    if let Some(secret) = secret {
        let timestamp = now.timestamp();
        body["timestamp"] = Value::String(timestamp.to_string());
        body["sign"] = Value::String(sign::feishu(timestamp, secret.expose()));
    }
    Prepared::json(url.clone(), &body)
}

/// Feishu delivered the message: HTTP 2xx and `code` (or the older `StatusCode`) 0.
pub fn check_answer(status: u16, body: &[u8]) -> Result<(), String> {
    if !(200..300).contains(&status) {
        return Err(super::http_error(status, body));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| format!("HTTP {status} with a body that is not JSON"))?;
    let code = v
        .get("code")
        .or_else(|| v.get("StatusCode"))
        .and_then(Value::as_i64);
    match code {
        Some(0) => Ok(()),
        Some(c) => Err(format!(
            "code {c}: {}",
            super::cut(v.get("msg").and_then(Value::as_str).unwrap_or(""))
        )),
        None => Err("answer without a code".to_string()),
    }
}
