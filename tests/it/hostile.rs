//! Hostile exports and configs, in-process through `source::load` and through the real
//! binary (`shopsync plan`): every case ends with a clear message, the right exit code,
//! and bounded memory (peak RSS of the child measured with `/usr/bin/time -v` when present).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use shopsync::config::Config;
use shopsync::record::Field;
use shopsync::sim::SimHandle;
use shopsync::source::{self, SourceEncoding};

use crate::harness::Harness;
use crate::support::export::{row, HEADER};
use crate::support::sim::{start_sim, system_clock};

/// A simulator in its own runtime, kept alive while the binary talks to it.
struct Sim {
    rt: tokio::runtime::Runtime,
    handle: SimHandle,
}

impl Sim {
    fn start() -> Self {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let handle = rt.block_on(start_sim(system_clock(), |_| {}));
        Self { rt, handle }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.rt.block_on(self.handle.shutdown());
    }
}

/// What a child run left behind.
struct Outcome {
    code: i32,
    stderr: String,
    stdout_bytes: usize,
    /// Peak RSS in KiB, when `/usr/bin/time` is available.
    max_rss_kib: Option<u64>,
    secs: f64,
}

/// Run `shopsync --config <config> plan` (stdout counted, not kept).
fn run_plan(config: &Path) -> Outcome {
    let bin = env!("CARGO_BIN_EXE_shopsync");
    let timed = Path::new("/usr/bin/time").exists();
    let mut cmd = if timed {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-v").arg(bin);
        c
    } else {
        Command::new(bin)
    };
    cmd.arg("--config").arg(config).arg("plan");
    cmd.env_remove("RUST_LOG").env("NO_COLOR", "1");
    let started = Instant::now();
    let out = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let max_rss_kib = stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok());
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stderr,
        stdout_bytes: out.stdout.len(),
        max_rss_kib,
        secs: started.elapsed().as_secs_f64(),
    }
}

/// A config directory whose export is `stores.csv` (written by the caller).
fn config_dir(gateway: &str, extra: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shopsync.toml");
    std::fs::write(&path, Harness::config_text(gateway, extra)).unwrap();
    (dir, path)
}

fn load_csv(path: &Path, encoding: SourceEncoding) -> Result<source::Loaded, source::SourceError> {
    let cfg =
        Config::load_with_env(&path.with_file_name("shopsync.toml"), std::iter::empty()).unwrap();
    let mut src = cfg.source().clone();
    src.path = path.to_path_buf();
    src.encoding = encoding;
    source::load(&src)
}

fn assert_rss_below(o: &Outcome, mib: u64, what: &str) {
    if let Some(kib) = o.max_rss_kib {
        assert!(kib < mib * 1024, "{what}: peak RSS {} MiB", kib / 1024);
    }
}

#[test]
fn an_empty_export_fails_and_a_header_only_one_is_in_sync() {
    let sim = Sim::start();
    let (dir, config) = config_dir(&sim.handle.gateway_url(), "");
    let csv = dir.path().join("stores.csv");

    std::fs::write(&csv, b"").unwrap();
    let o = run_plan(&config);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains("stores.csv is empty: no header line"),
        "{}",
        o.stderr
    );

    std::fs::write(&csv, format!("{HEADER}\n")).unwrap();
    let o = run_plan(&config);
    assert_eq!(
        o.code, 0,
        "header only, nothing on Alipay: in sync. {}",
        o.stderr
    );
}

