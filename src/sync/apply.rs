//! Execute a plan: the only code that writes to Alipay. Every write's intent is recorded
//! before it is sent and its outcome after; throttled writes wait and retry; a write whose
//! outcome is unknown is never resent blindly (it stays unknown until resolved).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use futures::StreamExt;
use tracing::{info, warn};

use crate::alipay::koubei::ShopWrite;
use crate::alipay::retry::backoff;
use crate::alipay::{AlipayError, ErrorClass, ShopApi};
use crate::audit::{AuditDb, AuditError, NewAction, NewApplication, NewChange, Outcome, RunId};
use crate::clock::SharedClock;
use crate::ids::{ApplyId, RequestId, ShopId, StoreId};
use crate::record::WriteKind;
use crate::sync::plan::{Action, Plan, PlanItem};

/// Settings of one apply.
#[derive(Debug, Clone)]
pub struct ApplySettings {
    pub concurrency: usize,
    pub max_attempts: u32,
    pub operate_notify_url: Option<String>,
}

/// What happened to the writes.
#[derive(Debug, Default)]
pub struct ApplyReport {
    pub created: AtomicU64,
    pub modified: AtomicU64,
    /// Business errors and writes given up (throttled to the end, transport).
    pub failed: AtomicU64,
    /// Writes whose outcome is unknown; resolved by the next run.
    pub unknown: AtomicU64,
    /// Deferred: a concurrent modify was refused while an audit runs.
    pub deferred: AtomicU64,
    /// A configuration error stopped further writes.
    pub config_error: std::sync::Mutex<Option<AlipayError>>,
}

/// Progress callback: called once per finished write.
pub type Progress = Arc<dyn Fn() + Send + Sync>;

/// The request id to use for a create of `store_id`: a create whose earlier outcome was
/// unknown and then confirmed absent is resent with the same request id, so that if it
/// did arrive after all, Alipay answers `SHOP_CREATE_REPEAT_REQUEST` instead of creating
/// a second shop.
fn create_request_id(db: &AuditDb, store_id: &StoreId) -> Result<RequestId, AuditError> {
    let actions = db.actions_for_store(store_id)?;
    let last = actions
        .iter()
        .filter(|a| a.kind == WriteKind::Create)
        .max_by_key(|a| a.intent_at);
    if let Some(a) = last {
        if a.resolved_at.is_some() && matches!(a.outcome, Some(Outcome::NotApplied { .. })) {
            return Ok(a.request_id.clone());
        }
    }
    Ok(RequestId::generate())
}

#[allow(clippy::too_many_arguments)] // the run context, split so tests can drive it piecewise
/// Apply every create and modify of `plan`. Stops starting new writes when `stop` is set
/// (shutdown) or after a configuration error; writes in flight finish.
pub async fn apply(
    api: &dyn ShopApi,
    db: &AuditDb,
    clock: &SharedClock,
    run: RunId,
    plan: &Plan,
    settings: &ApplySettings,
    stop: Arc<AtomicBool>,
    progress: Option<Progress>,
) -> ApplyReport {
    let report = ApplyReport::default();
    let writes: Vec<&PlanItem> = plan
        .items
        .iter()
        .filter(|i| matches!(i.action, Action::Create { .. } | Action::Modify { .. }))
        .collect();
    futures::stream::iter(writes)
        .for_each_concurrent(settings.concurrency.max(1), |item| {
            let report = &report;
            let stop = stop.clone();
            let progress = progress.clone();
            async move {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                if let Err(e) = write_one(api, db, clock, run, item, settings, report, &stop).await {
                    warn!(store_id = item.store_id.as_ref().map_or("-", |s| s.as_str()), error = %e, "Write not recorded.");
                    report.failed.fetch_add(1, Ordering::SeqCst);
                }
                if let Some(p) = &progress {
                    p();
                }
            }
        })
        .await;
    report
}

