//! The saved-plan ends of `plan --out FILE` and `sync --plan FILE` (docs/saved-plans.md):
//! load and check a plan before a sync, save one after a plan.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use crate::config::Config;
use crate::exit::Exit;
use crate::sync::saved_plan::{self, PlanTarget, SavedPlan, SavedPlanError};
use crate::sync::{Context, RunError, RunResult};

/// The saved plan at `path`, checked against its digest, the configured app, merchant
/// and gateway, and `max_age`; and the merchant it is for. A plan is one merchant's: with
/// `--merchant` (`only`) it must be that merchant's, without it one of `names` (the
/// config's merchants), or it is refused (exit 1).
pub fn load_for_sync(
    cfg: &Config,
    path: &Path,
    max_age: Duration,
    only: Option<&str>,
    names: &[String],
) -> Result<(String, Arc<SavedPlan>), RunError> {
    let saved = SavedPlan::load(path)?;
    let planned = &saved.header.merchant;
    let merchant = match only {
        Some(name) => name.to_string(),
        None if names.contains(planned) => planned.clone(),
        None => {
            return Err(SavedPlanError::OtherTarget {
                path: path.to_path_buf(),
                what: "merchant",
                planned: planned.clone(),
                configured: names.join(", "),
            }
            .into())
        }
    };
    // `merchant` is one of the config's (select_merchants checked --merchant).
    let merchant_cfg = cfg
        .for_merchant(&merchant)
        .ok_or_else(|| RunError::UnknownMerchant {
            name: merchant.clone(),
            known: names.join(", "),
        })?;
    saved.check(&PlanTarget::of(&merchant_cfg), Utc::now(), max_age)?;
    let h = &saved.header;
    if h.shopsync_version != env!("CARGO_PKG_VERSION") {
        crate::output::warn_line(&format!(
            "the saved plan was made by shopsync {}, this is {}",
            h.shopsync_version,
            env!("CARGO_PKG_VERSION")
        ));
    }
    let counts = saved.plan.counts();
    crate::output::note_line(&format!(
        "Applying the saved plan {}{} (plan run {}, made {}, digest sha256:{}): its {} creates and {} modifies, for the stores that did not change since.",
        path.display(),
        if merchant.is_empty() {
            String::new()
        } else {
            format!(" of merchant {merchant}")
        },
        h.plan_run,
        h.made_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        &saved.digest[..16],
        counts.create,
        counts.modify
    ));
    tracing::info!(plan = %path.display(), merchant = %merchant, digest = %saved.digest, plan_run = h.plan_run, "Saved plan loaded.");
    Ok((merchant, Arc::new(saved)))
}

/// Save the plan `result` computed to `path`; the exit to report (74, the output failed,
/// when the file could not be written or the run did not compute a plan).
pub fn save_after_plan(ctx: &Context, result: &RunResult, path: &Path, exit: Exit) -> Exit {
    let Some(fingerprints) = &result.fingerprints else {
        crate::output::error_line(&format!(
            "the plan was not saved to {}: the run did not compute it",
            path.display()
        ));
        return exit.worst(Exit::Output);
    };
    let made_at = match ctx.db.run(result.run) {
        Ok(Some(row)) => row.started_at,
        _ => ctx.clock.now(),
    };
    let header = saved_plan::header(
        &PlanTarget::of(&ctx.cfg),
        &crate::source::describe(ctx.cfg.source()),
        result.run.0,
        made_at,
    );
    match saved_plan::format::write(path, &header, &result.plan, fingerprints) {
        Ok(digest) => {
            crate::output::note_line(&format!(
                "Plan saved to {} (digest sha256:{}); `shopsync sync --plan {}` applies exactly it within {}.",
                path.display(),
                &digest[..16],
                path.display(),
                humantime::format_duration(saved_plan::DEFAULT_MAX_AGE)
            ));
            exit
        }
        Err(e) => {
            crate::output::error_line(&crate::sync::run::error_chain(&e));
            exit.worst(Exit::Output)
        }
    }
}
