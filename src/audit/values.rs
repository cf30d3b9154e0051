//! The values Alipay last accepted for each store. Summary pages do not return every
//! field, so those fields are compared against what was last accepted.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::sql::ts;
use super::{scrub_fields, AuditDb, AuditError};
use crate::ids::StoreId;
use crate::record::{Field, FieldValues};

impl AuditDb {
    /// store_id → values of the fields `keep` selects, for every store with accepted
    /// values. Rows whose field name is not a field shopsync knows (written by a newer
    /// version) are skipped. Read in key order so each store's values are built once,
    /// without an intermediate map.
    pub fn accepted_values(
        &self,
        keep: impl Fn(Field) -> bool,
    ) -> Result<HashMap<StoreId, FieldValues>, AuditError> {
        // Only the kept fields leave SQLite, and a row's store_id is compared in place:
        // 20k stores are ~100k rows, read while the sync waits.
        let names: Vec<&str> = Field::ALL
            .iter()
            .filter(|f| keep(**f))
            .map(|f| f.name())
            .collect();
        let marks = vec!["?"; names.len()].join(",");
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT store_id, field, value FROM accepted_values
             WHERE merchant = ? AND field IN ({marks}) ORDER BY store_id"
        ))?;
        let merchant = [self.merchant()];
        let mut rows = stmt.query(rusqlite::params_from_iter(
            merchant.iter().chain(names.iter()),
        ))?;
        let mut out: HashMap<StoreId, FieldValues> = HashMap::new();
        let mut current: Option<(String, Vec<(Field, String)>)> = None;
        while let Some(r) = rows.next()? {
            let store_id = r.get_ref(0)?;
            let same = matches!(
                (&current, store_id),
                (Some((id, _)), rusqlite::types::ValueRef::Text(t)) if id.as_bytes() == t
            );
            if !same {
                if let Some((id, values)) = current.take() {
                    out.insert(StoreId::new(id), FieldValues::from_pairs(values));
                }
                current = Some((r.get(0)?, Vec::new()));
            }
            let field = match r.get_ref(1)? {
                rusqlite::types::ValueRef::Text(t) => std::str::from_utf8(t).ok(),
                _ => None,
            };
            if let (Some(f), Some((_, values))) =
                (field.and_then(Field::from_name), current.as_mut())
            {
                values.push((f, r.get(2)?));
            }
        }
        if let Some((id, values)) = current {
            out.insert(StoreId::new(id), FieldValues::from_pairs(values));
        }
        Ok(out)
    }

    /// The accepted values of one store.
    pub fn accepted_values_for(
        &self,
        store_id: &StoreId,
    ) -> Result<BTreeMap<String, String>, AuditError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT field, value FROM accepted_values WHERE store_id = ?1 AND merchant = ?2",
        )?;
        let map = stmt
            .query_map(params![store_id, self.merchant()], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<Result<BTreeMap<_, _>, _>>()?;
        Ok(map)
    }

    /// Merges into a store's accepted values: each key present overwrites, a value of ""
    /// removes the key, keys absent stay as they were.
    pub fn set_accepted_values(
        &self,
        store_id: &StoreId,
        fields: &BTreeMap<String, String>,
        at: DateTime<Utc>,
    ) -> Result<(), AuditError> {
        let fields = scrub_fields(fields);
        self.write(|tx| {
            for (field, value) in &fields {
                if value.is_empty() {
                    tx.execute(
                        "DELETE FROM accepted_values
                         WHERE merchant = ?3 AND store_id = ?1 AND field = ?2",
                        params![store_id, field, self.merchant()],
                    )?;
                } else {
                    tx.execute(
                        "INSERT INTO accepted_values (store_id, field, value, updated_at, merchant)
                         VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT (merchant, store_id, field) DO UPDATE SET value = excluded.value,
                             updated_at = excluded.updated_at",
                        params![store_id, field, value, ts(at), self.merchant()],
                    )?;
                }
            }
            Ok(())
        })
    }
}
