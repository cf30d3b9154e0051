//! The audit store (SQLite): runs, actions, shop map, applications, accepted values,
//! notifications, and the `shopsync audit` queries.
//!
//! One file per concern: `runs`, `actions` (and `changes`: old → new of each modify),
//! `shopmap`, `applications`, `values`, `notifications`, `uploads` (store photos),
//! `categories` (the category cache), `history`, `rejects`, `alipay_certs` (Alipay
//! certificates kept after a rotation), [`views`] for the CLI, and
//! [`html`] for the run report.
//!
//! - The connection runs in WAL mode with `synchronous=NORMAL`, a 5 s busy timeout and
//!   foreign keys on. Migrations are the numbered files in `migrations/`, applied in order,
//!   each in its own `BEGIN IMMEDIATE` transaction, and recorded in `schema_migrations`.
//!   Numbers may have gaps (reserved for other branches); every known migration a store
//!   has not recorded is applied, even one numbered below the store's highest.
//! - Timestamps are stored as RFC 3339 UTC text with millisecond precision; callers pass
//!   the time (`DateTime<Utc>`), the store never reads the clock for domain data. Only
//!   `schema_migrations.applied_at` comes from SQLite's own clock.
//! - Secrets never enter the store: there is no column for a private key or an
//!   `app_auth_token`, and field maps are scrubbed of such keys before they are written
//!   (see [`scrub_fields`]).
//! - [`AuditDb`] is `Send + Sync`: one connection behind a mutex, every write a short
//!   transaction.

mod actions;
mod alipay_certs;
mod applications;
mod categories;
mod changes;
mod history;
pub mod html;
mod notifications;
mod rejects;
mod runs;
mod shopmap;
mod sql;
mod table;
mod uploads;
mod values;
pub mod views;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use actions::{ActionId, ActionRow, NewAction, Outcome};
pub use applications::{AppStatus, Application, NewApplication};
pub use categories::CachedCategory;
pub use changes::{ChangeRow, NewChange};
pub use history::StoreHistory;
pub use notifications::{NotificationRecord, NotificationRow};
pub use rejects::{NewReject, RejectRow, MAX_VALUE_CHARS};

pub use runs::{RunId, RunKind, RunRow, RunStatus, RunSummary};
pub use shopmap::{Mapping, PreviousMapping};
pub use uploads::{KnownImage, NewUpload, UploadOutcome, UploadRow};
pub use views::{run_command, run_command_at, AuditCommand, OutputFormat};

/// The migrations this build knows, in order. The number is the file's prefix.
const MIGRATIONS: &[Migration] = &[
    (1, "init", include_str!("migrations/0001_init.sql")),
    (2, "rejects", include_str!("migrations/0002_rejects.sql")),
    (
        3,
        "merchants",
        include_str!("migrations/0003_merchants.sql"),
    ),
    (4, "uploads", include_str!("migrations/0004_uploads.sql")),
    // The list may have gaps, and a migration added later with a lower number is applied
    // to a store that already has higher ones (see `migrate`).
    (
        5,
        "action_changes",
        include_str!("migrations/0005_action_changes.sql"),
    ),
    (
        6,
        "alipay_certs",
        include_str!("migrations/0006_alipay_certs.sql"),
    ),
];

