//! `shopsync daemon`: run unattended (see `daemon::service`).

use std::path::Path;

use chrono::Utc;

use crate::cli::DaemonArgs;
use crate::daemon::schedule::Schedule;
use crate::exit::Exit;
use crate::sync::RunError;

pub async fn run(config: &Path, args: DaemonArgs) -> Result<Exit, RunError> {
    let cfg = super::load_config(config)?;
    let schedule = match Schedule::parse(&cfg.schedule.cron, &cfg.schedule.timezone) {
        Ok(s) => s,
        Err(e) => {
            crate::tell!("error: [schedule] {e}");
            return Ok(Exit::Config);
        }
    };
    if args.print_schedule {
        crate::say!("{}", schedule.describe_upcoming(Utc::now(), 5));
        return Ok(Exit::Ok);
    }
    crate::daemon::service::serve(cfg, args.merchant.merchant.clone()).await?;
    Ok(Exit::Ok)
}
