//! The store_id ↔ shop_id map (one shop per store, one store per shop) and the cache of
//! querydetail look-ups.
//!
//! Remapping is explicit: [`AuditDb::set_mapping`] refuses to move a store to another shop
//! or a shop to another store ([`AuditError::StoreMapped`] / [`AuditError::ShopMapped`]);
//! [`AuditDb::replace_mapping`] does it on purpose and keeps the old rows in
//! `shop_map_history`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Transaction};
use serde::Serialize;

use super::sql::{ser, ts, Ts};
use super::{AuditDb, AuditError};
use crate::ids::{ShopId, StoreId};

/// The ways a mapping is learned.
const HOWS: [&str; 3] = ["created", "adopted", "notified"];

/// A current mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mapping {
    pub store_id: StoreId,
    pub shop_id: ShopId,
    /// `created` (our create succeeded), `adopted` (an existing shop carries the store_id),
    /// `notified` (learned from an audit notification).
    pub how: String,
    #[serde(serialize_with = "ser::time")]
    pub mapped_at: DateTime<Utc>,
}

/// A mapping removed by [`AuditDb::replace_mapping`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreviousMapping {
    pub store_id: StoreId,
    pub shop_id: ShopId,
    pub how: String,
    #[serde(serialize_with = "ser::time")]
    pub mapped_at: DateTime<Utc>,
    #[serde(serialize_with = "ser::time")]
    pub replaced_at: DateTime<Utc>,
}

fn check_how(how: &str) -> Result<(), AuditError> {
    if HOWS.contains(&how) {
        Ok(())
    } else {
        Err(AuditError::Conflict {
            what: "mapping origin",
            key: how.to_string(),
            problem: format!("must be one of {}", HOWS.join(", ")),
        })
    }
}

fn shop_of(
    tx: &Transaction<'_>,
    merchant: &str,
    store_id: &StoreId,
) -> rusqlite::Result<Option<String>> {
    tx.query_row(
        "SELECT shop_id FROM shop_map WHERE merchant = ?1 AND store_id = ?2",
        params![merchant, store_id],
        |r| r.get(0),
    )
    .optional()
}

/// The store a shop is mapped to, in any merchant (shop ids are unique across the app).
fn store_of(tx: &Transaction<'_>, shop_id: &ShopId) -> rusqlite::Result<Option<String>> {
    tx.query_row(
        "SELECT store_id FROM shop_map WHERE shop_id = ?1",
        [shop_id],
        |r| r.get(0),
    )
    .optional()
}

