//! MySQL and MariaDB exports (mysql_async, TLS through rustls). The session asks for
//! utf8mb4 results (`SET NAMES utf8mb4`: the server converts latin1, GBK and other column
//! charsets to UTF-8), sets the statement limit (`max_statement_time` on MariaDB,
//! `max_execution_time` on MySQL) and opens a `READ ONLY` transaction. The query is
//! prepared first (one statement, its columns, nothing run) and then run with the text
//! protocol: every value arrives as the server's text (integers and DECIMAL as digits,
//! DATE as `yyyy-MM-dd`), NULL as absent. Rows are read from the socket one at a time.

use mysql_async::consts::ColumnType;
use mysql_async::prelude::Queryable;
use mysql_async::{Column, Conn, OptsBuilder, SslOpts, Value};

use super::db_error::is_tls;
use super::db_settings::{DbTls, Settings};
use super::sql_rows::{
    connect_with_retry, read_guard, Cell, ColumnKind, ConnectFailure, RowReader,
};
use super::{tls, DbError, Loaded, SourceConfig, SourceError};

/// The `binary` character set: bytes, not text.
const BINARY_CHARSET: u16 = 63;

pub(super) async fn check(cfg: &SourceConfig) -> Result<Vec<String>, SourceError> {
    let s = Settings::resolve(cfg)?;
    let mut conn = connect(&s).await?;
    begin(&mut conn, &s).await?;
    let reader = RowReader::new(cfg, columns(&mut conn, &s).await?)?;
    let _ = conn.query_drop("ROLLBACK").await;
    let _ = conn.disconnect().await;
    Ok(reader.headers().to_vec())
}

pub(super) async fn load(cfg: &SourceConfig) -> Result<Loaded, SourceError> {
    let s = Settings::resolve(cfg)?;
    let mut conn = connect(&s).await?;
    begin(&mut conn, &s).await?;
    let mut reader = RowReader::new(cfg, columns(&mut conn, &s).await?)?;
    {
        let mut result = conn
            .query_iter(s.query.as_str())
            .await
            .map_err(|e| query_error(&s, &e, 0))?;
        loop {
            let next = tokio::time::timeout(read_guard(&s), result.next())
                .await
                .map_err(|_| timeout(&s))?
                .map_err(|e| query_error(&s, &e, reader.rows()))?;
            let Some(row) = next else { break };
            reader.push((0..row.len()).map(|i| match row.as_ref(i) {
                None | Some(Value::NULL) => Cell::Null,
                Some(Value::Bytes(b)) => Cell::Bytes(b),
                // The text protocol sends every value as bytes.
                Some(_) => Cell::Bad("the server sent a binary-protocol value".to_string()),
            }));
        }
    }
    let _ = conn.query_drop("ROLLBACK").await;
    let _ = conn.disconnect().await;
    Ok(reader.finish())
}

fn ssl_opts(s: &Settings) -> Option<SslOpts> {
    match s.tls {
        DbTls::Disable => None,
        DbTls::Prefer | DbTls::Require => {
            Some(SslOpts::default().with_danger_accept_invalid_certs(true))
        }
        DbTls::VerifyFull => Some(match &s.ca_file {
            Some(path) => SslOpts::default()
                .with_root_certs(vec![path.clone().into()])
                .with_disable_built_in_roots(true),
            None => SslOpts::default(),
        }),
    }
}

async fn connect(s: &Settings) -> Result<Conn, SourceError> {
    tls::install_default_provider();
    if let (DbTls::VerifyFull, Some(path)) = (s.tls, &s.ca_file) {
        // The driver reads the file itself; a clear message first.
        tls::read_ca_file(path).map_err(|reason| {
            SourceError::from(DbError::Access {
                file: s.name.clone(),
                reason,
            })
        })?;
    }
    let base = OptsBuilder::default()
        .ip_or_hostname(s.target.host.clone())
        .tcp_port(s.target.port)
        .user(Some(s.target.user.clone()))
        .pass(s.password.as_ref().map(|p| p.expose().to_string()))
        .db_name(Some(s.target.database.clone()))
        // Never switch to the server's Unix socket (that would bypass TLS).
        .prefer_socket(false)
        .stmt_cache_size(0);
    connect_with_retry(s, || {
        let base = base.clone();
        async move {
            let with_tls = base.clone().ssl_opts(ssl_opts(s));
            match Conn::new(with_tls).await {
                Ok(conn) => Ok(conn),
                // `prefer`: the server offers no TLS, so plain.
                Err(mysql_async::Error::Driver(
                    mysql_async::DriverError::NoClientSslFlagFromServer,
                )) if s.tls == DbTls::Prefer => Conn::new(base.ssl_opts(None::<SslOpts>))
                    .await
                    .map_err(|e| connect_failure(s, &e)),
                Err(e) => Err(connect_failure(s, &e)),
            }
        }
    })
    .await
}

