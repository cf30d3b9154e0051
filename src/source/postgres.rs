//! PostgreSQL exports (tokio-postgres, TLS through rustls). The query runs in a
//! `READ ONLY` transaction with the session's `statement_timeout`; it is prepared first
//! (one statement, its column names and types, nothing run), then run with the simple
//! query protocol, whose rows arrive as the server's own text: integers and `numeric` as
//! their digits, dates as `yyyy-MM-dd` (`DateStyle = ISO`), text in UTF-8
//! (`client_encoding`), NULL as absent. Rows stream: the driver stops reading the socket
//! while a batch waits, so memory holds a few socket buffers besides the stores kept.

use std::pin::pin;

use futures::StreamExt;
use tokio_postgres::error::{ErrorPosition, SqlState};
use tokio_postgres::types::{Kind, Type};
use tokio_postgres::{Client, SimpleQueryMessage};

use super::db_error::{is_tls, line_and_column};
use super::db_settings::{DbTls, Settings};
use super::sql_rows::{
    connect_with_retry, read_guard, Cell, ColumnKind, ConnectFailure, RowReader,
};
use super::{tls, DbError, Loaded, SourceConfig, SourceError};

pub(super) async fn check(cfg: &SourceConfig) -> Result<Vec<String>, SourceError> {
    let s = Settings::resolve(cfg)?;
    let client = connect(&s).await?;
    begin(&client, &s).await?;
    let reader = RowReader::new(cfg, columns(&client, &s).await?)?;
    let _ = client.batch_execute("ROLLBACK").await;
    Ok(reader.headers().to_vec())
}

pub(super) async fn load(cfg: &SourceConfig) -> Result<Loaded, SourceError> {
    let s = Settings::resolve(cfg)?;
    let client = connect(&s).await?;
    begin(&client, &s).await?;
    let mut reader = RowReader::new(cfg, columns(&client, &s).await?)?;
    let stream = client
        .simple_query_raw(&s.query)
        .await
        .map_err(|e| query_error(&s, &e, 0))?;
    let mut stream = pin!(stream);
    loop {
        let next = tokio::time::timeout(read_guard(&s), stream.next())
            .await
            .map_err(|_| timeout(&s))?;
        match next {
            None => break,
            Some(Err(e)) => return Err(query_error(&s, &e, reader.rows())),
            Some(Ok(SimpleQueryMessage::Row(row))) => {
                reader.push((0..row.len()).map(|i| {
                    match row.try_get(i) {
                        Ok(Some(text)) => Cell::Bytes(text.as_bytes()),
                        Ok(None) => Cell::Null,
                        Err(_) => Cell::Bad(
                            "value is not valid UTF-8 (a SQL_ASCII database holding other bytes?)"
                                .to_string(),
                        ),
                    }
                }));
            }
            Some(Ok(_)) => {}
        }
    }
    let _ = client.batch_execute("ROLLBACK").await;
    Ok(reader.finish())
}

async fn connect(s: &Settings) -> Result<Client, SourceError> {
    let config = tls::client_config(s.tls, s.ca_file.as_deref()).map_err(|reason| {
        SourceError::from(DbError::Access {
            file: s.name.clone(),
            reason,
        })
    })?;
    let make_tls = tokio_postgres_rustls::MakeRustlsConnect::new(config);
    let mut pg = tokio_postgres::Config::new();
    pg.host(&s.target.host)
        .port(s.target.port)
        .dbname(&s.target.database)
        .user(&s.target.user)
        .application_name("shopsync")
        .connect_timeout(s.connect_timeout)
        .ssl_mode(match s.tls {
            DbTls::Disable => tokio_postgres::config::SslMode::Disable,
            DbTls::Prefer => tokio_postgres::config::SslMode::Prefer,
            DbTls::Require | DbTls::VerifyFull => tokio_postgres::config::SslMode::Require,
        });
    if let Some(password) = &s.password {
        pg.password(password.expose());
    }
    connect_with_retry(s, || {
        let (pg, make_tls) = (pg.clone(), make_tls.clone());
        async move {
            match pg.connect(make_tls).await {
                Ok((client, connection)) => {
                    tokio::spawn(async move {
                        if let Err(e) = connection.await {
                            tracing::debug!(error = %e, "PostgreSQL connection ended with an error.");
                        }
                    });
                    Ok(client)
                }
                Err(e) => Err(connect_failure(s, &e)),
            }
        }
    })
    .await
}

/// A read-only transaction with the query's limits and the text forms we read.
async fn begin(client: &Client, s: &Settings) -> Result<(), SourceError> {
    let setup = format!(
        "START TRANSACTION READ ONLY; \
         SET LOCAL statement_timeout = {}; \
         SET LOCAL DateStyle = 'ISO, YMD'; \
         SET LOCAL IntervalStyle = 'postgres'; \
         SET LOCAL standard_conforming_strings = on; \
         SET LOCAL bytea_output = 'hex'",
        s.statement_timeout.as_millis().max(1)
    );
    client
        .batch_execute(&setup)
        .await
        .map_err(|e| query_error(s, &e, 0))
}

