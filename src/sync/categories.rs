//! Every row's `category_id` checked before any write: the categories the export uses are
//! looked up with `alipay.offline.market.shop.category.query` (one call per id not in the
//! audit store's cache; answers are kept for [`FRESH_FOR`], per app), and a row
//! whose category Alipay does not know, or that is not a leaf, is a rejected row naming the
//! row and the id. The names (`美食-中餐-淮扬菜`) go into the plan's output. The integration
//! guide asks for exactly this: category ids change, so they are looked up, not trusted.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use crate::alipay::retry::read_with_retries;
use crate::alipay::{AlipayError, ErrorClass, ShopApi};
use crate::audit::CachedCategory;
use crate::record::Field;
use crate::source::{Loaded, Reject};
use crate::sync::{Context, RunError};

/// How long a category.query answer is used before it is asked again.
pub const FRESH_FOR: chrono::Duration = chrono::Duration::days(1);

/// What Alipay says about the ids asked: `None` for an id it does not know. The subtree
/// entries an answer carried come along (a non-leaf's answer lists its leaves).
pub async fn query(
    api: &dyn ShopApi,
    ids: &BTreeSet<String>,
    max_attempts: u32,
    now: DateTime<Utc>,
) -> Result<HashMap<String, Option<CachedCategory>>, AlipayError> {
    let mut out: HashMap<String, Option<CachedCategory>> = HashMap::new();
    for id in ids {
        if out.get(id).is_some_and(Option::is_some) {
            continue;
        }
        let answer = read_with_retries(max_attempts, || api.categories(Some(id))).await;
        let list = match answer {
            Ok(list) => list,
            // Alipay refuses an id it does not know (`INVALID_PARAMETER`).
            Err(e) if e.class == ErrorClass::Business => {
                out.insert(id.clone(), None);
                continue;
            }
            Err(e) => return Err(e),
        };
        for c in list {
            let cached = CachedCategory {
                is_leaf: c
                    .is_leaf
                    .as_deref()
                    .is_some_and(|l| l.eq_ignore_ascii_case("true")),
                id: c.id.clone(),
                name: c.nm,
                link: c.link,
                level: c.level,
                fetched_at: now,
            };
            out.insert(c.id, Some(cached));
        }
        out.entry(id.clone()).or_insert(None);
    }
    Ok(out)
}

/// The name shown for a category: its path, else its name, else the id.
pub fn display_name(c: &CachedCategory) -> String {
    c.link
        .clone()
        .or_else(|| c.name.clone())
        .unwrap_or_else(|| c.id.clone())
}

/// Why a row with category `id` cannot be written, if it cannot. `known` holds every
/// category learnt (the subtree of a non-leaf included, to suggest leaves).
pub fn problem(id: &str, known: &HashMap<String, Option<CachedCategory>>) -> Option<String> {
    match known.get(id) {
        Some(Some(c)) if c.is_leaf => None,
        Some(Some(c)) => {
            let prefix = display_name(c) + "-";
            let mut leaves: Vec<String> = known
                .values()
                .flatten()
                .filter(|l| l.is_leaf && display_name(l).starts_with(&prefix))
                .map(|l| format!("{} {}", l.id, display_name(l)))
                .collect();
            leaves.sort();
            leaves.truncate(3);
            let hint = if leaves.is_empty() {
                String::new()
            } else {
                format!(", e.g. {}", leaves.join("; "))
            };
            Some(format!(
                "category {id} ({}) is not a leaf category; Alipay takes only the most specific ones{hint}",
                display_name(c)
            ))
        }
        _ => Some(format!(
            "category {id} is not a category Alipay knows (category.query)"
        )),
    }
}

/// The distinct categories of the loaded stores.
pub fn used(loaded: &Loaded) -> BTreeSet<String> {
    loaded
        .stores
        .iter()
        .filter_map(|s| s.get(Field::CategoryId))
        .map(str::to_string)
        .collect()
}

/// Move every store whose category has a [`problem`] to the rejects.
pub fn reject_rows(
    loaded: &mut Loaded,
    file: &str,
    known: &HashMap<String, Option<CachedCategory>>,
) -> usize {
    let mut rejects = Vec::new();
    loaded.stores.retain(|store| {
        let Some(id) = store.get(Field::CategoryId) else {
            return true;
        };
        match problem(id, known) {
            None => true,
            Some(reason) => {
                rejects.push(Reject {
                    file: file.to_string(),
                    line: store.line,
                    store_id: Some(store.store_id.to_string()),
                    field: Some(Field::CategoryId.name().to_string()),
                    reason,
                    value: Some(id.to_string()),
                });
                false
            }
        }
    });
    let n = rejects.len();
    if n > 0 {
        loaded.rejects.extend(rejects);
        loaded.rejects.sort_by_key(|r| r.line);
    }
    n
}

impl Context {
    /// Check the loaded stores' categories (see the module docs); returns id → name of the
    /// categories in use.
    pub async fn check_categories(
        &self,
        loaded: &mut Loaded,
    ) -> Result<BTreeMap<String, String>, RunError> {
        let ids = used(loaded);
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let app = &self.cfg.alipay.app_id;
        let now = self.clock.now();
        let cached = self.db.cached_categories(app, now - FRESH_FOR)?;
        let mut known: HashMap<String, Option<CachedCategory>> =
            cached.into_iter().map(|(id, c)| (id, Some(c))).collect();
        let missing: BTreeSet<String> = ids
            .iter()
            .filter(|id| !known.contains_key(*id))
            .cloned()
            .collect();
        if !missing.is_empty() {
            let answers = query(&self.gateway, &missing, self.cfg.sync.max_attempts, now).await?;
            let fresh: Vec<CachedCategory> = answers.values().flatten().cloned().collect();
            self.db.cache_categories(app, &fresh)?;
            tracing::info!(
                asked = missing.len(),
                learnt = fresh.len(),
                "Categories looked up."
            );
            for (id, c) in answers {
                known.entry(id).or_insert(c);
            }
        }
        let file = crate::source::file_name(self.cfg.source());
        let rejected = reject_rows(loaded, &file, &known);
        if rejected > 0 {
            tracing::warn!(
                rows = rejected,
                "Rows whose category Alipay does not take were rejected."
            );
        }
        Ok(ids
            .iter()
            .filter_map(|id| Some((id.clone(), display_name(known.get(id)?.as_ref()?))))
            .collect())
    }
}
