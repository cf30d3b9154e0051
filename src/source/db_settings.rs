//! The `[source]` keys of the database servers (`kind = "postgres"` / `"mysql"`): the URL
//! (host, port, database, user; never a password), where the password comes from, TLS and
//! the time limits. [`check`] needs no network; [`Settings::resolve`] also reads the
//! password, just before connecting.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::sql_statement::{self, Dialect};
use super::{file_name, DbError, SourceConfig, SourceError, SourceKind};
use crate::secret::Secret;

/// One connection attempt's limit when `connect_timeout` is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an unreachable server is retried when `connect_retry` is not set.
pub const DEFAULT_CONNECT_RETRY: Duration = Duration::from_secs(60);
/// The query's limit on the server when `statement_timeout` is not set.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(300);

/// `[source] tls`: how the connection to the database server is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DbTls {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, else plain; the certificate is not checked.
    #[default]
    Prefer,
    /// TLS or no connection; the certificate is not checked (encryption against a
    /// passive listener, not against an impostor).
    Require,
    /// TLS, the certificate chains to `ca_file` (else to the Mozilla roots) and names the
    /// host of the URL.
    VerifyFull,
}

impl DbTls {
    pub fn name(self) -> &'static str {
        match self {
            DbTls::Disable => "disable",
            DbTls::Prefer => "prefer",
            DbTls::Require => "require",
            DbTls::VerifyFull => "verify-full",
        }
    }
}

pub(super) fn de_opt_duration<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s)
        .map(Some)
        .map_err(|e| serde::de::Error::custom(format!("{s:?} is not a duration like \"30s\": {e}")))
}

/// Host, port, database and user, from `[source] url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Target {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
}

fn schemes(kind: SourceKind) -> &'static [&'static str] {
    match kind {
        SourceKind::Postgres => &["postgres", "postgresql"],
        SourceKind::Mysql => &["mysql", "mariadb"],
        SourceKind::Csv | SourceKind::Sqlite => &[],
    }
}

