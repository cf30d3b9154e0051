//! `SHOPSYNC_<SECTION>_<KEY>=value` environment overrides, applied to the parsed TOML
//! before it is deserialised.

use super::{ConfigError, TOKEN_ENV};

/// The sections and keys that `SHOPSYNC_<SECTION>_<KEY>` may override.
const OVERRIDABLE: &[&str] = &[
    "alipay",
    "source",
    "sync",
    "rate_limit",
    "audit",
    "schedule",
    "notify",
    "health",
    "simulator",
    "images",
];

/// Apply `SHOPSYNC_<SECTION>_<KEY>=value` overrides to the parsed TOML. Values are read as
/// TOML scalars when they parse as such (numbers, booleans), else as strings.
pub(super) fn apply_env(
    doc: &mut toml::Table,
    vars: impl Iterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    for (var, value) in vars {
        let Some(rest) = var.strip_prefix("SHOPSYNC_") else {
            continue;
        };
        // Not overrides: the token, the CLI's own variables, and `SHOPSYNC_TEST_*`, which
        // is reserved for the test suite's knobs (they reach the binaries it spawns).
        if var == TOKEN_ENV
            || var == "SHOPSYNC_CONFIG"
            || var == "SHOPSYNC_LOG"
            || var.starts_with("SHOPSYNC_TEST_")
        {
            continue;
        }
        let lower = rest.to_ascii_lowercase();
        let Some(section) = OVERRIDABLE
            .iter()
            .filter(|s| lower.starts_with(&format!("{s}_")))
            .max_by_key(|s| s.len())
        else {
            return Err(ConfigError::Env {
                var,
                message: format!("unknown section; known: {}", OVERRIDABLE.join(", ")),
            });
        };
        let key = &lower[section.len() + 1..];
        // Arrays are read as TOML (`["a","b"]`); every scalar stays text, so a string key
        // holding digits (`SHOPSYNC_ALIPAY_APP_ID=2021…`) is a string, and the numeric and
        // flag keys parse their text (`config::sections::lenient`).
        let parsed = format!("v = {value}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .filter(|v| v.is_array())
            .unwrap_or_else(|| toml::Value::String(value.clone()));
        let table = doc
            .entry(section.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let Some(table) = table.as_table_mut() else {
            return Err(ConfigError::Env {
                var,
                message: format!("[{section}] is not a table"),
            });
        };
        table.insert(key.to_string(), parsed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_scalars_and_strings() {
        let mut doc: toml::Table = "[sync]\nconcurrency = 4\n".parse().unwrap();
        apply_env(
            &mut doc,
            vec![
                ("SHOPSYNC_SYNC_CONCURRENCY".to_string(), "2".to_string()),
                ("SHOPSYNC_RATE_LIMIT_QPS".to_string(), "7".to_string()),
                (
                    "SHOPSYNC_ALIPAY_GATEWAY".to_string(),
                    "https://x/gateway.do".to_string(),
                ),
                ("PATH".to_string(), "/bin".to_string()),
            ]
            .into_iter(),
        )
        .unwrap();
        assert_eq!(doc["sync"]["concurrency"].as_str(), Some("2"));
        assert_eq!(doc["rate_limit"]["qps"].as_str(), Some("7"));
        assert_eq!(
            doc["alipay"]["gateway"].as_str(),
            Some("https://x/gateway.do")
        );
        let err = apply_env(
            &mut doc,
            vec![("SHOPSYNC_NOPE_X".to_string(), "1".to_string())].into_iter(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("SHOPSYNC_NOPE_X"));
        // The test suite's knobs are not config overrides.
        // Regression 598a7bd: SHOPSYNC_HEAVY=1 read as an override made spawned binaries exit 78.
        let before = doc.clone();
        apply_env(
            &mut doc,
            vec![("SHOPSYNC_TEST_HEAVY".to_string(), "1".to_string())].into_iter(),
        )
        .unwrap();
        assert_eq!(doc, before);
    }
}
