//! Loopback stand-ins for the robots: each checks a request as its platform documents it
//! (path, credential, body shape, signature recomputed from the received timestamp and
//! the known secret) and answers as the platform does.
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{KeyInit, Mac};
use serde_json::Value;

use crate::support::http_receiver::{Received, Reply};

pub const DING_TOKEN: &str = "dingT0ken6f1a2b3c4d5e6f7a8b";
pub const DING_SECRET: &str = "SEC9f8e7d6c5b4a39281706dingSecret";
pub const WECOM_KEY: &str = "693a91f6-7a1b-4bc4-9e1d-wecomK3y";
pub const FEISHU_TOKEN: &str = "0a1b2c3d-4e5f-6789-abcd-feishuT0ken";
pub const FEISHU_SECRET: &str = "feishuS3cretQWERTY";
pub const HOOK_SECRET: &str = "hookS3cretZXCVBN";

/// Everything that must never be logged (the URL tokens) or sent (the secrets).
pub const ALL_SECRETS: [&str; 6] = [
    DING_TOKEN,
    DING_SECRET,
    WECOM_KEY,
    FEISHU_TOKEN,
    FEISHU_SECRET,
    HOOK_SECRET,
];

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    k.sort();
    k
}

fn check(ok: bool, what: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(what.to_string())
    }
}

fn json_post(req: &Received) -> Result<Value, String> {
    check(req.method == "POST", "not a POST")?;
    check(
        req.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "content-type is not JSON",
    )?;
    serde_json::from_slice(&req.body).map_err(|e| format!("body is not JSON: {e}"))
}

