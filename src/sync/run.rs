//! One run of `plan` or `sync`: refresh what was sent before, read the export and Alipay,
//! plan, guard, apply, and record it all.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use crate::alipay::koubei::SummaryQuery;
use crate::alipay::timestamp::china;
use crate::audit::{AppStatus, NewReject, RunId, RunKind, RunStatus, RunSummary};
use crate::exit::Exit;
use crate::ids::StoreId;
use crate::record::Field;
use crate::source;
use crate::sync::apply::{self, ApplySettings, Progress};
use crate::sync::followup;
use crate::sync::photos::PhotoCounts;
use crate::sync::plan::{
    self, FailedWrite, PendingWrite, Plan, PlanInput, PlanSettings, RejectedRow,
};
use crate::sync::remote;
use crate::sync::saved_plan::{self, Fingerprints, SavedPlan, StaleStore};
use crate::sync::{confirm, guard, Context, RunError};

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Apply the plan (`sync`) or only compute it (`plan`).
    pub apply: bool,
    /// Skip the safety guards.
    pub force: bool,
    /// After applying, follow the applications for up to this long.
    pub wait_audit: Option<Duration>,
    /// Show a progress bar (terminal only).
    pub progress: bool,
    /// Fingerprint every store (`plan --out`, docs/saved-plans.md).
    pub fingerprints: bool,
    /// Send only this saved plan's writes, for stores whose state did not move
    /// (`sync --plan`).
    pub saved_plan: Option<Arc<SavedPlan>>,
}

/// The result of one run.
#[derive(Debug)]
pub struct RunResult {
    pub run: RunId,
    pub plan: Plan,
    pub summary: RunSummary,
    pub status: RunStatus,
    pub exit: Exit,
    /// Why the run stopped or failed, for the operator.
    pub message: Option<String>,
    pub elapsed: Duration,
    /// What became of the export's photo files and URLs (`sync::photos`).
    pub photos: PhotoCounts,
    /// With [`RunOptions::fingerprints`] or a saved plan: what the run saw of each store.
    pub fingerprints: Option<Fingerprints>,
    /// With a saved plan: its writes that were not sent because their store moved.
    pub stale: Vec<StaleStore>,
    /// The Alipay error that ended the run, if one did (e.g. 20001, a rejected token).
    pub alipay_error: Option<crate::alipay::AlipayError>,
}

use super::apply::progress_bar;
pub use super::error::error_chain;

impl Context {
    fn confirm_settings(&self) -> confirm::ConfirmSettings {
        confirm::ConfirmSettings {
            max_attempts: self.cfg.sync.max_attempts,
            unidentified_after: chrono::Duration::from_std(self.cfg.sync.unidentified_after)
                .unwrap_or(chrono::Duration::days(7)),
            op_role: match self.cfg.alipay.op_role.as_str() {
                "ISV" | "" => None,
                other => Some(other.to_string()),
            },
        }
    }

    fn summary_query(&self) -> SummaryQuery {
        let a = &self.cfg.alipay;
        SummaryQuery {
            op_role: Some(a.op_role.clone()),
            query_type: Some(a.query_type.clone()),
            related_partner_id: a.related_partner_id.clone().filter(|s| !s.is_empty()),
            shop_id: None,
            shop_status: None,
        }
    }

