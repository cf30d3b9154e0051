//! PostgreSQL and MariaDB sources against real servers (`support/db_servers.rs`): the
//! sample chain, faithful values, binary columns, one SELECT only, read-only transactions,
//! statement timeouts, query errors with their position, TLS, and (through the real
//! binary, `source_db_cli.rs`) passwords, exit codes and retries.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use shopsync::exit::Exit;
use shopsync::record::Field;
use shopsync::source::{self, DbError, Loaded, SourceConfig, SourceError};

use crate::support::db_servers::{self, Kind, TestDb, TLS_ONLY_USER};

pub const BOTH: [Kind; 2] = [Kind::Postgres, Kind::MariaDb];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Defaults for every field but store_id and contact_number, as `[source.defaults]` TOML.
pub const DEFAULTS: &str = r#"
[defaults]
category_id = "2015050700000018"
main_shop_name = "鲜果坊"
province_code = "310000"
city_code = "310100"
district_code = "310106"
address = "南京西路1266号"
longitude = "121.45"
latitude = "31.22"
main_image = "1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC"
audit_images = "1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC"
"#;

/// A `[source]` table (without the header) for `db`: the query, its password in a file
/// under `dir`, `extra` keys, and [`DEFAULTS`].
pub fn config_text(db: &TestDb, dir: &Path, query: &str, extra: &str) -> String {
    let password = db.password_file(dir, &format!("{}.pw", db.user));
    format!(
        "kind = {:?}\nurl = {:?}\npassword_file = {:?}\nquery = '''\n{query}'''\n{extra}\n{DEFAULTS}",
        db.server.kind.source_kind(),
        db.url(),
        password.display().to_string(),
    )
}

