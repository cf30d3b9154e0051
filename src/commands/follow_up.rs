//! `shopsync follow-up`: ask Alipay once about every pending application, for every
//! merchant (or the one `--merchant` names).

use std::path::Path;
use std::sync::Arc;

use crate::audit::AuditDb;
use crate::cli::FollowUpArgs;
use crate::clock::SharedClock;
use crate::exit::Exit;
use crate::sync::alerts::Alerts;
use crate::sync::context::{create_db_dir, lock_merchant, App};
use crate::sync::run::error_chain;
use crate::sync::{followup, RunError};

pub async fn run(config: &Path, args: FollowUpArgs) -> Result<Exit, RunError> {
    let cfg = super::load_config(config)?;
    let names = super::one_run::select_merchants(&cfg, args.merchant.merchant.as_deref())?;
    let multi = cfg.is_multi_merchant();
    let clock: SharedClock = crate::clock::command_clock();
    let alerts = Alerts::new(&cfg, clock.clone())?;
    create_db_dir(&cfg.audit.database)?;
    let db = Arc::new(AuditDb::open(&cfg.audit.database)?);
    let app = App::connect(cfg, db, clock, None).await?;
    let results = futures::future::join_all(names.iter().map(|name| {
        let app = &app;
        let alerts = &alerts;
        async move {
            let _lock = lock_merchant(&app.cfg, name, args.lock.lock_timeout).await?;
            let ctx = app.context(name)?;
            let r = followup::refresh_pending(
                &ctx.gateway,
                &ctx.db,
                &ctx.clock,
                ctx.cfg.sync.max_attempts,
            )
            .await;
            // The merchant's rejections found now: alerted, naming it.
            alerts.rejections(&ctx.db, None).await;
            r
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
    for (name, result) in names.iter().zip(results) {
        let who = if multi {
            format!("merchant {name}: ")
        } else {
            String::new()
        };
        match result {
            Ok(r) => crate::say!(
                "{who}{} approved, {} rejected, {} still under audit.",
                r.succeeded,
                r.failed,
                r.still_pending
            ),
            Err(e) => {
                crate::output::error_line(&format!("{who}{}", error_chain(&e)));
                exit = exit.worst(e.exit());
            }
        }
    }
    Ok(exit)
}
