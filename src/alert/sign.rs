//! The robots' signatures: HMAC-SHA256, base64 or hex.

use base64::Engine;
use hmac::{KeyInit, Mac};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// HMAC-SHA256 of `msg` under `key`.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// DingTalk: base64(HMAC-SHA256(key = secret, msg = "{timestamp_ms}\n{secret}")). The
/// caller URL-encodes it into the query.
pub fn dingtalk(timestamp_ms: i64, secret: &str) -> String {
    let msg = format!("{timestamp_ms}\n{secret}");
    base64(&hmac_sha256(secret.as_bytes(), msg.as_bytes()))
}

/// Feishu/Lark: base64(HMAC-SHA256(key = "{timestamp_s}\n{secret}", msg = "")).
pub fn feishu(timestamp_s: i64, secret: &str) -> String {
    let key = format!("{timestamp_s}\n{secret}");
    base64(&hmac_sha256(key.as_bytes(), b""))
}

/// The generic webhook's header value: `sha256=` + hex(HMAC-SHA256(key = secret,
/// msg = body)).
pub fn webhook(secret: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(hmac_sha256(secret.as_bytes(), body))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc_4231_case_2() {
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn platform_strings_to_sign_differ_in_key_and_message() {
        // Same inputs, different constructions: DingTalk keys with the secret, Feishu
        // with the string to sign.
        let d = dingtalk(1_700_000_000_000, "SECx");
        let f = feishu(1_700_000_000, "SECx");
        assert_eq!(d, base64(&hmac_sha256(b"SECx", b"1700000000000\nSECx")));
        assert_eq!(f, base64(&hmac_sha256(b"1700000000\nSECx", b"")));
        assert_ne!(d, f);
        assert!(webhook("k", b"{}").starts_with("sha256="));
        assert_eq!(webhook("k", b"{}").len(), 7 + 64);
    }
}
