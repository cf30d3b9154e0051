//! What the PostgreSQL and MySQL readers share: rows of text cells into the same
//! [`Collector`] the CSV and SQLite readers use (so validation and rejects are identical),
//! binary columns refused by name, connecting with bounded retries, and running a driver
//! from blocking code.

use std::future::Future;
use std::time::Duration;

use super::db_settings::Settings;
use super::mapping::{clean_headers, Collector, Mapping};
use super::{DbError, Loaded, SourceConfig, SourceError, MAX_RECORD_BYTES};

/// What a result column holds, from the server's type information.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ColumnKind {
    /// Rendered as text by the server (strings, numbers, dates, booleans, JSON…).
    Text,
    /// Bytes (`bytea`, `BLOB`, `VARBINARY`, `BIT`…), named by its type.
    Binary(String),
}

/// One cell as the driver hands it over.
pub(super) enum Cell<'a> {
    /// NULL: the field is absent (its default applies, if any).
    Null,
    /// Bytes that should be UTF-8 text.
    Bytes(&'a [u8]),
    /// The driver could not read the value.
    Bad(String),
}

/// Feeds rows into a [`Collector`]; a row's "line" is its 1-based number.
pub(super) struct RowReader {
    collector: Collector,
    headers: Vec<String>,
    /// Binary columns no field reads: never decoded.
    skip: Vec<bool>,
    line: u64,
}

impl RowReader {
    /// Check the mapping against the result's columns: a missing column is a
    /// [`SourceError::MissingColumn`] and a mapped binary column a
    /// [`DbError::BinaryColumn`], as `validate` reports them.
    pub fn new(
        cfg: &SourceConfig,
        columns: Vec<(String, ColumnKind)>,
    ) -> Result<RowReader, SourceError> {
        let (names, kinds): (Vec<String>, Vec<ColumnKind>) = columns.into_iter().unzip();
        let headers = clean_headers(names);
        let mapping = Mapping::new(cfg, &headers)?;
        for (i, kind) in kinds.iter().enumerate() {
            if let ColumnKind::Binary(type_name) = kind {
                if mapping.uses(i) {
                    return Err(DbError::BinaryColumn {
                        file: super::file_name(cfg),
                        column: headers[i].clone(),
                        type_name: type_name.clone(),
                    }
                    .into());
                }
            }
        }
        let skip = kinds
            .iter()
            .map(|k| matches!(k, ColumnKind::Binary(_)))
            .collect();
        Ok(RowReader {
            collector: Collector::new(mapping),
            headers,
            skip,
            line: 0,
        })
    }

    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Rows read so far.
    pub fn rows(&self) -> u64 {
        self.line
    }

    /// One row, its cells in column order.
    pub fn push<'a>(&mut self, cells: impl IntoIterator<Item = Cell<'a>>) {
        self.line += 1;
        let mut texts: Vec<String> = Vec::with_capacity(self.headers.len());
        let mut problem = None;
        let mut size = 0usize;
        for (i, cell) in cells.into_iter().enumerate() {
            if self.skip.get(i).copied().unwrap_or(false) {
                texts.push(String::new());
                continue;
            }
            let text = match cell {
                Cell::Null => Ok(String::new()),
                Cell::Bytes(b) => std::str::from_utf8(b).map(str::to_string).map_err(|e| {
                    format!(
                        "value is not valid UTF-8 (byte {}); store text as UTF-8/utf8mb4",
                        e.valid_up_to() + 1
                    )
                }),
                Cell::Bad(reason) => Err(reason),
            };
            match text {
                Ok(s) => {
                    size += s.len();
                    texts.push(s);
                }
                Err(reason) => {
                    problem.get_or_insert(format!("column {:?}: {reason}", self.headers[i]));
                    texts.push(String::new());
                }
            }
        }
        if size > MAX_RECORD_BYTES {
            problem = Some(format!("row longer than {MAX_RECORD_BYTES} bytes; skipped"));
        }
        match problem {
            Some(reason) => self.collector.unreadable(self.line, &texts, reason),
            None => {
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                self.collector.row(self.line, &refs);
            }
        }
    }

    pub fn finish(self) -> Loaded {
        self.collector.finish()
    }
}

/// Why one connection attempt failed.
pub(super) enum ConnectFailure {
    /// Worth another attempt: refused, timed out, no route, the server starting up.
    Unreachable(String),
    /// Retrying cannot help (wrong password, no such database, TLS refused).
    Fatal(DbError),
}

const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// Connect, retrying an unreachable server with doubling pauses (0.25 s up to 8 s) for
/// `connect_retry` in all; every attempt is bounded by `connect_timeout`.
pub(super) async fn connect_with_retry<T, F, Fut>(
    s: &Settings,
    mut attempt: F,
) -> Result<T, SourceError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ConnectFailure>>,
{
    let started = tokio::time::Instant::now();
    let mut pause = FIRST_BACKOFF;
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let reason = match tokio::time::timeout(s.connect_timeout, attempt()).await {
            Ok(Ok(connection)) => return Ok(connection),
            Ok(Err(ConnectFailure::Fatal(e))) => return Err(e.into()),
            Ok(Err(ConnectFailure::Unreachable(reason))) => reason,
            Err(_) => format!(
                "no answer within source.connect_timeout = {}",
                humantime::format_duration(s.connect_timeout)
            ),
        };
        let waited = started.elapsed();
        if waited + pause > s.connect_retry {
            return Err(DbError::Unreachable {
                file: s.name.clone(),
                attempts,
                waited_ms: waited.as_millis() as u64,
                reason,
            }
            .into());
        }
        tracing::warn!(
            source = %s.name,
            attempt = attempts,
            retry_in_ms = pause.as_millis() as u64,
            error = %reason,
            "Database unreachable; retrying."
        );
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_BACKOFF);
    }
}

/// Run `fut` to completion on a current-thread runtime of its own, on a thread of its own,
/// so blocking callers can use the async drivers from anywhere (even inside a runtime).
pub(super) fn block_on_own_thread<F>(fut: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    std::thread::scope(|scope| {
        let worker = scope.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime for the database driver")
                .block_on(fut)
        });
        worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// The per-message guard while rows stream: the server's own limit plus a margin, so a
/// connection that goes silent cannot hang the run.
pub(super) fn read_guard(s: &Settings) -> Duration {
    s.statement_timeout + Duration::from_secs(5)
}
