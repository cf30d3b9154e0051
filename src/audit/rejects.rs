//! Rejected export rows: every bad row of every run, with file, line, store, field,
//! reason and the raw value (cut to [`MAX_VALUE_CHARS`]), so an operator can find out in
//! the morning which rows a night's run refused and why.

use rusqlite::{params, Row};
use serde::Serialize;

use super::runs::RunId;
use super::{AuditDb, AuditError};
use crate::secret::redact;

/// Longest raw value kept (characters); longer values are cut and end with `…`.
pub const MAX_VALUE_CHARS: usize = 200;

/// A rejected row about to be recorded.
#[derive(Debug, Clone)]
pub struct NewReject<'a> {
    pub file: &'a str,
    pub line: u64,
    /// Raw text: a rejected row's store id may itself be what is wrong.
    pub store_id: Option<&'a str>,
    pub field: Option<&'a str>,
    pub reason: &'a str,
    pub value: Option<&'a str>,
}

/// A rejected row as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectRow {
    pub run: RunId,
    /// The merchant (`""`: the implicit one).
    pub merchant: String,
    pub file: String,
    pub line: u64,
    pub store_id: Option<String>,
    pub field: Option<String>,
    pub reason: String,
    pub value: Option<String>,
}

fn cut(value: &str) -> String {
    let value = redact(value);
    if value.chars().count() <= MAX_VALUE_CHARS {
        value.into_owned()
    } else {
        let mut s: String = value.chars().take(MAX_VALUE_CHARS).collect();
        s.push('…');
        s
    }
}

fn reject_from_row(r: &Row<'_>) -> rusqlite::Result<RejectRow> {
    Ok(RejectRow {
        run: RunId(r.get(0)?),
        merchant: r.get(7)?,
        file: r.get(1)?,
        line: r.get::<_, i64>(2)?.max(0) as u64,
        store_id: r.get(3)?,
        field: r.get(4)?,
        reason: r.get(5)?,
        value: r.get(6)?,
    })
}

const COLUMNS: &str = "run_id, file, line, store_id, field, reason, value, merchant";

impl AuditDb {
    /// Record a run's rejected rows, in one transaction.
    pub fn record_rejects(&self, run: RunId, rejects: &[NewReject<'_>]) -> Result<(), AuditError> {
        if rejects.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            let mut stmt = tx.prepare(&format!(
                "INSERT INTO rejects ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ))?;
            for r in rejects {
                stmt.execute(params![
                    run.0,
                    r.file,
                    r.line as i64,
                    r.store_id,
                    r.field,
                    redact(r.reason),
                    r.value.map(cut),
                    self.merchant(),
                ])?;
            }
            Ok(())
        })
    }

    /// The rejected rows of one run (or of every run), by run and line.
    pub fn rejects(&self, run: Option<RunId>) -> Result<Vec<RejectRow>, AuditError> {
        let conn = self.lock();
        let rows = match run {
            Some(run) => {
                let mut stmt = conn.prepare(&format!(
                    "SELECT {COLUMNS} FROM rejects WHERE run_id = ?1
                     AND (?2 IS NULL OR merchant = ?2) ORDER BY line, id"
                ))?;
                let rows = stmt
                    .query_map(params![run.0, self.only()], reject_from_row)?
                    .collect::<Result<Vec<_>, _>>()?;
                rows
            }
            None => {
                let mut stmt = conn.prepare(&format!(
                    "SELECT {COLUMNS} FROM rejects WHERE (?1 IS NULL OR merchant = ?1)
                     ORDER BY run_id, line, id"
                ))?;
                let rows = stmt
                    .query_map([self.only()], reject_from_row)?
                    .collect::<Result<Vec<_>, _>>()?;
                rows
            }
        };
        Ok(rows)
    }

    /// The rejected rows that named this store id, oldest run first.
    pub fn rejects_for_store(&self, store_id: &str) -> Result<Vec<RejectRow>, AuditError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM rejects WHERE store_id = ?1
             AND (?2 IS NULL OR merchant = ?2) ORDER BY run_id, line, id"
        ))?;
        let rows = stmt
            .query_map(params![store_id, self.only()], reject_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}