/// Prepare the query (nothing runs) for its column names and types.
async fn columns(client: &Client, s: &Settings) -> Result<Vec<(String, ColumnKind)>, SourceError> {
    let statement = client
        .prepare(&s.query)
        .await
        .map_err(|e| query_error(s, &e, 0))?;
    Ok(statement
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), kind_of(c.type_())))
        .collect())
}

fn kind_of(ty: &Type) -> ColumnKind {
    let binary = |t: &Type| *t == Type::BYTEA || *t == Type::BYTEA_ARRAY;
    match ty.kind() {
        _ if binary(ty) => ColumnKind::Binary(ty.name().to_string()),
        Kind::Domain(inner) if binary(inner) => {
            ColumnKind::Binary(format!("{} (a domain over {})", ty.name(), inner.name()))
        }
        _ => ColumnKind::Text,
    }
}

/// The error's text with its causes, each once.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        next = cause.source();
    }
    text
}

fn connect_failure(s: &Settings, e: &tokio_postgres::Error) -> ConnectFailure {
    let access = |reason: String| {
        ConnectFailure::Fatal(DbError::Access {
            file: s.name.clone(),
            reason,
        })
    };
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        if *code == SqlState::CANNOT_CONNECT_NOW || *code == SqlState::TOO_MANY_CONNECTIONS {
            return ConnectFailure::Unreachable(db.message().to_string());
        }
        let what = if code.code().starts_with("28") {
            format!(
                "the server refused the login (check source.url's user and {})",
                s.password_origin
            )
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            "no such database (check source.url)".to_string()
        } else {
            "the server refused the connection".to_string()
        };
        return access(format!(
            "{what}: {} (SQLSTATE {})",
            db.message(),
            code.code()
        ));
    }
    if is_tls(e) {
        return access(format!(
            "TLS with tls = {:?} failed: {}",
            s.tls.name(),
            chain(e)
        ));
    }
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(cause) = next {
        if cause.is::<std::io::Error>() {
            return ConnectFailure::Unreachable(chain(e));
        }
        next = cause.source();
    }
    access(format!(
        "cannot connect (tls = {:?}): {}",
        s.tls.name(),
        chain(e)
    ))
}

fn timeout(s: &Settings) -> SourceError {
    DbError::Timeout {
        file: s.name.clone(),
        timeout: humantime::format_duration(s.statement_timeout).to_string(),
    }
    .into()
}

/// The server refused or cancelled the query (a configuration problem, with the line and
/// column it reported), or the connection failed while the rows were read.
fn query_error(s: &Settings, e: &tokio_postgres::Error, row: u64) -> SourceError {
    let Some(db) = e.as_db_error() else {
        return DbError::Read {
            file: s.name.clone(),
            row,
            reason: chain(e),
        }
        .into();
    };
    let code = db.code();
    if *code == SqlState::QUERY_CANCELED {
        return timeout(s);
    }
    if *code == SqlState::CHARACTER_NOT_IN_REPERTOIRE || *code == SqlState::UNTRANSLATABLE_CHARACTER
    {
        // The data, not the query: e.g. a SQL_ASCII database holding other bytes.
        return DbError::Read {
            file: s.name.clone(),
            row,
            reason: format!(
                "{} (SQLSTATE {}): the database holds text that is not valid UTF-8, which the \
                 server will not send; fix the data, or convert the column in source.query",
                db.message(),
                code.code()
            ),
        }
        .into();
    }
    let class = &code.code()[..2];
    let mut reason = String::new();
    if let Some(ErrorPosition::Original(at)) = db.position() {
        let (line, column) = line_and_column(&s.query, *at as usize);
        reason.push_str(&format!("line {line}, column {column}: "));
    }
    if *code == SqlState::READ_ONLY_SQL_TRANSACTION {
        reason.push_str("the query tried to write: ");
    }
    reason.push_str(db.message());
    if let Some(column) = db.column() {
        reason.push_str(&format!(" (column {column})"));
    }
    reason.push_str(&format!(" (SQLSTATE {})", code.code()));
    if let Some(hint) = db.hint() {
        reason.push_str(&format!("; hint: {hint}"));
    }
    if matches!(class, "42" | "22" | "0A" | "25" | "2B" | "3F") {
        DbError::Query {
            file: s.name.clone(),
            reason,
        }
        .into()
    } else {
        DbError::Read {
            file: s.name.clone(),
            row,
            reason,
        }
        .into()
    }
}
