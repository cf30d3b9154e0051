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

pub async fn execute(config: &Path, mut opts: RunOptions, show: Show) -> Result<Exit, RunError> {
    let cfg = super::load_config(config)?;
    let simulator = cfg.is_simulator();
    let clock: SharedClock = Arc::new(SystemClock);
    let (_lock, db) = open_locked(&cfg)?;
    let (ctx, sim) = Context::connect(cfg, db, clock, None).await?;
    if simulator {
        eprintln!(
            "Using the built-in Alipay simulator at {} (config {}); nothing is sent to Alipay.",
            sim.as_ref().map(|s| s.gateway_url()).unwrap_or_default(),
            config.display()
        );
    }
    // SIGTERM or Ctrl-C stops starting new writes; writes in flight finish and are
    // recorded (a second signal exits at once, exit 130).
    match crate::daemon::shutdown::Shutdown::install(ctx.cfg.schedule.grace) {
        Ok(shutdown) => {
            let stop = ctx.stop.clone();
            tokio::spawn(async move {
                shutdown.wait().await;
                eprintln!("Stopping: letting writes in flight finish (signal again to abort).");
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
            eprintln!("warning: cannot save the simulator's state: {e}");
        }
        sim.shutdown().await;
    }
    let result = result?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Some((format, all)) = show.plan {
        if let Err(e) = report::write_plan(&result.plan, format, all, &mut out) {
            eprintln!("error: cannot write the plan: {e}");
        }
    }
    if opts.apply {
        let _ = report::write_summary(&result.summary, result.status, result.run.0, &mut out);
        if simulator {
            if let Ok(pending) = ctx.db.pending_applications() {
                let _ = writeln!(
                    out,
                    "{} applications still under audit; `shopsync audit pending` lists them.",
                    pending.len()
                );
            }
        }
    }
    if let Some(msg) = &result.message {
        eprintln!(
            "{}: {msg}",
            if result.exit == Exit::Guard {
                "stopped"
            } else {
                "error"
            }
        );
    }
    Ok(result.exit)
}
