//! What an alert says: the event kinds and the event itself (no secrets: only run ids,
//! names, counts, reasons and a command).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::{RunId, RunStatus, RunSummary};

/// Warn about a certificate this many days before it expires.
pub const CERTIFICATE_WARN_DAYS: i64 = 30;
/// Detail lines an event carries; the rest are counted in `more_details`.
pub const MAX_DETAILS: usize = 10;

/// The kinds of event, as named in `events = [...]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// The run failed (nothing or only part applied), or was interrupted.
    RunFailed,
    /// The run finished but some stores failed, were rejected, or have unknown outcomes.
    RunPartial,
    /// A safety guard stopped the run before any write.
    GuardStop,
    /// Alipay's audit rejected applications (batched per run).
    AuditRejected,
    /// An Alipay or app certificate expires within [`CERTIFICATE_WARN_DAYS`].
    CertificateExpiring,
    /// Alipay rejected the merchant's app_auth_token.
    TokenRejected,
}

impl AlertKind {
    pub const ALL: [AlertKind; 6] = [
        AlertKind::RunFailed,
        AlertKind::RunPartial,
        AlertKind::GuardStop,
        AlertKind::AuditRejected,
        AlertKind::CertificateExpiring,
        AlertKind::TokenRejected,
    ];

    /// The name used in config and in the webhook body.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::RunFailed => "run_failed",
            AlertKind::RunPartial => "run_partial",
            AlertKind::GuardStop => "guard_stop",
            AlertKind::AuditRejected => "audit_rejected",
            AlertKind::CertificateExpiring => "certificate_expiring",
            AlertKind::TokenRejected => "token_rejected",
        }
    }
}

impl std::fmt::Display for AlertKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One application Alipay's audit rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRejection {
    pub store_id: String,
    pub apply_id: String,
    /// Alipay's `audit_desc` / result description.
    pub reason: String,
}

/// Something an operator should hear about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertEvent {
    pub kind: AlertKind,
    /// The run it concerns (`None`: not tied to a run, e.g. a certificate check at start).
    pub run: Option<RunId>,
    pub merchant: Option<String>,
    pub app_id: Option<String>,
    pub counts: Option<RunSummary>,
    /// One sentence: what happened.
    pub reason: String,
    /// Up to [`MAX_DETAILS`] lines (e.g. one per rejected application).
    pub details: Vec<String>,
    /// Detail lines left out.
    pub more_details: u64,
    /// The command to look closer, e.g. `shopsync audit show 42`.
    pub command: String,
}