impl AuditDb {
    /// store_id → shop_id for every mapped store.
    pub fn shop_map(&self) -> Result<HashMap<StoreId, ShopId>, AuditError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT store_id, shop_id FROM shop_map WHERE {}",
            self.merchant_sql("merchant", 1)
        ))?;
        let map = stmt
            .query_map([self.only()], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<HashMap<_, _>, _>>()?;
        Ok(map)
    }

    /// The current mapping of one store.
    pub fn mapping(&self, store_id: &StoreId) -> Result<Option<Mapping>, AuditError> {
        let conn = self.lock();
        let m = conn
            .query_row(
                &format!(
                    "SELECT store_id, shop_id, how, mapped_at FROM shop_map
                     WHERE store_id = ?1 AND {}",
                    self.merchant_sql("merchant", 2)
                ),
                params![store_id, self.only()],
                |r| {
                    Ok(Mapping {
                        store_id: r.get(0)?,
                        shop_id: r.get(1)?,
                        how: r.get(2)?,
                        mapped_at: r.get::<_, Ts>(3)?.0,
                    })
                },
            )
            .optional()?;
        Ok(m)
    }

    /// Mappings of this store that were replaced, oldest first.
    pub fn previous_mappings(
        &self,
        store_id: &StoreId,
    ) -> Result<Vec<PreviousMapping>, AuditError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT store_id, shop_id, how, mapped_at, replaced_at FROM shop_map_history
             WHERE store_id = ?1 AND (?2 IS NULL OR merchant = ?2) ORDER BY id",
        )?;
        let rows = stmt
            .query_map(params![store_id, self.only()], |r| {
                Ok(PreviousMapping {
                    store_id: r.get(0)?,
                    shop_id: r.get(1)?,
                    how: r.get(2)?,
                    mapped_at: r.get::<_, Ts>(3)?.0,
                    replaced_at: r.get::<_, Ts>(4)?.0,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Records store_id ↔ shop_id. Recording the same pair again is a no-op (the first
    /// `how` and time are kept). An error if the store is mapped to another shop
    /// ([`AuditError::StoreMapped`]) or the shop to another store
    /// ([`AuditError::ShopMapped`]); use [`AuditDb::replace_mapping`] to change a mapping.
    pub fn set_mapping(
        &self,
        store_id: &StoreId,
        shop_id: &ShopId,
        how: &str,
        at: DateTime<Utc>,
    ) -> Result<(), AuditError> {
        check_how(how)?;
        self.write(|tx| {
            let existing_shop = shop_of(tx, self.merchant(), store_id)?;
            if existing_shop.as_deref() == Some(shop_id.as_str()) {
                return Ok(());
            }
            if let Some(existing) = existing_shop {
                return Err(AuditError::StoreMapped {
                    store_id: store_id.to_string(),
                    existing,
                    requested: shop_id.to_string(),
                });
            }
            if let Some(existing) = store_of(tx, shop_id)? {
                return Err(AuditError::ShopMapped {
                    shop_id: shop_id.to_string(),
                    existing,
                    requested: store_id.to_string(),
                });
            }
            tx.execute(
                "INSERT INTO shop_map (store_id, shop_id, how, mapped_at, merchant)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![store_id, shop_id, how, ts(at), self.merchant()],
            )?;
            tracing::info!(store_id = %store_id, shop_id = %shop_id, how, "Store mapped to shop.");
            Ok(())
        })
    }

    /// Maps store_id ↔ shop_id, first removing any mapping of this store or of this shop
    /// (moved to `shop_map_history`). Returns the mappings removed.
    pub fn replace_mapping(
        &self,
        store_id: &StoreId,
        shop_id: &ShopId,
        how: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<PreviousMapping>, AuditError> {
        check_how(how)?;
        self.write(|tx| {
            let removed = {
                let mut stmt = tx.prepare(
                    "SELECT store_id, shop_id, how, mapped_at FROM shop_map
                     WHERE (merchant = ?3 AND store_id = ?1) OR shop_id = ?2",
                )?;
                let rows = stmt
                    .query_map(params![store_id, shop_id, self.merchant()], |r| {
                        Ok(PreviousMapping {
                            store_id: r.get(0)?,
                            shop_id: r.get(1)?,
                            how: r.get(2)?,
                            mapped_at: r.get::<_, Ts>(3)?.0,
                            replaced_at: at,
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                rows
            };
            for old in &removed {
                tx.execute(
                    "INSERT INTO shop_map_history (store_id, shop_id, how, mapped_at, replaced_at, merchant)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![old.store_id, old.shop_id, old.how, ts(old.mapped_at), ts(at), self.merchant()],
                )?;
                tracing::warn!(store_id = %old.store_id, shop_id = %old.shop_id, "Store mapping replaced.");
            }
            tx.execute(
                "DELETE FROM shop_map WHERE (merchant = ?3 AND store_id = ?1) OR shop_id = ?2",
                params![store_id, shop_id, self.merchant()],
            )?;
            tx.execute(
                "INSERT INTO shop_map (store_id, shop_id, how, mapped_at, merchant)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![store_id, shop_id, how, ts(at), self.merchant()],
            )?;
            Ok(removed)
        })
    }

    /// shop_id → the store_id querydetail reported (`None`: the shop has none).
    pub fn detail_cache(&self) -> Result<HashMap<ShopId, Option<StoreId>>, AuditError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT shop_id, store_id FROM detail_cache WHERE (?1 IS NULL OR merchant = ?1)",
        )?;
        let map = stmt
            .query_map([self.only()], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<HashMap<_, _>, _>>()?;
        Ok(map)
    }

    /// Records (or refreshes) what querydetail said about a shop; an empty store_id is
    /// stored as none.
    pub fn cache_detail(
        &self,
        shop_id: &ShopId,
        store_id: Option<&StoreId>,
        at: DateTime<Utc>,
    ) -> Result<(), AuditError> {
        let store_id = store_id.filter(|s| !s.is_empty());
        self.write(|tx| {
            tx.execute(
                "INSERT INTO detail_cache (shop_id, store_id, fetched_at, merchant)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (shop_id) DO UPDATE SET store_id = excluded.store_id,
                     fetched_at = excluded.fetched_at, merchant = excluded.merchant",
                params![shop_id, store_id, ts(at), self.merchant()],
            )?;
            Ok(())
        })
    }
}
