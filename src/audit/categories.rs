//! The category tree as category.query answered it, cached per app (not per merchant: the
//! tree is the platform's, and one cache serves every merchant of the app) for
//! `sync::categories`, which decides how long an answer stays fresh.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::sql::{ts, Ts};
use super::{AuditDb, AuditError};

/// One category, as category.query described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedCategory {
    pub id: String,
    /// `nm`.
    pub name: Option<String>,
    /// The path from the root, e.g. `美食-中餐-淮扬菜`.
    pub link: Option<String>,
    pub level: Option<String>,
    pub is_leaf: bool,
    pub fetched_at: DateTime<Utc>,
}

impl AuditDb {
    /// Cached categories of this app fetched at or after `since`, by id.
    pub fn cached_categories(
        &self,
        app_id: &str,
        since: DateTime<Utc>,
    ) -> Result<HashMap<String, CachedCategory>, AuditError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT category_id, name, link, level, is_leaf, fetched_at FROM category_cache
             WHERE app_id = ?1 AND fetched_at >= ?2",
        )?;
        let rows = stmt
            .query_map(params![app_id, ts(since)], |r| {
                Ok(CachedCategory {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    link: r.get(2)?,
                    level: r.get(3)?,
                    is_leaf: r.get::<_, i64>(4)? == 1,
                    fetched_at: r.get::<_, Ts>(5)?.0,
                })
            })?
            .map(|c| c.map(|c| (c.id.clone(), c)))
            .collect::<Result<HashMap<_, _>, _>>()?;
        Ok(rows)
    }

    /// Store (or refresh) categories of this app, in one transaction.
    pub fn cache_categories(
        &self,
        app_id: &str,
        categories: &[CachedCategory],
    ) -> Result<(), AuditError> {
        if categories.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            let mut stmt = tx.prepare(
                "INSERT INTO category_cache
                     (app_id, category_id, name, link, level, is_leaf, fetched_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (app_id, category_id) DO UPDATE SET
                     name = excluded.name, link = excluded.link, level = excluded.level,
                     is_leaf = excluded.is_leaf, fetched_at = excluded.fetched_at",
            )?;
            for c in categories {
                stmt.execute(params![
                    app_id,
                    c.id,
                    c.name,
                    c.link,
                    c.level,
                    i64::from(c.is_leaf),
                    ts(c.fetched_at)
                ])?;
            }
            Ok(())
        })
    }
}
