//! Database sources: stream a 100,000-row table from PostgreSQL and from MariaDB (real
//! servers, started as the tests start them: tests/it/support/db_servers.rs) and, as the
//! baseline, the same rows from a CSV file. Prints the load time and the process's peak
//! memory (VmHWM) per source; asserts nothing.
//!
//! `cargo bench --bench db_sources` (N = 100000; `-- 200000` for another size, `-- runs=5`
//! for another number of runs). Each load runs in a fresh process, so one source's peak is
//! not hidden by another's; the summary gives the median over the runs.

mod common;
#[path = "../tests/it/support/db_servers.rs"]
mod db_servers;

use std::path::Path;
use std::time::Instant;

use shopsync::source::{self, SourceConfig};

use common::{defaults, mib, status_kib, write_export};
use db_servers::{Kind, TestDb};

const CHILD: &str = "SHOPSYNC_BENCH_DB_CHILD";

/// Columns of the benchmark table, typed as a POS database holds them.
const PG_TABLE: &str = "CREATE TABLE stores (store_id text PRIMARY KEY, branch_shop_name text, \
    province_code integer, city_code integer, district_code integer, address text, \
    longitude numeric(9, 6), latitude numeric(8, 6), contact_number text, \
    business_time text, avg_price integer)";
const MYSQL_TABLE: &str = "CREATE TABLE stores (store_id VARCHAR(32) PRIMARY KEY, \
    branch_shop_name VARCHAR(64), province_code INT, city_code INT, district_code INT, \
    address VARCHAR(128), longitude DECIMAL(9, 6), latitude DECIMAL(8, 6), \
    contact_number VARCHAR(32), business_time VARCHAR(64), avg_price INT) \
    DEFAULT CHARSET = utf8mb4";
const QUERY: &str = "SELECT * FROM stores ORDER BY store_id";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Ok(config) = std::env::var(CHILD) {
        return one_load(Path::new(&config));
    }
    let n: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(100_000);
    let runs: usize = args
        .iter()
        .find_map(|a| a.strip_prefix("runs=")?.parse().ok())
        .unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    // The MariaDB server (user nobody) reads the CSV itself.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let csv = dir.path().join("stores.csv");
    write_export(&csv, n, |_, _| {});
    std::fs::set_permissions(&csv, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let csv_mib = std::fs::metadata(&csv).unwrap().len() as f64 / (1 << 20) as f64;
    println!("{n} stores, CSV {csv_mib:.1} MiB; {runs} fresh processes per source.");

    let defaults: String = defaults()
        .iter()
        .map(|(k, v)| format!("{k} = \"{v}\"\n"))
        .collect();
    let mut sources = vec![(
        "csv".to_string(),
        format!(
            "path = {:?}\n[defaults]\n{defaults}",
            csv.display().to_string()
        ),
    )];
    for kind in [Kind::Postgres, Kind::MariaDb] {
        let started = Instant::now();
        let db = db_servers::server(kind).database();
        load_table(&db, &csv);
        let size = table_size(&db);
        println!(
            "{kind:?}: server up and table loaded in {:.1} s; table {size}",
            started.elapsed().as_secs_f64()
        );
        let password = db.password_file(dir.path(), &format!("{kind:?}.pw"));
        sources.push((
            format!("{kind:?}").to_lowercase(),
            format!(
                "kind = {:?}\nurl = {:?}\npassword_file = {:?}\nquery = {QUERY:?}\n[defaults]\n{defaults}",
                kind.source_kind(),
                db.url(),
                password.display().to_string()
            ),
        ));
    }
    println!();
    println!(
        "| source | rows | stores | load (median) | peak RSS (median) | RSS before the load |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, text) in &sources {
        let config = dir.path().join(format!("{name}.toml"));
        std::fs::write(&config, text).unwrap();
        let mut results: Vec<Vec<f64>> = (0..runs)
            .map(|_| {
                let out = std::process::Command::new(std::env::current_exe().unwrap())
                    .env(CHILD, &config)
                    .output()
                    .unwrap();
                let stdout = String::from_utf8_lossy(&out.stdout);
                stdout
                    .lines()
                    .find_map(|l| l.strip_prefix("result "))
                    .unwrap_or_else(|| {
                        panic!("{name}: {stdout}{}", String::from_utf8_lossy(&out.stderr))
                    })
                    .split(' ')
                    .map(|v| v.parse().unwrap())
                    .collect()
            })
            .collect();
        let median = |i: usize, results: &mut Vec<Vec<f64>>| {
            results.sort_by(|a, b| a[i].total_cmp(&b[i]));
            results[results.len() / 2][i]
        };
        let (rows, stores) = (results[0][0], results[0][1]);
        let secs = median(2, &mut results);
        let peak = median(3, &mut results);
        let before = median(4, &mut results);
        println!(
            "| {name} | {rows} | {stores} | {:.0} ms | {peak:.1} MiB | {before:.1} MiB |",
            secs * 1000.0
        );
    }
}

fn load_table(db: &TestDb, csv: &Path) {
    match db.server.kind {
        Kind::Postgres => db.sql(&format!(
            "{PG_TABLE};\n\\copy stores FROM '{}' WITH (FORMAT csv, HEADER true)\nANALYZE stores;",
            csv.display()
        )),
        Kind::MariaDb => db.sql(&format!(
            "{MYSQL_TABLE}; LOAD DATA INFILE '{}' INTO TABLE stores CHARACTER SET utf8mb4 \
             FIELDS TERMINATED BY ',' LINES TERMINATED BY '\\n' IGNORE 1 LINES;",
            csv.display()
        )),
    };
}

fn table_size(db: &TestDb) -> String {
    let sql = match db.server.kind {
        Kind::Postgres => {
            "SELECT count(*) || ' rows, ' || pg_size_pretty(pg_total_relation_size('stores')) FROM stores"
        }
        Kind::MariaDb => {
            "SELECT CONCAT(COUNT(*), ' rows, ', ROUND(SUM(LENGTH(store_id) + LENGTH(branch_shop_name) + \
             LENGTH(address) + LENGTH(contact_number) + LENGTH(business_time) + 40) / 1048576, 1), ' MiB of values') FROM stores"
        }
    };
    db.sql(sql).trim().to_string()
}

/// One load in this fresh process: `result rows stores seconds peak_mib before_mib`.
fn one_load(config: &Path) {
    let text = std::fs::read_to_string(config).unwrap();
    let cfg: SourceConfig = toml::from_str(&text).unwrap();
    let before = status_kib("VmRSS");
    let started = Instant::now();
    let loaded = source::load(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let secs = started.elapsed().as_secs_f64();
    println!(
        "result {} {} {secs} {} {}",
        loaded.rows,
        loaded.stores.len(),
        mib(status_kib("VmHWM")),
        mib(before)
    );
}
