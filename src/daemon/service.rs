//! `shopsync daemon`: sync on the cron schedule, follow pending applications between
//! runs, receive audit notifications, serve health and metrics, stop gracefully.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use chrono::Utc;
use tracing::{debug, error, info, warn};

use super::health::{self, Metrics, RunResult as HealthResult};
use super::notify_listener;
use super::notify_sink::AuditSink;
use super::schedule::Schedule;
use super::shutdown::Shutdown;
use super::systemd::{self, Notifier};
use super::ticker::Ticker;
use crate::alipay::gateway::CallObserver;
use crate::alipay::ErrorClass;
use crate::audit::{AuditDb, RunStatus};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::daemon::lock::InstanceLock;
use crate::sync::alerts::Alerts;
use crate::sync::context::App;
use crate::sync::{Context, RunError, RunOptions};

/// Counts every gateway call into the metrics.
struct MetricsObserver(Arc<Metrics>);

impl CallObserver for MetricsObserver {
    fn observe(&self, method: &str, outcome: Result<(), ErrorClass>) {
        let label = match outcome {
            Ok(()) => "success",
            Err(class) => class.label(),
        };
        self.0.record_call(method, label);
        if outcome == Err(ErrorClass::Throttled) {
            self.0.record_throttled(method);
        }
    }
}

/// With the built-in simulator and `SimConfig.snapshot` set, keep its state on disk so the
/// next process sees the same simulated Alipay (docs/protocol.md §8.1).
fn save_simulator(sim: Option<&crate::sim::SimHandle>) {
    let Some(sim) = sim else { return };
    match sim.save_configured_snapshot() {
        Ok(Some(path)) => debug!(path = %path.display(), "Simulator state saved."),
        Ok(None) => {}
        Err(e) => warn!(error = %e, "Cannot save the simulator state."),
    }
}

fn health_result(status: RunStatus) -> HealthResult {
    match status {
        RunStatus::Ok => HealthResult::Success,
        RunStatus::Partial => HealthResult::Partial,
        RunStatus::Guarded => HealthResult::GuardStopped,
        RunStatus::Failed | RunStatus::Interrupted => HealthResult::Failed,
    }
}

/// The daemon's own lock file: `<database>.daemon` + `.lock`.
fn daemon_lock_path(db: &std::path::Path) -> std::path::PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".daemon");
    std::path::PathBuf::from(name)
}

/// The merchant's run lock for one job, or `None` (logged) when a manual run holds it:
/// the daemon skips that tick rather than waiting.
fn job_lock(ctx: &Context, job: &str) -> Option<InstanceLock> {
    let base = crate::daemon::lock::merchant_lock_base(&ctx.cfg.audit.database, ctx.merchant());
    match InstanceLock::acquire(&base) {
        Ok(lock) => Some(lock),
        Err(e) => {
            warn!(job, merchant = %ctx.merchant(), error = %e, "Skipping this tick: another shopsync holds the run lock.");
            None
        }
    }
}

/// Refresh a merchant's pending-applications gauge from the audit store.
fn update_pending_gauge(ctx: &Context, metrics: &Metrics) {
    if let Ok(p) = ctx.db.pending_applications() {
        metrics.set_merchant_pending(ctx.merchant(), p.len() as u64);
    }
}

