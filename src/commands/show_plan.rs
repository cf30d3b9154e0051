//! `shopsync show-plan FILE`: a saved plan read back (its digest checked) as a table,
//! JSON or CSV, exactly as `shopsync plan` shows one (a merchant's as `plan` shows it with
//! `[[merchant]]` tables). Needs no configuration.

use std::io::Write;

use chrono::Utc;

use crate::cli::{PlanFormat, ShowPlanArgs};
use crate::exit::Exit;
use crate::sync::saved_plan::SavedPlan;
use crate::sync::{report, RunError};

pub fn run(args: ShowPlanArgs) -> Result<Exit, RunError> {
    let saved = SavedPlan::load(&args.file)?;
    let mut out = crate::output::stdout();
    if args.format == PlanFormat::Table {
        let h = &saved.header;
        let age = (Utc::now() - h.made_at).num_seconds().max(0).unsigned_abs();
        let merchant = if h.merchant.is_empty() {
            "-"
        } else {
            &h.merchant
        };
        let _ = writeln!(
            out,
            "Saved plan {}: made {} ({} ago) by shopsync {} in plan run {}; app {}, merchant {}, gateway {}; source {}; digest sha256:{}.",
            args.file.display(),
            h.made_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            humantime::format_duration(std::time::Duration::from_secs(age)),
            h.shopsync_version,
            h.plan_run,
            h.app_id,
            merchant,
            h.gateway,
            h.source,
            saved.digest
        );
    }
    // A merchant's plan (`[[merchant]]`) as `plan` shows it in ISV mode: the table under
    // `Merchant NAME:`, JSON with a `merchant` key, CSV with a `merchant` column. Output
    // errors are remembered by `output` and become exit 74.
    let merchant = Some(saved.header.merchant.as_str()).filter(|m| !m.is_empty());
    let _ = report::write_plan_for(&saved.plan, args.format, args.all, merchant, &mut out);
    Ok(Exit::Ok)
}
