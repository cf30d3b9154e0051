//! Alerts where operators live: DingTalk, WeCom (企业微信) and Feishu/Lark group robots,
//! and a generic JSON webhook.
//!
//! `[[alert]]` in the config ([`AlertConfig`]) names a destination; an [`AlertEvent`] says
//! what happened; the [`Dispatcher`] sends each event to every destination that wants it,
//! concurrently, each within its timeout, at most once per event kind per run, and never
//! fails its caller (a failure is a WARN with the URL's token redacted).
//!
//! What each platform expects (body shape, signature, answer) is written down in its file:
//! [`dingtalk`], [`wecom`], [`feishu`], [`webhook`]. No secret, access token or
//! `app_auth_token` is ever part of a message or a log line: events carry no secrets, a
//! destination's secret lives in a [`Secret`], and URLs are logged through [`redact`].

pub mod dingtalk;
mod dispatcher;
mod event;
pub mod feishu;
mod markdown;
pub mod redact;
mod request;
mod secret_source;
mod sign;
pub mod webhook;
pub mod wecom;

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::secret::Secret;

pub use dispatcher::{AlertSetupError, Destination, DispatchReport, Dispatcher};
pub use event::{
    certificate_days_left, AlertEvent, AlertKind, AuditRejection, CERTIFICATE_WARN_DAYS,
    MAX_DETAILS,
};
pub use request::Prepared;
use request::{cut, errcode_answer, http_error};
pub use secret_source::SecretError;

/// Which platform a destination is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DestinationKind {
    /// DingTalk custom robot (`https://oapi.dingtalk.com/robot/send?access_token=…`).
    Dingtalk,
    /// WeCom group robot (`https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…`).
    Wecom,
    /// Feishu or Lark custom bot (`https://open.feishu.cn/open-apis/bot/v2/hook/…`).
    Feishu,
    /// Any URL that takes shopsync's JSON body ([`webhook`]).
    Webhook,
}

impl DestinationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DestinationKind::Dingtalk => "dingtalk",
            DestinationKind::Wecom => "wecom",
            DestinationKind::Feishu => "feishu",
            DestinationKind::Webhook => "webhook",
        }
    }
}

impl fmt::Display for DestinationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A robot's URL: it carries an access token, so `Debug` shows it redacted.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL itself: only for sending.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact::url_text(&self.0))
    }
}

/// One `[[alert]]` destination.
///
/// ```toml
/// [[alert]]
/// kind = "dingtalk"                 # dingtalk | wecom | feishu | webhook
/// url = "https://oapi.dingtalk.com/robot/send?access_token=…"
/// secret_file = "credential:dingtalk-secret"   # or a path; or secret_env = "DINGTALK_SECRET"
/// events = ["run_failed", "guard_stop"]        # default: every event
/// timeout = "5s"
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    pub kind: DestinationKind,
    /// A label for logs (default: the kind).
    #[serde(default)]
    pub name: Option<String>,
    pub url: WebhookUrl,
    /// File holding the signing secret (DingTalk "加签", Feishu "签名校验", the webhook's
    /// HMAC key); `credential:NAME` reads `$CREDENTIALS_DIRECTORY/NAME`. Relative paths are
    /// resolved by the caller like the config's other paths.
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// Name of the environment variable holding the signing secret (not `SHOPSYNC_*`:
    /// those are config overrides).
    #[serde(default)]
    pub secret_env: Option<String>,
    /// The events this destination gets; all of them when absent.
    #[serde(default)]
    pub events: Option<BTreeSet<AlertKind>>,
    #[serde(default = "default_timeout", deserialize_with = "de_duration")]
    pub timeout: Duration,
}

fn default_timeout() -> Duration {
    Duration::from_secs(5)
}

fn de_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s)
        .map_err(|e| serde::de::Error::custom(format!("{s:?} is not a duration like \"5s\": {e}")))
}

/// The longest `timeout` accepted: an alert must never hold up a run for long.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(30);

