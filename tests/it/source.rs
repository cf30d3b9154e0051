//! Store exports: CSV (UTF-8, BOM, GBK, delimiters, quoting, bad rows) and SQLite sources,
//! the samples, and the normalisation rules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use shopsync::record::{Field, Store};
use shopsync::source::{self, Loaded, SourceConfig, SourceError};

mod normalise;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A `[source]` snippet from samples/, its path made absolute.
fn sample_config(name: &str) -> SourceConfig {
    #[derive(serde::Deserialize)]
    struct Wrap {
        source: SourceConfig,
    }
    let path = root().join("samples").join(name);
    let text = std::fs::read_to_string(&path).expect("read snippet");
    let mut cfg = toml::from_str::<Wrap>(&text)
        .expect("snippet parses")
        .source;
    cfg.path = root().join(&cfg.path);
    cfg
}

fn with_path(cfg: &SourceConfig, path: &Path) -> SourceConfig {
    SourceConfig {
        path: path.to_path_buf(),
        ..cfg.clone()
    }
}

fn write_temp(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write temp file");
    path
}

/// Stores keyed by store_id, without their line numbers.
fn by_id(loaded: &Loaded) -> BTreeMap<String, BTreeMap<Field, String>> {
    loaded
        .stores
        .iter()
        .map(|s| (s.store_id.to_string(), s.fields.to_map()))
        .collect()
}

fn store<'a>(loaded: &'a Loaded, id: &str) -> &'a Store {
    loaded
        .stores
        .iter()
        .find(|s| s.store_id == id)
        .unwrap_or_else(|| panic!("store {id} loaded"))
}

fn utf8_sample() -> Loaded {
    source::load(&sample_config("source-csv.toml")).expect("utf-8 sample loads")
}

#[test]
fn utf8_gbk_and_sqlite_samples_give_identical_stores() {
    let utf8 = utf8_sample();
    assert_eq!(utf8.rows, 50);
    assert_eq!(utf8.stores.len(), 50, "rejects: {:?}", utf8.rejects);
    assert!(utf8.rejects.is_empty());

    let gbk = source::load(&sample_config("source-gbk.toml")).expect("gbk sample loads");
    assert_eq!(gbk.stores, utf8.stores, "same stores and same lines");

    let mut auto = sample_config("source-gbk.toml");
    auto.encoding = source::SourceEncoding::Auto;
    let auto = source::load(&auto).expect("gbk sample loads with auto");
    assert_eq!(auto.stores, utf8.stores);

    let sqlite = source::load(&sample_config("source-sqlite.toml")).expect("sqlite loads");
    assert!(sqlite.rejects.is_empty(), "{:?}", sqlite.rejects);
    assert_eq!(by_id(&sqlite), by_id(&utf8));
    // Rows are numbered in query order (ORDER BY code: Beijing first).
    assert_eq!(sqlite.stores[0].store_id, "XGF-BJ-001");
    assert_eq!(sqlite.stores[0].line, 1);
}

