//! Store exports: CSV and SQLite query sources → validated Store rows + rejects.
//!
//! A source is read once per run. Every data row becomes either a [`Store`] or one or
//! more [`Reject`]s (one per problem found); a bad row never aborts the load. Problems
//! with the source as a whole (unreadable file, missing mapped column, bad config) are
//! [`SourceError`]s.

mod csv;
mod mapping;
mod sqlite;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

use crate::record::{expires_before, Field, Store};

/// Largest record (bytes of cell content) read from a source; a longer one is rejected
/// without being held in memory.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// The `[source]` config table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    #[serde(default)]
    pub kind: SourceKind,
    /// Relative paths are resolved by the caller.
    pub path: PathBuf,
    #[serde(default)]
    pub encoding: SourceEncoding,
    /// One ASCII character; default `,`. `"\t"` (or the two characters `\t`) for tab.
    #[serde(default = "default_delimiter")]
    pub delimiter: String,
    /// SQLite: the SQL to run; its result column names map like CSV headers.
    #[serde(default)]
    pub query: Option<String>,
    /// Alipay field name (or `store_id`) → export header. A field not listed maps to a
    /// header equal to its own name, if there is one.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Alipay field name → value used when the export lacks the column or the cell is empty.
    #[serde(default)]
    pub defaults: BTreeMap<String, String>,
}

fn default_delimiter() -> String {
    ",".to_string()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    #[default]
    Csv,
    Sqlite,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum SourceEncoding {
    /// UTF-8 (with or without BOM) when the start of the file is valid UTF-8, else GB18030.
    #[default]
    #[serde(rename = "auto")]
    Auto,
    #[serde(rename = "utf-8", alias = "utf8", alias = "UTF-8")]
    Utf8,
    #[serde(rename = "gbk", alias = "GBK")]
    Gbk,
    #[serde(rename = "gb18030", alias = "GB18030")]
    Gb18030,
}

impl fmt::Display for SourceEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceEncoding::Auto => "auto",
            SourceEncoding::Utf8 => "utf-8",
            SourceEncoding::Gbk => "gbk",
            SourceEncoding::Gb18030 => "gb18030",
        })
    }
}

/// A source row that cannot become a Store. Displays as
/// `stores.csv:12: store SH-0003: contact_number: <reason>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// The source path as configured (CSV file or SQLite database).
    pub file: String,
    /// 1-based line the record starts on (CSV; the header is line 1) or row number (SQL).
    pub line: u64,
    pub store_id: Option<String>,
    /// Alipay field name, `store_id`, or None for the row as a whole.
    pub field: Option<String>,
    pub reason: String,
    /// The value as the export gave it (cell or default), when the problem is one field's.
    pub value: Option<String>,
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        if let Some(id) = &self.store_id {
            write!(f, "store {id}: ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.reason)
    }
}

/// The result of reading a source.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Valid stores, in source order.
    pub stores: Vec<Store>,
    /// Every problem found, ordered by line; a row may have several.
    pub rejects: Vec<Reject>,
    /// Data rows read (blank lines and the header not counted).
    pub rows: u64,
}