impl AlertEvent {
    /// An event with no counts, details, merchant or app id.
    pub fn new(
        kind: AlertKind,
        run: Option<RunId>,
        reason: impl Into<String>,
        command: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            run,
            merchant: None,
            app_id: None,
            counts: None,
            reason: reason.into(),
            details: Vec::new(),
            more_details: 0,
            command: command.into(),
        }
    }

    pub fn with_merchant(mut self, merchant: Option<&str>) -> Self {
        self.merchant = merchant.map(str::to_string);
        self
    }

    pub fn with_app_id(mut self, app_id: &str) -> Self {
        self.app_id = Some(app_id.to_string());
        self
    }

    /// Keeps the first [`MAX_DETAILS`] lines and counts the rest.
    pub fn with_details(mut self, lines: impl IntoIterator<Item = String>) -> Self {
        let mut total = 0u64;
        self.details.clear();
        for line in lines {
            total += 1;
            if self.details.len() < MAX_DETAILS {
                self.details.push(line);
            }
        }
        self.more_details = total - self.details.len() as u64;
        self
    }

    /// The event for a finished run, by its status: failed or interrupted → `run_failed`,
    /// partial → `run_partial`, guarded → `guard_stop`; `None` for an ok run.
    pub fn for_run_end(
        run: RunId,
        status: RunStatus,
        counts: RunSummary,
        message: Option<&str>,
    ) -> Option<Self> {
        let (kind, default) = match status {
            RunStatus::Ok => return None,
            RunStatus::Failed => (AlertKind::RunFailed, "The run failed.".to_string()),
            RunStatus::Interrupted => (
                AlertKind::RunFailed,
                "The run was interrupted before it finished.".to_string(),
            ),
            RunStatus::Guarded => (
                AlertKind::GuardStop,
                "A safety guard stopped the run before any write.".to_string(),
            ),
            RunStatus::Partial => (
                AlertKind::RunPartial,
                format!(
                    "The run finished, but {} stores failed, {} rows were rejected and {} outcomes are unknown.",
                    counts.failed, counts.rejected, counts.unknown
                ),
            ),
        };
        let reason = message
            .filter(|m| !m.trim().is_empty())
            .map(str::to_string)
            .unwrap_or(default);
        let mut event = Self::new(
            kind,
            Some(run),
            reason,
            format!("shopsync audit show {run}"),
        );
        event.counts = Some(counts);
        Some(event)
    }

    /// One event for all the applications of `run` that Alipay's audit rejected; `None`
    /// when there are none.
    pub fn audit_rejected(run: RunId, rejections: &[AuditRejection]) -> Option<Self> {
        if rejections.is_empty() {
            return None;
        }
        let n = rejections.len();
        let reason = if n == 1 {
            "Alipay's audit rejected 1 application.".to_string()
        } else {
            format!("Alipay's audit rejected {n} applications.")
        };
        Some(
            Self::new(
                AlertKind::AuditRejected,
                Some(run),
                reason,
                format!("shopsync audit show {run}"),
            )
            .with_details(
                rejections
                    .iter()
                    .map(|r| format!("{} ({}): {}", r.store_id, r.apply_id, r.reason)),
            ),
        )
    }

    /// A certificate (`what`: "Alipay public key certificate", "app certificate", …)
    /// expiring at `not_after`, formatted by the caller as `expires`.
    pub fn certificate_expiring(
        run: Option<RunId>,
        what: &str,
        expires: &str,
        days_left: i64,
    ) -> Self {
        let when = match days_left {
            d if d < 0 => format!("expired on {expires}"),
            0 => format!("expires today ({expires})"),
            1 => format!("expires tomorrow ({expires})"),
            d => format!("expires on {expires}, in {d} days"),
        };
        Self::new(
            AlertKind::CertificateExpiring,
            run,
            format!("The {what} {when}; download the new one from Alipay's open platform."),
            "shopsync validate",
        )
    }

    /// Alipay refused the merchant's app_auth_token (`sub_code` as Alipay sent it).
    pub fn token_rejected(run: Option<RunId>, sub_code: &str, sub_msg: &str) -> Self {
        Self::new(
            AlertKind::TokenRejected,
            run,
            format!(
                "Alipay rejected the merchant's app_auth_token ({sub_code}: {sub_msg}); the merchant must authorise the app again."
            ),
            "shopsync validate",
        )
    }

    /// The one-line title: `shopsync: run 42 failed`.
    pub fn title(&self) -> String {
        let who = match &self.merchant {
            Some(m) if !m.is_empty() => format!("shopsync ({})", one_line(m, 40)),
            _ => "shopsync".to_string(),
        };
        let run = self.run.map(|r| format!("run {r} ")).unwrap_or_default();
        let what = match self.kind {
            AlertKind::RunFailed => format!("{run}failed"),
            AlertKind::RunPartial => format!("{run}finished with failures"),
            AlertKind::GuardStop => format!("{run}stopped by a safety guard"),
            AlertKind::AuditRejected => "Alipay's audit rejected applications".to_string(),
            AlertKind::CertificateExpiring => "a certificate expires soon".to_string(),
            AlertKind::TokenRejected => "the merchant's app_auth_token was rejected".to_string(),
        };
        format!("{who}: {what}")
    }

    /// The non-zero counts: `failed 3, rejected 2, created 10`.
    pub fn counts_text(&self) -> Option<String> {
        let c = self.counts.as_ref()?;
        let parts: Vec<String> = [
            ("failed", c.failed),
            ("unknown", c.unknown),
            ("rejected", c.rejected),
            ("blocked", c.blocked),
            ("created", c.created),
            ("modified", c.modified),
            ("pending", c.pending),
            ("unchanged", c.unchanged),
            ("remote-only", c.remote_only),
        ]
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
        Some(format!(
            "{} stores: {}",
            c.stores,
            if parts.is_empty() {
                "nothing to do".into()
            } else {
                parts.join(", ")
            }
        ))
    }
}