/// DingTalk: `/robot/send?access_token=…&timestamp=<ms>&sign=<urlencoded base64>`,
/// sign = base64(HMAC-SHA256(key = secret, "{timestamp}\n{secret}")), timestamp within
/// an hour of DingTalk's clock (here: `now`, which the dispatcher's clock also reads).
pub fn verify_dingtalk(req: &Received, secret: &str, now: DateTime<Utc>) -> Result<(), String> {
    check(req.path == "/robot/send", "path")?;
    check(
        req.query_value("access_token").as_deref() == Some(DING_TOKEN),
        "access_token",
    )?;
    let ts = req.query_value("timestamp").ok_or("no timestamp")?;
    check(
        ts.len() == 13 && ts.chars().all(|c| c.is_ascii_digit()),
        "timestamp is not in ms",
    )?;
    let ts_ms: i64 = ts.parse().unwrap();
    check(
        (ts_ms - now.timestamp_millis()).abs() < 3_600_000,
        "timestamp off by an hour",
    )?;
    check(
        ts_ms == now.timestamp_millis(),
        "timestamp is not the clock's",
    )?;
    // The base64 sign always ends in '='; sent URL-encoded it arrives as %3D.
    check(
        req.query.as_deref().unwrap_or("").contains("%3D"),
        "sign not URL-encoded",
    )?;
    let sign = req.query_value("sign").ok_or("no sign")?;
    let expected = b64(&hmac_sha256(
        secret.as_bytes(),
        format!("{ts}\n{secret}").as_bytes(),
    ));
    check(sign == expected, "sign not match")?;
    let v = json_post(req)?;
    check(keys(&v) == ["markdown", "msgtype"], "body keys")?;
    check(v["msgtype"] == "markdown", "msgtype")?;
    check(keys(&v["markdown"]) == ["text", "title"], "markdown keys")?;
    check(
        v["markdown"]["title"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "title",
    )?;
    check(
        v["markdown"]["text"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "text",
    )?;
    Ok(())
}

/// WeCom: `/cgi-bin/webhook/send?key=…`, `{"msgtype":"markdown","markdown":{"content"}}`,
/// content at most 4096 bytes.
pub fn verify_wecom(req: &Received) -> Result<(), String> {
    check(req.path == "/cgi-bin/webhook/send", "path")?;
    check(req.query_value("key").as_deref() == Some(WECOM_KEY), "key")?;
    let v = json_post(req)?;
    check(keys(&v) == ["markdown", "msgtype"], "body keys")?;
    check(v["msgtype"] == "markdown", "msgtype")?;
    check(keys(&v["markdown"]) == ["content"], "markdown keys")?;
    let content = v["markdown"]["content"].as_str().ok_or("content")?;
    check(
        !content.is_empty() && content.len() <= 4096,
        "content length",
    )?;
    Ok(())
}

/// Feishu: `/open-apis/bot/v2/hook/<token>`, body with `timestamp` (seconds, a string)
/// and `sign` = base64(HMAC-SHA256(key = "{timestamp}\n{secret}", msg = "")), a `post`.
pub fn verify_feishu(req: &Received, secret: &str, now: DateTime<Utc>) -> Result<(), String> {
    check(
        req.path == format!("/open-apis/bot/v2/hook/{FEISHU_TOKEN}"),
        "path",
    )?;
    check(req.body.len() <= 20 * 1024, "body over 20 KB")?;
    let v = json_post(req)?;
    check(
        keys(&v) == ["content", "msg_type", "sign", "timestamp"],
        "body keys",
    )?;
    let ts = v["timestamp"].as_str().ok_or("timestamp is not a string")?;
    check(
        ts.len() == 10 && ts.chars().all(|c| c.is_ascii_digit()),
        "timestamp is not in s",
    )?;
    let ts_s: i64 = ts.parse().unwrap();
    check(
        (ts_s - now.timestamp()).abs() < 3600,
        "timestamp off by an hour",
    )?;
    check(ts_s == now.timestamp(), "timestamp is not the clock's")?;
    let expected = b64(&hmac_sha256(format!("{ts}\n{secret}").as_bytes(), b""));
    check(
        v["sign"].as_str() == Some(expected.as_str()),
        "sign match fail",
    )?;
    check(v["msg_type"] == "post", "msg_type")?;
    let post = &v["content"]["post"]["zh_cn"];
    check(
        post["title"].as_str().is_some_and(|t| !t.is_empty()),
        "title",
    )?;
    let paragraphs = post["content"].as_array().ok_or("content is not a list")?;
    check(!paragraphs.is_empty(), "no paragraphs")?;
    for p in paragraphs {
        for el in p.as_array().ok_or("a paragraph is not a list")? {
            check(el["tag"] == "text" && el["text"].is_string(), "element")?;
        }
    }
    Ok(())
}

/// The text of a Feishu post, one paragraph per line.
pub fn feishu_text(v: &Value) -> String {
    v["content"]["post"]["zh_cn"]["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p.as_array()
                .unwrap()
                .iter()
                .map(|e| e["text"].as_str().unwrap())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The generic webhook: `x-shopsync-signature: sha256=hex(HMAC-SHA256(secret, body))`
/// over the raw body, and schema 1.
pub fn verify_webhook(req: &Received, secret: &str, now: DateTime<Utc>) -> Result<(), String> {
    let v = json_post(req)?;
    let sig = req.header("x-shopsync-signature").ok_or("no signature")?;
    let expected = format!(
        "sha256={}",
        hex::encode(hmac_sha256(secret.as_bytes(), &req.body))
    );
    check(sig == expected, "signature")?;
    check(v["schema"] == 1 && v["source"] == "shopsync", "schema")?;
    check(
        req.header("x-shopsync-event") == v["event"].as_str(),
        "event header",
    )?;
    check(
        v["sent_at"].as_str() == Some(now.to_rfc3339_opts(SecondsFormat::Secs, true).as_str()),
        "sent_at",
    )?;
    for k in ["title", "reason", "command"] {
        check(v[k].as_str().is_some_and(|s| !s.is_empty()), k)?;
    }
    check(
        v["details"].is_array() && v["more_details"].is_u64(),
        "details",
    )?;
    Ok(())
}

/// A DingTalk robot with `secret`: `errcode` 0, or 310000 on a bad signature.
pub fn dingtalk(secret: &'static str, now: DateTime<Utc>) -> impl Fn(&Received) -> Reply {
    move |req| match verify_dingtalk(req, secret, now) {
        Ok(()) => Reply::Answer(200, r#"{"errcode":0,"errmsg":"ok"}"#.into()),
        Err(e) => Reply::Answer(200, format!(r#"{{"errcode":310000,"errmsg":"{e}"}}"#)),
    }
}

pub fn wecom() -> impl Fn(&Received) -> Reply {
    |req| match verify_wecom(req) {
        Ok(()) => Reply::Answer(200, r#"{"errcode":0,"errmsg":"ok"}"#.into()),
        Err(e) => Reply::Answer(200, format!(r#"{{"errcode":40008,"errmsg":"{e}"}}"#)),
    }
}

/// A Feishu bot with `secret`: `code` 0, or 19021 on a bad signature.
pub fn feishu(secret: &'static str, now: DateTime<Utc>) -> impl Fn(&Received) -> Reply {
    move |req| match verify_feishu(req, secret, now) {
        Ok(()) => Reply::Answer(
            200,
            r#"{"code":0,"msg":"success","data":{},"StatusCode":0,"StatusMessage":"success"}"#
                .into(),
        ),
        Err(e) => Reply::Answer(200, format!(r#"{{"code":19021,"msg":"{e}","data":{{}}}}"#)),
    }
}

/// A webhook receiver with `secret`: 204, or 401 on a bad signature.
pub fn webhook(secret: &'static str, now: DateTime<Utc>) -> impl Fn(&Received) -> Reply {
    move |req| match verify_webhook(req, secret, now) {
        Ok(()) => Reply::Answer(204, String::new()),
        Err(e) => Reply::Answer(401, format!(r#"{{"error":"{e}"}}"#)),
    }
}

/// The time a request says it was signed: the webhook's `sent_at`, DingTalk's
/// `timestamp` (ms). The binary runs on the real clock: the robots then check that time
/// against theirs (within a minute here) and everything else exactly (`robots.rs`).
pub fn stamped(req: &Received) -> Option<DateTime<Utc>> {
    if let Some(ms) = req.query_value("timestamp") {
        return DateTime::from_timestamp_millis(ms.parse().ok()?);
    }
    let v: serde_json::Value = serde_json::from_slice(&req.body).ok()?;
    DateTime::parse_from_rfc3339(v["sent_at"].as_str()?)
        .ok()
        .map(|t| t.to_utc())
}

/// A robot on the real clock: `verify` with the request's own time, once that time is
/// within a minute of now.
pub fn live(
    robot: impl Fn(&'static str, DateTime<Utc>) -> Box<dyn Fn(&Received) -> Reply + Send + Sync>
        + Send
        + Sync
        + 'static,
    secret: &'static str,
) -> impl Fn(&Received) -> Reply + Send + Sync + 'static {
    move |req| match stamped(req) {
        Some(at) if (Utc::now() - at).num_seconds().abs() < 60 => robot(secret, at)(req),
        _ => Reply::Answer(400, r#"{"errcode":310000,"errmsg":"timestamp"}"#.into()),
    }
}
