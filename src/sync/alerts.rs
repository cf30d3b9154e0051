//! The alerts a process raises (README "Alerts"): one [`Alerts`] per process (one
//! `alert::Dispatcher` over the `[[alert]]` destinations), told at the end of every sync
//! and after every follow-up, and the hook for certificates.
//!
//! - The end of a sync run: `run_failed` (failed or interrupted), `run_partial`,
//!   `guard_stop` ([`AlertEvent::for_run_end`]), and `token_rejected` when the run ended on
//!   Alipay refusing the merchant's app_auth_token (20001 `aop.invalid-app-auth-token`).
//! - Audit rejections: after a run (its start refreshes pending applications, `--wait`
//!   follows them), a `follow-up` command, a daemon follow-up job (which also covers the
//!   notifications received since the last job), the applications Alipay's audit rejected
//!   since this process started and not alerted yet, one `audit_rejected` alert per run
//!   that sent them ([`AlertEvent::audit_rejected`]).
//! - [`Alerts::certificate`] / [`Alerts::certificate_warnings`] (a `CertSet::check`): a
//!   certificate within 30 days of expiry; certificate mode's connect step calls it
//!   (issue 12; not wired yet).
//!
//! The dispatcher sends each event kind at most once per run in a process (so a run's
//! rejections found in two follow-ups make one alert; `shopsync audit show RUN` lists them
//! all). Sending is bounded by each destination's timeout (at most 30 s) and never fails
//! the caller: a failure is a WARN.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tracing::{debug, warn};

use crate::alert::{
    certificate_days_left, AlertEvent, AlertSetupError, AuditRejection, Dispatcher,
};
use crate::alipay::cert::CertWarning;
use crate::alipay::error::sub_code_is;
use crate::alipay::AlipayError;
use crate::audit::{AuditDb, RunId, RunKind};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::sync::RunResult;

/// The process's alerts.
pub struct Alerts {
    dispatcher: Dispatcher,
    clock: SharedClock,
    app_id: String,
    /// Audit rejections finished before this are not this process's news.
    since: DateTime<Utc>,
    /// Rejected applications already alerted (or given up on) by this process.
    alerted: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for Alerts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alerts")
            .field("dispatcher", &self.dispatcher)
            .finish_non_exhaustive()
    }
}

/// Alipay refused the merchant's app_auth_token: `20001` with an `…app-auth-token…` sub
/// code (`aop.invalid-app-auth-token`, and its expired/unauthorised kin).
pub fn is_token_rejected(e: &AlipayError) -> bool {
    e.code.as_deref() == Some("20001")
        && (sub_code_is(e.sub_code.as_deref(), "aop.invalid-app-auth-token")
            || e.sub_code.as_deref().is_some_and(|s| {
                s.to_ascii_lowercase()
                    .replace('_', "-")
                    .contains("app-auth-token")
            }))
}

impl Alerts {
    /// The alerts of `cfg`'s `[[alert]]` destinations (none: nothing is sent). Reads every
    /// signing secret now: a missing one is a configuration error at start.
    pub fn new(cfg: &Config, clock: SharedClock) -> Result<Arc<Self>, AlertSetupError> {
        let dispatcher = Dispatcher::new(&cfg.alert, clock.clone())?;
        Ok(Arc::new(Self {
            dispatcher,
            since: clock.now(),
            clock,
            app_id: cfg.alipay.app_id.clone(),
            alerted: Mutex::new(HashSet::new()),
        }))
    }

    pub fn is_empty(&self) -> bool {
        self.dispatcher.is_empty()
    }

    /// Send `event` for `merchant` (`""`: the implicit merchant, not named).
    async fn send(&self, event: AlertEvent, merchant: &str) {
        let event = event
            .with_app_id(&self.app_id)
            .with_merchant(Some(merchant).filter(|m| !m.is_empty()));
        let _ = self.dispatcher.send(&event).await;
    }

    /// The end of a sync run (not a plan): its outcome, a rejected token, and the audit
    /// rejections found so far. `db` is the run's merchant's handle (its merchant is the
    /// one the alerts name).
    pub async fn after_run(&self, db: &AuditDb, result: &RunResult) {
        if self.is_empty() {
            return;
        }
        let kind = db.run(result.run).ok().flatten().map(|r| r.kind);
        if kind == Some(RunKind::Sync) {
            if let Some(event) = AlertEvent::for_run_end(
                result.run,
                result.status,
                result.summary.clone(),
                result.message.as_deref(),
            ) {
                self.send(event, db.merchant()).await;
            }
            if let Some(e) = result
                .alipay_error
                .as_ref()
                .filter(|e| is_token_rejected(e))
            {
                self.send(
                    AlertEvent::token_rejected(
                        Some(result.run),
                        e.sub_code.as_deref().unwrap_or("-"),
                        e.sub_msg.as_deref().unwrap_or("-"),
                    ),
                    db.merchant(),
                )
                .await;
            }
        }
        self.rejections(db, Some(result.run)).await;
    }

