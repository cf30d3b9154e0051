//! Alipay's answers classified once into what the caller must do (docs/protocol.md §6.4).

use crate::secret::redact;

/// What the caller must do about a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Permanent for this input (`40004` business codes): report it.
    Business,
    /// A modify refused because another modify of the shop is under audit
    /// (`NOT_ALLOWED_CONCURRENT_MODIFY`): not applied; send it after that audit ends.
    Deferred,
    /// A create answered `SHOP_CREATE_REPEAT_REQUEST`: Alipay has already seen this
    /// request id, so an earlier attempt of this very create arrived and was accepted.
    /// Never send it again; follow it as an application (docs/protocol.md §6.4).
    AlreadyAccepted,
    /// `40005`: the call was not executed; slow down and retry.
    Throttled,
    /// A write whose effect is unknown (`20000`, `SYSTEM_ERROR`, timeout or dropped
    /// connection after sending, unverifiable answer): confirm before any retry.
    OutcomeUnknown,
    /// Credentials or configuration (`20001`, `40001`, `40002`, `40003`, `40006`, unknown
    /// codes, key mismatch): an operator must fix something.
    Config,
    /// Retry-safe failure of a read, or a failure before any byte was sent.
    Transport,
    /// A read whose answer did not verify (tampered, wrong Alipay public key, unsigned
    /// success, truncated body).
    Unverifiable,
}

impl ErrorClass {
    /// Short label for logs and metrics.
    pub fn label(self) -> &'static str {
        match self {
            ErrorClass::Business => "business",
            ErrorClass::Deferred => "deferred",
            ErrorClass::AlreadyAccepted => "already_accepted",
            ErrorClass::Throttled => "throttled",
            ErrorClass::OutcomeUnknown => "outcome_unknown",
            ErrorClass::Config => "config",
            ErrorClass::Transport => "transport",
            ErrorClass::Unverifiable => "unverifiable",
        }
    }
}

/// A failed gateway call. Carries the method and, for gateway answers, the codes.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{method}: {detail}")]
pub struct AlipayError {
    pub method: String,
    pub class: ErrorClass,
    /// Gateway `code` (`40004`, …) when Alipay answered.
    pub code: Option<String>,
    /// Gateway `sub_code` when Alipay answered.
    pub sub_code: Option<String>,
    /// Gateway `sub_msg` (or `msg`) when Alipay answered.
    pub sub_msg: Option<String>,
    /// Whether the error body carried a signature that verified.
    pub signed: bool,
    /// Human-readable description.
    pub detail: String,
    /// v3 `alipay-trace-id` of the answer (what Alipay's support asks for).
    pub trace_id: Option<String>,
}

/// Compare sub codes leniently: strip an `isv.`/`isp.`/`aop.` prefix, ignore case, and
/// treat `-` and `_` alike (docs/protocol.md §6.3).
pub fn normalise_sub_code(sub_code: &str) -> String {
    let s = sub_code.trim();
    let s = ["isv.", "isp.", "aop.", "ISV.", "ISP.", "AOP."]
        .iter()
        .find_map(|p| s.strip_prefix(p))
        .unwrap_or(s);
    s.to_ascii_uppercase().replace('-', "_")
}

/// True when `sub_code` names `wanted` under the lenient comparison.
pub fn sub_code_is(sub_code: Option<&str>, wanted: &str) -> bool {
    sub_code.is_some_and(|s| normalise_sub_code(s) == normalise_sub_code(wanted))
}

/// Classify a gateway answer that is not `10000`.
pub fn classify(code: &str, sub_code: Option<&str>, write: bool) -> ErrorClass {
    let sub = sub_code.map(normalise_sub_code).unwrap_or_default();
    match code {
        "40005" => ErrorClass::Throttled,
        "20000" => {
            if write {
                ErrorClass::OutcomeUnknown
            } else {
                ErrorClass::Transport
            }
        }
        "40004" => {
            if sub == "SYSTEM_ERROR" || sub.ends_with("_SYSTEM_ERROR") || sub == "UNKNOW_ERROR" {
                if write {
                    ErrorClass::OutcomeUnknown
                } else {
                    ErrorClass::Transport
                }
            } else if write && sub == "NOT_ALLOWED_CONCURRENT_MODIFY" {
                ErrorClass::Deferred
            } else if write && sub == "SHOP_CREATE_REPEAT_REQUEST" {
                // The request id was already seen: an earlier attempt arrived.
                ErrorClass::AlreadyAccepted
            } else {
                ErrorClass::Business
            }
        }
        _ => ErrorClass::Config,
    }
}

