//! SQLite exports: run the configured query on a read-only connection; result columns map
//! like CSV headers, values are rendered as text, and a row's "line" is its 1-based number.

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::mapping::{clean_headers, Collector, Mapping};
use super::{file_name, Loaded, SourceConfig, SourceError, MAX_RECORD_BYTES};

fn open(cfg: &SourceConfig) -> Result<(Connection, String), SourceError> {
    let file = file_name(cfg);
    let query = cfg.query.clone().ok_or_else(|| SourceError::BadConfig {
        file: file.clone(),
        reason: "kind = \"sqlite\" needs source.query (e.g. SELECT * FROM stores)".to_string(),
    })?;
    if !cfg.path.is_file() {
        return Err(SourceError::Open {
            file,
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such database file"),
        });
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&cfg.path, flags)
        .map_err(|source| SourceError::Sql { file, source })?;
    Ok((conn, query))
}

fn sql(cfg: &SourceConfig) -> impl Fn(rusqlite::Error) -> SourceError + '_ {
    move |source| SourceError::Sql {
        file: file_name(cfg),
        source,
    }
}

/// Render one value as the text a CSV cell would hold; Err for an undecodable value.
fn render(v: ValueRef<'_>) -> Result<String, String> {
    match v {
        ValueRef::Null => Ok(String::new()),
        ValueRef::Integer(i) => Ok(i.to_string()),
        ValueRef::Real(r) => Ok(r.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8(t.to_vec()).map_err(|e| {
            format!(
                "value is not valid UTF-8 (byte {})",
                e.utf8_error().valid_up_to() + 1
            )
        }),
    }
}

/// Refuse a statement that would write (the connection is read-only as well).
fn read_only(cfg: &SourceConfig, stmt: &rusqlite::Statement<'_>) -> Result<(), SourceError> {
    if stmt.readonly() {
        Ok(())
    } else {
        Err(SourceError::BadConfig {
            file: file_name(cfg),
            reason: "source.query must only read (SELECT)".to_string(),
        })
    }
}

pub(super) fn check(cfg: &SourceConfig) -> Result<Vec<String>, SourceError> {
    let (conn, query) = open(cfg)?;
    let stmt = conn.prepare(&query).map_err(sql(cfg))?;
    read_only(cfg, &stmt)?;
    let headers = clean_headers(
        stmt.column_names()
            .into_iter()
            .map(str::to_string)
            .collect(),
    );
    Mapping::new(cfg, &headers)?;
    Ok(headers)
}

pub(super) fn load(cfg: &SourceConfig) -> Result<Loaded, SourceError> {
    let (conn, query) = open(cfg)?;
    let mut stmt = conn.prepare(&query).map_err(sql(cfg))?;
    read_only(cfg, &stmt)?;
    let headers = clean_headers(
        stmt.column_names()
            .into_iter()
            .map(str::to_string)
            .collect(),
    );
    let width = headers.len();
    let mut collector = Collector::new(Mapping::new(cfg, &headers)?);
    let mut rows = stmt.query([]).map_err(sql(cfg))?;
    let mut line = 0u64;
    while let Some(row) = rows.next().map_err(sql(cfg))? {
        line += 1;
        let mut cells = Vec::with_capacity(width);
        let mut problem = None;
        let mut size = 0usize;
        for (i, header) in headers.iter().enumerate() {
            match row.get_ref(i).map_err(sql(cfg)).map(render)? {
                Ok(s) => {
                    size += s.len();
                    cells.push(s);
                }
                Err(reason) => {
                    problem.get_or_insert(format!("column {header:?}: {reason}"));
                    cells.push(String::new());
                }
            }
        }
        if size > MAX_RECORD_BYTES {
            problem = Some(format!("row longer than {MAX_RECORD_BYTES} bytes; skipped"));
        }
        match problem {
            Some(reason) => collector.unreadable(line, &cells, reason),
            None => {
                let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
                collector.row(line, &refs);
            }
        }
    }
    Ok(collector.finish())
}