/// `certificate_expiring` is due: `not_after` is within [`CERTIFICATE_WARN_DAYS`] of
/// `now` (or past). Returns the whole days left.
pub fn certificate_days_left(not_after: DateTime<Utc>, now: DateTime<Utc>) -> Option<i64> {
    let days = (not_after - now).num_days();
    (days <= CERTIFICATE_WARN_DAYS).then_some(days)
}

/// `text` on one line (newlines and tabs become spaces) and at most `max` characters.
pub fn one_line(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_end_maps_to_its_kind_and_an_ok_run_to_none() {
        let counts = RunSummary {
            stores: 50,
            created: 40,
            failed: 3,
            rejected: 2,
            ..Default::default()
        };
        assert!(AlertEvent::for_run_end(RunId(1), RunStatus::Ok, counts.clone(), None).is_none());
        let e =
            AlertEvent::for_run_end(RunId(9), RunStatus::Partial, counts.clone(), None).unwrap();
        assert_eq!(e.kind, AlertKind::RunPartial);
        assert_eq!(e.command, "shopsync audit show 9");
        assert!(
            e.reason.contains("3 stores failed, 2 rows were rejected"),
            "{}",
            e.reason
        );
        assert_eq!(
            e.counts_text().unwrap(),
            "50 stores: failed 3, rejected 2, created 40"
        );
        let e = AlertEvent::for_run_end(
            RunId(9),
            RunStatus::Guarded,
            counts.clone(),
            Some("The export shrank from 50 to 10 rows."),
        )
        .unwrap();
        assert_eq!(e.kind, AlertKind::GuardStop);
        assert_eq!(e.reason, "The export shrank from 50 to 10 rows.");
        assert_eq!(e.title(), "shopsync: run 9 stopped by a safety guard");
        let e = AlertEvent::for_run_end(RunId(9), RunStatus::Interrupted, counts, None).unwrap();
        assert_eq!(e.kind, AlertKind::RunFailed);
    }

    #[test]
    fn audit_rejections_are_batched_with_at_most_ten_lines() {
        assert!(AlertEvent::audit_rejected(RunId(3), &[]).is_none());
        let rejections: Vec<AuditRejection> = (0..25)
            .map(|i| AuditRejection {
                store_id: format!("S{i:03}"),
                apply_id: format!("A{i}"),
                reason: "营业执照不清晰".into(),
            })
            .collect();
        let e = AlertEvent::audit_rejected(RunId(3), &rejections)
            .unwrap()
            .with_merchant(Some("鲜果坊"));
        assert_eq!(e.reason, "Alipay's audit rejected 25 applications.");
        assert_eq!(e.details.len(), MAX_DETAILS);
        assert_eq!(e.more_details, 15);
        assert_eq!(e.details[0], "S000 (A0): 营业执照不清晰");
        assert_eq!(
            e.title(),
            "shopsync (鲜果坊): Alipay's audit rejected applications"
        );
    }

    #[test]
    fn certificates_warn_within_thirty_days() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            certificate_days_left(now + chrono::Duration::days(31), now),
            None
        );
        assert_eq!(
            certificate_days_left(now + chrono::Duration::days(30), now),
            Some(30)
        );
        assert_eq!(
            certificate_days_left(now - chrono::Duration::days(2), now),
            Some(-2)
        );
        let e = AlertEvent::certificate_expiring(
            None,
            "Alipay public key certificate",
            "2026-12-13",
            12,
        );
        assert!(
            e.reason.contains("expires on 2026-12-13, in 12 days"),
            "{}",
            e.reason
        );
        assert_eq!(one_line("a\nb\tc", 10), "a b c");
        assert_eq!(one_line("上海南京路", 2), "上海…");
    }
}