#[test]
fn a_100_mb_single_line_is_rejected_in_bounded_memory() {
    let sim = Sim::start();
    let (dir, config) = config_dir(&sim.handle.gateway_url(), "");
    let csv = dir.path().join("stores.csv");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
        writeln!(f, "{HEADER}").unwrap();
        writeln!(f, "{}", row(1)).unwrap();
        write!(f, "ST-0002,").unwrap();
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..100 {
            f.write_all(&chunk).unwrap();
        }
        writeln!(f).unwrap();
        writeln!(f, "{}", row(3)).unwrap();
    }
    assert!(std::fs::metadata(&csv).unwrap().len() > 100 << 20);

    let loaded = load_csv(&csv, SourceEncoding::Auto).unwrap();
    let ids: Vec<&str> = loaded.stores.iter().map(|s| s.store_id.as_str()).collect();
    assert_eq!(ids, ["ST-0001", "ST-0003"]);
    assert_eq!(loaded.rejects.len(), 1);
    assert_eq!(loaded.rejects[0].line, 3);
    assert!(
        loaded.rejects[0].reason.contains("longer than"),
        "{}",
        loaded.rejects[0]
    );

    let o = run_plan(&config);
    assert_eq!(o.code, 2, "two creates pending: {}", o.stderr);
    assert_rss_below(&o, 100, "100 MB line");
}

#[test]
fn nul_bytes_and_invalid_utf8_are_rejects_naming_line_and_field() {
    let sim = Sim::start();
    let (dir, config) = config_dir(&sim.handle.gateway_url(), "");
    let csv = dir.path().join("stores.csv");
    let mut bytes = format!("{HEADER}\n{}\n", row(1)).into_bytes();
    // NUL inside the address, and a NUL-only line.
    bytes.extend(row(2).replace("南京西路", "南京\0西路").as_bytes());
    bytes.extend(b"\n\0\0\0\n");
    // Latin-1 bytes in a UTF-8 file.
    bytes.extend(row(4).as_bytes());
    bytes.extend(b"\xE9\xFF\n");
    bytes.extend(format!("{}\n", row(5)).as_bytes());
    std::fs::write(&csv, &bytes).unwrap();

    let loaded = load_csv(&csv, SourceEncoding::Utf8).unwrap();
    let ids: Vec<&str> = loaded.stores.iter().map(|s| s.store_id.as_str()).collect();
    assert_eq!(ids, ["ST-0001", "ST-0005"]);
    let lines: Vec<u64> = loaded.rejects.iter().map(|r| r.line).collect();
    assert_eq!(lines, [3, 4, 5], "{:?}", loaded.rejects);
    let nul = &loaded.rejects[0];
    assert_eq!(nul.field.as_deref(), Some("address"), "{nul}");
    assert!(nul.reason.contains("U+0000"), "{nul}");
    assert!(
        loaded.rejects[2].reason.contains("not valid UTF-8"),
        "{}",
        loaded.rejects[2]
    );

    let o = run_plan(&config);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert_rss_below(&o, 200, "NUL bytes");
}

#[test]
fn mixed_utf8_and_gbk_lines_never_yield_mojibake() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("shopsync.toml"),
        Harness::config_text("http://127.0.0.1:9", ""),
    )
    .unwrap();
    let csv = dir.path().join("stores.csv");
    let mut bytes = format!("{HEADER}\n").into_bytes();
    for n in 1..=6 {
        let line = format!("{}\n", row(n));
        if n % 2 == 0 {
            bytes.extend(encoding_rs::GBK.encode(&line).0.iter());
        } else {
            bytes.extend(line.as_bytes());
        }
    }
    std::fs::write(&csv, &bytes).unwrap();
    for enc in [
        SourceEncoding::Auto,
        SourceEncoding::Utf8,
        SourceEncoding::Gbk,
        SourceEncoding::Gb18030,
    ] {
        let loaded = load_csv(&csv, enc).unwrap();
        assert_eq!(loaded.rows, 6, "{enc}");
        // Whatever decoding is picked, every store that loads holds the exact text.
        for s in &loaded.stores {
            let n: usize = s.store_id[3..].parse().unwrap();
            assert_eq!(
                s.get(Field::BranchShopName),
                Some(format!("分店{n:04}号").as_str()),
                "{enc}: {s:?}"
            );
            assert_eq!(
                s.get(Field::Address),
                Some(format!("南京西路{n}号").as_str())
            );
        }
        assert_eq!(loaded.stores.len() + loaded.rejected_rows(), 6, "{enc}");
        assert!(
            !loaded.stores.is_empty(),
            "{enc}: one of the encodings must load"
        );
    }
}

