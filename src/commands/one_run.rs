//! What `plan` and `sync` share: connect the app (keys, client or built-in simulator, the
//! one rate limiter), run every selected merchant concurrently under its own run lock,
//! stop starting writes on a signal, print each merchant's plan and summary, and exit
//! with the worst merchant's code.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::audit::AuditDb;
use crate::cli::PlanFormat;
use crate::clock::SharedClock;
use crate::exit::Exit;
use crate::sync::alerts::Alerts;
use crate::sync::context::{create_db_dir, lock_merchant, App, Context};
use crate::sync::run::error_chain;
use crate::sync::{report, RunError, RunOptions, RunResult};

/// What to print besides the run summary, and the files a run reads or writes.
#[derive(Default)]
pub struct Show {
    /// The plan, in this format; with `true`, unchanged stores too.
    pub plan: Option<(PlanFormat, bool)>,
    /// `plan --out FILE`: save the plan there.
    pub save_plan: Option<PathBuf>,
    /// `sync --plan FILE --max-age D`: apply only this saved plan.
    pub saved_plan: Option<(PathBuf, Duration)>,
    /// `sync --report FILE`: write the run's HTML report there.
    pub report: Option<PathBuf>,
}

/// With the simulator, audits finish within seconds: `sync` follows them so one command
/// shows the whole job (create → audit → shop id).
const SIMULATOR_WAIT: Duration = Duration::from_secs(10);

/// The merchants a command runs: the one `--merchant` names, or all.
pub fn select_merchants(
    cfg: &crate::config::Config,
    only: Option<&str>,
) -> Result<Vec<String>, RunError> {
    let all = cfg.merchant_names();
    match only {
        None => Ok(all),
        Some(name) if all.iter().any(|n| n == name) => Ok(vec![name.to_string()]),
        Some(name) => Err(RunError::UnknownMerchant {
            name: name.to_string(),
            known: all.join(", "),
        }),
    }
}

