//! A request ready to send, and reading the robots' answers.

use serde_json::Value;

/// What a destination sends: URL (with any signature in its query), JSON body, headers.
#[derive(Clone)]
pub struct Prepared {
    pub url: reqwest::Url,
    pub body: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

impl Prepared {
    /// `body` serialised as the request body.
    pub fn json(url: reqwest::Url, body: &Value) -> Self {
        Self {
            url,
            body: serde_json::to_vec(body).expect("a JSON value serialises"),
            headers: Vec::new(),
        }
    }
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("url", &super::redact::url_text(self.url.as_str()))
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// At most 200 characters of a remote's text, on one line.
pub fn cut(text: &str) -> String {
    super::event::one_line(text, 200)
}

/// `HTTP 500: <start of the body>`.
pub fn http_error(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if text.trim().is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {}", cut(text.trim()))
    }
}

/// DingTalk's and WeCom's answer: HTTP 2xx and `{"errcode":0,...}`.
pub fn errcode_answer(status: u16, body: &[u8]) -> Result<(), String> {
    if !(200..300).contains(&status) {
        return Err(http_error(status, body));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| format!("HTTP {status} with a body that is not JSON"))?;
    match v.get("errcode").and_then(Value::as_i64) {
        Some(0) => Ok(()),
        Some(code) => Err(format!(
            "errcode {code}: {}",
            cut(v.get("errmsg").and_then(Value::as_str).unwrap_or(""))
        )),
        None => Err("answer without an errcode".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_as_the_platforms_write_them() {
        assert!(errcode_answer(200, br#"{"errcode":0,"errmsg":"ok"}"#).is_ok());
        assert_eq!(
            errcode_answer(200, br#"{"errcode":310000,"errmsg":"sign not match"}"#).unwrap_err(),
            "errcode 310000: sign not match"
        );
        assert_eq!(errcode_answer(500, b"").unwrap_err(), "HTTP 500");
        assert!(errcode_answer(200, b"<html>").is_err());
        assert!(super::super::feishu::check_answer(200, br#"{"code":0,"msg":"success"}"#).is_ok());
        assert!(super::super::feishu::check_answer(200, br#"{"StatusCode":0}"#).is_ok());
        assert_eq!(
            super::super::feishu::check_answer(200, br#"{"code":19021,"msg":"sign match fail"}"#)
                .unwrap_err(),
            "code 19021: sign match fail"
        );
        assert!(super::super::webhook::check_answer(204, b"").is_ok());
        assert!(super::super::webhook::check_answer(404, b"no").is_err());
    }
}
