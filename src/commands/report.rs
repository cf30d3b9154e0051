//! `shopsync report RUN --html FILE` (from the audit store) and `sync --report FILE` (the
//! run just made, with the blocked stores and remote-only shops of its plan): the HTML run
//! report of `audit::html`.

use std::path::Path;

use chrono::Utc;

use crate::audit::html::{self, BlockedRow, RemoteOnlyRow, ReportContext, RunReport};
use crate::audit::{AuditDb, RunId};
use crate::cli::ReportArgs;
use crate::config::Config;
use crate::exit::Exit;
use crate::sync::plan::{Action, Plan};
use crate::sync::{Context, RunError, RunResult};

pub fn run(config: &Path, args: ReportArgs) -> Result<Exit, RunError> {
    let cfg = Config::load_unchecked(config)?;
    let db = AuditDb::open_read_only(&cfg.audit.database)?;
    let report = html::from_store(
        &db,
        RunId(args.run),
        &ReportContext {
            app_id: &cfg.alipay.app_id,
            now: Utc::now(),
            exit_code: None,
        },
    )?;
    write_page(&args.html, &report)?;
    crate::output::note_line(&format!(
        "Report of run {} written to {}.",
        args.run,
        args.html.display()
    ));
    Ok(Exit::Ok)
}

/// The blocked stores and the shops only on Alipay of `plan`: what the audit store does
/// not keep.
fn add_plan(report: &mut RunReport, plan: &Plan) {
    report.blocked.clear();
    report.remote_only.clear();
    for item in &plan.items {
        match &item.action {
            Action::Blocked {
                shop_id, reason, ..
            } => report.blocked.push(BlockedRow {
                store_id: item
                    .store_id
                    .as_ref()
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
                shop_id: shop_id.as_ref().map(|s| s.to_string()),
                reason: reason.clone(),
            }),
            Action::RemoteOnly { shop_id, name } => report.remote_only.push(RemoteOnlyRow {
                shop_id: shop_id.to_string(),
                name: name.clone(),
            }),
            _ => {}
        }
    }
    report.notes.remove("blocked");
    report.notes.remove("remote-only");
}

/// `sync --report FILE`: the page of the run `result` just finished. The exit to report:
/// `exit`, or 74 when the page could not be written.
pub fn write_after_sync(ctx: &Context, result: &RunResult, exit: Exit, path: &Path) -> Exit {
    let built = html::from_store(
        &ctx.db,
        result.run,
        &ReportContext {
            app_id: &ctx.cfg.alipay.app_id,
            now: ctx.clock.now(),
            exit_code: Some(i32::from(exit.code())),
        },
    );
    let written = built.map_err(RunError::from).and_then(|mut report| {
        add_plan(&mut report, &result.plan);
        write_page(path, &report)
    });
    match written {
        Ok(()) => {
            crate::output::note_line(&format!("Report written to {}.", path.display()));
            exit
        }
        Err(e) => {
            crate::output::error_line(&crate::sync::run::error_chain(&e));
            exit.worst(Exit::Output)
        }
    }
}

/// Write the page through a temporary file renamed into place.
fn write_page(path: &Path, report: &RunReport) -> Result<(), RunError> {
    let page = html::render(report);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report.html".into());
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let result = std::fs::write(&tmp, page).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|source| RunError::Write {
        path: path.to_path_buf(),
        source,
    })
}