#[test]
fn sample_values_are_normalised() {
    let l = utf8_sample();
    let sh1 = store(&l, "XGF-SH-001");
    assert_eq!(sh1.line, 2);
    assert_eq!(sh1.get(Field::BusinessTime), Some("周一-周日 09:00-22:00"));
    assert_eq!(sh1.get(Field::AvgPrice), Some("28"));
    assert_eq!(sh1.get(Field::Wifi), Some("T"));
    assert_eq!(sh1.get(Field::Parking), Some("F"));
    assert_eq!(
        sh1.get(Field::MainShopName),
        Some("鲜果坊"),
        "from defaults"
    );
    assert_eq!(sh1.get(Field::CategoryId), Some("2015050700000018"));
    assert_eq!(
        sh1.get(Field::AuditImages),
        Some("images/storefront-sh.jpg,images/interior-counter.jpg,images/interior-seating.png"),
        "photo files, uploaded by the sync (sync::photos)"
    );
    assert_eq!(
        sh1.get(Field::BrandLogo),
        Some("images/logo.png"),
        "from defaults"
    );
    let sh2 = store(&l, "XGF-SH-002");
    assert_eq!(sh2.get(Field::ContactNumber), Some("021-63856612"));
    assert_eq!(sh2.get(Field::Longitude), Some("121.47189"));
    let sh3 = store(&l, "XGF-SH-003");
    assert_eq!(
        sh3.get(Field::ContactNumber),
        Some("021-64071188,13916880003")
    );
    assert_eq!(
        sh3.get(Field::BusinessTime),
        Some("周一-周五 08:00-21:00,周六-周日 09:00-22:30")
    );
    let sh4 = store(&l, "XGF-SH-004");
    assert_eq!(sh4.get(Field::NotifyMobile), None, "empty cell is absent");
    assert_eq!(sh4.get(Field::AvgPrice), Some("25"));
    assert_eq!(sh4.get(Field::BusinessTime), Some("10:00-22:00"));
    let sh7 = store(&l, "XGF-SH-007");
    assert_eq!(
        sh7.get(Field::BusinessTime),
        Some("周一-周五 07:30-21:00,周六-周日 09:00-21:00")
    );
    assert_eq!(
        store(&l, "XGF-SH-017").get(Field::BusinessTime),
        Some("周一-周日 10:00-23:00")
    );
    assert_eq!(
        store(&l, "XGF-HZ-011").get(Field::Address),
        Some("文三路478号华星时代广场1层,近教工路")
    );
    assert_eq!(store(&l, "XGF-HZ-012").line, 51);
}

/// (line, field or None, reason fragment) for every row of stores-with-errors.csv, read
/// from its `expected` column (the last field of each record).
fn expected_rejects() -> Vec<(u64, Option<String>, String, String)> {
    let path = root().join("samples/stores-with-errors.csv");
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(&path)
        .expect("open errors sample");
    let mut out = Vec::new();
    for rec in rdr.byte_records() {
        let rec = rec.expect("record");
        let line = rec.position().expect("position").line();
        let id = String::from_utf8_lossy(&rec[0]).into_owned();
        let expected = String::from_utf8_lossy(&rec[rec.len() - 1]).into_owned();
        if expected.is_empty() {
            continue;
        }
        let (field, fragment) = expected.split_once(": ").expect("field: fragment");
        let field = (field != "-").then(|| field.to_string());
        out.push((line, field, fragment.to_string(), id));
    }
    out
}

#[test]
fn every_reject_reason_in_the_errors_sample_has_its_line_and_field() {
    let cfg = sample_config("source-errors.toml");
    let mut loaded = source::load(&cfg).expect("errors sample loads");
    // As a run does, on the day it runs (the sample's past date is 2020-01-01).
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
    source::reject_expired(&cfg, &mut loaded, today);
    let expected = expected_rejects();
    assert!(expected.len() >= 45, "the sample covers many reasons");
    // The record after the quoted newline of OK-003 (lines 4-5) starts on line 6.
    assert_eq!(expected[0].0, 6);
    assert_eq!(expected[0].2, "store_id is empty");

    for (line, field, fragment, id) in &expected {
        let here: Vec<_> = loaded.rejects.iter().filter(|r| r.line == *line).collect();
        assert_eq!(
            here.len(),
            1,
            "line {line} ({id}): one reject, got {here:?}"
        );
        let r = here[0];
        assert_eq!(&r.field, field, "line {line} ({id}): {r}");
        assert!(
            r.reason.contains(fragment.as_str()),
            "line {line} ({id}): {r}"
        );
        assert!(r.file.ends_with("stores-with-errors.csv"));
    }
    assert_eq!(loaded.rejects.len(), expected.len(), "no other rejects");
    assert_eq!(loaded.rows as usize, expected.len() + 3);
    assert_eq!(loaded.rejected_rows(), expected.len());
    let ids: Vec<&str> = loaded.stores.iter().map(|s| s.store_id.as_str()).collect();
    assert_eq!(ids, ["OK-001", "OK-002", "OK-003"]);
    let ok3 = &loaded.stores[2];
    assert_eq!(ok3.line, 4);
    assert_eq!(ok3.get(Field::Address), Some("南京西路1266号 恒隆广场B1层"));
    let ok2 = &loaded.stores[1];
    assert_eq!(ok2.get(Field::LicenceExpires), Some("2030-06-30"));
    assert_eq!(ok2.get(Field::IsOperatingOnline), Some("T"));

    let tel = loaded
        .rejects
        .iter()
        .find(|r| r.store_id.as_deref() == Some("ERR-TEL-1"))
        .expect("ERR-TEL-1 rejected");
    let shown = tel.to_string();
    assert!(
        shown.starts_with(&format!(
            "{}:{}: store ERR-TEL-1: contact_number: ",
            tel.file, tel.line
        )),
        "{shown}"
    );
}