pub async fn execute(
    config: &Path,
    mut opts: RunOptions,
    show: Show,
    lock_timeout: Duration,
    only: Option<&str>,
) -> Result<Exit, RunError> {
    let cfg = super::load_config(config)?;
    let mut names = select_merchants(&cfg, only)?;
    if let Some((path, max_age)) = &show.saved_plan {
        // A saved plan is one merchant's: only that merchant runs, and only if it is the
        // one --merchant names (or, without --merchant, one the config has).
        let (merchant, saved) =
            super::plan_file::load_for_sync(&cfg, path, *max_age, only, &names)?;
        names = vec![merchant];
        opts.saved_plan = Some(saved);
    }
    let simulator = cfg.is_simulator();
    let multi = cfg.is_multi_merchant();
    // Several merchants' plans or reports: one file each, named after the merchant.
    let several = names.len() > 1;
    let clock: SharedClock = crate::clock::command_clock();
    let alerts = Alerts::new(&cfg, clock.clone())?;
    create_db_dir(&cfg.audit.database)?;
    let db = Arc::new(AuditDb::open(&cfg.audit.database)?);
    let app = App::connect(cfg, db, clock, None).await?;
    // Test knob (tests/it/operator.rs): a panic whose message carries the app_auth_token,
    // to show the panic path redacts it. `SHOPSYNC_TEST_*` is never a config override.
    if std::env::var_os("SHOPSYNC_TEST_PANIC").is_some() {
        let token = app.cfg.app_auth_token().ok().flatten();
        panic!(
            "test panic with token {}",
            token.as_ref().map(|t| t.expose()).unwrap_or("-")
        );
    }
    if simulator {
        crate::output::note_line(&format!(
            "Using the built-in Alipay simulator at {} (config {}); nothing is sent to Alipay.",
            app.sim
                .as_ref()
                .map(|s| s.gateway_url())
                .unwrap_or_default(),
            config.display()
        ));
    }
    // SIGTERM or Ctrl-C stops starting new writes; writes in flight finish and are
    // recorded (a second signal exits at once, exit 130).
    match crate::daemon::shutdown::Shutdown::install(app.cfg.schedule.grace) {
        Ok(shutdown) => {
            let stop = app.stop.clone();
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
    // Every merchant at once, each under its own lock: they share the app's quota.
    let runs = futures::future::join_all(names.iter().map(|name| {
        let app = &app;
        let opts = &opts;
        async move {
            let _lock = lock_merchant(&app.cfg, name, lock_timeout).await?;
            let ctx = app.context(name)?;
            let result = ctx.run(opts).await?;
            let pending = ctx.db.pending_applications().map(|p| p.len()).ok();
            Ok::<_, RunError>((ctx, result, pending))
        }
    }))
    .await;
    if let Some(sim) = &app.sim {
        if let Err(e) = sim.save_configured_snapshot() {
            crate::output::warn_line(&format!("cannot save the simulator's state: {e}"));
        }
        sim.shutdown().await;
    }
    let mut exit = Exit::Ok;
    let mut out = crate::output::stdout();
    // Certificates belong to the app: one expiry alert per process (after a sync), tied
    // to the first run that finished.
    let first_run = runs
        .iter()
        .find_map(|r| r.as_ref().ok().map(|(_, r, _)| r.run));
    for (name, outcome) in names.iter().zip(runs) {
        let who = if multi {
            format!("merchant {name}: ")
        } else {
            String::new()
        };
        match outcome {
            Ok((ctx, result, pending)) => {
                let run = Ran {
                    ctx: &ctx,
                    result: &result,
                    pending,
                    who: &who,
                    merchant: multi.then_some(name.as_str()),
                    several,
                };
                exit = exit.worst(print_run(&mut out, &show, opts.apply, &run));
                // Last, so the operator sees the summary first; bounded by the
                // destinations' timeouts. The alert names the merchant (ctx.db's).
                alerts.after_run(&ctx.db, &result).await;
            }
            Err(e) => {
                // A merchant that fails alone (a revoked token, a missing export) does not
                // stop the others; the exit code is the worst.
                crate::output::error_line(&format!("{who}{}", error_chain(&e)));
                exit = exit.worst(e.exit());
            }
        }
    }
    if opts.apply {
        alerts
            .certificate_warnings(first_run, &app.gateway.certificate_warnings())
            .await;
    }
    Ok(exit)
}

/// One merchant's finished run, as [`print_run`] shows it.
struct Ran<'a> {
    ctx: &'a Context,
    result: &'a RunResult,
    pending: Option<usize>,
    /// `"merchant NAME: "` before each line with `[[merchant]]` tables, else empty.
    who: &'a str,
    merchant: Option<&'a str>,
    /// Several merchants ran: each one's plan or report file is named after it.
    several: bool,
}

/// `path` for one merchant's file: as given when one merchant runs, else with the
/// merchant's name before the extension (`report.html` → `report.acme.html`; merchant
/// names are letters, digits, `-` and `_`).
pub fn merchant_file(path: &Path, merchant: &str, several: bool) -> PathBuf {
    if !several || merchant.is_empty() {
        return path.to_path_buf();
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!("{stem}.{merchant}.{}", ext.to_string_lossy()),
        None => format!("{stem}.{merchant}"),
    };
    path.with_file_name(name)
}

/// Print the plan, the summary, save the plan or the report when asked; the run's exit
/// (74 when a file could not be written).
fn print_run(out: &mut dyn Write, show: &Show, apply: bool, ran: &Ran<'_>) -> Exit {
    let (who, result) = (ran.who, ran.result);
    if let Some((format, all)) = show.plan {
        if let Err(e) = report::write_plan_for(&result.plan, format, all, ran.merchant, out) {
            crate::output::error_line(&format!("{who}cannot write the plan: {e}"));
        }
    }
    if apply {
        let _ = write!(out, "{who}");
        let _ = report::write_summary(&result.summary, result.status, result.run.0, out);
        let p = result.photos;
        if p.read > 0 || p.uploaded + p.failed > 0 {
            let _ = writeln!(
                out,
                "{who}Photos: {} file(s)/URL(s) read, {} already on Alipay, {} uploaded now{}.",
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
        if let Some(pending) = ran.pending {
            let _ = writeln!(
                out,
                "{who}{pending} applications still under Alipay's audit; `shopsync audit pending` lists them, `shopsync audit show {}` shows this run.",
                result.run.0
            );
        }
    }
    let mut exit = result.exit;
    let merchant = ran.ctx.merchant();
    if let Some(path) = &show.save_plan {
        let path = merchant_file(path, merchant, ran.several);
        exit = super::plan_file::save_after_plan(ran.ctx, result, &path, exit);
    }
    if let Some(path) = &show.report {
        let path = merchant_file(path, merchant, ran.several);
        exit = super::report::write_after_sync(ran.ctx, result, exit, &path);
    }
    if let Some(msg) = &result.message {
        if result.exit == Exit::Guard {
            crate::output::note_line(&format!("{who}stopped: {msg}"));
        } else {
            crate::output::error_line(&format!("{who}{msg}"));
        }
    }
    exit
}
