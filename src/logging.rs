//! Logging set-up: `tracing` to stderr, pretty for a terminal or JSON for journald/files.
//! Every line passes through [`crate::output::log_writer`] (redacted; a closed stderr never
//! stops a run). Pretty lines carry the time in the configured zone with its offset
//! (`2026-12-02 02:30:00.123 +08:00`); JSON lines keep RFC 3339 UTC.

use std::sync::RwLock;

use chrono_tz::Tz;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::EnvFilter;

/// The zone of the pretty log's times; `[schedule] timezone` once the config is loaded.
static ZONE: RwLock<Tz> = RwLock::new(chrono_tz::Asia::Shanghai);

static JSON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether the log is JSON (operator messages then go into it as events).
pub fn is_json() -> bool {
    JSON.load(std::sync::atomic::Ordering::Relaxed)
}

/// Show the pretty log's times in `zone` from now on.
pub fn set_zone(zone: Tz) {
    *ZONE.write().unwrap_or_else(|e| e.into_inner()) = zone;
}

/// The zone times are shown in (tables, logs).
pub fn zone() -> Tz {
    *ZONE.read().unwrap_or_else(|e| e.into_inner())
}

/// Local time with an explicit offset.
struct ZoneTime;

impl FormatTime for ZoneTime {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        let now = chrono::Utc::now().with_timezone(&zone());
        write!(w, "{}", now.format("%Y-%m-%d %H:%M:%S%.3f %:z"))
    }
}

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
    JSON.store(
        format == LogFormat::Json,
        std::sync::atomic::Ordering::Relaxed,
    );
    let rust_log = std::env::var("RUST_LOG").ok();
    let filter = filter(level, rust_log.as_deref())?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::output::log_writer);
    let result = match format {
        LogFormat::Pretty => builder
            .with_timer(ZoneTime)
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
