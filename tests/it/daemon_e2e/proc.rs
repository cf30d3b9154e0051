//! Child processes of the real `shopsync` binary and a simulator on real time for them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use shopsync::sim::{SimConfig, SimHandle};

use crate::harness::Harness;
use crate::support::poll::poll_within;
use crate::support::sim::{start_sim, system_clock};

pub const BIN: &str = env!("CARGO_BIN_EXE_shopsync");

/// A port that was free a moment ago (bind :0, read, drop).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The simulator on the system clock (the child processes sign with real time).
pub async fn real_time_sim(tune: impl FnOnce(&mut SimConfig)) -> SimHandle {
    start_sim(system_clock(), |cfg| {
        cfg.audit_delay = chrono::Duration::milliseconds(200);
        tune(cfg);
    })
    .await
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
        let child = &mut self.child;
        poll_within(limit, || std::future::ready(child.try_wait().unwrap())).await
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
