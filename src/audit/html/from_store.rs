//! A [`RunReport`] from the audit store (`shopsync report RUN --html FILE`; `sync
//! --report FILE` adds what only the run's plan knows, `commands/report.rs`).
//!
//! The store has the run row, its writes (actions, with the old → new of each modify in
//! `action_changes`) and what became of their applications, the applications still under
//! audit, and the rejected rows. It does not keep the stores a plan blocked or the shops
//! only on Alipay: `sync --report` takes those from the plan it just made; `report RUN`
//! says where to find them. Photo uploads are not recorded yet (issue 13).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{
    CreatedRow, FailureRow, FieldChange, ModifiedRow, PendingRow, RejectedRow, RunHeader,
    RunReport, UnknownRow,
};
use crate::audit::{
    ActionRow, AppStatus, AuditDb, AuditError, ChangeRow, Outcome, RunId, RunKind, RunRow,
    RunStatus,
};
use crate::record::{Field, CLEAR};

/// What the audit store does not know about the report.
#[derive(Debug, Clone)]
pub struct ReportContext<'a> {
    pub app_id: &'a str,
    /// Dates the report and the ages of pending applications.
    pub now: DateTime<Utc>,
    /// The process's exit code when known (`sync --report`); otherwise derived from the
    /// run's status where it is unambiguous.
    pub exit_code: Option<i32>,
}

/// The note under the photos table until uploads are recorded (issue 13).
pub const PHOTOS_NOTE: &str =
    "Photo uploads are not recorded in the audit store yet; this table stays empty.";

/// `2026-12-02 02:30:00 +08:00`, in the configured zone (`[schedule] timezone`).
fn time(t: DateTime<Utc>) -> String {
    t.with_timezone(&crate::logging::zone())
        .format("%Y-%m-%d %H:%M:%S %:z")
        .to_string()
}

fn span(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let secs = (to - from).num_seconds().max(0).unsigned_abs();
    humantime::format_duration(std::time::Duration::from_secs(secs)).to_string()
}

/// The exit code a run's status implies (`None`: a failure, 1 or 78, or still running).
fn exit_of(run: &RunRow) -> Option<i32> {
    let writes = run
        .summary
        .as_ref()
        .is_some_and(|s| s.created + s.modified > 0);
    Some(match run.status? {
        RunStatus::Ok if run.kind == RunKind::Plan && writes => 2,
        RunStatus::Ok => 0,
        RunStatus::Partial => 3,
        RunStatus::Guarded => 4,
        RunStatus::Interrupted => 1,
        RunStatus::Failed => return None,
    })
}

/// `main_shop_name(branch_shop_name)` of a create's fields.
fn shop_name(fields: &std::collections::BTreeMap<String, String>) -> String {
    let main = fields
        .get("main_shop_name")
        .map(String::as_str)
        .unwrap_or("");
    match fields.get("branch_shop_name") {
        Some(b) if !b.is_empty() => format!("{main}({b})"),
        _ => main.to_string(),
    }
}

fn triggers_audit(field: &str) -> bool {
    Field::from_name(field).is_some_and(Field::triggers_review)
}

/// A modify's changes: the recorded old → new, or (a write recorded before migration 5)
/// the values sent, old unknown.
fn field_changes(action: &ActionRow, recorded: Option<&Vec<ChangeRow>>) -> Vec<FieldChange> {
    match recorded {
        Some(rows) => rows
            .iter()
            .map(|c| FieldChange {
                field: c.field.clone(),
                old: c.old.clone(),
                new: c.new.clone(),
                triggers_audit: triggers_audit(&c.field),
            })
            .collect(),
        None => action
            .fields
            .iter()
            .map(|(f, v)| FieldChange {
                field: f.clone(),
                old: None,
                new: (v != CLEAR).then(|| v.clone()),
                triggers_audit: triggers_audit(f),
            })
            .collect(),
    }
}

