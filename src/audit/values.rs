//! The values Alipay last accepted for each store. Summary pages do not return every
//! field, so those fields are compared against what was last accepted.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::sql::ts;
use super::{scrub_fields, AuditDb, AuditError};

impl AuditDb {
    /// store_id → field → value, for every store with accepted values.
    pub fn accepted_values(&self) -> Result<HashMap<String, BTreeMap<String, String>>, AuditError> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT store_id, field, value FROM accepted_values")?;
        let mut rows = stmt.query([])?;
        let mut out: HashMap<String, BTreeMap<String, String>> = HashMap::new();
        while let Some(r) = rows.next()? {
            out.entry(r.get(0)?)
                .or_default()
                .insert(r.get(1)?, r.get(2)?);
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
