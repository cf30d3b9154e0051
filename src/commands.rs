//! One function per subcommand; each returns the process exit code.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use tracing::error;

use crate::audit::AuditDb;
use crate::cli::{Cli, Command};
use crate::clock::{SharedClock, SystemClock};
use crate::config::Config;
use crate::connect;
use crate::daemon::lock::InstanceLock;
use crate::exit::Exit;
use crate::report::{self, PlanFormat};
use crate::run::{Context, RunOptions};

/// Run the parsed command line.
pub async fn dispatch(cli: Cli) -> Exit {
    match cli.command {
        Command::Simulate(args) => match crate::sim::cli::run(*args).await {
            Ok(()) => Exit::Ok,
            Err(e) => {
                eprintln!("error: {e:#}");
                Exit::Failed
            }
        },
        Command::Validate => validate(&cli.config),
        Command::Audit { command, format } => audit(&cli.config, &command, format),
        Command::Plan { format, all } => {
            plan_or_sync(&cli.config, false, false, None, Some((format, all))).await
        }
        Command::Sync {
            force,
            wait,
            show_plan,
        } => {
            plan_or_sync(
                &cli.config,
                true,
                force,
                wait,
                show_plan.map(|f| (f, false)),
            )
            .await
        }
        Command::FollowUp => follow_up(&cli.config).await,
        Command::Daemon { print_schedule } => {
            crate::daemon::run::daemon(&cli.config, print_schedule).await
        }
    }
}

fn load_config(path: &Path) -> Result<Config, Exit> {
    Config::load(path).map_err(|e| {
        eprintln!("error: {e}");
        Exit::Config
    })
}

/// Open the audit store under the single-instance lock.
pub fn open_locked(cfg: &Config) -> Result<(InstanceLock, Arc<AuditDb>), Exit> {
    let lock = InstanceLock::acquire(&cfg.audit.database).map_err(|e| {
        eprintln!("error: {e}");
        Exit::Failed
    })?;
    let db = AuditDb::open(&cfg.audit.database).map_err(|e| {
        eprintln!("error: {e:#}");
        Exit::Failed
    })?;
    Ok((lock, Arc::new(db)))
}

/// Build the run context (client or simulator, audit store, lock).
pub async fn context(
    cfg: Config,
    clock: SharedClock,
) -> Result<(Context, InstanceLock, Option<crate::sim::SimHandle>), Exit> {
    let (lock, db) = open_locked(&cfg)?;
    let (ctx, sim) = Context::connect(cfg, db, clock).await.map_err(|e| {
        eprintln!("error: {e}");
        Exit::Config
    })?;
    Ok((ctx, lock, sim))
}

async fn plan_or_sync(
    config: &Path,
    apply: bool,
    force: bool,
    wait: Option<std::time::Duration>,
    show: Option<(PlanFormat, bool)>,
) -> Exit {
    let cfg = match load_config(config) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let simulator = cfg.is_simulator();
    let clock: SharedClock = Arc::new(SystemClock);
    let (ctx, _lock, sim) = match context(cfg, clock).await {
        Ok(c) => c,
        Err(e) => return e,
    };
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
                stop.store(true, std::sync::atomic::Ordering::SeqCst);
            });
        }
        Err(e) => tracing::warn!(error = %e, "Cannot install signal handlers."),
    }
    // With the simulator, audits finish within seconds: follow them so one command shows
    // the whole job (create → audit → shop id).
    let wait = wait.or_else(|| (apply && simulator).then(|| std::time::Duration::from_secs(10)));
    let opts = RunOptions {
        apply,
        force,
        wait_audit: wait,
        progress: true,
    };
    let result = match ctx.run(&opts).await {
        Ok(r) => r,
        Err(e) => {
            error!(error = %format!("{e:#}"), "The audit store failed.");
            eprintln!("error: {e:#}");
            return Exit::Failed;
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Some((format, all)) = show {
        if let Err(e) = report::write_plan(&result.plan, format, all, &mut out) {
            eprintln!("error: cannot write the plan: {e}");
        }
    }
    if apply {
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
            if result.exit == crate::exit::Exit::Guard {
                "stopped"
            } else {
                "error"
            }
        );
    }
    if let Some(sim) = sim {
        if let Err(e) = sim.save_configured_snapshot() {
            eprintln!("warning: cannot save the simulator's state: {e}");
        }
        sim.shutdown().await;
    }
    result.exit
}

async fn follow_up(config: &Path) -> Exit {
    let cfg = match load_config(config) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let clock: SharedClock = Arc::new(SystemClock);
    let attempts = cfg.sync.max_attempts;
    let (ctx, _lock, sim) = match context(cfg, clock).await {
        Ok(c) => c,
        Err(e) => return e,
    };
    let result =
        crate::followup::refresh_pending(&ctx.gateway, &ctx.db, &ctx.clock, attempts).await;
    if let Some(sim) = sim {
        if let Err(e) = sim.save_configured_snapshot() {
            eprintln!("warning: cannot save the simulator's state: {e}");
        }
        sim.shutdown().await;
    }
    match result {
        Ok(r) => {
            println!(
                "{} approved, {} rejected, {} still under audit.",
                r.succeeded, r.failed, r.still_pending
            );
            Exit::Ok
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            Exit::Failed
        }
    }
}

fn audit(
    config: &Path,
    cmd: &crate::audit::AuditCommand,
    format: crate::audit::OutputFormat,
) -> Exit {
    let cfg = match Config::load_unchecked(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Config;
        }
    };
    let db = match AuditDb::open_read_only(&cfg.audit.database) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Exit::Failed;
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match crate::audit::run_command(&db, cmd, format, &mut out) {
        Ok(()) => Exit::Ok,
        Err(e) => {
            eprintln!("error: {e:#}");
            Exit::Failed
        }
    }
}

/// Check configuration, keys and the export; write nothing. Every problem is listed.
pub fn validate(config: &Path) -> Exit {
    let cfg = match Config::load_unchecked(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Config;
        }
    };
    let mut problems = cfg.problems();
    if !cfg.is_simulator()
        && cfg.alipay.app_private_key.is_some()
        && cfg.alipay.alipay_public_key.is_some()
    {
        if let Err(e) = connect::load_keys(&cfg) {
            problems.push(format!("keys: {e}"));
        }
    }
    if let Err(e) = cfg.app_auth_token() {
        problems.push(format!("app_auth_token: {e}"));
    }
    match crate::source::check(&cfg.source) {
        Ok(headers) => println!(
            "Source {}: readable, {} columns, mapping complete.",
            crate::source::describe(&cfg.source),
            headers.len()
        ),
        Err(e) => problems.push(format!("source: {e}")),
    }
    if let Err(e) =
        crate::daemon::schedule::Schedule::parse(&cfg.schedule.cron, &cfg.schedule.timezone)
    {
        problems.push(format!("[schedule]: {e}"));
    }
    if problems.is_empty() {
        println!("Configuration {} is valid.", config.display());
        Exit::Ok
    } else {
        eprintln!(
            "Configuration {} has {} problem(s):",
            config.display(),
            problems.len()
        );
        for p in &problems {
            eprintln!("  - {p}");
        }
        Exit::Config
    }
}
