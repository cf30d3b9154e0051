//! Secrets (app_auth_token, passwords, webhook secrets, private keys) and the redaction
//! that keeps them out of every log line, error message, audit row, report and panic.
//!
//! Two layers, so that a path nobody thought of is still covered:
//! - [`Secret`] never prints itself (`Debug`/`Display` show `[redacted]`), and creating
//!   one registers its value;
//! - [`redact`] replaces every registered value, and any `app_auth_token=…` parameter
//!   (a request URL or a gateway's echoed string-to-sign), with `[redacted]`. The log
//!   writer, the panic hook, the command layer's error printing and the audit store's
//!   free-text columns all pass text through it.

use std::borrow::Cow;
use std::fmt;
use std::sync::RwLock;

/// What replaces a secret.
pub const REDACTED: &str = "[redacted]";

/// Shorter values are not registered: they would match ordinary text.
const MIN_SECRET_LEN: usize = 6;

static REGISTERED: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Holds a secret value. `Debug` and `Display` print `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap (and register for redaction) a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        register(&value);
        Self(value)
    }

    /// The secret itself: only for putting it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Register a value that must never be printed (trimmed; short values are ignored).
pub fn register(value: &str) {
    let value = value.trim();
    if value.len() < MIN_SECRET_LEN {
        return;
    }
    let mut all = REGISTERED.write().unwrap_or_else(|e| e.into_inner());
    if !all.iter().any(|v| v == value) {
        all.push(value.to_string());
        // Longest first, so a secret containing another is replaced whole.
        all.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }
}

/// Register the material of a private key: its base64 body (whole and line by line), so
/// that no fragment of it can be printed either.
pub fn register_key_material(pem_or_bare: &str) {
    let body: Vec<&str> = pem_or_bare
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("-----"))
        .collect();
    register(&body.concat());
    for line in body {
        if line.len() >= 16 {
            register(line);
        }
    }
}

/// `text` with every registered secret and every `app_auth_token` parameter value
/// replaced by `[redacted]`.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    {
        let all = REGISTERED.read().unwrap_or_else(|e| e.into_inner());
        for secret in all.iter() {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), REDACTED));
            }
        }
    }
    if out.contains("app_auth_token") {
        out = Cow::Owned(redact_parameter(&out, "app_auth_token"));
    }
    out
}

/// Replace the value after `name=` (form/query/sign-string style) and after `"name":"`
/// (JSON style), up to the next `&`, whitespace, quote or comma.
fn redact_parameter(text: &str, name: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(name) {
        let after = &rest[pos + name.len()..];
        let sep_len = if after.starts_with('=') {
            1
        } else if after.starts_with("\":\"") || after.starts_with("%3D") || after.starts_with("%3d")
        {
            3
        } else {
            out.push_str(&rest[..pos + name.len()]);
            rest = after;
            continue;
        };
        out.push_str(&rest[..pos + name.len() + sep_len]);
        let value = &after[sep_len..];
        let end = value
            .find(|c: char| c.is_whitespace() || "&,'\"}%".contains(c))
            .unwrap_or(value.len());
        if end > 0 {
            out.push_str(REDACTED);
        }
        rest = &value[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registered_secret_is_replaced_wherever_it_appears() {
        let s = Secret::new("202612BBsecretTOKEN42");
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
        let text = "error: GET https://x/gateway.do?a=1&t=202612BBsecretTOKEN42 failed";
        assert!(!redact(text).contains("secretTOKEN"));
    }

    #[test]
    fn app_auth_token_parameters_are_redacted_in_urls_sign_strings_and_json() {
        let url = "http://127.0.0.1:9/gateway.do?app_auth_token=unregistered123&app_id=1";
        assert_eq!(
            redact(url),
            "http://127.0.0.1:9/gateway.do?app_auth_token=[redacted]&app_id=1"
        );
        let signed = "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：app_auth_token=tok987654&app_id=2021&biz_content={}";
        assert!(redact(signed).contains("app_auth_token=[redacted]&app_id=2021"));
        let json = r#"{"app_auth_token":"tok555555","x":1}"#;
        assert_eq!(redact(json), r#"{"app_auth_token":"[redacted]","x":1}"#);
        let encoded = "app_auth_token%3Dtok777777%26app_id";
        assert!(!redact(encoded).contains("tok777777"));
    }

    #[test]
    fn key_material_is_redacted_whole_and_by_line() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n";
        register_key_material(pem);
        assert_eq!(
            redact("oops MIIEvQIBADANBgkqhkiG9w0BAQEFAASC here"),
            "oops [redacted] here"
        );
    }

    #[test]
    fn text_without_secrets_is_borrowed_unchanged() {
        assert!(matches!(redact("nothing to see"), Cow::Borrowed(_)));
    }
}
