//! The safety guards: a plan larger than the configured limits, or an export far smaller
//! than the last completed sync's, stops the run before any write (exit 4) unless forced.

use crate::audit::RunRow;
use crate::config::SyncSection;
use crate::sync::plan::PlanCounts;

/// Why a guard stopped the run; the text tells the operator what to check.
pub fn check(
    settings: &SyncSection,
    counts: &PlanCounts,
    rows: u64,
    last_completed: Option<&RunRow>,
) -> Option<String> {
    if counts.create > settings.max_creates {
        return Some(format!(
            "the plan creates {} shops, more than [sync] max_creates = {}; check the export, or run with --force",
            counts.create, settings.max_creates
        ));
    }
    if counts.modify > settings.max_modifies {
        return Some(format!(
            "the plan modifies {} shops, more than [sync] max_modifies = {}; check the export, or run with --force",
            counts.modify, settings.max_modifies
        ));
    }
    let last = last_completed?;
    let floor = (last.store_count as f64 * settings.min_export_ratio).floor() as u64;
    if last.store_count > 0 && rows < floor {
        return Some(format!(
            "the export has {rows} rows, far fewer than the {} of the last completed sync (run {}); \
             a truncated export? Check it, or run with --force",
            last.store_count, last.id.0
        ));
    }
    None
}
