//! Single-instance lock: an exclusive, non-blocking lock on `<audit db>.lock`, holding the
//! owner's pid, so two shopsync processes never write to Alipay and the audit store at
//! the same time. The kernel drops the lock when the process dies, so a stale file left
//! by a crash never blocks the next run.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use tracing::debug;

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "Another shopsync ({}) is running: lock file {} is held.",
        match .pid { Some(p) => format!("pid {p}"), None => "pid unknown".to_string() },
        .path.display()
    )]
    Held { path: PathBuf, pid: Option<u32> },
    #[error("Cannot use lock file {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The lock, held until dropped.
#[derive(Debug)]
pub struct InstanceLock {
    file: File,
    path: PathBuf,
}

/// The lock file for an audit database: the database path with `.lock` appended.
pub fn lock_path(db_path: &Path) -> PathBuf {
    let mut name = db_path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// The "lock path" of one merchant's runs: the database itself for the implicit merchant
/// (its lock file is `<database>.lock`, as before merchants existed), else
/// `<database>.merchant-<name>` (lock file `<database>.merchant-<name>.lock`). Runs of
/// different merchants do not exclude each other; two runs of one merchant do.
pub fn merchant_lock_base(db_path: &Path, merchant: &str) -> PathBuf {
    if merchant.is_empty() {
        return db_path.to_path_buf();
    }
    let mut name = db_path.as_os_str().to_owned();
    name.push(format!(".merchant-{merchant}"));
    PathBuf::from(name)
}

impl InstanceLock {
    /// Take the lock next to `db_path`, or fail at once if another process holds it.
    pub fn acquire(db_path: &Path) -> Result<InstanceLock, LockError> {
        let path = lock_path(db_path);
        let io_err = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        // Not truncated on open: the holder's pid must survive a failed attempt.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err)?;
        let locked = fs4::fs_std::FileExt::try_lock_exclusive(&file).map_err(io_err)?;
        if !locked {
            let mut text = String::new();
            let pid = file
                .read_to_string(&mut text)
                .ok()
                .and_then(|_| text.trim().parse().ok());
            return Err(LockError::Held { path, pid });
        }
        file.set_len(0).map_err(io_err)?;
        file.seek(SeekFrom::Start(0)).map_err(io_err)?;
        writeln!(file, "{}", std::process::id()).map_err(io_err)?;
        file.flush().map_err(io_err)?;
        debug!(path = %path.display(), "Instance lock acquired.");
        Ok(InstanceLock { file, path })
    }

    /// Take the lock, waiting up to `timeout` while another process holds it (saying so
    /// once on stderr). A zero timeout fails at once, like [`InstanceLock::acquire`].
    pub async fn acquire_waiting(
        db_path: &Path,
        timeout: std::time::Duration,
    ) -> Result<InstanceLock, LockError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut told = false;
        loop {
            match Self::acquire(db_path) {
                Err(LockError::Held { path, pid }) if tokio::time::Instant::now() < deadline => {
                    if !told {
                        crate::output::note_line(&format!(
                            "Waiting up to {} for another shopsync ({}) to finish its run (lock file {}).",
                            humantime::format_duration(timeout),
                            pid.map_or("pid unknown".to_string(), |p| format!("pid {p}")),
                            path.display()
                        ));
                        told = true;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                other => return other,
            }
        }
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for InstanceLock {
    fn drop(&mut self) {
        // Leave the file in place (removing it would race with a new acquirer that opened
        // it already); empty it so no stale pid is reported.
        let _ = self.file.set_len(0);
        let _ = fs4::fs_std::FileExt::unlock(&self.file);
        debug!(path = %self.path.display(), "Instance lock released.");
    }
}