/// Run the daemon until SIGTERM/SIGINT: every merchant (or the one `only` names) on its
/// schedule, sharing the app's quota; one notification listener and one health listener
/// for the app.
pub async fn serve(cfg: Config, only: Option<String>) -> Result<(), RunError> {
    let names = crate::commands::select_merchants(&cfg, only.as_deref())?;
    let mut schedules = Vec::new();
    for name in &names {
        let m = cfg.for_merchant(name).expect("selected from the config");
        let schedule = Schedule::parse(&m.schedule.cron, &m.schedule.timezone).map_err(|e| {
            RunError::Config(crate::config::ConfigError::Invalid {
                path: cfg.path.display().to_string(),
                problems: format!("{}: [schedule] {e}", m.merchant_label()),
            })
        })?;
        schedules.push(schedule);
    }
    let shutdown = Shutdown::install(cfg.schedule.grace).map_err(|source| RunError::Io {
        what: "install signal handlers",
        source,
    })?;
    let clock: SharedClock = crate::clock::command_clock();
    let metrics = Arc::new(Metrics::new());
    // One dispatcher for the daemon's life (its secrets read now), for every merchant.
    let alerts = Alerts::new(&cfg, clock.clone())?;
    // One daemon per audit database (held for the daemon's life); the run lock only while
    // a job runs, so a manual `plan`/`sync` works while the daemon idles.
    crate::sync::context::create_db_dir(&cfg.audit.database)?;
    let daemon_lock = InstanceLock::acquire(&daemon_lock_path(&cfg.audit.database))?;
    let db = Arc::new(AuditDb::open(&cfg.audit.database)?);
    let observer: Arc<dyn CallObserver> = Arc::new(MetricsObserver(metrics.clone()));
    let app = App::connect(cfg.clone(), db.clone(), clock.clone(), Some(observer)).await?;
    let sim = app.sim.clone();
    // Notifications name no certificate: the Alipay key, or any trusted certificate's.
    let alipay_key = app.gateway.notification_keys();
    let mut contexts = Vec::new();
    for name in &names {
        contexts.push(Arc::new(app.context(name)?));
    }

    if let Some(n) = &cfg.notify {
        let listener = tokio::net::TcpListener::bind(&n.listen)
            .await
            .map_err(|source| RunError::Listen {
                section: "notify",
                addr: n.listen.clone(),
                source,
            })?;
        let sink = Arc::new(AuditSink {
            db: db.clone(),
            clock: clock.clone(),
            metrics: Some(metrics.clone()),
        });
        let path = n.path.clone();
        let stop = shutdown.wait_owned();
        tokio::spawn(async move {
            if let Err(e) = notify_listener::serve(listener, path, alipay_key, sink, stop).await {
                error!(error = %e, "Notification listener failed.");
            }
        });
    }
    if let Some(h) = &cfg.health {
        let listener = tokio::net::TcpListener::bind(&h.listen)
            .await
            .map_err(|source| RunError::Listen {
                section: "health",
                addr: h.listen.clone(),
                source,
            })?;
        let m = metrics.clone();
        let stop = shutdown.wait_owned();
        tokio::spawn(async move {
            if let Err(e) = health::serve(listener, m, stop).await {
                error!(error = %e, "Health listener failed.");
            }
        });
    }

    let notifier = Arc::new(Notifier::from_env());
    if let Some(every) = systemd::watchdog_interval() {
        let n = notifier.clone();
        tokio::spawn(async move {
            let mut iv = tokio::time::interval(every);
            loop {
                iv.tick().await;
                let _ = n.watchdog();
            }
        });
    }
    let _ = notifier.ready();
    info!(schedule = %cfg.schedule.cron, timezone = %cfg.schedule.timezone, merchants = names.len(), "Daemon started.");

    for ctx in &contexts {
        update_pending_gauge(ctx, &metrics);
    }
    // One ticker per merchant: each runs its jobs one at a time under that merchant's run
    // lock; merchants run side by side and share the app's one rate limiter.
    let tickers = contexts.iter().zip(schedules).map(|(ctx, schedule)| {
        let ticker =
            Ticker::new(schedule, clock.clone()).with_follow_up(ctx.cfg.schedule.follow_up);
        let sync_job = sync_job(ctx.clone(), metrics.clone(), sim.clone(), alerts.clone());
        let follow_job = follow_job(ctx.clone(), metrics.clone(), sim.clone(), alerts.clone());
        let stop_flag = app.stop.clone();
        let sd = shutdown.clone();
        let on_shutdown = async move {
            sd.wait().await;
            stop_flag.store(true, Ordering::SeqCst);
        };
        async move {
            ticker
                .run_with_follow_up(sync_job, follow_job, on_shutdown)
                .await
        }
    });
    let grace = shutdown.grace();
    let all_done = futures::future::join_all(tickers);
    // The tickers await the jobs in progress after shutdown; bound that by the grace period.
    let deadline = async {
        shutdown.wait().await;
        info!("Shutdown requested; letting writes in flight finish.");
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        counts = all_done => info!(?counts, "Scheduler stopped."),
        _ = deadline => warn!(grace_s = grace.as_secs(), "Grace period over; exiting with writes in flight (recorded as intents; resolved by the next run)."),
    }
    let _ = notifier.stopping();
    if let Some(sim) = sim {
        save_simulator(Some(&sim));
        sim.shutdown().await;
    }
    drop(daemon_lock);
    info!("Daemon stopped.");
    Ok(())
}

