//! `shopsync follow-up`: ask Alipay once about every pending application.

use std::path::Path;
use std::sync::Arc;

use crate::cli::FollowUpArgs;
use crate::clock::{SharedClock, SystemClock};
use crate::exit::Exit;
use crate::sync::alerts::Alerts;
use crate::sync::context::open_locked;
use crate::sync::{followup, Context, RunError};

pub async fn run(config: &Path, args: FollowUpArgs) -> Result<Exit, RunError> {
    let cfg = super::load_config(config)?;
    let clock: SharedClock = Arc::new(SystemClock);
    let attempts = cfg.sync.max_attempts;
    let alerts = Alerts::new(&cfg, clock.clone())?;
    let (_lock, db) = open_locked(&cfg, args.lock.lock_timeout).await?;
    let (ctx, sim) = Context::connect(cfg, db, clock, None).await?;
    let result = followup::refresh_pending(&ctx.gateway, &ctx.db, &ctx.clock, attempts).await;
    if let Some(sim) = sim {
        if let Err(e) = sim.save_configured_snapshot() {
            crate::output::warn_line(&format!("cannot save the simulator's state: {e}"));
        }
        sim.shutdown().await;
    }
    let r = result?;
    crate::say!(
        "{} approved, {} rejected, {} still under audit.",
        r.succeeded,
        r.failed,
        r.still_pending
    );
    alerts.rejections(&ctx.db, None).await;
    Ok(Exit::Ok)
}
