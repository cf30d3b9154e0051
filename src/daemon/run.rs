//! `shopsync daemon`: sync on the cron schedule, follow pending applications between
//! runs, receive audit notifications, serve health and metrics, stop gracefully.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use chrono::Utc;
use tokio::sync::Mutex;
use tracing::{debug, error, info, warn};

use super::health::{self, Metrics, RunResult as HealthResult};
use super::notify_listener::{self, AuditNotification, AuditStatus, NotificationSink};
use super::schedule::Schedule;
use super::shutdown::Shutdown;
use super::systemd::{self, Notifier};
use super::ticker::Ticker;
use crate::alipay::gateway::CallObserver;
use crate::alipay::shop::BizOrder;
use crate::audit::{AuditDb, NotificationRecord, RunStatus};
use crate::clock::{SharedClock, SystemClock};
use crate::config::Config;
use crate::exit::Exit;
use crate::run::{Context, RunOptions};

/// Counts every gateway call into the metrics.
struct MetricsObserver(Arc<Metrics>);

impl CallObserver for MetricsObserver {
    fn observe(&self, method: &str, class: &str) {
        self.0.record_call(method, class);
        if class == "throttled" {
            self.0.record_throttled(method);
        }
    }
}

/// Records verified notifications in the audit store and applies them to the application
/// they name (the same path as a poll of applyorder.batchquery).
pub struct AuditSink {
    pub db: Arc<AuditDb>,
    pub clock: SharedClock,
    pub metrics: Option<Arc<Metrics>>,
}

impl NotificationSink for AuditSink {
    fn record(&self, n: &AuditNotification) -> anyhow::Result<()> {
        let mut form = std::collections::BTreeMap::new();
        form.insert("notify_id".to_string(), n.notify_id.clone());
        form.insert("notify_type".to_string(), n.notify_type.clone());
        form.insert("biz_type".to_string(), n.biz_type.clone());
        form.insert("apply_id".to_string(), n.apply_id.clone());
        form.insert("request_id".to_string(), n.request_id.clone());
        form.insert(
            "audit_status".to_string(),
            n.audit_status.as_str().to_string(),
        );
        if let Some(s) = &n.shop_id {
            form.insert("shop_id".to_string(), s.clone());
        }
        if let Some(s) = &n.result_code {
            form.insert("result_code".to_string(), s.clone());
        }
        if let Some(s) = &n.result_desc {
            form.insert("result_desc".to_string(), s.clone());
        }
        let mut record = NotificationRecord::from_form(&form)
            .ok_or_else(|| anyhow::anyhow!("notification without notify_id"))?;
        record.notify_time = Some(crate::alipay::timestamp::format(n.notify_time));
        let new = self.db.record_notification(&record, self.clock.now())?;
        if let Some(m) = &self.metrics {
            m.record_notification();
        }
        if !new {
            info!(notify_id = %n.notify_id, "Duplicate notification ignored.");
            return Ok(());
        }
        let order = BizOrder {
            apply_id: n.apply_id.clone(),
            action: None,
            biz_type: Some("SHOP".into()),
            biz_id: n.shop_id.clone(),
            biz_context_info: None,
            status: Some(
                match n.audit_status {
                    AuditStatus::Success => "SUCCESS",
                    AuditStatus::Failed => "FAIL",
                }
                .into(),
            ),
            sub_status: Some("FINISH".into()),
            result_code: n.result_code.clone(),
            result_desc: n.result_desc.clone(),
            create_time: None,
            update_time: None,
        };
        match crate::followup::record_order(&self.db, &self.clock, &order)? {
            Some(status) => {
                info!(apply_id = %n.apply_id, status = ?status, "Audit notification applied.")
            }
            None => {
                warn!(apply_id = %n.apply_id, "Audit notification for an application shopsync did not send; recorded only.")
            }
        }
        Ok(())
    }
}

/// With the built-in simulator and `SimConfig.snapshot` set, keep its state on disk so the
/// next process sees the same simulated Alipay (reference §8.1).
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

/// Refresh the pending-applications gauge from the audit store.
fn update_pending_gauge(db: &AuditDb, metrics: &Metrics) {
    if let Ok(p) = db.pending_applications() {
        metrics.set_pending_applications(p.len() as u64);
    }
}

