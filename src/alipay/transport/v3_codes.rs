//! v3 errors in the classic classes (docs/protocol.md §3, §6.4): the HTTP status and the
//! body's `code` give the classic `code` the classification needs (`40005` for 429,
//! `20000` for 5xx, `20001` for token errors, ...); the v3 `code` is kept as the sub code,
//! so `AlipayError::is("NOT_ALLOWED_CONCURRENT_MODIFY")` reads the same on both protocols.

use serde::Deserialize;

use super::{after_send, truncate};
use crate::alipay::error::{normalise_sub_code, AlipayError, ErrorClass};

/// `{code, message, links}`; `links` is parsed leniently (an array live, a string in the
/// generated schemas) and not used.
#[derive(Deserialize)]
struct ErrorBody {
    code: Option<String>,
    message: Option<String>,
}

/// The classic `code` a v3 gateway code (without its `isv.`/`aop.` prefix) stands for.
fn gateway_code(code: &str) -> Option<&'static str> {
    let c = normalise_sub_code(code);
    Some(match c.as_str() {
        "APP_CALL_LIMITED"
        | "METHOD_CALL_LIMITED"
        | "APP_AUTH_INVOKE_LIMIT"
        | "APP_API_PUNISHED"
        | "EXCEED_API_BALANCE" => "40005",
        "UNKNOW_ERROR" | "UNKNOWN_ERROR" => "20000",
        "INVALID_AUTH_TOKEN"
        | "AUTH_TOKEN_TIME_OUT"
        | "INVALID_APP_AUTH_TOKEN"
        | "INVALID_APP_AUTH_TOKEN_NO_API"
        | "APP_AUTH_TOKEN_TIME_OUT"
        | "NO_PRODUCT_REG_BY_PARTNER" => "20001",
        "INVALID_AUTH_RELATIONS" => "40003",
        "INSUFFICIENT_ISV_PERMISSIONS"
        | "INSUFFICIENT_USER_PERMISSIONS"
        | "SELF_INVOKE_FORBIDDEN" => "40006",
        c if c.starts_with("MISSING_") => "40001",
        "INVALID_PARAMETER"
        | "INVALID_METHOD"
        | "INVALID_FORMAT"
        | "INVALID_SIGNATURE"
        | "INVALID_SIGNATURE_TYPE"
        | "INVALID_APP_ID"
        | "INVALID_TIMESTAMP"
        | "INVALID_CHARSET"
        | "ILLEGAL_JSON"
        | "UPLOAD_FAIL"
        | "INVALID_FILE_EXTENSION"
        | "INVALID_FILE_SIZE"
        | "NOT_SUPPORT_APP_AUTH"
        | "FORBIDDEN_API"
        | "APP_CERT_NOT_EXIST"
        | "INVALID_ALIPAY_ROOT_CERT_SN" => "40002",
        _ => return None,
    })
}

/// A per-API business code is written `UPPER_SNAKE` (`SHOP_MODIFY_SHOP_NOT_EXISTS`,
/// `INVALID_PARAMETER` of the query methods); the gateway's own codes are lower-case with
/// dashes (`invalid-parameter`, docs/protocol.md §3). Both spellings of one name exist, so
/// the spelling decides which it is.
fn is_business_spelling(code: &str) -> bool {
    !code
        .chars()
        .any(|c| c.is_ascii_lowercase() || c == '-' || c == '.')
}

/// The classic code of a v3 error: its gateway code's when it has one, else by status
/// (400 = a business answer, `40004`).
fn classic_code(status: u16, code: &str) -> Option<&'static str> {
    match status {
        429 => return Some("40005"),
        500..=599 => return Some("20000"),
        _ => {}
    }
    if let Some(c) = gateway_code(code).filter(|_| !is_business_spelling(code)) {
        return Some(c);
    }
    match status {
        400 => Some("40004"),
        401 => Some("20001"),
        403 => Some("40006"),
        _ => None,
    }
}