impl AlertConfig {
    /// The label used in logs.
    pub fn label(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| self.kind.as_str().to_string())
    }

    /// Every semantic problem, prefixed `[[alert]] N (label)`, for `validate`. `index`
    /// counts from 1.
    pub fn problems(&self, index: usize) -> Vec<String> {
        let at = format!("[[alert]] {index} ({})", self.label());
        let mut out = Vec::new();
        match reqwest::Url::parse(self.url.expose()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => out.push(format!(
                "{at}: url {} is not an http(s) URL",
                redact::url_text(self.url.expose())
            )),
        }
        if self.secret_file.is_some() && self.secret_env.is_some() {
            out.push(format!("{at}: give secret_file or secret_env, not both"));
        }
        if self.kind == DestinationKind::Wecom && self.has_secret() {
            out.push(format!(
                "{at}: WeCom robots have no signing secret; remove secret_file/secret_env"
            ));
        }
        if let Some(var) = &self.secret_env {
            if var.trim().is_empty() || var.starts_with("SHOPSYNC_") {
                out.push(format!(
                    "{at}: secret_env {var:?} must name a variable outside SHOPSYNC_* (those are config overrides)"
                ));
            }
        }
        if self.timeout.is_zero() || self.timeout > MAX_TIMEOUT {
            out.push(format!(
                "{at}: timeout must be between 1ms and {}",
                humantime::format_duration(MAX_TIMEOUT)
            ));
        }
        if self.events.as_ref().is_some_and(BTreeSet::is_empty) {
            out.push(format!(
                "{at}: events is empty (omit it to get every event)"
            ));
        }
        out
    }

    fn has_secret(&self) -> bool {
        self.secret_file.is_some() || self.secret_env.is_some()
    }

    /// The signing secret, read from its file, credential or variable (`None` without one).
    pub fn secret(&self) -> Result<Option<Secret>, SecretError> {
        secret_source::load(self.secret_file.as_deref(), self.secret_env.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        alert: Vec<AlertConfig>,
    }

    #[test]
    fn parses_every_kind_with_defaults_and_refuses_typos() {
        let doc: Doc = toml::from_str(
            r#"
            [[alert]]
            kind = "dingtalk"
            url = "https://oapi.dingtalk.com/robot/send?access_token=tok123"
            secret_file = "credential:dingtalk-secret"
            events = ["run_failed", "guard_stop"]
            [[alert]]
            kind = "wecom"
            url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k-456"
            timeout = "2s"
            [[alert]]
            kind = "feishu"
            name = "ops-feishu"
            url = "https://open.feishu.cn/open-apis/bot/v2/hook/hook-789"
            secret_env = "FEISHU_SECRET"
            [[alert]]
            kind = "webhook"
            url = "https://pos.example.com/hooks/shopsync"
            "#,
        )
        .unwrap();
        let a = &doc.alert;
        assert_eq!(a[0].kind, DestinationKind::Dingtalk);
        assert_eq!(a[0].timeout, Duration::from_secs(5));
        assert_eq!(
            a[0].events
                .as_ref()
                .unwrap()
                .iter()
                .copied()
                .collect::<Vec<_>>(),
            vec![AlertKind::RunFailed, AlertKind::GuardStop]
        );
        assert_eq!(a[1].timeout, Duration::from_secs(2));
        assert_eq!(a[2].label(), "ops-feishu");
        assert_eq!(a[3].label(), "webhook");
        for (i, c) in a.iter().enumerate() {
            assert!(c.problems(i + 1).is_empty(), "{:?}", c.problems(i + 1));
        }
        // The access tokens never print.
        let debug = format!("{a:?}");
        for token in ["tok123", "k-456", "hook-789"] {
            assert!(!debug.contains(token), "{debug}");
        }

        for bad in [
            "kind = \"slack\"\nurl = \"https://x\"",
            "kind = \"wecom\"\nurl = \"https://x\"\nsecret = \"inline\"",
            "kind = \"wecom\"\nurl = \"https://x\"\nevents = [\"run_exploded\"]",
            "kind = \"wecom\"\nurl = \"https://x\"\ntimeout = \"soon\"",
        ] {
            let text = format!("[[alert]]\n{bad}\n");
            assert!(toml::from_str::<Doc>(&text).is_err(), "{bad}");
        }
    }

    #[test]
    fn semantic_problems_name_the_destination() {
        let cfg = |extra: &str| -> AlertConfig {
            let doc: Doc = toml::from_str(&format!("[[alert]]\n{extra}\n")).unwrap();
            doc.alert.into_iter().next().unwrap()
        };
        let p = cfg("kind = \"wecom\"\nurl = \"https://q/send?key=abc\"\nsecret_env = \"X\"")
            .problems(2);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("[[alert]] 2 (wecom): WeCom robots have no signing secret"));
        let p = cfg("kind = \"dingtalk\"\nurl = \"ftp://x?access_token=abc\"\nsecret_env = \"SHOPSYNC_DING\"\nsecret_file = \"f\"\ntimeout = \"5m\"\nevents = []")
            .problems(1);
        assert_eq!(p.len(), 5, "{p:?}");
        assert!(!p.iter().any(|m| m.contains("abc")), "{p:?}");
    }
}
