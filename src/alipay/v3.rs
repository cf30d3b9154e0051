//! v3 protocol signing helpers (docs/protocol.md §3): auth string, string to sign, the
//! `Authorization` header and the response signature check, kept correct against the
//! official SDK vectors. The v3 transport (`transport::v3`) is built on them.

use super::sign::{SignKey, VerifyKey};

/// `app_id=<app_id>,nonce=<nonce>,timestamp=<epoch ms>`.
pub fn auth_string(app_id: &str, nonce: &str, timestamp_ms: i64) -> String {
    format!("app_id={app_id},nonce={nonce},timestamp={timestamp_ms}")
}

/// The request string to sign: auth string, method, URI, body, and the app auth token
/// when the `alipay-app-auth-token` header is sent; every line ends with `\n`.
pub fn request_sign_content(
    auth_string: &str,
    http_method: &str,
    request_uri: &str,
    body: &str,
    app_auth_token: Option<&str>,
) -> String {
    let mut s = format!(
        "{auth_string}\n{}\n{request_uri}\n{body}\n",
        http_method.to_ascii_uppercase()
    );
    if let Some(token) = app_auth_token {
        s.push_str(token);
        s.push('\n');
    }
    s
}

/// `ALIPAY-SHA256withRSA <auth string>,sign=<signature>`.
pub fn authorization(auth_string: &str, sign: &str) -> String {
    format!("ALIPAY-SHA256withRSA {auth_string},sign={sign}")
}

/// Sign a request and return the `Authorization` header value.
pub fn sign_request(
    key: &SignKey,
    auth_string: &str,
    http_method: &str,
    request_uri: &str,
    body: &str,
    app_auth_token: Option<&str>,
) -> String {
    let content = request_sign_content(auth_string, http_method, request_uri, body, app_auth_token);
    authorization(auth_string, &key.sign(&content))
}

/// The response string to sign: `<alipay-timestamp>\n<alipay-nonce>\n<raw body>\n`.
pub fn response_sign_content(timestamp: &str, nonce: &str, body: &str) -> String {
    format!("{timestamp}\n{nonce}\n{body}\n")
}

/// Verify a v3 response's `alipay-signature` header.
pub fn verify_response(
    key: &VerifyKey,
    timestamp: &str,
    nonce: &str,
    body: &str,
    signature: &str,
) -> bool {
    key.verify(
        response_sign_content(timestamp, nonce, body).as_bytes(),
        signature,
    )
}

/// Parse an `Authorization` header into (auth string, sign). `None` when malformed.
pub fn parse_authorization(header: &str) -> Option<(String, String)> {
    let rest = header.strip_prefix("ALIPAY-SHA256withRSA ")?;
    let idx = rest.rfind(",sign=")?;
    Some((rest[..idx].to_string(), rest[idx + 6..].to_string()))
}
