//! Graceful shutdown: the first SIGTERM or SIGINT asks everything to stop (a watch channel
//! flips to `true`); a second one exits the process at once with status 130.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;
use tracing::{error, warn};

/// Exit status used when a second signal forces an immediate exit.
pub const FORCED_EXIT_CODE: i32 = 130;

/// A cloneable shutdown handle.
#[derive(Debug, Clone)]
pub struct Shutdown {
    tx: Arc<watch::Sender<bool>>,
    rx: watch::Receiver<bool>,
    grace: Duration,
}

impl Shutdown {
    /// A handle triggered only by [`Shutdown::trigger`] (tests, embedding).
    pub fn manual(grace: Duration) -> Self {
        let (tx, rx) = watch::channel(false);
        Shutdown {
            tx: Arc::new(tx),
            rx,
            grace,
        }
    }

    /// Install SIGTERM and SIGINT handlers (inside a tokio runtime). The handlers are in
    /// place when this returns.
    pub fn install(grace: Duration) -> io::Result<Self> {
        let shutdown = Shutdown::manual(grace);
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let tx = Arc::clone(&shutdown.tx);
        tokio::spawn(async move {
            let mut seen = 0u32;
            loop {
                let name = tokio::select! {
                    s = term.recv() => s.map(|_| "SIGTERM"),
                    s = int.recv() => s.map(|_| "SIGINT"),
                };
                let Some(name) = name else { return };
                seen += 1;
                if seen == 1 {
                    warn!(
                        signal = name,
                        grace_secs = grace.as_secs_f64(),
                        "Shutdown requested; finishing the current work."
                    );
                    tx.send_replace(true);
                } else {
                    error!(
                        signal = name,
                        "Second signal received; exiting immediately."
                    );
                    std::process::exit(FORCED_EXIT_CODE);
                }
            }
        });
        Ok(shutdown)
    }

    /// Ask for shutdown (idempotent).
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once shutdown is requested (at once if it already was).
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        // The sender lives in `self`, so `wait_for` cannot fail while we are borrowed.
        let _ = rx.wait_for(|v| *v).await;
    }

    /// An owned future for APIs that take `impl Future + 'static`.
    pub fn wait_owned(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let this = self.clone();
        async move { this.wait().await }
    }

    /// How long the caller should let work finish after shutdown is requested.
    pub fn grace(&self) -> Duration {
        self.grace
    }
}
