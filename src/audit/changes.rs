//! Field changes: the old and the new value of every field a modify sent (migration 5,
//! `action_changes`), written with the write's intent, read by the HTML run report.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::actions::{insert_intent, ActionId, NewAction};
use super::runs::RunId;
use super::sql::fields_to_json;
use super::{is_secret_name, scrub_fields, AuditDb, AuditError};

/// One field's change as a write sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChange<'a> {
    pub field: &'a str,
    /// `None`: the field had no value.
    pub old: Option<&'a str>,
    /// `None`: the write clears the field.
    pub new: Option<&'a str>,
}

/// A recorded change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChangeRow {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

impl AuditDb {
    /// [`AuditDb::record_intent`] and the write's field changes, in one transaction.
    pub fn record_intent_with_changes(
        &self,
        a: &NewAction<'_>,
        changes: &[NewChange<'_>],
        at: DateTime<Utc>,
    ) -> Result<ActionId, AuditError> {
        let fields = fields_to_json(&scrub_fields(a.fields), "actions.fields_json")?;
        self.write(|tx| {
            let id = insert_intent(tx, a, &fields, at, self.merchant())?;
            if !changes.is_empty() {
                let mut stmt = tx.prepare(
                    "INSERT INTO action_changes (merchant, action_id, field, old, new)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for c in changes.iter().filter(|c| !is_secret_name(c.field)) {
                    stmt.execute(params![self.merchant(), id.0, c.field, c.old, c.new])?;
                }
            }
            Ok(id)
        })
    }

    /// The recorded changes of a run's writes, per action, in field order of recording.
    pub fn changes_for_run(
        &self,
        run: RunId,
    ) -> Result<HashMap<ActionId, Vec<ChangeRow>>, AuditError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT c.action_id, c.field, c.old, c.new FROM action_changes c
               JOIN actions a ON a.id = c.action_id
              WHERE a.run_id = ?1
              ORDER BY c.action_id, c.rowid",
        )?;
        let mut out: HashMap<ActionId, Vec<ChangeRow>> = HashMap::new();
        let rows = stmt.query_map([run.0], |r| {
            Ok((
                ActionId(r.get(0)?),
                ChangeRow {
                    field: r.get(1)?,
                    old: r.get(2)?,
                    new: r.get(3)?,
                },
            ))
        })?;
        for row in rows {
            let (id, change) = row?;
            out.entry(id).or_default().push(change);
        }
        Ok(out)
    }
}