    /// Run once. Errors inside the run are recorded in the run row and returned as a
    /// failed [`RunResult`]; `Err` only when the audit store itself fails.
    pub async fn run(&self, opts: &RunOptions) -> Result<RunResult, RunError> {
        let started = Instant::now();
        let db = &self.db;
        let interrupted = db.mark_interrupted_runs(self.clock.now())?;
        if interrupted > 0 {
            warn!(
                runs = interrupted,
                "Found runs that never finished (process killed); marked interrupted."
            );
        }
        let kind = if opts.apply {
            RunKind::Sync
        } else {
            RunKind::Plan
        };
        let source_desc = source::describe(self.cfg.source());
        let run = db.start_run(kind, &source_desc, 0, self.clock.now())?;
        info!(run = run.0, kind = ?kind, source = %source_desc, "Run started.");
        let mut result = match self.run_inner(run, opts).await {
            Ok(r) => r,
            Err(e) => {
                let exit = e.exit();
                let message = error_chain(&e);
                tracing::error!(run = run.0, error = %message, "Run failed.");
                RunResult {
                    run,
                    plan: Plan::default(),
                    summary: RunSummary::default(),
                    status: RunStatus::Failed,
                    exit,
                    message: Some(message),
                    elapsed: Duration::ZERO,
                    photos: PhotoCounts::default(),
                    fingerprints: None,
                    stale: Vec::new(),
                    alipay_error: match &e {
                        RunError::Alipay(a) => Some(a.clone()),
                        _ => None,
                    },
                }
            }
        };
        result.elapsed = started.elapsed();
        db.finish_run(
            run,
            result.status,
            &result.summary,
            result.message.as_deref(),
            self.clock.now(),
        )?;
        info!(run = run.0, status = ?result.status, elapsed_ms = result.elapsed.as_millis() as u64, "Run finished.");
        Ok(result)
    }

