//! Shared pieces of the benchmarks: test keys, the certificate-mode PKI and the simulator
//! start (the integration tests' own `tests/it/support/{keys,pki,sim}.rs`, included by
//! path), a gateway, a run
//! context, generated exports, and memory/CPU readings from /proc.
#![allow(dead_code)]

#[path = "../../tests/it/support/keys.rs"]
pub mod keys;
#[path = "../../tests/it/support/pki.rs"]
pub mod pki;
#[path = "../../tests/it/support/sim.rs"]
pub mod sim;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use shopsync::alipay::ratelimit::RateLimiter;
use shopsync::alipay::{Gateway, GatewayConfig};
use shopsync::audit::AuditDb;
use shopsync::clock::{SharedClock, SystemClock};
use shopsync::config::Config;
use shopsync::sync::Context;

use keys::{key_file, test_keys};

/// Export header: Alipay field names, so no column mapping is needed.
pub const HEADER: &str = "store_id,branch_shop_name,province_code,city_code,district_code,address,longitude,latitude,contact_number,business_time,avg_price";

pub const CATEGORY: &str = "2015050700000018";
pub const IMG1: &str = "1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC";
pub const IMG2: &str = "4Q8Pp00AT7eo9NoAJkMR3AAAACMAAUYT";

/// The values of store `i` (store_id `S<i>`), as an export row and as Alipay holds them.
pub fn row_values(i: usize) -> Vec<(&'static str, String)> {
    vec![
        ("store_id", format!("S{i}")),
        ("branch_shop_name", format!("分店{i}号")),
        ("province_code", "310000".into()),
        ("city_code", "310100".into()),
        ("district_code", "310106".into()),
        ("address", format!("南京西路{i}号")),
        ("longitude", format!("121.4{}", i % 10000 + 1)),
        ("latitude", format!("31.2{}", i % 10000 + 1)),
        ("contact_number", format!("021-{:08}", i)),
        ("business_time", "周一-周日 09:00-22:00".into()),
        ("avg_price", format!("{}", 20 + i % 50)),
    ]
}

/// Write an export of stores `1..=n`; `tweak(i, values)` may change a row.
pub fn write_export(
    path: &Path,
    n: usize,
    tweak: impl Fn(usize, &mut Vec<(&'static str, String)>),
) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "{HEADER}").unwrap();
    for i in 1..=n {
        let mut v = row_values(i);
        tweak(i, &mut v);
        let line: Vec<&str> = v.iter().map(|(_, x)| x.as_str()).collect();
        writeln!(f, "{}", line.join(",")).unwrap();
    }
    f.flush().unwrap();
}

/// The `[source.defaults]` every benchmark export relies on.
pub fn defaults() -> Vec<(&'static str, String)> {
    vec![
        ("category_id", CATEGORY.to_string()),
        ("brand_name", "鲜果坊".to_string()),
        ("main_shop_name", "鲜果坊".to_string()),
        ("main_image", IMG1.to_string()),
        ("audit_images", format!("{IMG1},{IMG2}")),
    ]
}

/// A config for a gateway URL (test keys), the export `stores.csv` and `audit.db` in `dir`.
pub fn config_text(gateway: &str, qps: u32, concurrency: usize) -> String {
    let defaults: String = defaults()
        .iter()
        .map(|(k, v)| format!("{k} = \"{v}\"\n"))
        .collect();
    format!(
        r#"[alipay]
gateway = "{gateway}"
app_id = "2021000000000001"
app_private_key = "{app}"
alipay_public_key = "{alipay}"
connect_timeout = "2s"
request_timeout = "10s"

[source]
path = "stores.csv"

[source.defaults]
{defaults}
[sync]
concurrency = {concurrency}
max_creates = 1000000
max_modifies = 1000000
# The two example ids are fewer than the default 3 distinct audit photos.
min_audit_images = 2

[rate_limit]
qps = {qps}

[audit]
database = "audit.db"
"#,
        app = key_file("app_private_pkcs8.pem").display(),
        alipay = key_file("alipay_public.pem").display(),
    )
}

pub fn gateway(url: &str, limiter: RateLimiter) -> Gateway {
    let (app, _, _, alipay_pub) = test_keys();
    Gateway::new(
        GatewayConfig {
            url: url.to_string(),
            app_id: "2021000000000001".into(),
            app_auth_token: None,
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
        },
        app,
        alipay_pub,
        Arc::new(SystemClock),
        Arc::new(limiter),
    )
    .unwrap()
}

/// A run context built as the binary builds it, from a config written into `dir`.
pub async fn context(dir: &Path, gateway: &str, qps: u32, concurrency: usize) -> Context {
    let path = dir.join("shopsync.toml");
    std::fs::write(&path, config_text(gateway, qps, concurrency)).unwrap();
    let cfg = Config::load_with_env(&path, std::iter::empty()).unwrap();
    let clock: SharedClock = Arc::new(SystemClock);
    let db = Arc::new(AuditDb::open(&cfg.audit.database).unwrap());
    Context::connect(cfg, db, clock, None).await.unwrap().0
}

/// A field of /proc/self/status in KiB (`VmHWM`, `VmRSS`).
pub fn status_kib(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// CPU time the calling thread has used (ns), from /proc/thread-self/schedstat.
pub fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