#[test]
fn duplicate_store_ids_reject_every_row_naming_the_others() {
    let loaded = source::load(&sample_config("source-errors.toml")).expect("loads");
    let dups: Vec<_> = loaded
        .rejects
        .iter()
        .filter(|r| r.store_id.as_deref() == Some("ERR-DUP"))
        .collect();
    assert_eq!(dups.len(), 2);
    let (a, b) = (dups[0], dups[1]);
    assert!(a.reason.contains(&format!("line {}", b.line)), "{a}");
    assert!(b.reason.contains(&format!("line {}", a.line)), "{b}");
    assert!(loaded.stores.iter().all(|s| s.store_id != "ERR-DUP"));

    // Three rows: each names the two others.
    let dir = tempfile::tempdir().unwrap();
    let csv = "store_id,contact_number\nA,1\nB,2\nA,3\nA,4\n";
    let path = write_temp(&dir, "d.csv", csv.as_bytes());
    let cfg = minimal_config(&path);
    let l = source::load(&cfg).expect("loads");
    let reasons: Vec<(u64, &str)> = l
        .rejects
        .iter()
        .filter(|r| r.reason.starts_with("duplicate"))
        .map(|r| (r.line, r.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (2, "duplicate store_id: also on line 4, 5"),
            (4, "duplicate store_id: also on line 2, 5"),
            (5, "duplicate store_id: also on line 2, 4")
        ]
    );
    assert_eq!(l.stores.len(), 1);
}

/// A config for small synthetic files with English headers: everything required but
/// store_id and contact_number comes from defaults.
fn minimal_config(path: &Path) -> SourceConfig {
    let defaults = [
        ("category_id", "2015050700000018"),
        ("main_shop_name", "鲜果坊"),
        ("province_code", "310000"),
        ("city_code", "310100"),
        ("district_code", "310106"),
        ("address", "南京西路1266号"),
        ("longitude", "121.45"),
        ("latitude", "31.22"),
        ("main_image", "1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC"),
        ("audit_images", "1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC"),
    ];
    SourceConfig {
        kind: Default::default(),
        path: path.to_path_buf(),
        encoding: Default::default(),
        delimiter: ",".into(),
        query: None,
        columns: BTreeMap::new(),
        defaults: defaults
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    }
}