    async fn run_inner(&self, run: RunId, opts: &RunOptions) -> Result<RunResult, RunError> {
        let cfg = &self.cfg;
        let attempts = cfg.sync.max_attempts;
        let db = &self.db;
        let gw = &self.gateway;

        // The export is read (files on a blocking thread, database servers on this runtime),
        // its categories checked and its photos read and resolved (both add rejected rows:
        // sync::categories, sync::photos), while the pending applications and the summary
        // pages are fetched: the page reads are paced by the quota, so this work costs no
        // wall time. An unreadable export ends both at once.
        let load = async {
            let mut loaded = source::load_async(cfg.source()).await?;
            let today = self.clock.now().with_timezone(&china()).date_naive();
            source::reject_expired(cfg.source(), &mut loaded, today);
            let category_names = self.check_categories(&mut loaded).await?;
            let photos = self.resolve_photos(&mut loaded).await?;
            Ok::<_, RunError>((loaded, category_names, photos))
        };
        let fetch = async {
            let refreshed = followup::refresh_pending(gw, db, &self.clock, attempts).await?;
            if refreshed != Default::default() {
                info!(
                    approved = refreshed.succeeded,
                    rejected = refreshed.failed,
                    pending = refreshed.still_pending,
                    "Applications refreshed."
                );
            }
            let shops =
                remote::read_shops(gw, &self.summary_query(), attempts, cfg.sync.concurrency)
                    .await?;
            Ok::<_, RunError>(shops)
        };
        let ((loaded, category_names, photos), remote_shops) = tokio::try_join!(load, fetch)?;
        let rows = loaded.stores.len() as u64 + loaded.rejects.len() as u64;
        db.set_run_store_count(run, rows)?;
        let rejects: Vec<NewReject<'_>> = loaded
            .rejects
            .iter()
            .map(|r| NewReject {
                file: &r.file,
                line: r.line,
                store_id: r.store_id.as_deref(),
                field: r.field.as_deref(),
                reason: &r.reason,
                value: r.value.as_deref(),
            })
            .collect();
        db.record_rejects(run, &rejects)?;
        info!(
            stores = loaded.stores.len(),
            rejected = loaded.rejects.len(),
            "Export read."
        );
        info!(shops = remote_shops.len(), "Alipay shops read.");
        let export_ids: HashSet<StoreId> =
            loaded.stores.iter().map(|s| s.store_id.clone()).collect();
        let op_role = match cfg.alipay.op_role.as_str() {
            "ISV" | "" => None,
            other => Some(other),
        };
        let adopted = remote::adopt(
            gw,
            db,
            &self.clock,
            &remote_shops,
            &export_ids,
            op_role,
            cfg.sync.concurrency,
            attempts,
        )
        .await?;
        if adopted > 0 {
            info!(adopted, "Existing shops adopted.");
        }
        let confirmed = confirm::confirm(gw, db, &self.clock, &self.confirm_settings()).await?;
        if confirmed != confirm::Confirmed::default() {
            info!(
                applied = confirmed.applied,
                to_resend = confirmed.to_resend,
                absent = confirmed.absent,
                still_unknown = confirmed.still_unknown,
                settled = confirmed.settled,
                "Writes with unknown outcome confirmed."
            );
        }

        let mut plan = self.make_plan(&loaded, &remote_shops)?;
        // Saved plans (docs/saved-plans.md): fingerprint what was read, and keep only the
        // saved plan's writes of the stores that did not move.
        let fingerprints = match opts.fingerprints || opts.saved_plan.is_some() {
            true => Some(saved_plan::fingerprints(
                &loaded.stores,
                &remote_shops,
                &db.shop_map()?,
            )),
            false => None,
        };
        let mut stale = Vec::new();
        if let (Some(saved), Some(now)) = (&opts.saved_plan, &fingerprints) {
            let restricted = saved.restrict(plan, now);
            if restricted.not_in_plan > 0 {
                info!(
                    writes = restricted.not_in_plan,
                    "Writes not in the saved plan were not sent; the next plan shows them."
                );
            }
            plan = restricted.plan;
            stale = restricted.stale;
        }
        // The photos the (possibly restricted) writes wait on.
        plan.categories = category_names;
        plan.photos = photos.planned(&plan);
        let counts = plan.counts();
        let mut summary = RunSummary {
            stores: loaded.stores.len() as u64,
            created: 0,
            modified: 0,
            unchanged: counts.unchanged,
            pending: counts.pending,
            blocked: counts.blocked,
            remote_only: counts.remote_only,
            rejected: counts.rejected,
            failed: 0,
            unknown: confirmed.still_unknown,
        };
        let mut result = RunResult {
            run,
            plan,
            summary: summary.clone(),
            status: RunStatus::Ok,
            exit: Exit::Ok,
            message: None,
            elapsed: Duration::ZERO,
            photos: photos.counts(),
            fingerprints,
            stale,
            alipay_error: None,
        };

        let last = self.db.last_completed_sync()?;
        let guard_stop = guard::check(&cfg.sync, &counts, rows, last.as_ref());
        if !opts.apply {
            result.exit = if result.plan.has_writes() {
                Exit::Changes
            } else {
                Exit::Ok
            };
            // A plan the next sync's guards would stop says so (exit 4), so a reviewer
            // does not learn it at night.
            if let Some(reason) = guard_stop {
                warn!(reason = %reason, "A sync of this plan would be stopped by a safety guard.");
                result.exit = Exit::Guard;
                result.message = Some(format!("a sync would stop before any write: {reason}"));
            }
            result.summary.created = counts.create;
            result.summary.modified = counts.modify;
            return Ok(result);
        }

        if !opts.force {
            if let Some(reason) = guard_stop {
                warn!(reason = %reason, "Safety guard stopped the run before any write.");
                result.status = RunStatus::Guarded;
                result.exit = Exit::Guard;
                result.message = Some(reason);
                return Ok(result);
            }
        }

        // The photos the writes wait on, uploaded before them (sync::photos).
        let (held_back, photo_failures) = self.photos_before_writes(run, &mut result).await?;
        let settings = ApplySettings {
            concurrency: cfg.sync.concurrency,
            max_attempts: attempts,
            operate_notify_url: cfg.alipay.operate_notify_url.clone(),
        };
        let writes = counts.create + counts.modify;
        let bar = progress_bar(opts.progress, writes);
        let progress: Option<Progress> =
            bar.clone().map(|b| Arc::new(move || b.inc(1)) as Progress);
        let report = apply::apply(
            gw,
            db,
            &self.clock,
            run,
            held_back.as_ref().unwrap_or(&result.plan),
            &settings,
            self.stop.clone(),
            progress,
        )
        .await;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        summary.created = report.created.load(Ordering::SeqCst);
        summary.modified = report.modified.load(Ordering::SeqCst);
        summary.failed = report.failed.load(Ordering::SeqCst) + photo_failures;
        summary.unknown = report.unknown.load(Ordering::SeqCst) + confirmed.still_unknown;
        summary.pending += report.deferred.load(Ordering::SeqCst);
        let not_started = writes.saturating_sub(
            summary.created
                + summary.modified
                + summary.failed
                + summary.unknown
                + report.deferred.load(Ordering::SeqCst),
        );
        result.summary = summary;

        if let Some(wait) = opts.wait_audit {
            self.wait_for_audits(wait).await?;
        }
        // Pending: the stores with an application still under Alipay's audit when the run
        // ends (those created or modified just now included), plus deferred modifies.
        let under_audit: HashSet<StoreId> = db
            .pending_applications()?
            .into_iter()
            .map(|a| a.store_id)
            .collect();
        result.summary.pending = under_audit.len() as u64 + report.deferred.load(Ordering::SeqCst);

        let config_error = report.config_error.lock().expect("report lock").take();
        if let Some(err) = config_error {
            result.alipay_error = Some(err.clone());
            let err = RunError::Alipay(err);
            result.status = RunStatus::Failed;
            result.exit = err.exit();
            result.message = Some(error_chain(&err));
        } else if self.stop.load(Ordering::SeqCst) && not_started > 0 {
            result.status = RunStatus::Interrupted;
            result.exit = Exit::Failed;
            result.message = Some(format!(
                "stopped by shutdown; {not_started} writes not started"
            ));
        } else if result.summary.failed + result.summary.unknown + result.summary.rejected > 0
            || !result.stale.is_empty()
        {
            result.status = RunStatus::Partial;
            result.exit = Exit::Partial;
            if !result.stale.is_empty() {
                warn!(
                    stores = result.stale.len(),
                    "Saved plan: stale stores skipped."
                );
                result.message = Some(saved_plan::stale_message(&result.stale));
            }
        }
        Ok(result)
    }

