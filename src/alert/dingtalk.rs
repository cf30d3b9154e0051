//! DingTalk custom robot (钉钉自定义机器人).
//!
//! What we rely on (DingTalk open platform, "自定义机器人接入" / "自定义机器人安全设置",
//! open.dingtalk.com/document/robots/custom-robot-access and …/customize-robot-security-settings):
//! - `POST https://oapi.dingtalk.com/robot/send?access_token=TOKEN`, JSON body
//!   `{"msgtype":"markdown","markdown":{"title":"…","text":"…"}}` (`title` shows in the
//!   conversation list, `text` is the markdown).
//! - Signing ("加签"): `timestamp` is the current time in milliseconds (within an hour of
//!   DingTalk's clock); the string to sign is `timestamp + "\n" + secret`, signed with
//!   HmacSHA256 *keyed with the secret*, base64-encoded, then URL-encoded; both are
//!   appended to the URL: `&timestamp=…&sign=…`. The secret is the `SEC…` string shown on
//!   the robot's security page, used whole.
//! - The answer is HTTP 200 with `{"errcode":0,"errmsg":"ok"}`; any other `errcode`
//!   (e.g. 310000 "sign not match" / keywords not in content) means not delivered.
//! - A robot with the "custom keywords" setting only accepts messages that contain one:
//!   every message starts with "shopsync", so that is the keyword to set.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::markdown::{markdown, one_line_title};
use super::{sign, AlertEvent, Prepared};
use crate::secret::Secret;

/// The request for `event`, signed with `secret` at `now` when there is one.
pub fn prepare(
    url: &reqwest::Url,
    secret: Option<&Secret>,
    event: &AlertEvent,
    now: DateTime<Utc>,
) -> Prepared {
    let mut url = url.clone();
    if let Some(secret) = secret {
        let timestamp = now.timestamp_millis();
        let sign = sign::dingtalk(timestamp, secret.expose());
        url.query_pairs_mut()
            .append_pair("timestamp", &timestamp.to_string())
            .append_pair("sign", &sign);
    }
    let body = json!({
        "msgtype": "markdown",
        "markdown": { "title": one_line_title(event), "text": markdown(event) },
    });
    Prepared::json(url, &body)
}

/// DingTalk delivered the message: HTTP 2xx and `errcode` 0.
pub fn check_answer(status: u16, body: &[u8]) -> Result<(), String> {
    super::errcode_answer(status, body)
}