/// Run the daemon until SIGTERM/SIGINT.
pub async fn daemon(config: &Path, print_schedule: bool) -> Exit {
    let cfg = match Config::load(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Config;
        }
    };
    let schedule = match Schedule::parse(&cfg.schedule.cron, &cfg.schedule.timezone) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: [schedule] {e}");
            return Exit::Config;
        }
    };
    if print_schedule {
        println!("{}", schedule.describe_upcoming(Utc::now(), 5));
        return Exit::Ok;
    }
    let shutdown = match Shutdown::install(cfg.schedule.grace) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot install signal handlers: {e}");
            return Exit::Failed;
        }
    };
    let clock: SharedClock = Arc::new(SystemClock);
    let metrics = Arc::new(Metrics::new());
    let (lock, db) = match crate::commands::open_locked(&cfg) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let connected = match crate::connect::connect(
        &cfg,
        clock.clone(),
        Some(Arc::new(MetricsObserver(metrics.clone()))),
    )
    .await
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Config;
        }
    };
    let alipay_key = match &connected.sim {
        Some(sim) => sim.alipay_public_key(),
        None => match crate::connect::load_keys(&cfg) {
            Ok((_, k)) => k,
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::Config;
            }
        },
    };
    let ctx = Arc::new(Context {
        cfg: cfg.clone(),
        gateway: connected.gateway,
        db: db.clone(),
        clock: clock.clone(),
        stop: Arc::new(std::sync::atomic::AtomicBool::new(false)),
    });

    if let Some(n) = &cfg.notify {
        let listener = match tokio::net::TcpListener::bind(&n.listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: [notify] cannot listen on {}: {e}", n.listen);
                return Exit::Config;
            }
        };
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
        let listener = match tokio::net::TcpListener::bind(&h.listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: [health] cannot listen on {}: {e}", h.listen);
                return Exit::Config;
            }
        };
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
    info!(schedule = %cfg.schedule.cron, timezone = %cfg.schedule.timezone, "Daemon started.");

    // One job at a time (the ticker guarantees it); the mutex guards the shared context.
    let busy = Arc::new(Mutex::new(()));
    let sync_job = {
        let ctx = ctx.clone();
        let metrics = metrics.clone();
        let busy = busy.clone();
        let sim = connected.sim.clone();
        move || {
            let ctx = ctx.clone();
            let metrics = metrics.clone();
            let busy = busy.clone();
            let sim = sim.clone();
            async move {
                let _guard = busy.lock().await;
                let opts = RunOptions {
                    apply: true,
                    ..Default::default()
                };
                match ctx.run(&opts).await {
                    Ok(r) => {
                        metrics.record_run(
                            health_result(r.status),
                            Utc::now(),
                            r.elapsed,
                            r.summary.rejected,
                        );
                    }
                    Err(e) => {
                        error!(error = %format!("{e:#}"), "Scheduled sync failed.");
                        metrics.record_run(
                            HealthResult::Failed,
                            Utc::now(),
                            std::time::Duration::ZERO,
                            0,
                        );
                    }
                }
                update_pending_gauge(&ctx.db, &metrics);
                save_simulator(sim.as_ref());
            }
        }
    };
    let follow_job = {
        let ctx = ctx.clone();
        let metrics = metrics.clone();
        let busy = busy.clone();
        let sim = connected.sim.clone();
        move || {
            let ctx = ctx.clone();
            let metrics = metrics.clone();
            let busy = busy.clone();
            let sim = sim.clone();
            async move {
                let _guard = busy.lock().await;
                match crate::followup::refresh_pending(
                    &ctx.gateway,
                    &ctx.db,
                    &ctx.clock,
                    ctx.cfg.sync.max_attempts,
                )
                .await
                {
                    Ok(r) => info!(
                        approved = r.succeeded,
                        rejected = r.failed,
                        pending = r.still_pending,
                        "Follow-up done."
                    ),
                    Err(e) => warn!(error = %format!("{e:#}"), "Follow-up failed."),
                }
                update_pending_gauge(&ctx.db, &metrics);
                save_simulator(sim.as_ref());
            }
        }
    };
    update_pending_gauge(&db, &metrics);

    let ticker = Ticker::new(schedule, clock.clone()).with_follow_up(cfg.schedule.follow_up);
    let stop_flag = ctx.stop.clone();
    let sd = shutdown.clone();
    let on_shutdown = async move {
        sd.wait().await;
        info!("Shutdown requested; letting writes in flight finish.");
        stop_flag.store(true, Ordering::SeqCst);
    };
    let grace = shutdown.grace();
    let ticker_done = ticker.run_with_follow_up(sync_job, follow_job, on_shutdown);
    // The ticker awaits the job in progress after shutdown; bound that by the grace period.
    let deadline = async {
        shutdown.wait().await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        counts = ticker_done => info!(?counts, "Scheduler stopped."),
        _ = deadline => warn!(grace_s = grace.as_secs(), "Grace period over; exiting with writes in flight (recorded as intents; resolved by the next run)."),
    }
    let _ = notifier.stopping();
    if let Some(sim) = connected.sim {
        save_simulator(Some(&sim));
        sim.shutdown().await;
    }
    drop(lock);
    info!("Daemon stopped.");
    Exit::Ok
}
