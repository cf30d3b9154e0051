//! Header → field mapping and the per-row pipeline shared by the CSV and SQL readers:
//! cells → (field, value) pairs (config defaults shared as a base) → `build_store` → Store or
//! rejects; duplicate `store_id`s are resolved when the source ends.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Loaded, Reject, SourceConfig, SourceError};
use crate::record::{build_store_from, normalise, Field, FieldValues};

/// Where each field's value comes from.
pub(crate) struct Mapping {
    file: String,
    width: usize,
    store_id: usize,
    /// (field, column index) of every mapped field.
    fields: Vec<(Field, usize)>,
    /// The config's defaults in canonical form, normalised once and shared by every row.
    defaults: Arc<FieldValues>,
}

fn find_column(
    file: &str,
    headers: &[String],
    field: &str,
    column: &str,
) -> Result<usize, SourceError> {
    let mut hits = headers.iter().enumerate().filter(|(_, h)| *h == column);
    let Some((i, _)) = hits.next() else {
        return Err(SourceError::MissingColumn {
            file: file.to_string(),
            field: field.to_string(),
            column: column.to_string(),
        });
    };
    if hits.next().is_some() {
        return Err(SourceError::DuplicateColumn {
            file: file.to_string(),
            column: column.to_string(),
        });
    }
    Ok(i)
}

/// Trim header names and drop a stray BOM on the first one.
pub(crate) fn clean_headers(raw: Vec<String>) -> Vec<String> {
    raw.into_iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
        .collect()
}

/// Check `columns` and `defaults` without a header: every name is a field (or
/// `store_id` in `columns`) and every default normalises.
pub(crate) fn check_tables(cfg: &SourceConfig) -> Result<(), SourceError> {
    let file = super::file_name(cfg);
    for name in cfg.columns.keys() {
        if name != "store_id" && Field::from_name(name).is_none() {
            return Err(SourceError::UnknownField {
                file: file.clone(),
                table: "columns",
                name: name.clone(),
            });
        }
    }
    for (name, value) in &cfg.defaults {
        let Some(field) = Field::from_name(name) else {
            return Err(SourceError::UnknownField {
                file: file.clone(),
                table: "defaults",
                name: name.clone(),
            });
        };
        if let Err(reason) = normalise(field, value) {
            return Err(SourceError::BadDefault {
                file: file.clone(),
                field: name.clone(),
                value: value.clone(),
                reason,
            });
        }
    }
    Ok(())
}

impl Mapping {
    /// Check the config's `columns`/`defaults` against the header.
    pub(crate) fn new(cfg: &SourceConfig, headers: &[String]) -> Result<Mapping, SourceError> {
        check_tables(cfg)?;
        let file = super::file_name(cfg);
        let column_of = |name: &str| -> Result<Option<usize>, SourceError> {
            match cfg.columns.get(name) {
                Some(column) => find_column(&file, headers, name, column).map(Some),
                None if headers.iter().any(|h| h == name) => {
                    find_column(&file, headers, name, name).map(Some)
                }
                None => Ok(None),
            }
        };
        let store_id = column_of("store_id")?.ok_or_else(|| SourceError::MissingColumn {
            file: file.clone(),
            field: "store_id".to_string(),
            column: cfg
                .columns
                .get("store_id")
                .cloned()
                .unwrap_or_else(|| "store_id".to_string()),
        })?;
        let mut fields = Vec::new();
        for field in Field::ALL {
            if let Some(column) = column_of(field.name())? {
                fields.push((field, column));
            }
        }
        // check_tables has normalised every default without error.
        let defaults = Arc::new(FieldValues::from_pairs(cfg.defaults.iter().filter_map(
            |(name, value)| {
                let field = Field::from_name(name)?;
                Some((field, normalise(field, value).ok().flatten()?))
            },
        )));
        let used: Vec<usize> = std::iter::once(store_id)
            .chain(fields.iter().map(|(_, column)| *column))
            .collect();
        let unmapped: Vec<&str> = (0..headers.len())
            .filter(|i| !used.contains(i))
            .map(|i| headers[i].as_str())
            .collect();
        if !unmapped.is_empty() {
            tracing::debug!(file = %file, columns = ?unmapped, "Source columns not mapped to any field are ignored.");
        }
        Ok(Mapping {
            file,
            width: headers.len(),
            store_id,
            fields,
            defaults,
        })
    }
}

impl Mapping {
    /// Whether column `index` feeds `store_id` or a field (the others are never read).
    pub(crate) fn uses(&self, index: usize) -> bool {
        index == self.store_id || self.fields.iter().any(|(_, column)| *column == index)
    }
}