    /// The applications Alipay's audit rejected since the last call (follow-up, `--wait`,
    /// notifications) to `db`'s merchant: one alert per run that sent them, naming the
    /// merchant; `current` takes those whose run is not known.
    pub async fn rejections(&self, db: &AuditDb, current: Option<RunId>) {
        if self.is_empty() {
            return;
        }
        let found = match db.rejected_applications_since(self.since) {
            Ok(found) => found,
            Err(e) => {
                warn!(error = %e, "Cannot read the audit rejections to alert.");
                return;
            }
        };
        let mut by_run: BTreeMap<RunId, Vec<AuditRejection>> = BTreeMap::new();
        {
            let mut alerted = self.alerted.lock().unwrap_or_else(|p| p.into_inner());
            for (run, app) in found {
                if !alerted.insert(app.apply_id.to_string()) {
                    continue;
                }
                let Some(run) = run.or(current) else {
                    debug!(apply_id = %app.apply_id, "Audit rejection of no known run; not alerted.");
                    continue;
                };
                by_run.entry(run).or_default().push(AuditRejection {
                    store_id: app.store_id.to_string(),
                    apply_id: app.apply_id.to_string(),
                    reason: app
                        .result_desc
                        .clone()
                        .or(app.result_code.clone())
                        .unwrap_or_else(|| "no reason given".into()),
                });
            }
        }
        for (run, rejections) in by_run {
            if let Some(event) = AlertEvent::audit_rejected(run, &rejections) {
                self.send(event, db.merchant()).await;
            }
        }
    }

    /// The certificate hook: call it when a certificate is loaded (`what`: "Alipay public
    /// key certificate", "app certificate", …; `not_after` its expiry). Sends
    /// `certificate_expiring` when it expires within 30 days (or has), once per run.
    pub async fn certificate(&self, run: Option<RunId>, what: &str, not_after: DateTime<Utc>) {
        self.certificates_expiring(run, &[(what.to_string(), not_after)])
            .await;
    }

    /// The warnings of a loaded certificate set ([`CertSet::check`]): one
    /// `certificate_expiring` alert (once per run) about the certificate that expires
    /// first, every warned certificate listed in its details.
    ///
    /// [`CertSet::check`]: crate::alipay::cert::CertSet::check
    pub async fn certificate_warnings(&self, run: Option<RunId>, warnings: &[CertWarning]) {
        let certs: Vec<(String, DateTime<Utc>)> = warnings
            .iter()
            .map(|w| match w {
                CertWarning::ExpiresSoon {
                    source_name,
                    subject,
                    not_after,
                    ..
                }
                | CertWarning::Expired {
                    source_name,
                    subject,
                    not_after,
                } => (format!("certificate {subject} ({source_name})"), *not_after),
            })
            .collect();
        self.certificates_expiring(run, &certs).await;
    }

    async fn certificates_expiring(&self, run: Option<RunId>, certs: &[(String, DateTime<Utc>)]) {
        let now = self.clock.now();
        let mut due: Vec<(&str, DateTime<Utc>, i64)> = certs
            .iter()
            .filter_map(|(what, at)| Some((what.as_str(), *at, certificate_days_left(*at, now)?)))
            .collect();
        due.sort_by_key(|d| d.1);
        let expires = |at: DateTime<Utc>| {
            at.with_timezone(&crate::logging::zone())
                .format("%Y-%m-%d")
                .to_string()
        };
        for (what, at, days) in &due {
            warn!(certificate = what, days_left = days, expires = %expires(*at), "A certificate expires soon.");
        }
        let Some((what, at, days)) = due.first() else {
            return;
        };
        let mut event = AlertEvent::certificate_expiring(run, what, &expires(*at), *days);
        if due.len() > 1 {
            event = event.with_details(
                due.iter()
                    .map(|(what, at, days)| format!("{what}: {} ({days} days)", expires(*at))),
            );
        }
        // A certificate is the app's, not a merchant's.
        self.send(event, "").await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alipay::ErrorClass;

    fn answer(code: &str, sub_code: &str) -> AlipayError {
        AlipayError {
            method: "alipay.offline.market.shop.summary.batchquery".into(),
            class: ErrorClass::Config,
            code: Some(code.into()),
            sub_code: Some(sub_code.into()),
            sub_msg: Some("无效的应用授权令牌".into()),
            signed: false,
            detail: String::new(),
            trace_id: None,
        }
    }

    #[test]
    fn only_a_20001_about_the_app_auth_token_is_a_rejected_token() {
        assert!(is_token_rejected(&answer(
            "20001",
            "aop.invalid-app-auth-token"
        )));
        assert!(is_token_rejected(&answer(
            "20001",
            "aop.app-auth-token-expired"
        )));
        assert!(is_token_rejected(&answer(
            "20001",
            "AOP.INVALID_APP_AUTH_TOKEN"
        )));
        assert!(!is_token_rejected(&answer(
            "20001",
            "aop.invalid-auth-token"
        )));
        assert!(!is_token_rejected(&answer(
            "40002",
            "isv.invalid-app-auth-token"
        )));
        assert!(!is_token_rejected(&AlipayError::local(
            "m",
            ErrorClass::Config,
            "x"
        )));
    }
}