/// One merchant's scheduled sync: under its run lock (skipped when a manual run holds it),
/// recorded in the metrics with the merchant's name, alerted naming it.
fn sync_job(
    ctx: Arc<Context>,
    metrics: Arc<Metrics>,
    sim: Option<crate::sim::SimHandle>,
    alerts: Arc<Alerts>,
) -> impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> {
    move || {
        let ctx = ctx.clone();
        let metrics = metrics.clone();
        let sim = sim.clone();
        let alerts = alerts.clone();
        Box::pin(async move {
            let Some(_run_lock) = job_lock(&ctx, "scheduled sync") else {
                return;
            };
            let opts = RunOptions {
                apply: true,
                ..Default::default()
            };
            let merchant = ctx.merchant().to_string();
            match ctx.run(&opts).await {
                Ok(r) => {
                    metrics.record_merchant_run(
                        &merchant,
                        health_result(r.status),
                        Utc::now(),
                        r.elapsed,
                        r.summary.rejected,
                        r.summary.created,
                        r.summary.modified,
                        r.summary.failed,
                    );
                    alerts.after_run(&ctx.db, &r).await;
                    // The app's certificates: checked after every scheduled run, at most
                    // one alert per run.
                    alerts
                        .certificate_warnings(Some(r.run), &ctx.gateway.certificate_warnings())
                        .await;
                }
                Err(e) => {
                    error!(merchant = %merchant, error = %crate::sync::run::error_chain(&e), "Scheduled sync failed.");
                    metrics.record_merchant_run(
                        &merchant,
                        HealthResult::Failed,
                        Utc::now(),
                        std::time::Duration::ZERO,
                        0,
                        0,
                        0,
                        0,
                    );
                }
            }
            update_pending_gauge(&ctx, &metrics);
            save_simulator(sim.as_ref());
        })
    }
}

/// One merchant's follow-up of its pending applications, and the alert of the audit
/// rejections found since the last one (the notification listener's included).
fn follow_job(
    ctx: Arc<Context>,
    metrics: Arc<Metrics>,
    sim: Option<crate::sim::SimHandle>,
    alerts: Arc<Alerts>,
) -> impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> {
    move || {
        let ctx = ctx.clone();
        let metrics = metrics.clone();
        let sim = sim.clone();
        let alerts = alerts.clone();
        Box::pin(async move {
            let Some(_run_lock) = job_lock(&ctx, "follow-up") else {
                return;
            };
            match crate::sync::followup::refresh_pending(
                &ctx.gateway,
                &ctx.db,
                &ctx.clock,
                ctx.cfg.sync.max_attempts,
            )
            .await
            {
                Ok(r) => info!(
                    merchant = %ctx.merchant(),
                    approved = r.succeeded,
                    rejected = r.failed,
                    pending = r.still_pending,
                    "Follow-up done."
                ),
                Err(e) => {
                    warn!(merchant = %ctx.merchant(), error = %crate::sync::run::error_chain(&e), "Follow-up failed.")
                }
            }
            // Rejections found now, and those the notification listener recorded.
            alerts.rejections(&ctx.db, None).await;
            update_pending_gauge(&ctx, &metrics);
            save_simulator(sim.as_ref());
        })
    }
}