/// How long a statement waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything that can go wrong in the audit store.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot open the audit store {}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot create the directory {} for the audit store", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("migration {version} ({name}) of the audit store {} failed", path.display())]
    Migration {
        path: PathBuf,
        version: i64,
        name: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "the audit store was written by a newer shopsync (schema version {found}, this build knows up to {known}); upgrade shopsync"
    )]
    NewerSchema { found: i64, known: i64 },
    #[error(
        "the audit store has schema version {found} but this build needs {known} (migrations {missing} not applied); open it once read-write (run `shopsync plan`) to migrate"
    )]
    OlderSchema {
        found: i64,
        known: i64,
        /// The versions this build knows that the store has not recorded, e.g. `4, 6`.
        missing: String,
    },
    #[error("audit store query failed")]
    Sql(#[from] rusqlite::Error),
    #[error("cannot encode or decode JSON stored in {column}")]
    Json {
        column: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("{what} {key} is not in the audit store")]
    NotFound { what: &'static str, key: String },
    #[error("store {store_id} is already mapped to shop {existing}, not {requested}")]
    StoreMapped {
        store_id: String,
        existing: String,
        requested: String,
    },
    #[error("shop {shop_id} is already mapped to store {existing}, not {requested}")]
    ShopMapped {
        shop_id: String,
        existing: String,
        requested: String,
    },
    #[error("cannot write the audit report")]
    Output(#[source] std::io::Error),
    #[error("{what} {key}: {problem}")]
    Conflict {
        what: &'static str,
        key: String,
        problem: String,
    },
}

/// The audit store. Share it as `Arc<AuditDb>`; every method takes `&self`. Calls block
/// for the length of one short statement or transaction (a mutex, then SQLite with a 5 s
/// busy timeout), which is acceptable from tokio tasks.
///
/// One database holds every merchant of the app; a handle sees one merchant
/// ([`AuditDb::for_merchant`]: what it writes belongs to it, what it reads is its own) or,
/// for the `audit` queries, all of them ([`AuditDb::all_merchants`]). A handle opened
/// with [`AuditDb::open`] sees the implicit merchant `""` of a config without
/// `[[merchant]]` tables. Handles of one file share its connection.
#[derive(Debug, Clone)]
pub struct AuditDb {
    path: PathBuf,
    conn: std::sync::Arc<Mutex<Connection>>,
    scope: Scope,
}

/// Which merchants a handle sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every merchant (queries only).
    All,
    /// One merchant, by name (`""`: the implicit one).
    Merchant(String),
}

impl AuditDb {
    /// Opens (creating the parent directory and the file if needed) and migrates.
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| AuditError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let open_err = |source| AuditError::Open {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        // journal_mode returns the resulting mode as a row.
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), mode = %mode, "The audit store could not switch to WAL mode.");
        }
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .map_err(open_err)?;
        migrate(&mut conn, path, MIGRATIONS)?;
        Ok(Self {
            path: path.to_path_buf(),
            conn: std::sync::Arc::new(Mutex::new(conn)),
            scope: Scope::Merchant(String::new()),
        })
    }

    /// Opens an existing store for queries only; an error if it is missing or its schema
    /// is not exactly the one this build knows.
    pub fn open_read_only(path: &Path) -> Result<Self, AuditError> {
        let open_err = |source| AuditError::Open {
            path: path.to_path_buf(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        conn.execute_batch("PRAGMA foreign_keys = ON;")
            .map_err(open_err)?;
        let (found, applied) = if has_migrations_table(&conn)? {
            (check_not_newer(&conn, MIGRATIONS)?, recorded(&conn)?)
        } else {
            (0, Vec::new())
        };
        // Every migration this build knows, not only the highest: the list has gaps, and
        // a lower number may be added after a store got a higher one.
        let missing: Vec<String> = MIGRATIONS
            .iter()
            .filter(|m| !applied.contains(&m.0))
            .map(|m| m.0.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(AuditError::OlderSchema {
                found,
                known: known_version(MIGRATIONS),
                missing: missing.join(", "),
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            conn: std::sync::Arc::new(Mutex::new(conn)),
            scope: Scope::All,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A handle on the same file that sees (and writes as) merchant `name`.
    pub fn for_merchant(&self, name: &str) -> AuditDb {
        AuditDb {
            scope: Scope::Merchant(name.to_string()),
            ..self.clone()
        }
    }

    /// A handle on the same file that sees every merchant (queries).
    pub fn all_merchants(&self) -> AuditDb {
        AuditDb {
            scope: Scope::All,
            ..self.clone()
        }
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The merchant rows are written as (`""` for a handle on every merchant: the
    /// implicit merchant).
    pub fn merchant(&self) -> &str {
        match &self.scope {
            Scope::All => "",
            Scope::Merchant(m) => m,
        }
    }

    /// The merchant filter on `column`, parameter `?n` (bound to [`Self::only`]):
    /// `column = ?n` for a merchant's handle, so SQLite can use the `(merchant, …)`
    /// indexes (with 200 merchants, `(?n IS NULL OR …)` made every merchant's read scan
    /// every merchant's rows), and `(?n IS NULL OR column = ?n)` for a handle that sees
    /// every merchant.
    pub(crate) fn merchant_sql(&self, column: &str, n: usize) -> String {
        match &self.scope {
            Scope::All => format!("(?{n} IS NULL OR {column} = ?{n})"),
            Scope::Merchant(_) => format!("{column} = ?{n}"),
        }
    }

    /// The merchant filter of a query: `None` sees every merchant. Queries write it as
    /// `(?N IS NULL OR merchant = ?N)`, or with [`Self::merchant_sql`].
    fn only(&self) -> Option<&str> {
        match &self.scope {
            Scope::All => None,
            Scope::Merchant(m) => Some(m),
        }
    }

    /// Every merchant that has a row in the store, sorted.
    pub fn merchants(&self) -> Result<Vec<String>, AuditError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT merchant FROM runs UNION SELECT merchant FROM actions
             UNION SELECT merchant FROM shop_map ORDER BY 1",
        )?;
        let names = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(names)
    }

    /// `PRAGMA integrity_check`: `"ok"` when the file is sound, else the problems found,
    /// one per line.
    pub fn integrity_check(&self) -> Result<String, AuditError> {
        let conn = self.lock();
        let mut stmt = conn.prepare("PRAGMA integrity_check")?;
        let lines = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(lines.join("\n"))
    }

    /// The schema versions recorded in `schema_migrations`, in order.
    pub fn applied_migrations(&self) -> Result<Vec<i64>, AuditError> {
        recorded(&self.lock())
    }

    /// The connection. A poisoned mutex is recovered: a panicking holder's open
    /// transaction was rolled back when it was dropped.
    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` inside a short `BEGIN IMMEDIATE` transaction and commits.
    fn write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, AuditError>,
    ) -> Result<T, AuditError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }
}

/// A migration: its number (the file's prefix), its name, its SQL.
type Migration = (i64, &'static str, &'static str);

fn known_version(migrations: &[Migration]) -> i64 {
    migrations.iter().map(|m| m.0).max().unwrap_or(0)
}

fn has_migrations_table(conn: &Connection) -> Result<bool, AuditError> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
        [],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// The versions recorded in `schema_migrations`.
fn recorded(conn: &Connection) -> Result<Vec<i64>, AuditError> {
    let mut stmt = conn.prepare("SELECT version FROM schema_migrations ORDER BY version")?;
    let versions = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(versions)
}

/// The highest recorded version; an error if it is higher than any this build knows.
fn check_not_newer(conn: &Connection, migrations: &[Migration]) -> Result<i64, AuditError> {
    let found: i64 = conn.query_row(
        "SELECT coalesce(max(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    let known = known_version(migrations);
    if found > known {
        return Err(AuditError::NewerSchema { found, known });
    }
    Ok(found)
}

/// Applies, in list order, every migration of `migrations` the store has not recorded:
/// the numbers may have gaps (reserved for other branches), and a migration added later
/// with a lower number than the store's highest is still applied (migrations do not
/// depend on higher-numbered ones).
fn migrate(conn: &mut Connection, path: &Path, migrations: &[Migration]) -> Result<(), AuditError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER PRIMARY KEY,
             name       TEXT NOT NULL,
             applied_at TEXT NOT NULL
         )",
    )?;
    check_not_newer(conn, migrations)?;
    for &(version, name, sql) in migrations {
        let mig_err = |source| AuditError::Migration {
            path: path.to_path_buf(),
            version,
            name,
            source,
        };
        // Immediate: two processes opening a fresh file cannot both apply a migration.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(mig_err)?;
        let done: i64 = tx
            .query_row(
                "SELECT count(*) FROM schema_migrations WHERE version = ?1",
                [version],
                |r| r.get(0),
            )
            .map_err(mig_err)?;
        if done > 0 {
            continue;
        }
        tx.execute_batch(sql).map_err(mig_err)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at)
             VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
            rusqlite::params![version, name],
        )
        .map_err(mig_err)?;
        tx.commit().map_err(mig_err)?;
        tracing::info!(path = %path.display(), version, name, "Audit store migrated.");
    }
    Ok(())
}

/// Field names that must never be written to the audit store.
fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("token")
        || n.contains("private")
        || n.contains("secret")
        || n == "sign"
        || n == "sign_type"
}

/// Drops keys that could carry a secret (`app_auth_token`, `*private*`, `*secret*`,
/// `*token*`) or a signature (`sign`, `sign_type`) from a field map before it is stored.
pub fn scrub_fields(fields: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    fields
        .iter()
        .filter(|(k, _)| {
            let secret = is_secret_name(k);
            if secret {
                tracing::warn!(field = %k, "A field that may hold a secret was not written to the audit store.");
            }
            !secret
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: Migration = (1, "one", "CREATE TABLE one (x INTEGER);");
    const THREE: Migration = (3, "three", "CREATE TABLE three (x INTEGER);");
    const TWO: Migration = (2, "two", "CREATE TABLE two (x INTEGER);");

    #[test]
    fn a_gap_in_the_numbers_is_filled_later_and_nothing_runs_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let mut conn = Connection::open(&path).unwrap();
        migrate(&mut conn, &path, &[ONE, THREE]).unwrap();
        assert_eq!(recorded(&conn).unwrap(), vec![1, 3]);
        // A later build that knows 2 as well applies it to the store that has 3 already.
        migrate(&mut conn, &path, &[ONE, TWO, THREE]).unwrap();
        assert_eq!(recorded(&conn).unwrap(), vec![1, 2, 3]);
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name IN ('one', 'two', 'three')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 3);
        // Again: nothing to do (each CREATE TABLE would fail if run twice).
        migrate(&mut conn, &path, &[ONE, TWO, THREE]).unwrap();
        // A build that knows only 1 and 2 refuses a store that has 3.
        let err = migrate(&mut conn, &path, &[ONE, TWO]).unwrap_err();
        assert!(
            matches!(err, AuditError::NewerSchema { found: 3, known: 2 }),
            "{err:?}"
        );
    }

    #[test]
    fn read_only_open_names_a_known_migration_the_store_lacks_below_its_highest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        drop(AuditDb::open(&path).unwrap());
        AuditDb::open_read_only(&path).unwrap();
        // As if the store had been made by a build without migration 2 (a gap then).
        Connection::open(&path)
            .unwrap()
            .execute("DELETE FROM schema_migrations WHERE version = 2", [])
            .unwrap();
        let err = AuditDb::open_read_only(&path).unwrap_err();
        let known = known_version(MIGRATIONS);
        assert!(
            matches!(&err, AuditError::OlderSchema { found, missing, .. }
                if *found == known && missing == "2"),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("migrations 2 not applied"),
            "{err}"
        );
    }
}