/// The report of run `id`, from the audit store (through a handle on any scope: the
/// report is of the run's merchant, named in the header when it is not the implicit one,
/// and lists that merchant's pending applications only).
pub fn from_store(
    db: &AuditDb,
    id: RunId,
    ctx: &ReportContext<'_>,
) -> Result<RunReport, AuditError> {
    let run = db.run(id)?.ok_or_else(|| AuditError::NotFound {
        what: "run",
        key: id.to_string(),
    })?;
    let db = &db.for_merchant(&run.merchant);
    let mut report = RunReport {
        header: RunHeader {
            run_id: run.id.0,
            kind: run.kind,
            merchant: Some(run.merchant.clone()).filter(|m| !m.is_empty()),
            app_id: ctx.app_id.to_string(),
            source: Some(run.source.clone()),
            started: time(run.started_at),
            finished: run.finished_at.map(time),
            duration: run.finished_at.map(|f| span(run.started_at, f)),
            status: run.status,
            exit_code: ctx.exit_code.or_else(|| exit_of(&run)),
            message: run.error.clone(),
            generated: Some(time(ctx.now)),
        },
        counts: run.summary.clone().unwrap_or_default(),
        ..RunReport::default()
    };
    let changes = db.changes_for_run(id)?;
    let mut audit_status: HashMap<String, Option<String>> = HashMap::new();
    for a in db.actions_for_run(id)? {
        let store_id = a.store_id.to_string();
        let action = a.kind.as_str().to_string();
        match &a.outcome {
            Some(Outcome::Accepted {
                apply_id,
                audit_status: status,
            }) => {
                audit_status.insert(apply_id.to_string(), status.clone());
                let app = db.application(apply_id)?;
                if let Some(app) = app.as_ref().filter(|p| p.status == AppStatus::Failed) {
                    report.failures.push(FailureRow {
                        store_id,
                        action,
                        code: "audit rejected".into(),
                        sub_code: app.result_code.clone().unwrap_or_default(),
                        sub_msg: app.result_desc.clone().unwrap_or_default(),
                    });
                    continue;
                }
                let shown_id = apply_id.is_identified().then(|| apply_id.to_string());
                match a.kind {
                    crate::record::WriteKind::Create => report.created.push(CreatedRow {
                        store_id,
                        shop_name: shop_name(&a.fields),
                        apply_id: shown_id,
                    }),
                    crate::record::WriteKind::Modify => report.modified.push(ModifiedRow {
                        store_id,
                        shop_id: a
                            .shop_id
                            .clone()
                            .or_else(|| app.and_then(|p| p.shop_id))
                            .map(|s| s.to_string())
                            .unwrap_or_default(),
                        apply_id: shown_id,
                        changes: field_changes(&a, changes.get(&a.id)),
                    }),
                }
            }
            Some(Outcome::Business {
                code,
                sub_code,
                msg,
            }) => report.failures.push(FailureRow {
                store_id,
                action,
                code: code.clone(),
                sub_code: sub_code.clone(),
                sub_msg: msg.clone(),
            }),
            Some(Outcome::NotApplied { reason }) => report.failures.push(FailureRow {
                store_id,
                action,
                code: "not applied".into(),
                sub_code: String::new(),
                sub_msg: a.resolution_note.clone().unwrap_or_else(|| reason.clone()),
            }),
            Some(Outcome::Unknown { reason }) => report.unknown.push(UnknownRow {
                store_id,
                action,
                request_id: a.request_id.to_string(),
                reason: reason.clone(),
            }),
            None => report.unknown.push(UnknownRow {
                store_id,
                action,
                request_id: a.request_id.to_string(),
                reason: "no answer recorded: the process ended while the request was out".into(),
            }),
        }
    }
    // Applications under audit now that were already sent when the run ended.
    let until = run.finished_at.unwrap_or(ctx.now);
    for app in db.pending_applications()? {
        if app.submitted_at > until {
            continue;
        }
        report.pending.push(PendingRow {
            store_id: app.store_id.to_string(),
            shop_id: app.shop_id.as_ref().map(|s| s.to_string()),
            apply_id: app.apply_id.to_string(),
            action: app.kind.as_str().to_string(),
            status: audit_status.get(app.apply_id.as_str()).cloned().flatten(),
            submitted: time(app.submitted_at),
            age_seconds: (ctx.now - app.submitted_at)
                .num_seconds()
                .max(0)
                .unsigned_abs(),
        });
    }
    report.rejected = db
        .rejects(Some(id))?
        .into_iter()
        .map(|r| RejectedRow {
            file: r.file,
            line: r.line,
            store_id: r.store_id,
            field: r.field,
            reason: r.reason,
            raw_value: r.value,
        })
        .collect();
    let c = &report.counts;
    for (section, n) in [("blocked", c.blocked), ("remote-only", c.remote_only)] {
        if n > 0 {
            report.notes.insert(
                section.into(),
                format!("The audit store does not keep these ({n} in this run); `shopsync plan` lists them as they are now, and `sync --report FILE` writes them with the run."),
            );
        }
    }
    report.notes.insert("photos".into(), PHOTOS_NOTE.into());
    Ok(report)
}