pub fn config(db: &TestDb, dir: &Path, query: &str, extra: &str) -> SourceConfig {
    let text = config_text(db, dir, query, extra);
    toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// The sample's `[source]` table pointed at `db`, with the password in a file under `dir`,
/// and `[images] dir` set to samples/.
pub fn sample_source_text(kind: Kind, db: &TestDb, dir: &Path) -> String {
    let name = match kind {
        Kind::Postgres => "source-postgres.toml",
        Kind::MariaDb => "source-mysql.toml",
    };
    let text = std::fs::read_to_string(root().join("samples").join(name)).unwrap();
    let password = db.password_file(dir, "pos-db-password");
    let replaced = text
        .lines()
        .map(|line| {
            if line.starts_with("url = ") {
                format!("url = {:?}", db.url())
            } else if line.starts_with("password_file = ") {
                format!("password_file = {:?}", password.display().to_string())
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(replaced, text, "{name} has url and password_file lines");
    // The photo paths are relative to samples/ (a database source has no directory).
    format!(
        "{replaced}\n\n[images]\ndir = {:?}\n",
        root().join("samples").display().to_string()
    )
}

/// A database on `kind`'s server holding the sample chain (samples/stores-*.sql).
pub fn sample_database(kind: Kind) -> TestDb {
    let db = db_servers::server(kind).database();
    let file = match kind {
        Kind::Postgres => "stores-postgres.sql",
        Kind::MariaDb => "stores-mysql.sql",
    };
    db.sql_file(&root().join("samples").join(file));
    db
}

fn sample_config(kind: Kind, db: &TestDb, dir: &Path) -> SourceConfig {
    #[derive(serde::Deserialize)]
    struct Wrap {
        source: SourceConfig,
    }
    toml::from_str::<Wrap>(&sample_source_text(kind, db, dir))
        .unwrap()
        .source
}

fn by_id(loaded: &Loaded) -> BTreeMap<String, BTreeMap<Field, String>> {
    loaded
        .stores
        .iter()
        .map(|s| (s.store_id.to_string(), s.fields.to_map()))
        .collect()
}

fn store<'a>(loaded: &'a Loaded, id: &str) -> &'a shopsync::record::Store {
    loaded
        .stores
        .iter()
        .find(|s| s.store_id == id)
        .unwrap_or_else(|| panic!("store {id} in {:?}", loaded.stores))
}

fn db_error(result: Result<impl std::fmt::Debug, SourceError>) -> DbError {
    match result {
        Err(SourceError::Database(e)) => e,
        other => panic!("expected a database error, got {other:?}"),
    }
}

#[test]
fn the_sample_chain_loads_from_postgres_and_mariadb_as_from_the_csv() {
    let csv: SourceConfig = {
        #[derive(serde::Deserialize)]
        struct Wrap {
            source: SourceConfig,
        }
        let text = std::fs::read_to_string(root().join("samples/source-csv.toml")).unwrap();
        let mut cfg = toml::from_str::<Wrap>(&text).unwrap().source;
        cfg.path = root().join(&cfg.path);
        cfg
    };
    let csv = source::load(&csv).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for kind in BOTH {
        let db = sample_database(kind);
        let cfg = sample_config(kind, &db, dir.path());
        let headers = source::check(&cfg).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert_eq!(headers.len(), 16, "{kind:?}: {headers:?}");
        let loaded = source::load(&cfg).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert!(loaded.rejects.is_empty(), "{kind:?}: {:?}", loaded.rejects);
        assert_eq!(loaded.rows, 50, "{kind:?}");
        assert_eq!(by_id(&loaded), by_id(&csv), "{kind:?}");
        // Rows are numbered in query order (ORDER BY code: Beijing first).
        assert_eq!(
            (loaded.stores[0].store_id.as_str(), loaded.stores[0].line),
            ("XGF-BJ-001", 1)
        );
        assert!(source::describe(&cfg).contains(&db.url()), "{kind:?}");
    }
}

/// Integers keep all their digits (2^53 + 1 is not a float), exact decimals their text
/// (35.50 is shown as stored), dates are yyyy-MM-dd, NULL is absent (the default applies).
#[test]
fn values_keep_their_text_and_null_is_absent() {
    let dir = tempfile::tempdir().unwrap();
    for kind in BOTH {
        let db = db_servers::server(kind).database();
        let (id, price) = match kind {
            Kind::Postgres => ("bigint", "numeric(7, 2)"),
            Kind::MariaDb => ("BIGINT", "DECIMAL(7, 2)"),
        };
        db.sql(&format!(
            "CREATE TABLE t (id {id} PRIMARY KEY, phone VARCHAR(32), lng {price}, lat DECIMAL(8, 6), \
               price {price}, expires DATE, mobile VARCHAR(20), wifi BOOLEAN); \
             INSERT INTO t VALUES \
               (9007199254740993, '021-62881234', 121.45, 31.228530, 28.00, '2031-06-30', NULL, TRUE), \
               (42, '021-62881235', 121.40, 31.200000, 35.50, NULL, '13916880001', FALSE);"
        ));
        let cfg = config(
            &db,
            dir.path(),
            "SELECT id AS store_id, phone AS contact_number, lng AS longitude, lat AS latitude, \
               price AS avg_price, expires AS business_certificate_expires, mobile AS notify_mobile, wifi \
             FROM t ORDER BY id",
            "",
        );
        let mut cfg = cfg;
        cfg.defaults
            .insert("notify_mobile".into(), "13800000000".into());
        let loaded = source::load(&cfg).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        let big = store(&loaded, "9007199254740993");
        assert_eq!(big.line, 2, "{kind:?}");
        assert_eq!(big.get(Field::Latitude), Some("31.22853"), "{kind:?}");
        assert_eq!(big.get(Field::AvgPrice), Some("28"), "{kind:?}");
        assert_eq!(
            big.get(Field::BusinessCertificateExpires),
            Some("2031-06-30"),
            "{kind:?}"
        );
        assert_eq!(
            big.get(Field::NotifyMobile),
            Some("13800000000"),
            "{kind:?}: NULL → default"
        );
        assert_eq!(big.get(Field::Wifi), Some("T"), "{kind:?}");
        // Store 42: an integer id keeps its digits, no padding; 35.50 is not whole yuan,
        // and the reject shows the decimal as the server stored it.
        assert_eq!(loaded.rejects.len(), 1, "{kind:?}: {:?}", loaded.rejects);
        let reject = &loaded.rejects[0];
        assert_eq!(
            (
                reject.line,
                reject.store_id.as_deref(),
                reject.field.as_deref()
            ),
            (1, Some("42"), Some("avg_price")),
            "{kind:?}"
        );
        assert!(
            reject.reason.contains("35.50"),
            "{kind:?}: {}",
            reject.reason
        );
        assert!(reject.file.contains(&db.url()), "{kind:?}: {}", reject.file);
    }
}

#[test]
fn a_binary_column_mapped_to_a_field_is_refused_by_name_and_an_unmapped_one_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    for kind in BOTH {
        let db = db_servers::server(kind).database();
        let (bytes, literal) = match kind {
            Kind::Postgres => ("bytea", "'\\xdeadbeef'::bytea"),
            Kind::MariaDb => ("VARBINARY(16)", "X'DEADBEEF'"),
        };
        db.sql(&format!(
            "CREATE TABLE t (id VARCHAR(32), phone VARCHAR(32), logo {bytes}); \
             INSERT INTO t VALUES ('S1', '021-62881234', {literal});"
        ));
        let query = "SELECT id AS store_id, phone AS contact_number, logo FROM t";
        let mut mapped = config(&db, dir.path(), query, "");
        mapped.columns.insert("address".into(), "logo".into());
        for result in [
            source::check(&mapped).map(|_| ()),
            source::load(&mapped).map(|_| ()),
        ] {
            match db_error(result) {
                e @ DbError::BinaryColumn { .. } => {
                    let text = e.to_string();
                    assert!(text.contains("column \"logo\""), "{kind:?}: {text}");
                    assert_eq!(e.exit(), Exit::Config);
                }
                other => panic!("{kind:?}: {other}"),
            }
        }
        let unmapped = config(&db, dir.path(), query, "");
        let loaded = source::load(&unmapped).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert_eq!(loaded.stores.len(), 1, "{kind:?}: {:?}", loaded.rejects);
    }
}

#[test]
fn a_query_that_is_not_one_select_is_refused_and_nothing_runs() {
    let dir = tempfile::tempdir().unwrap();
    for kind in BOTH {
        let db = db_servers::server(kind).database();
        db.sql("CREATE TABLE t (id VARCHAR(32), phone VARCHAR(32)); INSERT INTO t VALUES ('S1', '021-62881234');");
        for query in [
            "SELECT id AS store_id, phone AS contact_number FROM t; DELETE FROM t",
            "DELETE FROM t",
            "WITH x AS (SELECT 1) UPDATE t SET phone = '1'",
        ] {
            let cfg = config(&db, dir.path(), query, "");
            let err = source::check_settings(&cfg).unwrap_err().to_string();
            assert!(
                err.contains("source.query: line"),
                "{kind:?} {query}: {err}"
            );
            assert!(err.contains(&db.url()), "{kind:?}: {err}");
            assert!(source::load(&cfg).is_err(), "{kind:?} {query}");
        }
        assert_eq!(
            db.sql("SELECT COUNT(*) FROM t WHERE phone = '021-62881234'")
                .trim(),
            "1"
        );
    }
}

/// The tokenizer cannot see inside a function: the read-only transaction stops the write.
#[test]
fn the_read_only_transaction_stops_a_function_that_writes() {
    let dir = tempfile::tempdir().unwrap();
    for kind in BOTH {
        let db = db_servers::server(kind).database();
        match kind {
            Kind::Postgres => db.sql(
                "CREATE TABLE t (id text, phone text); INSERT INTO t VALUES ('S1', '021-62881234'); \
                 CREATE TABLE log (n int); \
                 CREATE FUNCTION bump() RETURNS int LANGUAGE sql AS $$ INSERT INTO log VALUES (1) RETURNING n $$;",
            ),
            Kind::MariaDb => db.sql(
                "CREATE TABLE t (id VARCHAR(32), phone VARCHAR(32)); INSERT INTO t VALUES ('S1', '021-62881234'); \
                 CREATE TABLE log (n INT);\n\
                 DELIMITER //\n\
                 CREATE FUNCTION bump() RETURNS INT MODIFIES SQL DATA BEGIN INSERT INTO log VALUES (1); RETURN 1; END//\n\
                 DELIMITER ;\n",
            ),
        };
        let cfg = config(
            &db,
            dir.path(),
            "SELECT id AS store_id, phone AS contact_number, bump() AS b FROM t",
            "",
        );
        match db_error(source::load(&cfg)) {
            DbError::Query { reason, .. } => {
                assert!(reason.contains("tried to write"), "{kind:?}: {reason}");
                assert!(reason.to_lowercase().contains("read"), "{kind:?}: {reason}");
            }
            other => panic!("{kind:?}: {other}"),
        }
        assert_eq!(db.sql("SELECT COUNT(*) FROM log").trim(), "0", "{kind:?}");
    }
}

#[test]
fn statement_timeout_cancels_a_slow_query_and_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    for kind in BOTH {
        let db = db_servers::server(kind).database();
        db.sql("CREATE TABLE t (id VARCHAR(32), phone VARCHAR(32)); INSERT INTO t VALUES ('S1', '021-62881234');");
        let sleep = match kind {
            Kind::Postgres => "pg_sleep(30)",
            Kind::MariaDb => "SLEEP(30)",
        };
        let cfg = config(
            &db,
            dir.path(),
            &format!("SELECT id AS store_id, phone AS contact_number, {sleep} AS s FROM t"),
            "statement_timeout = \"300ms\"",
        );
        let started = std::time::Instant::now();
        let err = db_error(source::load(&cfg));
        assert!(matches!(err, DbError::Timeout { .. }), "{kind:?}: {err}");
        assert!(
            err.to_string().contains("statement_timeout = 300ms"),
            "{err}"
        );
        assert_eq!(err.exit(), Exit::Failed);
        // The server cancelled it: well before the 30 s sleep (and the client's guard).
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{kind:?}"
        );
    }
}

