//! Why a run (or any command built on one) could not do its job, and the exit code that
//! tells cron and systemd (docs/design.md, "Exit codes").

use crate::alipay::{AlipayError, ErrorClass};
use crate::audit::AuditError;
use crate::config::ConfigError;
use crate::daemon::lock::LockError;
use crate::exit::Exit;
use crate::source::SourceError;
use crate::sync::context::ConnectError;

/// A failed run. Each variant knows its exit code ([`RunError::exit`]); the message is the
/// error chain, printed once by the command layer and stored in the run's row.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration file or an override is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The client could not be built (keys, gateway, simulator).
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// Another shopsync holds the instance lock.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The audit store failed.
    #[error("the audit store failed: {0}")]
    Audit(#[from] AuditError),
    /// The export as a whole could not be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// An Alipay call failed in a way that ends the run (a read after its retries, or a
    /// configuration/credential answer).
    #[error(transparent)]
    Alipay(#[from] AlipayError),
    /// A listener (notifications, health) could not bind its configured address.
    #[error("[{section}] cannot listen on {addr}: {source}")]
    Listen {
        section: &'static str,
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// A local operation the run needs failed (signal handlers, a runtime resource).
    #[error("cannot {what}: {source}")]
    Io {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// An `[[alert]]` destination cannot be set up (its secret unreadable).
    #[error(transparent)]
    Alert(#[from] crate::alert::AlertSetupError),
    /// A saved plan cannot be used (unreadable, changed, for another app, too old).
    #[error(transparent)]
    SavedPlan(#[from] crate::sync::saved_plan::SavedPlanError),
    /// A file the command was asked to write (the HTML report) could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `--merchant` names a merchant the configuration does not have.
    #[error("no [[merchant]] named {name:?} in the configuration (merchants: {known})")]
    UnknownMerchant { name: String, known: String },
    /// A background task of the run panicked or was cancelled.
    #[error("internal error: {0}")]
    Task(String),
}

impl RunError {
    /// The process exit code for this failure.
    pub fn exit(&self) -> Exit {
        match self {
            RunError::Config(_)
            | RunError::Connect(_)
            | RunError::Listen { .. }
            | RunError::Alert(_) => Exit::Config,
            RunError::Write { .. } => Exit::Output,
            RunError::UnknownMerchant { .. } => Exit::Usage,
            RunError::Alipay(e) if e.class == ErrorClass::Config => Exit::Config,
            // A database source that refuses the login, the database or the query: 78.
            RunError::Source(e) => e.exit(),
            RunError::Lock(_)
            | RunError::Audit(_)
            | RunError::Alipay(_)
            | RunError::Io { .. }
            | RunError::SavedPlan(_)
            | RunError::Task(_) => Exit::Failed,
        }
    }
}

impl From<tokio::task::JoinError> for RunError {
    fn from(e: tokio::task::JoinError) -> Self {
        RunError::Task(e.to_string())
    }
}

/// An error and its sources, `: `-separated and redacted (what the run row and the log
/// keep).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    crate::secret::redact(&chain_text(e)).into_owned()
}

fn chain_text(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !s.ends_with(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_answer_is_a_configuration_error_and_a_failed_read_is_not() {
        let cfg = AlipayError::local("m", ErrorClass::Config, "x");
        assert_eq!(RunError::from(cfg).exit(), Exit::Config);
        let read = AlipayError::local("m", ErrorClass::Transport, "x");
        assert_eq!(RunError::from(read).exit(), Exit::Failed);
    }
}
