//! The values Alipay last accepted for each store. Summary pages do not return every
//! field, so those fields are compared against what was last accepted.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::sql::ts;
use super::{scrub_fields, AuditDb, AuditError};
use crate::store::{Field, FieldValues};

impl AuditDb {
    /// store_id → values of the fields `keep` selects, for every store with accepted
    /// values. Rows whose field name is not a field shopsync knows (written by a newer
    /// version) are skipped. Read in key order so each store's values are built once,
    /// without an intermediate map.
    pub fn accepted_values(
        &self,
        keep: impl Fn(Field) -> bool,
    ) -> Result<HashMap<String, FieldValues>, AuditError> {
        let conn = self.lock();
        let mut stmt =
            conn.prepare("SELECT store_id, field, value FROM accepted_values ORDER BY store_id")?;
        let mut rows = stmt.query([])?;
        let mut out: HashMap<String, FieldValues> = HashMap::new();
        let mut current: Option<(String, Vec<(Field, String)>)> = None;
        while let Some(r) = rows.next()? {
            let store_id: String = r.get(0)?;
            let field: String = r.get(1)?;
            if current.as_ref().is_none_or(|(id, _)| *id != store_id) {
                if let Some((id, values)) = current.take() {
                    out.insert(id, FieldValues::from_pairs(values));
                }
                current = Some((store_id, Vec::new()));
            }
            let known = Field::from_name(&field).filter(|f| keep(*f));
            if let (Some(f), Some((_, values))) = (known, current.as_mut()) {
                values.push((f, r.get(2)?));
            }
        }
        if let Some((id, values)) = current {
            out.insert(id, FieldValues::from_pairs(values));
        }
        Ok(out)
    }

    /// The accepted values of one store.
    pub fn accepted_values_for(
        &self,
        store_id: &str,
    ) -> Result<BTreeMap<String, String>, AuditError> {
        let conn = self.lock();
        let mut stmt =
            conn.prepare("SELECT field, value FROM accepted_values WHERE store_id = ?1")?;
        let map = stmt
            .query_map([store_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<BTreeMap<_, _>, _>>()?;
        Ok(map)
    }

    /// Merges into a store's accepted values: each key present overwrites, a value of ""
    /// removes the key, keys absent stay as they were.
    pub fn set_accepted_values(
        &self,
        store_id: &str,
        fields: &BTreeMap<String, String>,
        at: DateTime<Utc>,
    ) -> Result<(), AuditError> {
        let fields = scrub_fields(fields);
        self.write(|tx| {
            for (field, value) in &fields {
                if value.is_empty() {
                    tx.execute(
                        "DELETE FROM accepted_values WHERE store_id = ?1 AND field = ?2",
                        [store_id, field],
                    )?;
                } else {
                    tx.execute(
                        "INSERT INTO accepted_values (store_id, field, value, updated_at)
                         VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (store_id, field) DO UPDATE SET value = excluded.value,
                             updated_at = excluded.updated_at",
                        params![store_id, field, value, ts(at)],
                    )?;
                }
            }
            Ok(())
        })
    }
}