fn default_port(kind: SourceKind) -> u16 {
    match kind {
        SourceKind::Mysql => 3306,
        _ => 5432,
    }
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Parse `url` for `kind`. The messages never repeat the URL: it might hold a password.
pub(super) fn parse_url(kind: SourceKind, url: &str) -> Result<Target, String> {
    let example = format!("{}://USER@HOST:PORT/DATABASE", schemes(kind)[0]);
    let parsed = url::Url::parse(url.trim())
        .map_err(|e| format!("source.url is not a URL like {example}: {e}"))?;
    if parsed.password().is_some() {
        return Err(
            "source.url must not contain a password: put it in a file named by \
             password_file (or password_file = \"credential:NAME\" under systemd), or name an \
             environment variable in password_env"
                .to_string(),
        );
    }
    if !schemes(kind).contains(&parsed.scheme()) {
        return Err(format!(
            "source.url must start with {}:// for kind = {:?}",
            schemes(kind).join(":// or "),
            kind_name(kind)
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(
            "source.url takes no ?parameters: TLS, timeouts and the password have their own \
             [source] keys"
                .to_string(),
        );
    }
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| format!("source.url names no host (expected {example})"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let user = decode(parsed.username());
    if user.is_empty() {
        return Err(format!("source.url names no user (expected {example})"));
    }
    let database = decode(parsed.path().trim_start_matches('/'));
    if database.is_empty() || database.contains('/') {
        return Err(format!(
            "source.url must name one database after the host (expected {example})"
        ));
    }
    Ok(Target {
        host,
        port: parsed.port().unwrap_or(default_port(kind)),
        database,
        user,
    })
}

fn kind_name(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Csv => "csv",
        SourceKind::Sqlite => "sqlite",
        SourceKind::Postgres => "postgres",
        SourceKind::Mysql => "mysql",
    }
}

fn dialect(kind: SourceKind) -> Dialect {
    match kind {
        SourceKind::Mysql => Dialect::Mysql,
        _ => Dialect::Postgres,
    }
}

/// The source's name in rejects, errors, logs and the audit store: the URL rebuilt from
/// its parts, so a password can never be in it.
pub(super) fn display_url(cfg: &SourceConfig) -> String {
    let scheme = schemes(cfg.kind).first().copied().unwrap_or("db");
    match cfg.url.as_deref().map(|u| parse_url(cfg.kind, u)) {
        Some(Ok(t)) if t.host.contains(':') => {
            format!(
                "{scheme}://{}@[{}]:{}/{}",
                t.user, t.host, t.port, t.database
            )
        }
        Some(Ok(t)) => format!("{scheme}://{}@{}:{}/{}", t.user, t.host, t.port, t.database),
        _ => format!("{scheme} source (source.url)"),
    }
}

/// e.g. `postgres://pos@10.0.0.5:5432/pos (postgres, tls prefer)`.
pub(super) fn describe(cfg: &SourceConfig) -> String {
    format!(
        "{} ({}, tls {})",
        display_url(cfg),
        kind_name(cfg.kind),
        cfg.tls.unwrap_or_default().name()
    )
}

/// The server keys are refused for a file source, and `path` for a server.
pub(super) fn check_keys_fit_kind(cfg: &SourceConfig) -> Result<(), SourceError> {
    let bad = |reason: String| SourceError::BadConfig {
        file: file_name(cfg),
        reason,
    };
    if cfg.kind.is_server() {
        if !cfg.path.as_os_str().is_empty() {
            return Err(bad(format!(
                "source.path is not used with kind = {:?}: the database is named by source.url",
                kind_name(cfg.kind)
            )));
        }
        return Ok(());
    }
    if cfg.path.as_os_str().is_empty() {
        return Err(bad(format!(
            "kind = {:?} needs source.path",
            kind_name(cfg.kind)
        )));
    }
    let server_keys = [
        ("url", cfg.url.is_some()),
        ("password_file", cfg.password_file.is_some()),
        ("password_env", cfg.password_env.is_some()),
        ("tls", cfg.tls.is_some()),
        ("ca_file", cfg.ca_file.is_some()),
        ("connect_timeout", cfg.connect_timeout.is_some()),
        ("connect_retry", cfg.connect_retry.is_some()),
        ("statement_timeout", cfg.statement_timeout.is_some()),
    ];
    if let Some((key, _)) = server_keys.iter().find(|(_, set)| *set) {
        return Err(bad(format!(
            "source.{key} is only used with kind = \"postgres\" or \"mysql\""
        )));
    }
    Ok(())
}

/// Everything about a server source that can be checked without the network or the
/// password: the URL, the query (one SELECT), the password source and the TLS keys.
pub(super) fn check(cfg: &SourceConfig) -> Result<(), SourceError> {
    let bad = |reason: String| SourceError::BadConfig {
        file: file_name(cfg),
        reason,
    };
    let kind = kind_name(cfg.kind);
    let url = cfg.url.as_deref().ok_or_else(|| {
        bad(format!(
            "kind = {kind:?} needs source.url, e.g. {}://USER@HOST:PORT/DATABASE",
            schemes(cfg.kind)[0]
        ))
    })?;
    parse_url(cfg.kind, url).map_err(bad)?;
    let query = cfg.query.as_deref().ok_or_else(|| {
        bad(format!(
            "kind = {kind:?} needs source.query (e.g. SELECT * FROM stores)"
        ))
    })?;
    sql_statement::single_select(query, dialect(cfg.kind))
        .map_err(|reason| bad(format!("source.query: {reason}")))?;
    if cfg.password_file.is_some() && cfg.password_env.is_some() {
        return Err(bad(
            "set one of source.password_file and source.password_env, not both".to_string(),
        ));
    }
    if let Some(var) = &cfg.password_env {
        if var.is_empty() || var.contains('=') || var.contains('\0') {
            return Err(bad(format!(
                "source.password_env {var:?} is not an environment variable name"
            )));
        }
        if var.starts_with("SHOPSYNC_") {
            return Err(bad(format!(
                "source.password_env {var:?}: SHOPSYNC_* variables are configuration overrides; \
                 use another name, e.g. POS_DB_PASSWORD"
            )));
        }
    }
    let tls = cfg.tls.unwrap_or_default();
    if cfg.ca_file.is_some() && tls != DbTls::VerifyFull {
        return Err(bad(format!(
            "source.ca_file is only used with tls = \"verify-full\" (tls is {:?}, which checks no certificate)",
            tls.name()
        )));
    }
    for (key, value) in [
        ("connect_timeout", cfg.connect_timeout),
        ("statement_timeout", cfg.statement_timeout),
    ] {
        if value.is_some_and(|d| d.is_zero()) {
            return Err(bad(format!("source.{key} must be positive")));
        }
    }
    Ok(())
}

/// A server source ready to connect to: checked settings and the password.
pub(super) struct Settings {
    /// The source's name (URL without password).
    pub name: String,
    pub target: Target,
    pub password: Option<Secret>,
    /// Where the password came from, for messages: `the password in source.password_file
    /// /etc/…`, never the password.
    pub password_origin: String,
    pub tls: DbTls,
    pub ca_file: Option<PathBuf>,
    pub connect_timeout: Duration,
    pub connect_retry: Duration,
    pub statement_timeout: Duration,
    /// The query without a trailing `;`.
    pub query: String,
}

impl Settings {
    /// Check the settings and read the password.
    pub fn resolve(cfg: &SourceConfig) -> Result<Settings, SourceError> {
        check(cfg)?;
        let name = display_url(cfg);
        let url = cfg.url.as_deref().unwrap_or_default();
        let target = parse_url(cfg.kind, url).map_err(|reason| SourceError::BadConfig {
            file: name.clone(),
            reason,
        })?;
        let query = cfg.query.as_deref().unwrap_or_default();
        let query = sql_statement::single_select(query, dialect(cfg.kind))
            .map_err(|reason| SourceError::BadConfig {
                file: name.clone(),
                reason: format!("source.query: {reason}"),
            })?
            .to_string();
        let password = password(cfg, &name)?;
        let password_origin = match (&cfg.password_file, &cfg.password_env) {
            (Some(path), _) => format!(
                "the password in source.password_file {}",
                credential_path(path).display()
            ),
            (None, Some(var)) => format!("the password in source.password_env {var}"),
            (None, None) => {
                "the server's rules for a login without password (none is configured)".to_string()
            }
        };
        Ok(Settings {
            target,
            password,
            password_origin,
            tls: cfg.tls.unwrap_or_default(),
            ca_file: cfg.ca_file.as_deref().map(credential_path),
            connect_timeout: cfg.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            connect_retry: cfg.connect_retry.unwrap_or(DEFAULT_CONNECT_RETRY),
            statement_timeout: cfg.statement_timeout.unwrap_or(DEFAULT_STATEMENT_TIMEOUT),
            query,
            name,
        })
    }
}

/// `credential:NAME` left unresolved (a config built without `Config::load`) reads
/// `$CREDENTIALS_DIRECTORY/NAME`, as the config loader does.
fn credential_path(p: &Path) -> PathBuf {
    match p.to_str().and_then(|s| s.strip_prefix("credential:")) {
        Some(name) => crate::daemon::systemd::credentials_dir()
            .unwrap_or_else(|| PathBuf::from("/run/credentials/shopsync.service"))
            .join(name),
        None => p.to_path_buf(),
    }
}

/// The password from `password_file` (its first line) or `password_env`; None when neither
/// is set (the server may trust the host). Errors name the file or variable, never the
/// value.
fn password(cfg: &SourceConfig, name: &str) -> Result<Option<Secret>, SourceError> {
    let access = |reason: String| {
        SourceError::Database(DbError::Access {
            file: name.to_string(),
            reason,
        })
    };
    if let Some(path) = &cfg.password_file {
        let path = credential_path(path);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            access(format!(
                "cannot read source.password_file {}: {e}",
                path.display()
            ))
        })?;
        let first = text.lines().next().unwrap_or_default();
        if first.is_empty() {
            return Err(access(format!(
                "source.password_file {} is empty",
                path.display()
            )));
        }
        return Ok(Some(Secret::new(first)));
    }
    if let Some(var) = &cfg.password_env {
        return match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(Some(Secret::new(v))),
            Ok(_) => Err(access(format!(
                "source.password_env: the environment variable {var} is empty"
            ))),
            Err(_) => Err(access(format!(
                "source.password_env: the environment variable {var} is not set"
            ))),
        };
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_host_port_database_and_user() {
        let t = parse_url(SourceKind::Postgres, "postgres://pos@db.example:6432/shop").unwrap();
        assert_eq!(
            t,
            Target {
                host: "db.example".into(),
                port: 6432,
                database: "shop".into(),
                user: "pos".into()
            }
        );
        let t = parse_url(SourceKind::Mysql, "mariadb://r%40o@[::1]/门店").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 3306));
        assert_eq!((t.user.as_str(), t.database.as_str()), ("r@o", "门店"));
    }

    #[test]
    fn a_password_in_the_url_is_refused_without_repeating_it() {
        let err = parse_url(SourceKind::Postgres, "postgres://pos:s3cr3t-pw@h/db").unwrap_err();
        assert!(err.contains("must not contain a password"), "{err}");
        assert!(!err.contains("s3cr3t-pw"), "{err}");
        let cfg = SourceConfig {
            kind: SourceKind::Postgres,
            url: Some("postgres://pos:s3cr3t-pw@h/db".into()),
            query: Some("SELECT 1".into()),
            ..Default::default()
        };
        let shown = format!("{} {}", describe(&cfg), check(&cfg).unwrap_err());
        assert!(!shown.contains("s3cr3t-pw"), "{shown}");
    }

    #[test]
    fn wrong_scheme_missing_parts_and_parameters_are_refused() {
        for (kind, url, needle) in [
            (SourceKind::Mysql, "postgres://u@h/d", "mysql://"),
            (SourceKind::Postgres, "postgres://h/d", "no user"),
            (SourceKind::Postgres, "postgres://u@h", "one database"),
            (
                SourceKind::Postgres,
                "postgres://u@h/d?sslmode=require",
                "no ?parameters",
            ),
            (SourceKind::Postgres, "not a url", "not a URL"),
        ] {
            let err = parse_url(kind, url).unwrap_err();
            assert!(err.contains(needle), "{url}: {err}");
        }
    }
}
