//! One run of `plan` or `sync`: refresh what was sent before, read the export and Alipay,
//! plan, guard, apply, and record it all.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use crate::alipay::shop::SummaryQuery;
use crate::alipay::timestamp::china;
use crate::alipay::{ErrorClass, Gateway};
use crate::apply::{self, ApplySettings, Progress};
use crate::audit::{ActionKind, AppStatus, AuditDb, RunId, RunKind, RunStatus, RunSummary};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::exit::Exit;
use crate::followup;
use crate::plan::{
    self, FailedWrite, PendingWrite, Plan, PlanInput, PlanSettings, RejectedRow, WriteKind,
};
use crate::remote;
use crate::source;
use crate::store::Field;

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
}

/// Everything a run needs.
pub struct Context {
    pub cfg: Config,
    pub gateway: Gateway,
    pub db: Arc<AuditDb>,
    pub clock: SharedClock,
    /// Set to stop starting new writes (shutdown).
    pub stop: Arc<AtomicBool>,
}

impl Context {
    /// A context for `cfg` over the audit store `db`: the gateway connected (or the
    /// built-in simulator started, returned alongside), not stopped.
    pub async fn connect(
        cfg: Config,
        db: Arc<AuditDb>,
        clock: SharedClock,
    ) -> Result<(Context, Option<crate::sim::SimHandle>), crate::connect::ConnectError> {
        let connected = crate::connect::connect(&cfg, clock.clone(), None).await?;
        let ctx = Context {
            cfg,
            gateway: connected.gateway,
            db,
            clock,
            stop: Arc::new(AtomicBool::new(false)),
        };
        Ok((ctx, connected.sim))
    }
}

fn kind_of(k: ActionKind) -> WriteKind {
    match k {
        ActionKind::Create => WriteKind::Create,
        ActionKind::Modify => WriteKind::Modify,
    }
}

fn exit_for_alipay_error(e: &anyhow::Error) -> Exit {
    if let Some(source_error) = e.downcast_ref::<source::SourceError>() {
        return source_error.exit();
    }
    match e.downcast_ref::<crate::alipay::AlipayError>() {
        Some(a) if a.class == ErrorClass::Config => Exit::Config,
        _ => Exit::Failed,
    }
}

