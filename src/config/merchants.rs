//! ISV mode: one app, many merchants (`[[merchant]]` tables). The top-level `[alipay]` is
//! the app (app id, keys, gateway, quota); each merchant has a `name`, its own
//! `app_auth_token`, its own `[merchant.source]`, and optional overrides of `[sync]`
//! (merged key by key over the top-level table), `op_role` / `query_type` /
//! `related_partner_id`, `operate_notify_url` and the schedule's `cron`.
//!
//! A config without `[[merchant]]` has one implicit merchant, named `""`, made of the
//! top-level `[source]`, `[sync]` and the app's token settings: it works exactly as before
//! the merchant tables existed. [`Config::for_merchant`] gives the effective configuration
//! of one merchant; the engine runs on that.

use std::path::PathBuf;

use serde::Deserialize;

use super::{Config, SyncSection};
use crate::source::SourceConfig;

/// One `[[merchant]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MerchantSection {
    /// The merchant's id in logs, metrics, the audit database and `--merchant`.
    pub name: String,
    /// File holding the merchant's app_auth_token, or `credential:NAME`.
    #[serde(default)]
    pub app_auth_token_file: Option<PathBuf>,
    /// Environment variable holding the merchant's app_auth_token.
    #[serde(default)]
    pub app_auth_token_env: Option<String>,
    pub source: SourceConfig,
    /// `[merchant.sync]`: merged over the top-level `[sync]` at load, key by key.
    #[serde(default)]
    pub sync: Option<SyncSection>,
    #[serde(default)]
    pub op_role: Option<String>,
    #[serde(default)]
    pub query_type: Option<String>,
    #[serde(default)]
    pub related_partner_id: Option<String>,
    #[serde(default)]
    pub operate_notify_url: Option<String>,
    /// This merchant's `cron` (else `[schedule] cron`).
    #[serde(default)]
    pub cron: Option<String>,
}

/// A merchant name: letters, digits, `-` and `_`, 1 to 64 characters.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Merge every `[merchant.sync]` over the top-level `[sync]` (key by key), in the parsed
/// TOML before it is deserialised, so a merchant's table holds only what differs.
pub(super) fn merge_sync_overrides(doc: &mut toml::Table) {
    let base = doc
        .get("sync")
        .and_then(|v| v.as_table())
        .cloned()
        .unwrap_or_default();
    let Some(merchants) = doc.get_mut("merchant").and_then(|v| v.as_array_mut()) else {
        return;
    };
    for m in merchants.iter_mut().filter_map(|m| m.as_table_mut()) {
        if let Some(own) = m.get("sync").and_then(|v| v.as_table()).cloned() {
            let mut merged = base.clone();
            merged.extend(own);
            m.insert("sync".into(), toml::Value::Table(merged));
        }
    }
}

impl Config {
    /// Whether the config has `[[merchant]]` tables.
    pub fn is_multi_merchant(&self) -> bool {
        !self.merchant.is_empty()
    }

    /// The names of the merchants this config runs, in config order (`[""]` without
    /// `[[merchant]]` tables).
    pub fn merchant_names(&self) -> Vec<String> {
        if self.merchant.is_empty() {
            vec![String::new()]
        } else {
            self.merchant.iter().map(|m| m.name.clone()).collect()
        }
    }

    /// The effective configuration of merchant `name` (`""`: the implicit merchant):
    /// its source, its `[sync]`, its roles and notify URL, its schedule. `None` for a name
    /// the config does not have.
    pub fn for_merchant(&self, name: &str) -> Option<Config> {
        if self.merchant.is_empty() {
            return name.is_empty().then(|| self.clone());
        }
        let m = self.merchant.iter().find(|m| m.name == name)?;
        let mut cfg = self.clone();
        cfg.merchant_name = m.name.clone();
        cfg.source = Some(m.source.clone());
        if let Some(sync) = &m.sync {
            cfg.sync = sync.clone();
        }
        if let Some(v) = &m.op_role {
            cfg.alipay.op_role = v.clone();
        }
        if let Some(v) = &m.query_type {
            cfg.alipay.query_type = v.clone();
        }
        if let Some(v) = &m.related_partner_id {
            cfg.alipay.related_partner_id = Some(v.clone());
        }
        if let Some(v) = &m.operate_notify_url {
            cfg.alipay.operate_notify_url = Some(v.clone());
        }
        if let Some(cron) = &m.cron {
            cfg.schedule.cron = cron.clone();
        }
        cfg.alipay.app_auth_token_file = m.app_auth_token_file.clone();
        cfg.merchant_token_env = m.app_auth_token_env.clone();
        cfg.merchant.clear();
        Some(cfg)
    }

    /// The effective configuration of every merchant, in config order.
    pub fn merchant_configs(&self) -> Vec<Config> {
        self.merchant_names()
            .iter()
            .filter_map(|n| self.for_merchant(n))
            .collect()
    }

    /// What to call this merchant in messages: its name, or "the merchant" for the
    /// implicit one.
    pub fn merchant_label(&self) -> String {
        if self.merchant_name.is_empty() {
            "the merchant".to_string()
        } else {
            format!("merchant {}", self.merchant_name)
        }
    }

    /// Every problem of the `[[merchant]]` tables (names, tokens, sources, schedules).
    pub(super) fn merchant_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.merchant.is_empty() {
            if self.source.is_none() {
                out.push("[source] is missing (or give [[merchant]] tables, each with its [merchant.source])".into());
            }
            return out;
        }
        if self.source.is_some() {
            out.push("[source] and [[merchant]] cannot both be given: put each merchant's source in [merchant.source]".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, m) in self.merchant.iter().enumerate() {
            let at = if m.name.is_empty() {
                format!("[[merchant]] #{}", i + 1)
            } else {
                format!("[[merchant]] {}", m.name)
            };
            if !valid_name(&m.name) {
                out.push(format!(
                    "{at}: name {:?} must be 1–64 letters, digits, - or _",
                    m.name
                ));
            }
            if !seen.insert(m.name.clone()) {
                out.push(format!("{at}: the name is used by another [[merchant]]"));
            }
            match (&m.app_auth_token_file, &m.app_auth_token_env) {
                (None, None) => out.push(format!(
                    "{at}: app_auth_token_file (a path or credential:NAME) or app_auth_token_env is required"
                )),
                (Some(_), Some(_)) => out.push(format!(
                    "{at}: give app_auth_token_file or app_auth_token_env, not both"
                )),
                _ => {}
            }
            if let Err(e) = crate::source::check_settings(&m.source) {
                out.push(format!("{at}: [merchant.source] {e}"));
            }
            if let Some(cron) = &m.cron {
                if let Err(e) =
                    crate::daemon::schedule::Schedule::parse(cron, &self.schedule.timezone)
                {
                    out.push(format!("{at}: cron: {e}"));
                }
            }
        }
        out
    }
}