    /// Follow pending applications until none is pending or `wait` has passed.
    pub async fn wait_for_audits(&self, wait: Duration) -> Result<(), RunError> {
        let deadline = Instant::now() + wait;
        loop {
            let r = followup::refresh_pending(
                &self.gateway,
                &self.db,
                &self.clock,
                self.cfg.sync.max_attempts,
            )
            .await?;
            if r.still_pending == 0
                || Instant::now() >= deadline
                || self.stop.load(Ordering::SeqCst)
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500).min(deadline - Instant::now())).await;
        }
    }

    fn make_plan(
        &self,
        loaded: &source::Loaded,
        remote_shops: &[plan::RemoteShop],
    ) -> Result<Plan, RunError> {
        let db = &self.db;
        let mapping = db.shop_map()?;
        let mut pending: Vec<PendingWrite> = db
            .pending_applications()?
            .into_iter()
            .map(|a| PendingWrite {
                store_id: a.store_id,
                kind: a.kind,
                apply_id: Some(a.apply_id),
            })
            .collect();
        pending.extend(db.unresolved_actions()?.into_iter().map(|a| PendingWrite {
            store_id: a.store_id,
            kind: a.kind,
            apply_id: None,
        }));
        // Only what the plan compares: summary fields are compared with the live values.
        let accepted = db.accepted_values(Field::compared_with_accepted)?;
        let mut failed: HashMap<StoreId, FailedWrite> = HashMap::new();
        for app in db.last_applications()? {
            if app.status == AppStatus::Failed {
                failed.insert(
                    app.store_id.clone(),
                    FailedWrite {
                        kind: app.kind,
                        fields: app.fields.clone(),
                        reason: app
                            .result_desc
                            .clone()
                            .or(app.result_code.clone())
                            .unwrap_or_default(),
                    },
                );
            }
        }
        let rejected: Vec<RejectedRow> = loaded
            .rejects
            .iter()
            .map(|r| RejectedRow {
                store_id: r.store_id.clone(),
                file: r.file.clone(),
                line: r.line,
                field: r.field.clone(),
                reason: r.reason.clone(),
            })
            .collect();
        let settings = PlanSettings {
            managed: self.cfg.managed_fields(),
            create: self.cfg.sync.create,
            modify: self.cfg.sync.modify,
        };
        Ok(plan::plan(PlanInput {
            stores: &loaded.stores,
            rejected: &rejected,
            remote: remote_shops,
            mapping: &mapping,
            pending: &pending,
            accepted: &accepted,
            failed: &failed,
            settings: &settings,
        }))
    }
}
