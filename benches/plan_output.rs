//! `plan` output of 200,000 planned creates through the real binary, per format: wall time
//! and the process's peak RSS (`/usr/bin/time -v`). JSON and CSV are streamed item by
//! item, so they should cost about what the table costs (issue 9: JSON was 4.1 s and
//! 1.25 GB before streaming, the table 0.76 s and 205 MB).
//!
//! Then the same plan saved (`plan --out FILE`, issue 16) and read back (`show-plan`).
//!
//! `cargo bench --bench plan_output` (optional: `-- stores=N runs=R`). Prints numbers;
//! asserts nothing.

mod common;

use std::process::{Command, Stdio};
use std::time::Instant;

fn arg(name: &str, default: usize) -> usize {
    std::env::args()
        .find_map(|a| a.strip_prefix(&format!("{name}=")).map(str::to_string))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One fresh process of `shopsync ARGS` in `dir` under `/usr/bin/time -v`: wall ms, peak
/// RSS KiB, stdout bytes.
fn measure(bin: &str, dir: &std::path::Path, config: &str, args: &[&str]) -> (u64, u64, usize) {
    let started = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(bin)
        .args(["--config", config, "--log-level", "warn"])
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run /usr/bin/time -v shopsync");
    let wall = started.elapsed().as_millis() as u64;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let kib: u64 = stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (wall, kib, out.stdout.len())
}

fn main() {
    let n = arg("stores", 200_000);
    let runs = arg("runs", 3);
    let bin = env!("CARGO_BIN_EXE_shopsync");
    let dir = tempfile::tempdir().unwrap();
    common::write_export(&dir.path().join("stores.csv"), n, |_, _| {});
    // The built-in simulator (no shops): every store plans as a create.
    let config = common::config_text("simulator", 1000, 8) + "\n[simulator]\nkeep_state = false\n";
    let config_path = dir.path().join("shopsync.toml");
    std::fs::write(&config_path, config).unwrap();
    let config = config_path.to_str().unwrap();
    println!("plan output, {n} planned creates, median of {runs} fresh processes");
    println!(
        "{:<18} {:>10} {:>14} {:>14}",
        "format", "wall ms", "peak RSS MiB", "output MiB"
    );
    let plan_file = dir.path().join("plan.json");
    // The three formats; then the table with the plan saved (`--out`, issue 16; output:
    // the file), and the saved plan read back (`show-plan`, JSON).
    let cases: [(&str, &[&str]); 5] = [
        ("table", &["plan", "--format", "table"]),
        ("json", &["plan", "--format", "json"]),
        ("csv", &["plan", "--format", "csv"]),
        (
            "table --out",
            &["plan", "--format", "table", "--out", "plan.json"],
        ),
        (
            "show-plan json",
            &["show-plan", "plan.json", "--format", "json"],
        ),
    ];
    for (label, args) in cases {
        let mut walls = Vec::new();
        let mut rss = Vec::new();
        let mut bytes = 0usize;
        for _ in 0..runs {
            let _ = std::fs::remove_file(dir.path().join("audit.db"));
            let (wall, kib, out) = measure(bin, dir.path(), config, args);
            walls.push(wall);
            rss.push(kib);
            bytes = if label == "table --out" {
                std::fs::metadata(&plan_file)
                    .map(|m| m.len() as usize)
                    .unwrap_or(0)
            } else {
                out
            };
        }
        walls.sort_unstable();
        rss.sort_unstable();
        println!(
            "{:<18} {:>10} {:>14.1} {:>14.1}",
            label,
            walls[walls.len() / 2],
            common::mib(rss[rss.len() / 2]),
            bytes as f64 / (1024.0 * 1024.0)
        );
    }
}
