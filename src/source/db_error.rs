//! What can go wrong reading a database server, classified once into what the operator
//! must do: fix the configuration (exit 78) or look at the server (the run fails, exit 1).
//! `file` is the source's name: its URL without any password. No variant ever holds the
//! password (the servers' own messages name the user, never the password).

use crate::exit::Exit;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The server refused the user, the password or the database, the TLS settings do not
    /// fit the server, or the password source is unreadable.
    #[error("{file}: {reason}")]
    Access { file: String, reason: String },
    /// No connection within `connect_retry` (refused, timed out, no route, starting up).
    #[error("{file}: server unreachable after {attempts} attempts over {:.1} s (source.connect_retry): {reason}", *waited_ms as f64 / 1000.0)]
    Unreachable {
        file: String,
        attempts: u32,
        waited_ms: u64,
        reason: String,
    },
    /// The server refused the query: syntax, an unknown column or table, a permission, an
    /// attempt to write. `reason` carries the line and column or the name the server gave.
    #[error("{file}: source.query: {reason}")]
    Query { file: String, reason: String },
    /// The query ran longer than `statement_timeout`.
    #[error("{file}: source.query did not finish within source.statement_timeout = {timeout}; the server cancelled it")]
    Timeout { file: String, timeout: String },
    /// A column mapped to a field holds bytes, not text.
    #[error("{file}: column {column:?} is {type_name}, a binary type; shopsync reads text: cast it to text in source.query or leave it out of the mapping")]
    BinaryColumn {
        file: String,
        column: String,
        type_name: String,
    },
    /// The connection broke or the server failed while the rows were read.
    #[error("{file}: reading the rows failed after row {row}: {reason}")]
    Read {
        file: String,
        row: u64,
        reason: String,
    },
}

impl DbError {
    /// Configuration problems exit 78; a server that is down, slow or failing exits 1.
    pub fn exit(&self) -> Exit {
        match self {
            DbError::Access { .. } | DbError::Query { .. } | DbError::BinaryColumn { .. } => {
                Exit::Config
            }
            DbError::Unreachable { .. } | DbError::Timeout { .. } | DbError::Read { .. } => {
                Exit::Failed
            }
        }
    }
}

/// 1-based line and column of the 1-based character `position` in `query` (what
/// PostgreSQL reports for a query error).
pub(super) fn line_and_column(query: &str, position: usize) -> (usize, usize) {
    let (mut line, mut column) = (1, 1);
    for c in query.chars().take(position.saturating_sub(1)) {
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

/// Whether an I/O error chain carries a TLS failure (a certificate the settings refuse is a
/// configuration problem, not an unreachable server).
pub(super) fn is_tls(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if e.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
            {
                return true;
            }
        }
        next = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_become_lines_and_columns() {
        let q = "SELECT a,\n       bb\nFROM t";
        assert_eq!(line_and_column(q, 1), (1, 1));
        assert_eq!(line_and_column(q, 18), (2, 8));
        assert_eq!(line_and_column(q, 21), (3, 1));
    }

    #[test]
    fn config_problems_exit_78_and_server_trouble_exits_1() {
        let f = || "postgres://u@h:5432/d".to_string();
        let access = DbError::Access {
            file: f(),
            reason: "password authentication failed for user \"u\"".into(),
        };
        assert_eq!(access.exit(), Exit::Config);
        let down = DbError::Unreachable {
            file: f(),
            attempts: 3,
            waited_ms: 2100,
            reason: "connection refused".into(),
        };
        assert_eq!(down.exit(), Exit::Failed);
        assert!(down.to_string().starts_with("postgres://u@h:5432/d: "));
    }
}
