//! Store exports: CSV files and SQLite, PostgreSQL and MySQL/MariaDB queries → validated
//! Store rows + rejects.
//!
//! A source is read once per run. Every data row becomes either a [`Store`] or one or
//! more [`Reject`]s (one per problem found); a bad row never aborts the load. Problems
//! with the source as a whole (unreadable file, missing mapped column, bad config) are
//! [`SourceError`]s.

mod csv;
mod db_error;
mod db_settings;
mod mapping;
mod mysql;
mod postgres;
mod sql_rows;
mod sql_statement;
mod sqlite;
mod tls;

pub use db_error::DbError;
pub use db_settings::{
    DbTls, DEFAULT_CONNECT_RETRY, DEFAULT_CONNECT_TIMEOUT, DEFAULT_STATEMENT_TIMEOUT,
};

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
    /// CSV file or SQLite database; empty for the database servers. Relative paths are
    /// resolved by the caller.
    #[serde(default)]
    pub path: PathBuf,
    #[serde(default)]
    pub encoding: SourceEncoding,
    /// One ASCII character; default `,`. `"\t"` (or the two characters `\t`) for tab.
    #[serde(default = "default_delimiter")]
    pub delimiter: String,
    /// SQLite, PostgreSQL, MySQL: the SQL to run; its result column names map like CSV
    /// headers.
    #[serde(default)]
    pub query: Option<String>,
    /// Alipay field name (or `store_id`) → export header. A field not listed maps to a
    /// header equal to its own name, if there is one.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Alipay field name → value used when the export lacks the column or the cell is empty.
    #[serde(default)]
    pub defaults: BTreeMap<String, String>,
    /// PostgreSQL/MySQL: `postgres://user@host:port/database` (no password: see below).
    #[serde(default)]
    pub url: Option<String>,
    /// PostgreSQL/MySQL: a file holding the password, or `credential:NAME`.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// PostgreSQL/MySQL: the environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// PostgreSQL/MySQL: `disable`, `prefer` (default), `require` or `verify-full`.
    #[serde(default)]
    pub tls: Option<DbTls>,
    /// PostgreSQL/MySQL: the CA certificate(s) (PEM) the server's certificate must chain to.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PostgreSQL/MySQL: one connection attempt's limit (default 10 s).
    #[serde(default, deserialize_with = "db_settings::de_opt_duration")]
    pub connect_timeout: Option<std::time::Duration>,
    /// PostgreSQL/MySQL: how long an unreachable server is retried (default 60 s).
    #[serde(default, deserialize_with = "db_settings::de_opt_duration")]
    pub connect_retry: Option<std::time::Duration>,
    /// PostgreSQL/MySQL: the query's limit on the server (default 5 min).
    #[serde(default, deserialize_with = "db_settings::de_opt_duration")]
    pub statement_timeout: Option<std::time::Duration>,
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            kind: SourceKind::Csv,
            path: PathBuf::new(),
            encoding: SourceEncoding::Auto,
            delimiter: default_delimiter(),
            query: None,
            columns: BTreeMap::new(),
            defaults: BTreeMap::new(),
            url: None,
            password_file: None,
            password_env: None,
            tls: None,
            ca_file: None,
            connect_timeout: None,
            connect_retry: None,
            statement_timeout: None,
        }
    }
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
    /// PostgreSQL (`src/source/postgres.rs`).
    #[serde(alias = "postgresql")]
    Postgres,
    /// MySQL or MariaDB (`src/source/mysql.rs`).
    #[serde(alias = "mariadb")]
    Mysql,
}