#[test]
fn utf8_bom_is_stripped() {
    let cfg = sample_config("source-csv.toml");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(std::fs::read(&cfg.path).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let path = write_temp(&dir, "bom.csv", &bytes);
    for enc in [source::SourceEncoding::Auto, source::SourceEncoding::Utf8] {
        let mut c = with_path(&cfg, &path);
        c.encoding = enc;
        let l = source::load(&c).expect("BOM file loads");
        assert_eq!(l.stores, utf8_sample().stores, "{enc}");
    }
}

/// The UTF-8 sample rewritten with another delimiter.
fn redelimit(delim: u8) -> Vec<u8> {
    let cfg = sample_config("source-csv.toml");
    let mut rdr = csv::Reader::from_path(&cfg.path).unwrap();
    let mut w = csv::WriterBuilder::new()
        .delimiter(delim)
        .from_writer(Vec::new());
    w.write_record(rdr.headers().unwrap()).unwrap();
    for rec in rdr.records() {
        w.write_record(&rec.unwrap()).unwrap();
    }
    w.into_inner().unwrap()
}

#[test]
fn semicolon_and_tab_delimiters_read_like_commas_and_bad_ones_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let base = sample_config("source-csv.toml");
    let want = utf8_sample().stores;
    for (delim, setting) in [(b';', ";"), (b'\t', "\t"), (b'\t', "\\t")] {
        let path = write_temp(&dir, "d.csv", &redelimit(delim));
        let mut cfg = with_path(&base, &path);
        cfg.delimiter = setting.to_string();
        let l = source::load(&cfg).unwrap_or_else(|e| panic!("{setting:?}: {e}"));
        assert_eq!(l.stores, want, "delimiter {setting:?}");
    }
    let path = write_temp(&dir, "d.csv", &redelimit(b';'));
    let mut cfg = with_path(&base, &path);
    cfg.delimiter = ",".into();
    let err = source::load(&cfg).expect_err("wrong delimiter: the header has one column");
    assert!(matches!(err, SourceError::MissingColumn { .. }), "{err}");
    for bad in ["", ";;", "\"", "，"] {
        cfg.delimiter = bad.into();
        let err = source::load(&cfg).expect_err("bad delimiter");
        assert!(
            matches!(err, SourceError::BadDelimiter { .. }),
            "{bad:?}: {err}"
        );
        assert!(err.to_string().contains("d.csv"), "{err}");
    }
}

#[test]
fn quoted_newlines_and_blank_lines_keep_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    for eol in ["\n", "\r\n"] {
        let text = [
            "store_id,contact_number,value_added",
            "A,1,\"two",
            "lines\"",
            "",
            "B,2,",
            "   ",
            ",,",
            "C,3,\"x",
            "",
            "y\"",
            "D,bad!,",
        ]
        .join(eol);
        let path = write_temp(&dir, "q.csv", text.as_bytes());
        let l = source::load(&minimal_config(&path)).expect("loads");
        let lines: Vec<(&str, u64)> = l
            .stores
            .iter()
            .map(|s| (s.store_id.as_str(), s.line))
            .collect();
        assert_eq!(lines, [("A", 2), ("B", 5), ("C", 8)], "eol {eol:?}");
        assert_eq!(l.stores[0].get(Field::ValueAdded), Some("two lines"));
        assert_eq!(l.rejects.len(), 1);
        assert_eq!(l.rejects[0].line, 11, "eol {eol:?}");
        assert_eq!(l.rows, 4, "blank and all-empty lines are not rows");
    }
}

#[test]
fn missing_mapped_column_names_file_and_column() {
    let cfg = sample_config("source-csv.toml");
    let mut bad = cfg.clone();
    bad.columns.insert("longitude".into(), "东经".into());
    for err in [
        source::load(&bad).unwrap_err(),
        source::check(&bad).unwrap_err(),
    ] {
        let msg = err.to_string();
        assert!(matches!(err, SourceError::MissingColumn { .. }), "{msg}");
        assert!(
            msg.contains("stores.csv") && msg.contains("东经") && msg.contains("longitude"),
            "{msg}"
        );
    }
    let headers = source::check(&cfg).expect("check passes");
    assert_eq!(headers[0], "门店编号");
    assert_eq!(headers.len(), 16);

    let mut unknown = cfg.clone();
    unknown.columns.insert("longtitude".into(), "经度".into());
    let err = source::check(&unknown).unwrap_err();
    assert!(
        matches!(
            err,
            SourceError::UnknownField {
                table: "columns",
                ..
            }
        ),
        "{err}"
    );
    let mut unknown = cfg.clone();
    unknown.defaults.insert("store_id".into(), "X".into());
    assert!(matches!(
        source::check(&unknown).unwrap_err(),
        SourceError::UnknownField {
            table: "defaults",
            ..
        }
    ));
    let mut bad_default = cfg.clone();
    bad_default
        .defaults
        .insert("category_id".into(), "food".into());
    let err = source::check(&bad_default).unwrap_err();
    assert!(matches!(err, SourceError::BadDefault { .. }), "{err}");
    assert!(err.to_string().contains("category_id"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let path = write_temp(&dir, "noid.csv", b"code,contact_number\nA,1\n");
    let err = source::load(&minimal_config(&path)).unwrap_err();
    assert!(
        err.to_string().contains("store_id") && err.to_string().contains("noid.csv"),
        "{err}"
    );
}

#[test]
fn empty_file_is_an_error_header_only_is_zero_rows() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("empty.csv", &b""[..]),
        ("blank.csv", b"\n\r\n\n"),
        ("bom.csv", b"\xEF\xBB\xBF"),
    ] {
        let path = write_temp(&dir, name, bytes);
        let err = source::load(&minimal_config(&path)).unwrap_err();
        assert!(matches!(err, SourceError::Empty { .. }), "{name}: {err}");
        assert!(err.to_string().contains(name), "{err}");
    }
    let path = write_temp(&dir, "header.csv", b"store_id,contact_number\n");
    let l = source::load(&minimal_config(&path)).expect("header only loads");
    assert_eq!((l.rows, l.stores.len(), l.rejects.len()), (0, 0, 0));

    let missing = dir.path().join("nope.csv");
    let err = source::load(&minimal_config(&missing)).unwrap_err();
    assert!(matches!(err, SourceError::Open { .. }) && err.to_string().contains("nope.csv"));
}

