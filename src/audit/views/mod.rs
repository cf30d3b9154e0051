//! `shopsync audit`: queries over the audit store, rendered as tables or JSON. One file
//! per view: [`runs`] (`audit runs`, `audit show`), [`store`] (`audit store`), [`pending`].

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::actions::{ActionRow, Outcome};
use super::applications::Application;
use super::rejects::RejectRow;
use super::runs::{RunId, RunRow, RunSummary};
use super::uploads::{UploadOutcome, UploadRow};
use super::{AuditDb, AuditError};
use pending::pending_table;
use rejects::rejects_table;
use runs::{runs_table, show_table};
use store::store_text;

pub use crate::cli::{AuditCommand, OutputFormat};

mod pending;
mod rejects;
mod runs;

/// `audit show RUN`: the run, its writes (with what became of their applications) and its
/// rejected rows.
#[derive(Serialize)]
pub(super) struct RunShown<'a> {
    pub run: &'a RunRow,
    pub actions: &'a [ActionRow],
    /// The applications the run's accepted writes opened, as they stand now.
    pub applications: &'a [Application],
    pub rejects: &'a [RejectRow],
    /// The photos the run uploaded (or failed to).
    pub uploads: &'a [UploadRow],
}
mod store;

/// Runs an `audit` subcommand, using the system clock for ages.
pub fn run_command(
    db: &AuditDb,
    cmd: &AuditCommand,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<(), AuditError> {
    run_command_at(db, cmd, format, out, Utc::now())
}

/// Runs an `audit` subcommand; `now` dates the ages of pending applications.
pub fn run_command_at(
    db: &AuditDb,
    cmd: &AuditCommand,
    format: OutputFormat,
    out: &mut dyn Write,
    now: DateTime<Utc>,
) -> Result<(), AuditError> {
    let result = match cmd {
        AuditCommand::Runs { limit } => {
            let runs = db.runs(*limit)?;
            match format {
                OutputFormat::Json => json(out, &runs),
                OutputFormat::Table => runs_table(out, &runs),
            }
        }
        AuditCommand::Show { run } => {
            let row = db.run(RunId(*run))?.ok_or_else(|| AuditError::NotFound {
                what: "run",
                key: run.to_string(),
            })?;
            let actions = db.actions_for_run(row.id)?;
            let mut applications = Vec::new();
            for a in &actions {
                if let Some(Outcome::Accepted { apply_id, .. }) = &a.outcome {
                    if let Some(app) = db.application(apply_id)? {
                        applications.push(app);
                    }
                }
            }
            let rejects = db.rejects(Some(row.id))?;
            let uploads = db.uploads_for_run(row.id)?;
            let shown = RunShown {
                run: &row,
                actions: &actions,
                applications: &applications,
                rejects: &rejects,
                uploads: &uploads,
            };
            match format {
                OutputFormat::Json => json(out, &shown),
                OutputFormat::Table => show_table(out, &shown),
            }
        }
        AuditCommand::Store { store_id } => {
            let history = db.store_history(&crate::ids::StoreId::new(store_id.as_str()))?;
            if history.is_empty() {
                return Err(AuditError::NotFound {
                    what: "store",
                    key: format!("{store_id} (nothing about it in the audit store)"),
                });
            }
            match format {
                OutputFormat::Json => json(out, &history),
                OutputFormat::Table => store_text(out, &history),
            }
        }
        AuditCommand::Pending => {
            let apps = db.pending_applications()?;
            match format {
                OutputFormat::Json => {
                    #[derive(Serialize)]
                    struct Pending<'a> {
                        #[serde(flatten)]
                        app: &'a Application,
                        age_seconds: i64,
                    }
                    let rows: Vec<Pending<'_>> = apps
                        .iter()
                        .map(|app| Pending {
                            app,
                            age_seconds: (now - app.submitted_at).num_seconds().max(0),
                        })
                        .collect();
                    json(out, &rows)
                }
                OutputFormat::Table => pending_table(out, &apps, now),
            }
        }
        AuditCommand::Rejects { run } => {
            let rows = db.rejects(run.map(RunId))?;
            match format {
                OutputFormat::Json => json(out, &rows),
                OutputFormat::Table => rejects_table(out, &rows),
            }
        }
    };
    result.map_err(AuditError::Output)
}

fn json<T: Serialize + ?Sized>(out: &mut dyn Write, value: &T) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(std::io::Error::other)?;
    writeln!(out)
}

/// `2026-11-26 06:11:25 +08:00`: the configured zone (`[schedule] timezone`) with its
/// offset. JSON output keeps RFC 3339 UTC.
fn time(t: DateTime<Utc>) -> String {
    t.with_timezone(&crate::logging::zone())
        .format("%Y-%m-%d %H:%M:%S %:z")
        .to_string()
}

/// A span rounded to seconds: `1h 2m 3s`.
fn span(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let secs = (to - from).num_seconds().max(0).unsigned_abs();
    humantime::format_duration(std::time::Duration::from_secs(secs)).to_string()
}

fn or_dash(v: Option<&str>) -> String {
    match v {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => "-".to_string(),
    }
}

fn fields_text(fields: &BTreeMap<String, String>) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One upload: `photos/front.jpg → <image id> (jpg, 3.2 KiB, sha256 0a1b2c3d…, run 4 at …)`
/// or why it failed.
fn upload_line(u: &UploadRow) -> String {
    let what = format!(
        "{}, {}, sha256 {}…, run {} at {}",
        u.image_type,
        size_text(u.bytes),
        &u.sha256[..u.sha256.len().min(12)],
        u.run.map_or("-".to_string(), |r| r.0.to_string()),
        time(u.at)
    );
    match &u.outcome {
        UploadOutcome::Uploaded { image_id, .. } => format!("{} → {image_id} ({what})", u.source),
        UploadOutcome::Failed {
            code,
            sub_code,
            msg,
        } => format!(
            "{}: upload failed: {} {} {msg} ({what})",
            u.source,
            or_dash(code.as_deref()),
            or_dash(sub_code.as_deref()),
        ),
    }
}

/// `812 B`, `3.2 KiB`, `4.8 MiB`.
pub fn size_text(bytes: u64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    }
}

fn summary_text(s: &RunSummary) -> String {
    format!(
        "stores {}, created {}, modified {}, unchanged {}, pending {}, blocked {}, remote-only {}, rejected {}, failed {}, unknown {}",
        s.stores, s.created, s.modified, s.unchanged, s.pending, s.blocked, s.remote_only,
        s.rejected, s.failed, s.unknown
    )
}