impl Context {
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
    pub async fn run(&self, opts: &RunOptions) -> anyhow::Result<RunResult> {
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
        let source_desc = source::describe(&self.cfg.source);
        let run = db.start_run(kind, &source_desc, 0, self.clock.now())?;
        info!(run = run.0, kind = ?kind, source = %source_desc, "Run started.");
        let mut result = match self.run_inner(run, opts).await {
            Ok(r) => r,
            Err(e) => {
                let exit = exit_for_alipay_error(&e);
                let message = format!("{e:#}");
                tracing::error!(run = run.0, error = %message, "Run failed.");
                RunResult {
                    run,
                    plan: Plan::default(),
                    summary: RunSummary::default(),
                    status: RunStatus::Failed,
                    exit,
                    message: Some(message),
                    elapsed: Duration::ZERO,
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

    async fn run_inner(&self, run: RunId, opts: &RunOptions) -> anyhow::Result<RunResult> {
        let cfg = &self.cfg;
        let attempts = cfg.sync.max_attempts;
        let db = &self.db;
        let gw = &self.gateway;

        // The export is read (files on a blocking thread, database servers on this runtime)
        // while the pending applications and the summary pages are fetched: the page reads
        // are paced by the quota, so the local work costs no wall time. An unreadable
        // export ends both at once.
        let load = async { Ok::<_, anyhow::Error>(source::load_async(&cfg.source).await?) };
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
            Ok::<_, anyhow::Error>(shops)
        };
        let (mut loaded, remote_shops) = tokio::try_join!(load, fetch)?;
        let today = self.clock.now().with_timezone(&china()).date_naive();
        source::reject_expired(&cfg.source, &mut loaded, today);
        let rows = loaded.stores.len() as u64 + loaded.rejects.len() as u64;
        db.set_run_store_count(run, rows)?;
        info!(
            stores = loaded.stores.len(),
            rejected = loaded.rejects.len(),
            "Export read."
        );
        info!(shops = remote_shops.len(), "Alipay shops read.");
        let export_ids: HashSet<String> =
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
        let (resolved, unresolved) =
            followup::resolve_unknown(gw, db, &self.clock, attempts).await?;
        if resolved + unresolved > 0 {
            info!(resolved, unresolved, "Writes with unknown outcome checked.");
        }

        let plan = self.make_plan(&loaded, &remote_shops)?;
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
            unknown: 0,
        };
        let mut result = RunResult {
            run,
            plan,
            summary: summary.clone(),
            status: RunStatus::Ok,
            exit: Exit::Ok,
            message: None,
            elapsed: Duration::ZERO,
        };

        if !opts.apply {
            result.exit = if result.plan.has_writes() {
                Exit::Changes
            } else {
                Exit::Ok
            };
            result.summary.created = counts.create;
            result.summary.modified = counts.modify;
            return Ok(result);
        }

        if !opts.force {
            if let Some(reason) = self.guard(&counts, rows)? {
                warn!(reason = %reason, "Safety guard stopped the run before any write.");
                result.status = RunStatus::Guarded;
                result.exit = Exit::Guard;
                result.message = Some(reason);
                return Ok(result);
            }
        }

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
            &result.plan,
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
        summary.failed = report.failed.load(Ordering::SeqCst);
        summary.unknown = report.unknown.load(Ordering::SeqCst);
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

        let config_error = report.config_error.lock().expect("report lock").clone();
        if let Some(err) = config_error {
            result.status = RunStatus::Failed;
            result.exit = Exit::Config;
            result.message = Some(err);
        } else if self.stop.load(Ordering::SeqCst) && not_started > 0 {
            result.status = RunStatus::Interrupted;
            result.exit = Exit::Failed;
            result.message = Some(format!(
                "stopped by shutdown; {not_started} writes not started"
            ));
        } else if result.summary.failed + result.summary.unknown + result.summary.rejected > 0 {
            result.status = RunStatus::Partial;
            result.exit = Exit::Partial;
        }
        Ok(result)
    }

    /// Follow pending applications until none is pending or `wait` has passed.
    pub async fn wait_for_audits(&self, wait: Duration) -> anyhow::Result<()> {
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

    fn guard(&self, counts: &plan::PlanCounts, rows: u64) -> anyhow::Result<Option<String>> {
        let s = &self.cfg.sync;
        if counts.create > s.max_creates {
            return Ok(Some(format!(
                "the plan creates {} shops, more than [sync] max_creates = {}; check the export, or run with --force",
                counts.create, s.max_creates
            )));
        }
        if counts.modify > s.max_modifies {
            return Ok(Some(format!(
                "the plan modifies {} shops, more than [sync] max_modifies = {}; check the export, or run with --force",
                counts.modify, s.max_modifies
            )));
        }
        if let Some(last) = self.db.last_completed_sync()? {
            let floor = (last.store_count as f64 * s.min_export_ratio).floor() as u64;
            if last.store_count > 0 && rows < floor {
                return Ok(Some(format!(
                    "the export has {rows} rows, far fewer than the {} of the last completed sync (run {}); \
                     a truncated export? Check it, or run with --force",
                    last.store_count, last.id.0
                )));
            }
        }
        Ok(None)
    }

    fn make_plan(
        &self,
        loaded: &source::Loaded,
        remote_shops: &[plan::RemoteShop],
    ) -> anyhow::Result<Plan> {
        let db = &self.db;
        let mapping = db.shop_map()?;
        let mut pending: Vec<PendingWrite> = db
            .pending_applications()?
            .into_iter()
            .map(|a| PendingWrite {
                store_id: a.store_id,
                kind: kind_of(a.kind),
                apply_id: Some(a.apply_id),
            })
            .collect();
        pending.extend(db.unresolved_actions()?.into_iter().map(|a| PendingWrite {
            store_id: a.store_id,
            kind: kind_of(a.kind),
            apply_id: None,
        }));
        // Only what the plan compares: summary fields are compared with the live values.
        let accepted = db.accepted_values(Field::compared_with_accepted)?;
        let mut failed: HashMap<String, FailedWrite> = HashMap::new();
        for app in db.last_applications()? {
            if app.status == AppStatus::Failed {
                failed.insert(
                    app.store_id.clone(),
                    FailedWrite {
                        kind: kind_of(app.kind),
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

fn progress_bar(enabled: bool, len: u64) -> Option<indicatif::ProgressBar> {
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
