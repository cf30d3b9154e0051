//! WeCom (企业微信) group robot (群机器人).
//!
//! What we rely on (WeCom developer docs, "群机器人配置说明",
//! developer.work.weixin.qq.com/document/path/91770):
//! - `POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY`, JSON body
//!   `{"msgtype":"markdown","markdown":{"content":"…"}}`; `content` is at most 4096 bytes
//!   of UTF-8 (we send at most 4000).
//! - There is no signature: the `key` in the URL is the credential (so it is redacted in
//!   logs, and a `secret` is refused by `validate`).
//! - The answer is `{"errcode":0,"errmsg":"ok"}`; any other `errcode` means not delivered.

use serde_json::json;

use super::markdown::markdown;
use super::{AlertEvent, Prepared};

/// The request for `event`.
pub fn prepare(url: &reqwest::Url, event: &AlertEvent) -> Prepared {
    let body = json!({
        "msgtype": "markdown",
        "markdown": { "content": markdown(event) },
    });
    Prepared::json(url.clone(), &body)
}

/// WeCom delivered the message: HTTP 2xx and `errcode` 0.
pub fn check_answer(status: u16, body: &[u8]) -> Result<(), String> {
    super::errcode_answer(status, body)
}