#[test]
fn invalid_utf8_row_is_a_reject_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let bytes =
        b"store_id,contact_number,value_added\nA,1,ok\nB,2,caf\xE9 \xFF\nC,3,\xE5\x8D\x97\n";
    let path = write_temp(&dir, "u.csv", bytes);
    for enc in [source::SourceEncoding::Utf8, source::SourceEncoding::Auto] {
        let mut cfg = minimal_config(&path);
        cfg.encoding = enc;
        let l = source::load(&cfg).expect("loads");
        let ids: Vec<&str> = l.stores.iter().map(|s| s.store_id.as_str()).collect();
        assert_eq!(ids, ["A", "C"], "{enc}");
        assert_eq!(l.stores[1].get(Field::ValueAdded), Some("南"));
        assert_eq!(l.rejects.len(), 1);
        let r = &l.rejects[0];
        assert_eq!((r.line, r.store_id.as_deref()), (3, Some("B")));
        assert!(r.reason.contains("not valid UTF-8"), "{r}");
    }
}

#[test]
fn undecodable_gbk_row_is_a_reject() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"store_id,contact_number,value_added\nA,1,".to_vec();
    bytes.extend(encoding_rs::GBK.encode("南京").0.iter());
    bytes.extend(b"\nB,2,x\x81\x20y\n");
    let path = write_temp(&dir, "g.csv", &bytes);
    let mut cfg = minimal_config(&path);
    cfg.encoding = source::SourceEncoding::Gbk;
    let l = source::load(&cfg).expect("loads");
    assert_eq!(l.stores.len(), 1);
    assert_eq!(l.stores[0].get(Field::ValueAdded), Some("南京"));
    let r = &l.rejects[0];
    assert_eq!((r.line, r.store_id.as_deref()), (3, Some("B")));
    assert!(r.reason.contains("not valid GBK"), "{r}");
}

#[test]
fn wrong_field_count_is_a_reject() {
    let dir = tempfile::tempdir().unwrap();
    let text = "store_id,contact_number\nA,1\nB,2,extra\nC\nD,4\n";
    let path = write_temp(&dir, "w.csv", text.as_bytes());
    let l = source::load(&minimal_config(&path)).expect("loads");
    let ids: Vec<&str> = l.stores.iter().map(|s| s.store_id.as_str()).collect();
    assert_eq!(ids, ["A", "D"]);
    let got: Vec<(u64, Option<&str>, &str)> = l
        .rejects
        .iter()
        .map(|r| (r.line, r.store_id.as_deref(), r.reason.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (3, Some("B"), "row has 3 fields, the header has 2"),
            (4, Some("C"), "row has 1 fields, the header has 2")
        ]
    );
}