impl Loaded {
    /// How many distinct rows were rejected.
    pub fn rejected_rows(&self) -> usize {
        let mut lines: Vec<u64> = self.rejects.iter().map(|r| r.line).collect();
        lines.dedup();
        lines.len()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot open {file}: {source}")]
    Open {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {file} (line {line}): {source}")]
    Read {
        file: String,
        line: u64,
        #[source]
        source: std::io::Error,
    },
    #[error("{file} is empty: no header line")]
    Empty { file: String },
    #[error("{file}:{line}: bad header: {reason}")]
    BadHeader {
        file: String,
        line: u64,
        reason: String,
    },
    #[error("{file}: column {column:?} (for {field}) is not in the header")]
    MissingColumn {
        file: String,
        field: String,
        column: String,
    },
    #[error("{file}: column {column:?} appears more than once in the header")]
    DuplicateColumn { file: String, column: String },
    #[error("{file}: unknown field {name:?} in source.{table}")]
    UnknownField {
        file: String,
        table: &'static str,
        name: String,
    },
    #[error("{file}: source.defaults.{field} = {value:?} is invalid: {reason}")]
    BadDefault {
        file: String,
        field: String,
        value: String,
        reason: String,
    },
    #[error("{file}: source.delimiter {delimiter:?} must be one ASCII character other than a quote or line break")]
    BadDelimiter { file: String, delimiter: String },
    #[error("{file}: {reason}")]
    BadConfig { file: String, reason: String },
    #[error("{file}: SQL error: {source}")]
    Sql {
        file: String,
        #[source]
        source: rusqlite::Error,
    },
}

/// Read and validate every row of the source.
pub fn load(cfg: &SourceConfig) -> Result<Loaded, SourceError> {
    let loaded = match cfg.kind {
        SourceKind::Csv => csv::load(cfg)?,
        SourceKind::Sqlite => sqlite::load(cfg)?,
    };
    tracing::info!(
        source = %describe(cfg),
        rows = loaded.rows,
        stores = loaded.stores.len(),
        rejected_rows = loaded.rejected_rows(),
        "Source loaded."
    );
    Ok(loaded)
}

/// Move every store whose `licence_expires` or `business_certificate_expires` lies before
/// `today` (the China date) to the rejects, with its line: Alipay refuses such a write
/// (`*_LICENSE_EXPIRES`), so it is reported as a bad row instead of failing a call. Kept
/// apart from [`load`] because it depends on the date, which the run's clock gives.
pub fn reject_expired(cfg: &SourceConfig, loaded: &mut Loaded, today: chrono::NaiveDate) {
    let file = file_name(cfg);
    let mut expired = Vec::new();
    loaded.stores.retain(|store| {
        let late: Vec<(Field, &str)> = [Field::LicenceExpires, Field::BusinessCertificateExpires]
            .into_iter()
            .filter_map(|f| Some((f, store.get(f)?)))
            .filter(|(_, v)| expires_before(v, today))
            .collect();
        for (field, value) in &late {
            expired.push(Reject {
                file: file.clone(),
                line: store.line,
                store_id: Some(store.store_id.to_string()),
                field: Some(field.name().to_string()),
                reason: format!(
                    "expired on {value} (today is {today}); Alipay refuses an expired licence"
                ),
                value: Some(value.to_string()),
            });
        }
        late.is_empty()
    });
    if !expired.is_empty() {
        loaded.rejects.extend(expired);
        loaded.rejects.sort_by_key(|r| r.line);
    }
}

/// Open the source, read its header (or the query's columns) and check the mapping,
/// without reading the rows. Returns the header names.
pub fn check(cfg: &SourceConfig) -> Result<Vec<String>, SourceError> {
    match cfg.kind {
        SourceKind::Csv => csv::check(cfg),
        SourceKind::Sqlite => sqlite::check(cfg),
    }
}

/// Check the parts of `[source]` that need no file: the delimiter, `query` against
/// `kind`, and the names and values in `columns`/`defaults`. Config loading runs this so a
/// bad `[source]` is a configuration error before any run starts.
pub fn check_settings(cfg: &SourceConfig) -> Result<(), SourceError> {
    match cfg.kind {
        SourceKind::Csv => {
            csv::delimiter(cfg)?;
            if cfg.query.is_some() {
                return Err(SourceError::BadConfig {
                    file: file_name(cfg),
                    reason: "source.query is only used with kind = \"sqlite\"".to_string(),
                });
            }
        }
        SourceKind::Sqlite if cfg.query.is_none() => {
            return Err(SourceError::BadConfig {
                file: file_name(cfg),
                reason: "kind = \"sqlite\" needs source.query (e.g. SELECT * FROM stores)"
                    .to_string(),
            });
        }
        SourceKind::Sqlite => {}
    }
    mapping::check_tables(cfg)
}

/// A one-line description, e.g. `samples/stores.csv (csv, auto)`.
pub fn describe(cfg: &SourceConfig) -> String {
    let file = cfg.path.display();
    match cfg.kind {
        SourceKind::Sqlite => format!("{file} (sqlite)"),
        SourceKind::Csv if cfg.delimiter == "," => format!("{file} (csv, {})", cfg.encoding),
        SourceKind::Csv => format!(
            "{file} (csv, {}, delimiter {:?})",
            cfg.encoding, cfg.delimiter
        ),
    }
}

/// The export as rejects name it (`Reject::file`).
pub fn file_name(cfg: &SourceConfig) -> String {
    cfg.path.display().to_string()
}
