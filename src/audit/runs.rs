//! Runs: one row per `plan` or `sync`, from start to finish.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use super::sql::{opt_ts, ser, text_enum, ts, Ts};
use super::{AuditDb, AuditError};

/// A run's id (`runs.id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub i64);

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    Plan,
    Sync,
}
text_enum!(RunKind { Plan => "plan", Sync => "sync" });

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Everything planned was done (or, for `plan`, computed).
    Ok,
    /// Finished, but some stores failed.
    Partial,
    /// The run failed.
    Failed,
    /// A safety guard stopped it before any write.
    Guarded,
    /// The process ended before the run finished (found by `mark_interrupted_runs`).
    Interrupted,
}
text_enum!(RunStatus {
    Ok => "ok",
    Partial => "partial",
    Failed => "failed",
    Guarded => "guarded",
    Interrupted => "interrupted",
});

/// Counts per plan outcome, stored with the finished run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    pub stores: u64,
    pub created: u64,
    pub modified: u64,
    pub unchanged: u64,
    pub pending: u64,
    pub blocked: u64,
    pub remote_only: u64,
    pub rejected: u64,
    pub failed: u64,
    pub unknown: u64,
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRow {
    pub id: RunId,
    /// The merchant (`""`: the implicit one of a config without `[[merchant]]`).
    pub merchant: String,
    pub kind: RunKind,
    pub source: String,
    pub store_count: u64,
    /// `None` while the run is going (or was killed and not yet marked interrupted).
    pub status: Option<RunStatus>,
    #[serde(serialize_with = "ser::time")]
    pub started_at: DateTime<Utc>,
    #[serde(serialize_with = "ser::opt_time")]
    pub finished_at: Option<DateTime<Utc>>,
    /// Present once finished.
    pub summary: Option<RunSummary>,
    pub error: Option<String>,
}

impl RunRow {
    /// `status` as a word, `running` while unfinished.
    pub fn status_word(&self) -> &'static str {
        self.status.map(RunStatus::as_str).unwrap_or("running")
    }
}

const RUN_COLUMNS: &str =
    "id, kind, source, store_count, status, started_at, finished_at, summary_json, error, merchant";

fn run_from_row(r: &Row<'_>) -> rusqlite::Result<(RunRow, Option<String>)> {
    let status: String = r.get(4)?;
    let status = match status.as_str() {
        "running" => None,
        _ => Some(r.get::<_, RunStatus>(4)?),
    };
    let store_count: i64 = r.get(3)?;
    Ok((
        RunRow {
            id: RunId(r.get(0)?),
            merchant: r.get(9)?,
            kind: r.get(1)?,
            source: r.get(2)?,
            store_count: u64::try_from(store_count).unwrap_or(0),
            status,
            started_at: r.get::<_, Ts>(5)?.0,
            finished_at: opt_ts(r.get(6)?),
            summary: None,
            error: r.get(8)?,
        },
        r.get(7)?,
    ))
}

fn with_summary((mut run, summary): (RunRow, Option<String>)) -> Result<RunRow, AuditError> {
    if let Some(text) = summary {
        run.summary = Some(
            serde_json::from_str(&text).map_err(|source| AuditError::Json {
                column: "runs.summary_json",
                source,
            })?,
        );
    }
    Ok(run)
}

fn i64_count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl AuditDb {
    /// Records the start of a run (status `running`).
    pub fn start_run(
        &self,
        kind: RunKind,
        source: &str,
        store_count: u64,
        at: DateTime<Utc>,
    ) -> Result<RunId, AuditError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO runs (kind, source, store_count, status, started_at, merchant)
                 VALUES (?1, ?2, ?3, 'running', ?4, ?5)",
                params![
                    kind,
                    source,
                    i64_count(store_count),
                    ts(at),
                    self.merchant()
                ],
            )?;
            Ok(RunId(tx.last_insert_rowid()))
        })
    }

    /// Records the number of rows the export had (known once it was read); the
    /// truncated-export guard compares against it.
    pub fn set_run_store_count(&self, run: RunId, store_count: u64) -> Result<(), AuditError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE runs SET store_count = ?2 WHERE id = ?1",
                params![run.0, i64_count(store_count)],
            )?;
            Ok(())
        })
    }

    /// Records how a running run ended. An error if the run does not exist or has already
    /// finished (or was marked interrupted).
    pub fn finish_run(
        &self,
        run: RunId,
        status: RunStatus,
        summary: &RunSummary,
        error: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), AuditError> {
        let summary = serde_json::to_string(summary).map_err(|source| AuditError::Json {
            column: "runs.summary_json",
            source,
        })?;
        // Free text from errors: never a secret in the store (docs/design.md invariant 6).
        let error = error.map(|e| crate::secret::redact(e).into_owned());
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE runs SET status = ?2, summary_json = ?3, error = ?4, finished_at = ?5
                 WHERE id = ?1 AND status = 'running'",
                params![run.0, status, summary, error, ts(at)],
            )?;
            if n == 1 {
                return Ok(());
            }
            let current: Option<String> = tx
                .query_row("SELECT status FROM runs WHERE id = ?1", [run.0], |r| {
                    r.get(0)
                })
                .optional()?;
            Err(match current {
                None => AuditError::NotFound {
                    what: "run",
                    key: run.to_string(),
                },
                Some(s) => AuditError::Conflict {
                    what: "run",
                    key: run.to_string(),
                    problem: format!("already finished with status {s}"),
                },
            })
        })
    }

    /// The newest `sync` run that finished `ok` or `partial`.
    pub fn last_completed_sync(&self) -> Result<Option<RunRow>, AuditError> {
        let conn = self.lock();
        let row = conn
            .query_row(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM runs
                     WHERE kind = 'sync' AND status IN ('ok', 'partial')
                       AND (?1 IS NULL OR merchant = ?1)
                     ORDER BY id DESC LIMIT 1"
                ),
                [self.only()],
                run_from_row,
            )
            .optional()?;
        row.map(with_summary).transpose()
    }

    /// Marks every run still `running` as `interrupted` (a killed process left it). Call it
    /// only while holding the single-instance lock. Returns how many were marked.
    pub fn mark_interrupted_runs(&self, at: DateTime<Utc>) -> Result<u64, AuditError> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE runs SET status = 'interrupted', finished_at = ?1,
                     error = coalesce(error, 'the process ended before the run finished')
                 WHERE status = 'running' AND (?2 IS NULL OR merchant = ?2)",
                params![ts(at), self.only()],
            )?;
            if n > 0 {
                tracing::warn!(
                    runs = n,
                    "Runs left unfinished by an earlier process were marked interrupted."
                );
            }
            Ok(n as u64)
        })
    }

    /// The newest `limit` runs, newest first.
    pub fn runs(&self, limit: usize) -> Result<Vec<RunRow>, AuditError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE (?2 IS NULL OR merchant = ?2)
             ORDER BY id DESC LIMIT ?1"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![limit, self.only()], run_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(with_summary).collect()
    }

    /// One run.
    pub fn run(&self, id: RunId) -> Result<Option<RunRow>, AuditError> {
        let conn = self.lock();
        let row = conn
            .query_row(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1 AND (?2 IS NULL OR merchant = ?2)"
                ),
                params![id.0, self.only()],
                run_from_row,
            )
            .optional()?;
        row.map(with_summary).transpose()
    }
}
