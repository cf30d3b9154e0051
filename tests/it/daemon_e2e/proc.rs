//! Child processes of the real `shopsync` binary, a simulator on real time for them, and
//! bounded polling.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use shopsync::clock::SystemClock;
use shopsync::sim::{self, SimConfig, SimHandle};

use crate::harness::{test_keys, Harness};

pub const BIN: &str = env!("CARGO_BIN_EXE_shopsync");

/// A port that was free a moment ago (bind :0, read, drop).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The simulator on the system clock (the child processes sign with real time).
pub async fn real_time_sim(tune: impl FnOnce(&mut SimConfig)) -> SimHandle {
    let (_, app_pub, alipay, _) = test_keys();
    let mut cfg = SimConfig::new(app_pub, alipay);
    cfg.clock = Arc::new(SystemClock);
    cfg.audit_delay = chrono::Duration::milliseconds(200);
    cfg.preload_example_images = true; // issue 13: these stores use the two example image ids
    tune(&mut cfg);
    sim::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// Write `shopsync.toml` (pointing at `gateway`, plus `extra`) and `stores.csv` into `dir`.
pub fn write_files(dir: &Path, gateway: &str, extra: &str, csv: &str) -> PathBuf {
    let path = dir.join("shopsync.toml");
    std::fs::write(&path, Harness::config_text(gateway, extra)).unwrap();
    std::fs::write(dir.join("stores.csv"), csv).unwrap();
    path
}

/// A running child; killed on drop if still running. Output goes to files in `dir`.
pub struct Proc {
    pub child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Proc {
    pub fn spawn(dir: &Path, name: &str, args: &[&str]) -> Proc {
        let out = dir.join(format!("{name}.stdout"));
        let err = dir.join(format!("{name}.stderr"));
        let child = Command::new(BIN)
            .args(args)
            .env_remove("SHOPSYNC_APP_AUTH_TOKEN")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap();
        Proc { child, out, err }
    }

    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Send a signal by name (`TERM`, `INT`) with kill(1).
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    /// The exit status if the child exited within `limit`.
    pub async fn wait_for_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Panics with the child's output if it has exited.
    pub fn assert_running(&mut self) {
        if let Some(s) = self.child.try_wait().unwrap() {
            panic!(
                "child exited early ({s}); stdout:\n{}\nstderr:\n{}",
                self.stdout(),
                self.stderr()
            );
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Poll `check` every 20 ms until it returns `Some`, or panic after `limit` with `what`.
pub async fn poll<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// GET a URL; `(status, body)` or `None` when nothing answers yet.
pub async fn get(url: &str) -> Option<(u16, String)> {
    let client = reqwest::Client::builder().no_proxy().build().ok()?;
    let resp = client
        .get(url)
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .ok()?;
    let status = resp.status().as_u16();
    Some((status, resp.text().await.ok()?))
}