#[test]
fn oversized_record_is_rejected_and_reading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"store_id,contact_number,value_added\nA,1,x\nB,2,".to_vec();
    bytes.extend(std::iter::repeat_n(b'z', 3 << 20));
    bytes.extend(b"\nC,3,\"quoted");
    bytes.extend(
        std::iter::repeat_n(b'\n', 1500)
            .chain(std::iter::repeat_n(b'q', 1100))
            .cycle()
            .take(2 << 20),
    );
    bytes.extend(b"\"\nD,4,y\n");
    let newlines_in_c = bytes.iter().filter(|&&b| b == b'\n').count() as u64 - 5;
    let path = write_temp(&dir, "big.csv", &bytes);
    let l = source::load(&minimal_config(&path)).expect("loads");
    let ids: Vec<(&str, u64)> = l
        .stores
        .iter()
        .map(|s| (s.store_id.as_str(), s.line))
        .collect();
    assert_eq!(ids, [("A", 2), ("D", 5 + newlines_in_c)]);
    let lines: Vec<u64> = l.rejects.iter().map(|r| r.line).collect();
    assert_eq!(lines, [3, 4]);
    assert!(
        l.rejects[0].reason.contains("longer than"),
        "{}",
        l.rejects[0]
    );
}

#[test]
fn sqlite_source_is_read_only_and_reports_sql_errors() {
    let cfg = sample_config("source-sqlite.toml");
    let before = std::fs::read(&cfg.path).unwrap();
    let mut del = cfg.clone();
    del.query = Some("DELETE FROM stores RETURNING code AS store_id".into());
    for err in [
        source::load(&del).unwrap_err(),
        source::check(&del).unwrap_err(),
    ] {
        assert!(matches!(err, SourceError::BadConfig { .. }), "{err}");
        assert!(err.to_string().contains("stores.sqlite"), "{err}");
    }
    assert_eq!(std::fs::read(&cfg.path).unwrap(), before);

    let mut typo = cfg.clone();
    typo.query = Some("SELECT * FROM shops".into());
    let err = source::check(&typo).unwrap_err();
    assert!(
        matches!(err, SourceError::Sql { .. }) && err.to_string().contains("stores.sqlite"),
        "{err}"
    );

    let mut none = cfg.clone();
    none.query = None;
    assert!(matches!(
        source::check(&none).unwrap_err(),
        SourceError::BadConfig { .. }
    ));

    let headers = source::check(&cfg).expect("check");
    assert_eq!(headers[0], "store_id");

    // NULL, integer, real and text values; a row number as the line.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.sqlite");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE t(id TEXT, phone INTEGER, lng REAL, price REAL, note TEXT);
         INSERT INTO t VALUES ('A', 13900000000, 121.5, 35.0, NULL), ('B', 1, 1e300, 2, 'x');",
    )
    .unwrap();
    drop(conn);
    let mut c = minimal_config(&db);
    c.kind = source::SourceKind::Sqlite;
    c.query = Some("SELECT id AS store_id, phone AS contact_number, lng AS longitude, price AS avg_price, note AS value_added FROM t".into());
    let l = source::load(&c).expect("loads");
    assert_eq!(l.stores.len(), 1);
    let a = &l.stores[0];
    assert_eq!(
        (a.line, a.get(Field::ContactNumber), a.get(Field::Longitude)),
        (1, Some("13900000000"), Some("121.5"))
    );
    assert_eq!(
        (a.get(Field::AvgPrice), a.get(Field::ValueAdded)),
        (Some("35"), None)
    );
    assert_eq!(
        (l.rejects[0].line, l.rejects[0].field.as_deref()),
        (2, Some("longitude"))
    );
}

#[test]
fn describe_names_file_kind_and_encoding() {
    let cfg = sample_config("source-csv.toml");
    assert!(source::describe(&cfg).ends_with("samples/stores.csv (csv, auto)"));
    let mut semi = cfg.clone();
    semi.path = "stores.csv".into();
    semi.delimiter = ";".into();
    semi.encoding = source::SourceEncoding::Gbk;
    assert_eq!(
        source::describe(&semi),
        "stores.csv (csv, gbk, delimiter \";\")"
    );
    let sq = sample_config("source-sqlite.toml");
    assert!(source::describe(&sq).ends_with("stores.sqlite (sqlite)"));
}