impl AlipayError {
    /// A non-`10000` answer from the gateway.
    pub fn from_answer(
        method: &str,
        write: bool,
        code: &str,
        msg: Option<&str>,
        sub_code: Option<&str>,
        sub_msg: Option<&str>,
        signed: bool,
    ) -> Self {
        let class = classify(code, sub_code, write);
        let trust = if signed { "" } else { " (unsigned answer)" };
        // A gateway may echo the string it verified (with the app_auth_token) in sub_msg.
        let sub_msg = sub_msg.map(|m| redact(m).into_owned());
        let msg = msg.map(|m| redact(m).into_owned());
        let sub_msg = sub_msg.as_deref();
        let msg = msg.as_deref();
        let detail = format!(
            "{} {} {}: {}{}{}",
            class_word(class),
            code,
            sub_code.unwrap_or("-"),
            sub_msg.or(msg).unwrap_or(""),
            trust,
            hint(sub_code)
        );
        Self {
            method: method.to_string(),
            class,
            code: Some(code.to_string()),
            sub_code: sub_code.map(str::to_string),
            sub_msg: sub_msg.or(msg).map(str::to_string),
            signed,
            detail,
            trace_id: None,
        }
    }

    /// A failure without a gateway answer (transport, verification, parse).
    pub fn local(method: &str, class: ErrorClass, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        Self {
            method: method.to_string(),
            class,
            code: None,
            sub_code: None,
            sub_msg: None,
            signed: false,
            detail: redact(&detail).into_owned(),
            trace_id: None,
        }
    }

    /// The same error, carrying the answer's v3 `alipay-trace-id`.
    #[must_use]
    pub fn with_trace_id(mut self, trace_id: Option<String>) -> Self {
        if self.trace_id.is_none() {
            self.trace_id = trace_id;
        }
        self
    }

    /// True when the answer's signature did not verify (as opposed to unsigned, truncated
    /// or unparseable answers).
    pub fn bad_signature(&self) -> bool {
        self.code.is_none() && self.detail.contains(crate::alipay::gateway::BAD_SIGNATURE)
    }

    /// True when the sub code names `wanted` (lenient comparison).
    pub fn is(&self, wanted: &str) -> bool {
        sub_code_is(self.sub_code.as_deref(), wanted)
    }
}

/// What to check for the certificate-mode gateway errors (docs/protocol.md §2.9).
fn hint(sub_code: Option<&str>) -> &'static str {
    let Some(sub) = sub_code.map(normalise_sub_code) else {
        return "";
    };
    match sub.as_str() {
        "MISSING_APP_CERT_SN" | "MISSING_ALIPAY_ROOT_CERT_SN" => {
            "; the app is in certificate mode: configure [alipay] app_cert, alipay_cert and \
             alipay_root_cert (and remove alipay_public_key)"
        }
        "APP_CERT_NOT_EXIST" => {
            "; Alipay does not know this app_cert_sn: [alipay] app_cert must be this app's \
             certificate (appCertPublicKey_<app_id>.crt) as last downloaded from its settings page"
        }
        "INVALID_ALIPAY_ROOT_CERT_SN" => {
            "; [alipay] alipay_root_cert must be the alipayRootCert.crt downloaded with this \
             app's certificates"
        }
        _ => "",
    }
}

fn class_word(class: ErrorClass) -> &'static str {
    match class {
        ErrorClass::Business => "business error",
        ErrorClass::Deferred => "deferred (another modification is under audit)",
        ErrorClass::AlreadyAccepted => "already accepted (this request id arrived before)",
        ErrorClass::Throttled => "throttled",
        ErrorClass::OutcomeUnknown => "outcome unknown",
        ErrorClass::Config => "configuration or credential error",
        ErrorClass::Transport => "transient error",
        ErrorClass::Unverifiable => "unverifiable answer",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(
            classify("40005", Some("isv.app-call-limited"), true),
            ErrorClass::Throttled
        );
        assert_eq!(
            classify("20000", Some("isp.unknow-error"), true),
            ErrorClass::OutcomeUnknown
        );
        assert_eq!(
            classify("20000", Some("isp.unknow-error"), false),
            ErrorClass::Transport
        );
        assert_eq!(
            classify("40004", Some("SHOP_CREATE_SYSTEM_ERROR"), true),
            ErrorClass::OutcomeUnknown
        );
        assert_eq!(
            classify("40004", Some("isv.NOT-ALLOWED-CONCURRENT-MODIFY"), true),
            ErrorClass::Deferred
        );
        assert_eq!(
            classify("40002", Some("isv.invalid-signature"), false),
            ErrorClass::Config
        );
        assert_eq!(
            classify("20001", Some("aop.invalid-app-auth-token"), true),
            ErrorClass::Config
        );
        assert_eq!(classify("99999", None, false), ErrorClass::Config);
        assert!(sub_code_is(
            Some("isv.not-allowed-concurrent-modify"),
            "NOT_ALLOWED_CONCURRENT_MODIFY"
        ));
    }
}
