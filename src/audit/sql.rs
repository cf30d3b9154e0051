//! Conversions between Rust values and the store's text columns: timestamps, enums,
//! JSON field maps.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ValueRef};

use super::AuditError;

/// A timestamp as stored: RFC 3339, UTC, milliseconds, `Z` (fixed width, so text order
/// is time order).
pub(crate) fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A stored timestamp column, parsed back.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ts(pub DateTime<Utc>);

impl FromSql for Ts {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        DateTime::parse_from_rfc3339(text)
            .map(|t| Ts(t.with_timezone(&Utc)))
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

/// An optional stored timestamp.
pub(crate) fn opt_ts(v: Option<Ts>) -> Option<DateTime<Utc>> {
    v.map(|t| t.0)
}

/// Implements `ToSql`/`FromSql` for a fieldless enum stored as fixed words.
macro_rules! text_enum {
    ($ty:ty { $($variant:ident => $word:literal),+ $(,)? }) => {
        impl $ty {
            /// The word stored in the audit store (and printed by `audit`).
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $word),+ }
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl rusqlite::ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(self.as_str().into())
            }
        }
        impl rusqlite::types::FromSql for $ty {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                match value.as_str()? {
                    $($word => Ok(Self::$variant),)+
                    other => Err(rusqlite::types::FromSqlError::Other(
                        format!("unknown {} {other:?}", stringify!($ty)).into(),
                    )),
                }
            }
        }
    };
}
pub(crate) use text_enum;

pub(crate) fn fields_to_json(
    fields: &BTreeMap<String, String>,
    column: &'static str,
) -> Result<String, AuditError> {
    serde_json::to_string(fields).map_err(|source| AuditError::Json { column, source })
}

pub(crate) fn fields_from_json(
    text: &str,
    column: &'static str,
) -> Result<BTreeMap<String, String>, AuditError> {
    serde_json::from_str(text).map_err(|source| AuditError::Json { column, source })
}

/// `serialize_with` helpers: chrono's serde feature is off in this crate.
pub(crate) mod ser {
    use chrono::{DateTime, Utc};
    use serde::Serializer;

    pub fn time<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::ts(*t))
    }

    pub fn opt_time<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&super::ts(*t)),
            None => s.serialize_none(),
        }
    }
}