/// Stores in the export: 200k by default, 1M with `SHOPSYNC_TEST_HEAVY=1`.
fn many_rows() -> usize {
    if std::env::var("SHOPSYNC_TEST_HEAVY").is_ok_and(|v| v == "1") {
        1_000_000
    } else {
        200_000
    }
}

#[test]
fn a_huge_export_loads_and_plans_in_bounded_memory() {
    let n = many_rows();
    let sim = Sim::start();
    let (dir, config) = config_dir(&sim.handle.gateway_url(), "");
    let csv = dir.path().join("stores.csv");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
        writeln!(f, "{HEADER}").unwrap();
        for i in 1..=n {
            // row() keeps 4 digits; make every id unique.
            let r = row(i);
            let rest = r.split_once(',').unwrap().1;
            writeln!(f, "S{i},{rest}").unwrap();
        }
    }
    let o = run_plan(&config);
    // 200k creates are more than [sync] max_creates: the plan says a sync would stop.
    assert_eq!(o.code, 4, "{}", o.stderr);
    assert!(o.stderr.contains("max_creates"), "{}", o.stderr);
    assert!(o.stdout_bytes > n * 20, "the plan lists every create");
    // Linear in the rows: the loaded export and the plan hold every store (171 MiB peak
    // for 200k creates measured, ~0.85 KiB per store); the budget is 1 KiB per store plus
    // 100 MiB of fixed cost.
    let bound_mib = n as u64 / 1024 + 100;
    assert_rss_below(&o, bound_mib, "huge export");
    eprintln!(
        "plan of {n} rows: {:.1}s, peak RSS {:?} MiB",
        o.secs,
        o.max_rss_kib.map(|k| k / 1024)
    );
}

/// A broken config: exit 78 and a message naming the file and the key.
fn assert_config_error(config_text: &str, key: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.toml");
    std::fs::write(&path, config_text).unwrap();
    std::fs::write(
        dir.path().join("stores.csv"),
        format!("{HEADER}\n{}\n", row(1)),
    )
    .unwrap();
    let o = run_plan(&path);
    assert_eq!(o.code, 78, "{key}: {}", o.stderr);
    assert!(o.stderr.contains("hostile.toml"), "{key}: {}", o.stderr);
    assert!(o.stderr.contains(key), "{key}: {}", o.stderr);
    assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
}

#[test]
fn hostile_configs_exit_78_naming_file_and_key() {
    let good = Harness::config_text("http://127.0.0.1:9", "");
    assert_config_error(
        &good.replace("[rate_limit]\n", "[rate_limit]\nqpss = 3\n"),
        "qpss",
    );
    assert_config_error(&good.replace("qps = 1000", "qps = \"fast\""), "qps");
    assert_config_error(
        &good
            .replace("[source]\npath = \"stores.csv\"\n", "")
            .replace("[source.defaults]", "[defaults]"),
        "source",
    );
    assert_config_error(
        &good.replace(
            "request_timeout = \"5s\"",
            "request_timeout = \"5 parsecs\"",
        ),
        "request_timeout",
    );
    // Regression dcd3601: a bad [source] failed the run (exit 1) naming the export, not exit 78.
    assert_config_error(
        &good.replace(
            "path = \"stores.csv\"",
            "path = \"stores.csv\"\ndelimiter = \";;\"",
        ),
        "delimiter",
    );
    assert_config_error("this is = = not toml", "hostile.toml");
    assert_config_error(
        &good.replace(
            "[source.defaults]",
            "[source.defaults]\nshop_colour = \"red\"",
        ),
        "shop_colour",
    );
}
