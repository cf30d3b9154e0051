//! `shopsync plan`: what a sync would change; exit 0 when in sync, 2 when not. With
//! `--out FILE`, the plan is also saved for `shopsync sync --plan FILE`.

use std::path::Path;

use super::one_run::{self, Show};
use crate::cli::PlanArgs;
use crate::exit::Exit;
use crate::sync::{RunError, RunOptions};

pub async fn run(config: &Path, args: PlanArgs) -> Result<Exit, RunError> {
    let opts = RunOptions {
        apply: false,
        force: false,
        wait_audit: None,
        progress: true,
        fingerprints: args.out.is_some(),
        saved_plan: None,
    };
    let show = Show {
        plan: Some((args.format, args.all)),
        save_plan: args.out,
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
