//! Logging set-up: `tracing` to stderr, pretty for a terminal or JSON for journald/files.

use tracing_subscriber::EnvFilter;

pub use crate::cli::LogFormat;

/// The level used when neither `--log-level` nor `RUST_LOG` says otherwise.
pub const DEFAULT_DIRECTIVE: &str = "info";

/// The filter: `level` (from `--log-level`) if given, else `rust_log` (`RUST_LOG`), else
/// [`DEFAULT_DIRECTIVE`]. Both accept full directives (`info,shopsync=debug`).
pub fn filter(level: Option<&str>, rust_log: Option<&str>) -> anyhow::Result<EnvFilter> {
    if let Some(level) = level.filter(|l| !l.trim().is_empty()) {
        return EnvFilter::try_new(level)
            .map_err(|e| anyhow::anyhow!("Invalid --log-level {level:?}: {e}"));
    }
    if let Some(env) = rust_log.filter(|l| !l.trim().is_empty()) {
        return EnvFilter::try_new(env)
            .map_err(|e| anyhow::anyhow!("Invalid RUST_LOG {env:?}: {e}"));
    }
    Ok(EnvFilter::new(DEFAULT_DIRECTIVE))
}

/// Install the global subscriber, writing to stderr. Fails if one is already installed or
/// a filter does not parse.
pub fn init(format: LogFormat, level: Option<&str>) -> anyhow::Result<()> {
    let rust_log = std::env::var("RUST_LOG").ok();
    let filter = filter(level, rust_log.as_deref())?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Pretty => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        LogFormat::Json => builder
            .json()
            .with_ansi(false)
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("Cannot install the logger: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_level_overrides_rust_log() {
        let f = filter(Some("debug"), Some("error")).unwrap();
        assert_eq!(f.to_string(), "debug");
        let f = filter(None, Some("warn,shopsync=trace")).unwrap();
        assert_eq!(f.to_string(), "shopsync=trace,warn");
        let f = filter(None, None).unwrap();
        assert_eq!(f.to_string(), "info");
    }

    #[test]
    fn invalid_level_is_an_error_naming_it() {
        let e = filter(Some("loud=="), None).unwrap_err().to_string();
        assert!(e.contains("--log-level") && e.contains("loud=="), "{e}");
    }
}
