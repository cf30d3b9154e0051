//! What `plan` and `sync` share: build the context (lock, audit store, client or built-in
//! simulator), stop starting writes on a signal, run once, print the plan and summary.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::cli::PlanFormat;
use crate::clock::{SharedClock, SystemClock};
use crate::exit::Exit;
use crate::sync::context::open_locked;
use crate::sync::{report, Context, RunError, RunOptions};

/// What to print besides the run summary.
pub struct Show {
    /// The plan, in this format; with `true`, unchanged stores too.
    pub plan: Option<(PlanFormat, bool)>,
}

/// With the simulator, audits finish within seconds: `sync` follows them so one command
/// shows the whole job (create → audit → shop id).
const SIMULATOR_WAIT: Duration = Duration::from_secs(10);

pub async fn execute(
    config: &Path,
    mut opts: RunOptions,
    show: Show,
    lock_timeout: Duration,
) -> Result<Exit, RunError> {
    let cfg = super::load_config(config)?;
    let simulator = cfg.is_simulator();
    let clock: SharedClock = Arc::new(SystemClock);
    let (_lock, db) = open_locked(&cfg, lock_timeout).await?;
    let (ctx, sim) = Context::connect(cfg, db, clock, None).await?;
    // Test knob (tests/it/operator.rs): a panic whose message carries the app_auth_token,
    // to show the panic path redacts it. `SHOPSYNC_TEST_*` is never a config override.
    if std::env::var_os("SHOPSYNC_TEST_PANIC").is_some() {
        let token = ctx.cfg.app_auth_token().ok().flatten();
        panic!(
            "test panic with token {}",
            token.as_ref().map(|t| t.expose()).unwrap_or("-")
        );
    }
    if simulator {
        crate::output::note_line(&format!(
            "Using the built-in Alipay simulator at {} (config {}); nothing is sent to Alipay.",
            sim.as_ref().map(|s| s.gateway_url()).unwrap_or_default(),
            config.display()
        ));
    }
    // SIGTERM or Ctrl-C stops starting new writes; writes in flight finish and are
    // recorded (a second signal exits at once, exit 130).
    match crate::daemon::shutdown::Shutdown::install(ctx.cfg.schedule.grace) {
        Ok(shutdown) => {
            let stop = ctx.stop.clone();
            tokio::spawn(async move {
                shutdown.wait().await;
                crate::output::note_line(
                    "Stopping: letting writes in flight finish (signal again to abort).",
                );
                stop.store(true, Ordering::SeqCst);
            });
        }
        Err(e) => tracing::warn!(error = %e, "Cannot install signal handlers."),
    }
    if opts.apply && simulator {
        opts.wait_audit = opts.wait_audit.or(Some(SIMULATOR_WAIT));
    }
    let result = ctx.run(&opts).await;
    if let Some(sim) = sim {
        if let Err(e) = sim.save_configured_snapshot() {
            crate::output::warn_line(&format!("cannot save the simulator's state: {e}"));
        }
        sim.shutdown().await;
    }
    let result = result?;
    let mut out = crate::output::stdout();
    if let Some((format, all)) = show.plan {
        if let Err(e) = report::write_plan(&result.plan, format, all, &mut out) {
            crate::output::error_line(&format!("cannot write the plan: {e}"));
        }
    }
    if opts.apply {
        let _ = report::write_summary(&result.summary, result.status, result.run.0, &mut out);
        let p = result.photos;
        if p.read > 0 || p.uploaded + p.failed > 0 {
            let _ = writeln!(
                out,
                "Photos: {} file(s)/URL(s) read, {} already on Alipay, {} uploaded now{}.",
                p.read,
                p.known,
                p.uploaded,
                if p.failed > 0 {
                    format!(", {} failed", p.failed)
                } else {
                    String::new()
                }
            );
        }
        if let Ok(pending) = ctx.db.pending_applications() {
            let _ = writeln!(
                out,
                "{} applications still under Alipay's audit; `shopsync audit pending` lists them, `shopsync audit show {}` shows this run.",
                pending.len(),
                result.run.0
            );
        }
    }
    if let Some(msg) = &result.message {
        if result.exit == Exit::Guard {
            crate::output::note_line(&format!("stopped: {msg}"));
        } else {
            crate::output::error_line(msg);
        }
    }
    Ok(result.exit)
}