/// The error a non-2xx v3 answer is. `signed`: its signature verified.
pub(super) fn error_of(
    method: &str,
    write: bool,
    status: u16,
    body: &str,
    signed: bool,
) -> AlipayError {
    let parsed: Option<ErrorBody> = serde_json::from_str(body).ok();
    let code = parsed.as_ref().and_then(|b| b.code.clone());
    let Some(code) = code.filter(|c| !c.is_empty()) else {
        // Not Alipay's error body: a proxy's page, an unknown path.
        let class = match status {
            500..=599 => after_send(write),
            429 => ErrorClass::Throttled,
            _ => ErrorClass::Config,
        };
        let hint = if status == 404 {
            " (unknown v3 path: is [alipay] gateway an Alipay gateway that serves v3?)"
        } else {
            ""
        };
        return AlipayError::local(
            method,
            class,
            format!(
                "HTTP {status} from the gateway{hint}: {}",
                truncate(body, 200)
            ),
        );
    };
    let message = parsed.and_then(|b| b.message);
    let Some(classic) = classic_code(status, &code) else {
        return AlipayError::local(
            method,
            ErrorClass::Config,
            format!(
                "HTTP {status} {code}: {}",
                message.as_deref().unwrap_or_default()
            ),
        );
    };
    let status_text = format!("HTTP {status}");
    AlipayError::from_answer(
        method,
        write,
        classic,
        Some(&status_text),
        Some(&code),
        message.as_deref(),
        signed,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(status: u16, code: &str, write: bool) -> ErrorClass {
        let body = format!(r#"{{"code":"{code}","message":"m","links":[]}}"#);
        error_of("m", write, status, &body, true).class
    }

    #[test]
    fn statuses_and_codes_map_to_the_classic_classes() {
        assert_eq!(class(429, "app-call-limited", true), ErrorClass::Throttled);
        assert_eq!(class(500, "unknow-error", true), ErrorClass::OutcomeUnknown);
        assert_eq!(class(502, "unknow-error", false), ErrorClass::Transport);
        assert_eq!(
            class(401, "invalid-app-auth-token", false),
            ErrorClass::Config
        );
        assert_eq!(
            class(403, "insufficient-isv-permissions", false),
            ErrorClass::Config
        );
        assert_eq!(class(400, "invalid-signature", true), ErrorClass::Config);
        assert_eq!(class(400, "app-cert-not-exist", false), ErrorClass::Config);
        assert_eq!(
            class(400, "missing-alipay-root-cert-sn", false),
            ErrorClass::Config
        );
        assert_eq!(
            class(400, "NOT_ALLOWED_CONCURRENT_MODIFY", true),
            ErrorClass::Deferred
        );
        assert_eq!(
            class(400, "SHOP_CREATE_REPEAT_REQUEST", true),
            ErrorClass::AlreadyAccepted
        );
        assert_eq!(
            class(400, "SHOP_CREATE_SYSTEM_ERROR", true),
            ErrorClass::OutcomeUnknown
        );
        assert_eq!(class(400, "SYSTEM_ERROR", false), ErrorClass::Transport);
        assert_eq!(class(400, "INVALID_SHOPID", false), ErrorClass::Business);
        // The query methods' business code and the gateway's code share a name.
        assert_eq!(class(400, "INVALID_PARAMETER", false), ErrorClass::Business);
        assert_eq!(class(400, "invalid-parameter", false), ErrorClass::Config);
        assert_eq!(class(418, "WHATEVER", false), ErrorClass::Config);
    }

    #[test]
    fn the_v3_code_is_the_sub_code() {
        let e = error_of(
            "m",
            true,
            400,
            r#"{"code":"NOT_ALLOWED_CONCURRENT_MODIFY","message":"门店正在审核中","links":"x"}"#,
            true,
        );
        assert!(e.is("NOT_ALLOWED_CONCURRENT_MODIFY"));
        assert_eq!(e.code.as_deref(), Some("40004"));
        assert_eq!(e.sub_msg.as_deref(), Some("门店正在审核中"));
        assert!(e.signed);
    }

    #[test]
    fn a_page_that_is_not_alipays_error_body() {
        let e = error_of("m", true, 502, "<html>Bad Gateway</html>", false);
        assert_eq!(e.class, ErrorClass::OutcomeUnknown);
        let e = error_of("m", false, 404, "<html>Not Found</html>", false);
        assert_eq!(e.class, ErrorClass::Config);
        assert!(e.detail.contains("unknown v3 path"), "{e}");
    }
}