#[allow(clippy::too_many_arguments)]
async fn write_one(
    api: &dyn ShopApi,
    db: &AuditDb,
    clock: &SharedClock,
    run: RunId,
    item: &PlanItem,
    settings: &ApplySettings,
    report: &ApplyReport,
    stop: &AtomicBool,
) -> Result<(), AuditError> {
    let Some(store_id) = item.store_id.as_ref() else {
        return Ok(());
    };
    let (kind, shop_id, fields): (WriteKind, Option<&ShopId>, Vec<(String, String)>) =
        match &item.action {
            Action::Create { fields } => (
                WriteKind::Create,
                None,
                fields
                    .iter()
                    .map(|(f, v)| (f.name().to_string(), v.to_string()))
                    .collect(),
            ),
            Action::Modify {
                shop_id, changes, ..
            } => (
                WriteKind::Modify,
                Some(shop_id),
                changes
                    .iter()
                    .map(|c| (c.field.name().to_string(), c.wire_value()))
                    .collect(),
            ),
            _ => return Ok(()),
        };
    let request_id = match kind {
        WriteKind::Create => create_request_id(db, store_id)?,
        WriteKind::Modify => RequestId::generate(),
    };
    let field_map: BTreeMap<String, String> = fields.iter().cloned().collect();
    let write = ShopWrite {
        shop_id: shop_id.cloned(),
        store_id: (kind == WriteKind::Create).then(|| store_id.clone()),
        fields,
        request_id: request_id.clone(),
        operate_notify_url: settings.operate_notify_url.clone(),
    };
    // The old → new of a modify, for the run report (stored with the intent).
    let changes: Vec<NewChange<'_>> = match &item.action {
        Action::Modify { changes, .. } => changes
            .iter()
            .map(|c| NewChange {
                field: c.field.name(),
                old: c.old.as_deref(),
                new: c.new.as_deref(),
            })
            .collect(),
        _ => Vec::new(),
    };
    // docs/design.md invariant 3: the intent is durable before the request leaves.
    let action_id = db.record_intent_with_changes(
        &NewAction {
            run,
            store_id,
            kind,
            shop_id,
            request_id: &request_id,
            fields: &field_map,
        },
        &changes,
        clock.now(),
    )?;
    let mut attempt = 0u32;
    let mut throttled_since: Option<std::time::Instant> = None;
    let result = loop {
        attempt += 1;
        let result = api.write(kind, &write).await;
        match &result {
            // Throttled: not executed; the limiter already paused every caller. Retry for
            // up to THROTTLE_BUDGET without using up attempts (throttling must never fail
            // a store).
            Err(e)
                if e.class == ErrorClass::Throttled
                    && throttled_since
                        .get_or_insert_with(std::time::Instant::now)
                        .elapsed()
                        < crate::alipay::retry::THROTTLE_BUDGET
                    && !stop.load(Ordering::SeqCst) =>
            {
                attempt -= 1;
                continue;
            }
            // Not executed by Alipay: safe to send again with the same request id.
            Err(e)
                if matches!(e.class, ErrorClass::Throttled | ErrorClass::Transport)
                    && attempt < settings.max_attempts
                    && !stop.load(Ordering::SeqCst) =>
            {
                if e.class == ErrorClass::Transport {
                    tokio::time::sleep(backoff(attempt)).await;
                }
                continue;
            }
            _ => break result,
        }
    };
    let outcome = outcome_of(&result, &request_id);
    let trace_id = match &result {
        Ok(answer) => answer.trace_id.as_deref(),
        Err(e) => e.trace_id.as_deref(),
    };
    db.record_traced_outcome(action_id, &outcome, trace_id, clock.now())?;
    let accepted = match (&result, &outcome) {
        (Ok(_), Outcome::Accepted { apply_id, .. }) => Some(apply_id.clone()),
        // The resend of a create whose first outcome was unknown: that first attempt
        // arrived. Accepted, never sent again; its application is identified later
        // (sync::confirm) and the store stays pending until then.
        (Err(e), Outcome::Accepted { apply_id, .. }) if e.class == ErrorClass::AlreadyAccepted => {
            info!(store_id = %store_id, request_id = %request_id, "The first create with this request_id had arrived (SHOP_CREATE_REPEAT_REQUEST): accepted, not sent again.");
            Some(apply_id.clone())
        }
        _ => None,
    };
    if let Some(apply_id) = accepted {
        if db.application(&apply_id)?.is_none() {
            db.add_application(
                &NewApplication {
                    apply_id: &apply_id,
                    store_id,
                    shop_id,
                    kind,
                    request_id: &request_id,
                    action_id: Some(action_id),
                    fields: &field_map,
                },
                clock.now(),
            )?;
        }
        match kind {
            WriteKind::Create => report.created.fetch_add(1, Ordering::SeqCst),
            WriteKind::Modify => report.modified.fetch_add(1, Ordering::SeqCst),
        };
        info!(store_id = %store_id, request_id = %request_id, apply_id = %apply_id, kind = kind.as_str(), "Write accepted; under audit.");
        return Ok(());
    }
    match result {
        Ok(_) => {}
        Err(e) => match e.class {
            ErrorClass::OutcomeUnknown => {
                report.unknown.fetch_add(1, Ordering::SeqCst);
                warn!(store_id = %store_id, request_id = %request_id, error = %e, "Write outcome unknown; it will be confirmed before the store is touched again.");
            }
            ErrorClass::Deferred => {
                report.deferred.fetch_add(1, Ordering::SeqCst);
                info!(
                    store_id = %store_id,
                    "Modify deferred: another modification is under audit."
                );
            }
            ErrorClass::Config => {
                *report.config_error.lock().expect("report lock") = Some(e.clone());
                stop.store(true, Ordering::SeqCst);
                report.failed.fetch_add(1, Ordering::SeqCst);
                tracing::error!(store_id = %store_id, error = %e, "Configuration or credential error; stopping writes.");
            }
            _ => {
                report.failed.fetch_add(1, Ordering::SeqCst);
                warn!(store_id = %store_id, request_id = %request_id, error = %e, "Write failed.");
            }
        },
    }
    Ok(())
}