/// Collects the stores and rejects of one load.
pub(crate) struct Collector {
    mapping: Mapping,
    loaded: Loaded,
    /// store_id → the first line it appears on.
    seen: foldhash::HashMap<String, u64>,
    /// store_id → every line, for store_ids seen more than once.
    repeated: HashMap<String, Vec<u64>>,
}

impl Collector {
    pub(crate) fn new(mapping: Mapping) -> Collector {
        Collector {
            mapping,
            loaded: Loaded::default(),
            seen: foldhash::HashMap::default(),
            repeated: HashMap::new(),
        }
    }

    /// Record a row that could not be read (bad bytes, oversized). `cells` is a lossy
    /// view, used only to name the store in the reject.
    pub(crate) fn unreadable(&mut self, line: u64, cells: &[String], reason: String) {
        self.loaded.rows += 1;
        let store_id = cells
            .get(self.mapping.store_id)
            .and_then(|c| crate::record::normalise_store_id(c).ok())
            .filter(|id| !id.contains('\u{fffd}'));
        self.reject(line, store_id, None, reason, None);
    }

    fn reject(
        &mut self,
        line: u64,
        store_id: Option<String>,
        field: Option<&str>,
        reason: String,
        value: Option<&str>,
    ) {
        self.loaded.rejects.push(Reject {
            file: self.mapping.file.clone(),
            line,
            store_id,
            field: field.map(str::to_string),
            reason,
            value: value.map(str::to_string),
        });
    }

    /// The raw value of `field` in this row: its cell, else the configured default.
    fn raw_value<'a>(&'a self, cells: &[&'a str], field: Field) -> Option<&'a str> {
        self.mapping
            .fields
            .iter()
            .find(|(f, _)| *f == field)
            .and_then(|(_, column)| cells.get(*column).copied())
            .filter(|c| !c.trim().is_empty())
            .or_else(|| self.mapping.defaults.get(field))
    }

    /// One record's cells. Rows whose cells are all blank are skipped (not counted).
    pub(crate) fn row(&mut self, line: u64, cells: &[&str]) {
        if cells.iter().all(|c| c.trim().is_empty()) {
            return;
        }
        self.loaded.rows += 1;
        let id_check = cells
            .get(self.mapping.store_id)
            .map(|c| crate::record::normalise_store_id(c));
        let store_id = id_check.as_ref().and_then(|r| r.as_ref().ok()).cloned();
        if let Some(id) = &store_id {
            self.note_id(id, line);
        }
        if cells.len() != self.mapping.width {
            let reason = format!(
                "row has {} fields, the header has {}",
                cells.len(),
                self.mapping.width
            );
            self.reject(line, store_id, None, reason, None);
            return;
        }
        if let Some(Err(reason)) = id_check {
            let raw = cells.get(self.mapping.store_id).copied();
            self.reject(line, None, Some("store_id"), reason, raw);
            return;
        }
        // Empty cells are left out: the field falls back to its default, if any.
        let values = self.mapping.fields.iter().filter_map(|(field, column)| {
            let cell = cells[*column].trim();
            (!cell.is_empty()).then_some((*field, cell))
        });
        let id = store_id.clone().unwrap_or_default();
        match build_store_from(&id, line, values, Some(&self.mapping.defaults)) {
            Ok(store) => self.loaded.stores.push(store),
            Err(problems) => {
                for (field, reason) in problems {
                    let raw = field
                        .and_then(|f| self.raw_value(cells, f))
                        .map(str::to_string);
                    self.reject(
                        line,
                        store_id.clone(),
                        field.map(Field::name),
                        reason,
                        raw.as_deref(),
                    );
                }
            }
        }
    }

    /// Remember the line a store_id is on, to find duplicates.
    fn note_id(&mut self, id: &str, line: u64) {
        match self.seen.get(id) {
            None => {
                self.seen.insert(id.to_string(), line);
            }
            Some(&first) => self
                .repeated
                .entry(id.to_string())
                .or_insert_with(|| vec![first])
                .push(line),
        }
    }

    /// Reject every row of a duplicated store_id, then order the rejects by line.
    pub(crate) fn finish(mut self) -> Loaded {
        let mut dups: Vec<(String, Vec<u64>)> = self.repeated.drain().collect();
        dups.sort_by_key(|(_, lines)| lines[0]);
        for (id, lines) in dups {
            self.loaded.stores.retain(|s| s.store_id.as_str() != id);
            for &line in &lines {
                let others: Vec<String> = lines
                    .iter()
                    .filter(|&&l| l != line)
                    .map(u64::to_string)
                    .collect();
                let reason = format!("duplicate store_id: also on line {}", others.join(", "));
                self.reject(line, Some(id.clone()), Some("store_id"), reason, Some(&id));
            }
        }
        self.loaded.rejects.sort_by_key(|r| r.line);
        self.loaded
    }
}
