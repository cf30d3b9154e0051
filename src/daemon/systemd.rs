//! The parts of the systemd service protocol we use, without a crate: `sd_notify` over
//! `$NOTIFY_SOCKET`, the watchdog interval from `$WATCHDOG_USEC`, and credentials from
//! `$CREDENTIALS_DIRECTORY`. Each environment reader has an explicit-value twin so tests
//! never mutate the process environment.

use std::ffi::OsString;
use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

use tracing::debug;

/// Why a notification could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("NOTIFY_SOCKET {socket:?} is not a usable socket address: {reason}")]
    BadAddress { socket: String, reason: String },
    #[error("Cannot send {state:?} to NOTIFY_SOCKET {socket:?}: {source}")]
    Send {
        socket: String,
        state: String,
        #[source]
        source: io::Error,
    },
}

/// A handle on the service manager's notification socket; `None` inside when not run by
/// systemd (then every send is a no-op).
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    socket: Option<String>,
}

impl Notifier {
    /// From `$NOTIFY_SOCKET`.
    pub fn from_env() -> Self {
        Notifier::new(std::env::var("NOTIFY_SOCKET").ok().as_deref())
    }

    /// For an explicit socket: a path, or `@name` for an abstract socket. `None` or an
    /// empty string disables notifications.
    pub fn new(socket: Option<&str>) -> Self {
        Notifier {
            socket: socket.filter(|s| !s.is_empty()).map(str::to_string),
        }
    }

    /// Whether a socket is configured.
    pub fn enabled(&self) -> bool {
        self.socket.is_some()
    }

    /// Send one datagram of `KEY=VALUE` lines. `Ok(false)` when notifications are disabled.
    pub fn notify(&self, state: &str) -> Result<bool, NotifyError> {
        let Some(socket) = &self.socket else {
            return Ok(false);
        };
        let send_err = |source| NotifyError::Send {
            socket: socket.clone(),
            state: state.to_string(),
            source,
        };
        let sock = UnixDatagram::unbound().map_err(send_err)?;
        if let Some(name) = socket.strip_prefix('@') {
            send_abstract(&sock, socket, name, state.as_bytes()).map_err(send_err)?;
        } else if socket.starts_with('/') {
            sock.send_to(state.as_bytes(), socket).map_err(send_err)?;
        } else {
            return Err(NotifyError::BadAddress {
                socket: socket.clone(),
                reason: "expected an absolute path or @abstract-name".to_string(),
            });
        }
        debug!(state = %state.lines().next().unwrap_or(""), "Service manager notified.");
        Ok(true)
    }

    /// `READY=1`: start-up finished.
    pub fn ready(&self) -> Result<bool, NotifyError> {
        self.notify("READY=1")
    }

    /// `STOPPING=1`: shutdown began.
    pub fn stopping(&self) -> Result<bool, NotifyError> {
        self.notify("STOPPING=1")
    }

    /// `WATCHDOG=1`: still alive.
    pub fn watchdog(&self) -> Result<bool, NotifyError> {
        self.notify("WATCHDOG=1")
    }

    /// `STATUS=...`: a one-line status shown by `systemctl status` (newlines replaced).
    pub fn status(&self, text: &str) -> Result<bool, NotifyError> {
        self.notify(&format!("STATUS={}", text.replace('\n', " ")))
    }
}

/// Send `WATCHDOG=1` every `every` until `shutdown` completes (first ping at once). A
/// failed send is logged and retried at the next interval.
pub async fn run_watchdog(
    notifier: Notifier,
    every: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    if !notifier.enabled() || every.is_zero() {
        shutdown.await;
        return;
    }
    tokio::pin!(shutdown);
    let mut iv = tokio::time::interval(every);
    iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            _ = iv.tick() => {
                if let Err(e) = notifier.watchdog() {
                    tracing::warn!(error = %e, "Watchdog ping failed.");
                }
            }
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn send_abstract(sock: &UnixDatagram, _full: &str, name: &str, buf: &[u8]) -> io::Result<()> {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
    sock.send_to_addr(buf, &addr).map(|_| ())
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn send_abstract(_sock: &UnixDatagram, full: &str, _name: &str, _buf: &[u8]) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!("abstract socket {full} is only supported on Linux"),
    ))
}

/// How often to send `WATCHDOG=1`: half of `$WATCHDOG_USEC`, if the watchdog is enabled
/// for this process (`$WATCHDOG_PID` unset or ours).
pub fn watchdog_interval() -> Option<Duration> {
    watchdog_interval_from(
        std::env::var("WATCHDOG_USEC").ok().as_deref(),
        std::env::var("WATCHDOG_PID").ok().as_deref(),
        std::process::id(),
    )
}

/// [`watchdog_interval`] for explicit values.
pub fn watchdog_interval_from(
    usec: Option<&str>,
    pid: Option<&str>,
    own_pid: u32,
) -> Option<Duration> {
    if let Some(pid) = pid.filter(|p| !p.is_empty()) {
        if pid.trim().parse::<u32>().ok() != Some(own_pid) {
            return None;
        }
    }
    let usec: u64 = usec?.trim().parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

/// `$CREDENTIALS_DIRECTORY`, where systemd places `LoadCredential=` files.
pub fn credentials_dir() -> Option<PathBuf> {
    credentials_dir_from(std::env::var_os("CREDENTIALS_DIRECTORY"))
}

/// [`credentials_dir`] for an explicit value.
pub fn credentials_dir_from(value: Option<OsString>) -> Option<PathBuf> {
    value.filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// The file of credential `name` under `$CREDENTIALS_DIRECTORY`, if that is set.
pub fn credential_path(name: &str) -> Option<PathBuf> {
    credential_path_in(credentials_dir(), name)
}

/// [`credential_path`] under an explicit directory. Names with a path separator or `..`
/// are refused (`None`): a credential name is a single file name.
pub fn credential_path_in(dir: Option<PathBuf>, name: &str) -> Option<PathBuf> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return None;
    }
    dir.map(|d| d.join(name))
}