impl SourceKind {
    /// A database server (url, credentials, TLS) rather than a file.
    pub fn is_server(self) -> bool {
        matches!(self, SourceKind::Postgres | SourceKind::Mysql)
    }
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
    /// The source path as configured (CSV file or SQLite database), or the server's URL
    /// (without password) for PostgreSQL/MySQL.
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
    /// PostgreSQL/MySQL: access, reachability, TLS, query and column problems.
    #[error(transparent)]
    Database(#[from] DbError),
}

impl SourceError {
    /// The exit code a run that stops on this error ends with: a database that refuses the
    /// credentials, the database name, the TLS settings or the query is a configuration
    /// error (78); everything else fails the run (1).
    pub fn exit(&self) -> crate::exit::Exit {
        match self {
            SourceError::Database(e) => e.exit(),
            _ => crate::exit::Exit::Failed,
        }
    }
}

/// Read and validate every row of the source. Blocking; a database source runs its async
/// driver on a thread of its own, so this may be called from anywhere (async code should
/// use [`load_async`]).
pub fn load(cfg: &SourceConfig) -> Result<Loaded, SourceError> {
    let loaded = match cfg.kind {
        SourceKind::Csv => csv::load(cfg)?,
        SourceKind::Sqlite => sqlite::load(cfg)?,
        SourceKind::Postgres => sql_rows::block_on_own_thread(postgres::load(cfg))?,
        SourceKind::Mysql => sql_rows::block_on_own_thread(mysql::load(cfg))?,
    };
    log_loaded(cfg, &loaded);
    Ok(loaded)
}

/// [`load`] for async callers: the database servers are read on the caller's runtime, CSV
/// and SQLite on a blocking thread.
pub async fn load_async(cfg: &SourceConfig) -> Result<Loaded, SourceError> {
    let loaded = match cfg.kind {
        SourceKind::Postgres => postgres::load(cfg).await?,
        SourceKind::Mysql => mysql::load(cfg).await?,
        SourceKind::Csv | SourceKind::Sqlite => {
            let owned = cfg.clone();
            let read = tokio::task::spawn_blocking(move || match owned.kind {
                SourceKind::Sqlite => sqlite::load(&owned),
                _ => csv::load(&owned),
            });
            match read.await {
                Ok(result) => result?,
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            }
        }
    };
    log_loaded(cfg, &loaded);
    Ok(loaded)
}

fn log_loaded(cfg: &SourceConfig, loaded: &Loaded) {
    tracing::info!(
        source = %describe(cfg),
        rows = loaded.rows,
        stores = loaded.stores.len(),
        rejected_rows = loaded.rejected_rows(),
        "Source loaded."
    );
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
        SourceKind::Postgres => sql_rows::block_on_own_thread(postgres::check(cfg)),
        SourceKind::Mysql => sql_rows::block_on_own_thread(mysql::check(cfg)),
    }
}

/// Check the parts of `[source]` that need no file: the delimiter, `query` against
/// `kind`, and the names and values in `columns`/`defaults`. Config loading runs this so a
/// bad `[source]` is a configuration error before any run starts.
pub fn check_settings(cfg: &SourceConfig) -> Result<(), SourceError> {
    db_settings::check_keys_fit_kind(cfg)?;
    match cfg.kind {
        SourceKind::Csv => {
            csv::delimiter(cfg)?;
            if cfg.query.is_some() {
                return Err(SourceError::BadConfig {
                    file: file_name(cfg),
                    reason: "source.query is only used with kind = \"sqlite\", \"postgres\" or \"mysql\""
                        .to_string(),
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
        SourceKind::Postgres | SourceKind::Mysql => db_settings::check(cfg)?,
    }
    mapping::check_tables(cfg)
}

/// A one-line description, e.g. `samples/stores.csv (csv, auto)`.
pub fn describe(cfg: &SourceConfig) -> String {
    let file = cfg.path.display();
    match cfg.kind {
        SourceKind::Postgres | SourceKind::Mysql => db_settings::describe(cfg),
        SourceKind::Sqlite => format!("{file} (sqlite)"),
        SourceKind::Csv if cfg.delimiter == "," => format!("{file} (csv, {})", cfg.encoding),
        SourceKind::Csv => format!(
            "{file} (csv, {}, delimiter {:?})",
            cfg.encoding, cfg.delimiter
        ),
    }
}

/// The name rejects and errors give the source: its path, or for a database server its URL
/// without any password.
pub fn file_name(cfg: &SourceConfig) -> String {
    if cfg.kind.is_server() {
        return db_settings::display_url(cfg);
    }
    cfg.path.display().to_string()
}
