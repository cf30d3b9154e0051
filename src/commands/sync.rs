//! `shopsync sync`: apply the difference (or, with `--plan FILE`, exactly a saved plan).

use std::path::Path;

use super::one_run::{self, Show};
use crate::cli::SyncArgs;
use crate::exit::Exit;
use crate::sync::{RunError, RunOptions};

pub async fn run(config: &Path, args: SyncArgs) -> Result<Exit, RunError> {
    let opts = RunOptions {
        apply: true,
        force: args.force,
        wait_audit: args.wait,
        progress: true,
        fingerprints: false,
        saved_plan: None,
    };
    let show = Show {
        plan: args.show_plan.map(|f| (f, false)),
        saved_plan: args.plan.map(|p| (p, args.max_age)),
        report: args.report,
        ..Show::default()
    };
    one_run::execute(
        config,
        opts,
        show,
        args.lock.lock_timeout,
        args.merchant.merchant.as_deref(),
    )
    .await
}