/// The stored outcome of a write's final answer. An accepted answer without an apply id,
/// and a create Alipay had already accepted (`SHOP_CREATE_REPEAT_REQUEST`), are followed
/// under a placeholder apply id until identified ([`ApplyId::unidentified`]).
pub fn outcome_of(
    result: &Result<crate::alipay::koubei::WriteResult, AlipayError>,
    request_id: &RequestId,
) -> Outcome {
    match result {
        Ok(answer) => Outcome::Accepted {
            apply_id: answer
                .apply_id
                .clone()
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| ApplyId::unidentified(request_id)),
            audit_status: answer.audit_status.clone(),
        },
        Err(e) if e.class == ErrorClass::AlreadyAccepted => Outcome::Accepted {
            apply_id: ApplyId::unidentified(request_id),
            audit_status: Some("REPEAT_REQUEST".into()),
        },
        Err(e) => match e.class {
            ErrorClass::OutcomeUnknown => Outcome::Unknown {
                reason: e.to_string(),
            },
            ErrorClass::Business | ErrorClass::Deferred | ErrorClass::AlreadyAccepted => {
                Outcome::Business {
                    code: e.code.clone().unwrap_or_default(),
                    sub_code: e.sub_code.clone().unwrap_or_default(),
                    msg: e.sub_msg.clone().unwrap_or_default(),
                }
            }
            // Throttled (never executed), failed before sending, or a request the gateway
            // refused before the business service saw it.
            ErrorClass::Throttled
            | ErrorClass::Transport
            | ErrorClass::Config
            | ErrorClass::Unverifiable => Outcome::NotApplied {
                reason: e.to_string(),
            },
        },
    }
}

/// A progress bar for the writes, on a terminal only.
pub(super) fn progress_bar(enabled: bool, len: u64) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !enabled || len == 0 || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {bar:40} {pos}/{len} writes {elapsed_precise}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}