#[test]
fn a_query_error_names_the_line_and_column_the_server_reported() {
    let dir = tempfile::tempdir().unwrap();
    for kind in BOTH {
        let db = db_servers::server(kind).database();
        db.sql("CREATE TABLE t (id VARCHAR(32), phone VARCHAR(32));");
        let cfg = config(
            &db,
            dir.path(),
            "SELECT id AS store_id,\n       adress AS address\nFROM t",
            "",
        );
        for result in [
            source::check(&cfg).map(|_| ()),
            source::load(&cfg).map(|_| ()),
        ] {
            let err = db_error(result);
            let text = err.to_string();
            assert_eq!(err.exit(), Exit::Config, "{text}");
            match kind {
                Kind::Postgres => {
                    assert!(text.contains("line 2, column 8"), "{text}");
                    assert!(text.contains("column \"adress\" does not exist"), "{text}");
                }
                Kind::MariaDb => assert!(text.contains("Unknown column 'adress'"), "{text}"),
            }
        }
        if kind == Kind::MariaDb {
            let cfg = config(&db, dir.path(), "SELECT id AS store_id,\nFROM t", "");
            let text = db_error(source::check(&cfg)).to_string();
            assert!(text.contains("at line 2"), "{text}");
        }
    }
}

/// The `tls_only` role may only connect over TLS (pg_hba `hostnossl … reject`, MariaDB
/// `REQUIRE SSL`); the server's certificate is self-signed.
#[test]
fn tls_require_connects_to_a_server_with_a_self_signed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    for kind in BOTH {
        let server = db_servers::server(kind);
        let db = server.database();
        db.sql("CREATE TABLE t (id VARCHAR(32), phone VARCHAR(32)); INSERT INTO t VALUES ('S1', '021-62881234');");
        db.grant_tls_only();
        let password = dir.path().join(format!("{kind:?}-tls.pw"));
        std::fs::write(&password, &server.tls_only_password).unwrap();
        let cfg = |tls: &str| {
            let text = format!(
                "kind = {:?}\nurl = {:?}\npassword_file = {:?}\n{tls}\n\
                 query = \"SELECT id AS store_id, phone AS contact_number FROM t\"\n{DEFAULTS}",
                kind.source_kind(),
                db.url_for(TLS_ONLY_USER),
                password.display().to_string(),
            );
            toml::from_str::<SourceConfig>(&text).unwrap()
        };
        for tls in [
            "tls = \"require\"".to_string(),
            "tls = \"prefer\"".to_string(),
            format!(
                "tls = \"verify-full\"\nca_file = {:?}",
                server.ca_file.display().to_string()
            ),
        ] {
            let loaded = source::load(&cfg(&tls)).unwrap_or_else(|e| panic!("{kind:?} {tls}: {e}"));
            assert_eq!(loaded.stores.len(), 1, "{kind:?} {tls}");
        }
        let plain = db_error(source::load(&cfg("tls = \"disable\"")));
        assert!(matches!(plain, DbError::Access { .. }), "{kind:?}: {plain}");
        // verify-full against the public roots: the self-signed certificate is refused.
        let unknown = db_error(source::load(&cfg("tls = \"verify-full\"")));
        assert!(
            matches!(unknown, DbError::Access { .. }),
            "{kind:?}: {unknown}"
        );
        assert!(unknown.to_string().contains("TLS"), "{kind:?}: {unknown}");
        assert_eq!(unknown.exit(), Exit::Config);
    }
}

