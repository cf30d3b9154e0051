//! The app's quota across processes on one host (docs/design.md invariant 7): every
//! shopsync process of one app that points at the same quota file (default: next to the
//! audit database, `<database>.quota`; `[rate_limit] quota_file` to share one file between
//! configs) admits a call only while fewer than `qps` calls hold a slot in it.
//!
//! Like the in-process window (`ratelimit.rs`), a call holds its slot from admission
//! until one second after it finished, so no server-side second can hold more than `qps`
//! calls from all the processes together. The file is a few lines of text
//! (`pid seq admitted_ms until_ms`, `until_ms = 0` while in flight) read and rewritten
//! under an exclusive lock held for microseconds. A slot of a process that died in flight
//! expires after [`IN_FLIGHT_MAX`].

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long an in-flight slot counts when its process never finishes it (killed).
pub const IN_FLIGHT_MAX: Duration = Duration::from_secs(60);

/// How long a finished call keeps its slot.
const HOLD_AFTER: Duration = Duration::from_secs(1);

/// The longest single wait before the file is read again.
const MAX_WAIT: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    pid: u32,
    seq: u64,
    admitted_ms: u64,
    /// 0 while in flight.
    until_ms: u64,
}

impl Entry {
    fn expires_ms(&self) -> u64 {
        if self.until_ms == 0 {
            self.admitted_ms + IN_FLIGHT_MAX.as_millis() as u64
        } else {
            self.until_ms
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A quota file shared by the processes of one app.
#[derive(Debug)]
pub struct SharedQuota {
    path: PathBuf,
    qps: u32,
}

/// Slot numbers, unique within this process (with the pid: unique in the file).
static SEQ: AtomicU64 = AtomicU64::new(0);

/// A call's slot in the shared quota; dropping it starts the call's last second.
pub struct SharedSlot {
    quota: Arc<SharedQuota>,
    seq: u64,
}

impl Drop for SharedSlot {
    fn drop(&mut self) {
        let until = now_ms() + HOLD_AFTER.as_millis() as u64;
        let pid = std::process::id();
        let seq = self.seq;
        let _ = self.quota.with_entries(|entries| {
            if let Some(e) = entries.iter_mut().find(|e| e.pid == pid && e.seq == seq) {
                e.until_ms = until;
            }
        });
    }
}

impl SharedQuota {
    /// The quota file at `path` (created on first use), `qps` calls per second.
    pub fn new(path: &Path, qps: u32) -> Arc<SharedQuota> {
        Arc::new(SharedQuota {
            path: path.to_path_buf(),
            qps: qps.max(1),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Wait for a slot. If the file cannot be used at all (unwritable directory), the
    /// in-process limit alone applies, and that is logged once per process.
    pub async fn admit(self: &Arc<Self>) -> Option<SharedSlot> {
        let pid = std::process::id();
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        loop {
            let now = now_ms();
            let mut wait_ms = None;
            let taken = self.with_entries(|entries| {
                entries.retain(|e| e.expires_ms() > now);
                if entries.len() < self.qps as usize {
                    entries.push(Entry {
                        pid,
                        seq,
                        admitted_ms: now,
                        until_ms: 0,
                    });
                    true
                } else {
                    wait_ms = entries.iter().map(Entry::expires_ms).min().map(|t| t - now);
                    false
                }
            });
            match taken {
                Ok(true) => {
                    return Some(SharedSlot {
                        quota: self.clone(),
                        seq,
                    })
                }
                Ok(false) => {
                    let wait = Duration::from_millis(wait_ms.unwrap_or(1)).min(MAX_WAIT);
                    tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
                }
                Err(e) => {
                    static WARNED: std::sync::Once = std::sync::Once::new();
                    WARNED.call_once(|| {
                        tracing::warn!(path = %self.path.display(), error = %e, "Cannot use the shared quota file; only this process's own rate limit applies.");
                    });
                    return None;
                }
            }
        }
    }

    /// Read the entries under the file's lock, let `f` change them, write them back.
    fn with_entries<T>(&self, f: impl FnOnce(&mut Vec<Entry>) -> T) -> std::io::Result<T> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)?;
        fs4::fs_std::FileExt::lock_exclusive(&file)?;
        let result = (|| {
            let mut entries = read_entries(&mut file)?;
            let out = f(&mut entries);
            write_entries(&mut file, &entries)?;
            Ok(out)
        })();
        let _ = fs4::fs_std::FileExt::unlock(&file);
        result
    }
}

fn read_entries(file: &mut File) -> std::io::Result<Vec<Entry>> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0))?;
    file.read_to_string(&mut text)?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut it = l.split_ascii_whitespace().map(str::parse::<u64>);
            Some(Entry {
                pid: it.next()?.ok()? as u32,
                seq: it.next()?.ok()?,
                admitted_ms: it.next()?.ok()?,
                until_ms: it.next()?.ok()?,
            })
        })
        .collect())
}

fn write_entries(file: &mut File, entries: &[Entry]) -> std::io::Result<()> {
    let mut text = String::with_capacity(entries.len() * 40);
    for e in entries {
        text.push_str(&format!(
            "{} {} {} {}\n",
            e.pid, e.seq, e.admitted_ms, e.until_ms
        ));
    }
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slots_are_counted_across_handles_of_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.quota");
        // Two handles stand for two processes.
        let a = SharedQuota::new(&path, 2);
        let b = SharedQuota::new(&path, 2);
        let s1 = a.admit().await.unwrap();
        let _s2 = b.admit().await.unwrap();
        // Both slots are in flight: a third must wait until one finishes plus a second.
        let third = tokio::time::timeout(Duration::from_millis(200), b.admit()).await;
        assert!(
            third.is_err(),
            "a third call is admitted only after a slot frees"
        );
        drop(s1);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(
            text.lines().any(|l| !l.ends_with(" 0")),
            "the finished call holds its slot a second: {text}"
        );
    }
}