/// utf8mb4 results, the statement limit, a read-only transaction.
async fn begin(conn: &mut Conn, s: &Settings) -> Result<(), SourceError> {
    let version: Option<String> = conn
        .query_first("SELECT VERSION()")
        .await
        .map_err(|e| query_error(s, &e, 0))?;
    let mariadb = version.is_some_and(|v| v.to_ascii_lowercase().contains("mariadb"));
    let limit = if mariadb {
        format!(
            "SET SESSION max_statement_time = {:.3}",
            s.statement_timeout.as_secs_f64().max(0.001)
        )
    } else {
        format!(
            "SET SESSION max_execution_time = {}",
            s.statement_timeout.as_millis().max(1)
        )
    };
    for statement in ["SET NAMES utf8mb4", &limit, "START TRANSACTION READ ONLY"] {
        conn.query_drop(statement)
            .await
            .map_err(|e| query_error(s, &e, 0))?;
    }
    Ok(())
}

/// Prepare the query (nothing runs) for its columns.
async fn columns(conn: &mut Conn, s: &Settings) -> Result<Vec<(String, ColumnKind)>, SourceError> {
    let statement = conn
        .prep(s.query.as_str())
        .await
        .map_err(|e| query_error(s, &e, 0))?;
    let columns = statement
        .columns()
        .iter()
        .map(|c| (c.name_str().into_owned(), kind_of(c)))
        .collect();
    let _ = conn.close(statement).await;
    Ok(columns)
}

fn kind_of(c: &Column) -> ColumnKind {
    use ColumnType::*;
    let bytes = c.character_set() == BINARY_CHARSET;
    let name = match c.column_type() {
        MYSQL_TYPE_BIT => "BIT",
        MYSQL_TYPE_GEOMETRY => "GEOMETRY",
        MYSQL_TYPE_VECTOR => "VECTOR",
        MYSQL_TYPE_TINY_BLOB | MYSQL_TYPE_MEDIUM_BLOB | MYSQL_TYPE_LONG_BLOB | MYSQL_TYPE_BLOB
            if bytes =>
        {
            "BLOB"
        }
        MYSQL_TYPE_VAR_STRING | MYSQL_TYPE_VARCHAR if bytes => "VARBINARY",
        MYSQL_TYPE_STRING if bytes => "BINARY",
        _ => return ColumnKind::Text,
    };
    ColumnKind::Binary(name.to_string())
}

fn server_text(e: &mysql_async::ServerError) -> String {
    format!(
        "{} (MySQL error {}, SQLSTATE {})",
        e.message, e.code, e.state
    )
}

fn connect_failure(s: &Settings, e: &mysql_async::Error) -> ConnectFailure {
    let access = |reason: String| {
        ConnectFailure::Fatal(DbError::Access {
            file: s.name.clone(),
            reason,
        })
    };
    match e {
        mysql_async::Error::Server(server) => match server.code {
            // Too many connections: the server is busy, not misconfigured.
            1040 | 1203 => ConnectFailure::Unreachable(server_text(server)),
            1049 => access(format!(
                "no such database (check source.url): {}",
                server_text(server)
            )),
            1044 => access(format!(
                "the user may not use this database, or it does not exist (check source.url): {}",
                server_text(server)
            )),
            _ => access(format!(
                "the server refused the login (check source.url's user, {} and the user's host and TLS requirements): {}",
                s.password_origin,
                server_text(server)
            )),
        },
        mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer) => {
            access(format!(
                "the server does not offer TLS, which tls = {:?} requires",
                s.tls.name()
            ))
        }
        mysql_async::Error::Io(mysql_async::IoError::Tls(t)) => {
            access(format!("TLS with tls = {:?} failed: {t}", s.tls.name()))
        }
        mysql_async::Error::Io(mysql_async::IoError::Io(io)) if is_tls(io) => {
            access(format!("TLS with tls = {:?} failed: {io}", s.tls.name()))
        }
        mysql_async::Error::Io(io) => ConnectFailure::Unreachable(io.to_string()),
        other => access(format!("cannot connect: {other}")),
    }
}

fn timeout(s: &Settings) -> SourceError {
    DbError::Timeout {
        file: s.name.clone(),
        timeout: humantime::format_duration(s.statement_timeout).to_string(),
    }
    .into()
}

/// Server errors the query caused are configuration problems (the message names the
/// column, or `near '…' at line N`); a timeout or a broken connection fails the run.
fn query_error(s: &Settings, e: &mysql_async::Error, row: u64) -> SourceError {
    let read = |reason: String| {
        SourceError::from(DbError::Read {
            file: s.name.clone(),
            row,
            reason,
        })
    };
    let mysql_async::Error::Server(server) = e else {
        return read(e.to_string());
    };
    match server.code {
        // MariaDB max_statement_time, MySQL max_execution_time.
        1969 | 3024 => timeout(s),
        // Shutdown, network, lock and kill errors: the server's trouble, not the query's.
        1053 | 1152..=1161 | 1205 | 1213 | 1317 | 1927 | 2006 | 2013 => read(server_text(server)),
        1792 => DbError::Query {
            file: s.name.clone(),
            reason: format!("the query tried to write: {}", server_text(server)),
        }
        .into(),
        _ => DbError::Query {
            file: s.name.clone(),
            reason: server_text(server),
        }
        .into(),
    }
}