#[test]
fn mariadb_converts_latin1_and_gbk_columns_and_reads_binary_collations_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_servers::mariadb().database();
    db.sql(
        "SET NAMES utf8mb4; \
         CREATE TABLE t (id VARCHAR(32) CHARACTER SET ascii, phone VARCHAR(32) COLLATE utf8mb4_bin, \
           addr VARCHAR(64) CHARACTER SET gbk, branch VARCHAR(64) CHARACTER SET latin1); \
         INSERT INTO t VALUES ('S1', '021-62881234', '南京西路1266号恒隆广场', 'Café Süd');",
    );
    let cfg = config(
        &db,
        dir.path(),
        "SELECT id AS store_id, phone AS contact_number, addr AS address, branch AS branch_shop_name FROM t",
        "",
    );
    let loaded = source::load(&cfg).unwrap();
    assert!(loaded.rejects.is_empty(), "{:?}", loaded.rejects);
    let s1 = store(&loaded, "S1");
    assert_eq!(s1.get(Field::Address), Some("南京西路1266号恒隆广场"));
    assert_eq!(s1.get(Field::BranchShopName), Some("Café Süd"));
    assert_eq!(s1.get(Field::ContactNumber), Some("021-62881234"));
}

/// PostgreSQL converts a LATIN1 database's text to UTF-8; a SQL_ASCII database holding
/// bytes that are not UTF-8 cannot be sent as UTF-8, and the server refuses the query: a
/// run failure that says so, not garbled text.
#[test]
fn postgres_converts_latin1_and_refuses_bytes_that_are_not_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let server = db_servers::postgres();
    let owner = server.database();
    let other = |suffix: &str, encoding: &str| {
        let db = TestDb {
            server,
            name: format!("{}_{suffix}", owner.name),
            user: owner.user.clone(),
            password: owner.password.clone(),
        };
        server.admin_sql(&format!(
            "CREATE DATABASE {} OWNER {} ENCODING '{encoding}' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0",
            db.name, db.user
        ));
        db
    };
    let query = "SELECT id AS store_id, phone AS contact_number, branch AS branch_shop_name FROM t";
    let latin1 = other("latin1", "LATIN1");
    latin1.sql("CREATE TABLE t (id text, phone text, branch text); INSERT INTO t VALUES ('S1', '021-62881234', 'Café Süd');");
    let loaded = source::load(&config(&latin1, dir.path(), query, "")).unwrap();
    assert_eq!(
        store(&loaded, "S1").get(Field::BranchShopName),
        Some("Café Süd")
    );

    let ascii = other("ascii", "SQL_ASCII");
    ascii.sql(
        "CREATE TABLE t (id text, phone text, branch text); \
         INSERT INTO t VALUES ('S1', '021-62881234', convert_from('\\x43616ffe'::bytea, 'SQL_ASCII'));",
    );
    let err = db_error(source::load(&config(&ascii, dir.path(), query, "")));
    assert!(matches!(err, DbError::Read { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("not valid UTF-8") && text.contains("0xfe"),
        "{text}"
    );
    assert_eq!(err.exit(), Exit::Failed);
}
