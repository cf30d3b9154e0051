//! The TOML configuration, `SHOPSYNC_*` environment overrides, and validation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::ratelimit::RateSpec;
use crate::secret::Secret;
use crate::source::SourceConfig;
use crate::store::Field;

/// The default configuration file.
pub const DEFAULT_PATH: &str = "config/shopsync.toml";

/// Environment variable holding the app_auth_token itself.
pub const TOKEN_ENV: &str = "SHOPSYNC_APP_AUTH_TOKEN";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("config file {path}: {problems}")]
    Invalid { path: String, problems: String },
}

fn de_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s)
        .map_err(|e| serde::de::Error::custom(format!("{s:?} is not a duration like \"30s\": {e}")))
}

fn de_opt_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    de_duration(d).map(Some)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub alipay: AlipaySection,
    pub source: SourceConfig,
    #[serde(default)]
    pub sync: SyncSection,
    #[serde(default)]
    pub rate_limit: RateLimitSection,
    #[serde(default)]
    pub audit: AuditSection,
    #[serde(default)]
    pub schedule: ScheduleSection,
    #[serde(default)]
    pub notify: Option<NotifySection>,
    #[serde(default)]
    pub health: Option<HealthSection>,
    #[serde(default)]
    pub simulator: SimulatorSection,
    /// Directory of the config file; relative paths are resolved against it.
    #[serde(skip)]
    pub base_dir: PathBuf,
    #[serde(skip)]
    pub path: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlipaySection {
    /// `"simulator"` (built-in, in-process), `"production"`, `"sandbox"`, or a gateway URL.
    #[serde(default = "default_gateway")]
    pub gateway: String,
    #[serde(default = "default_app_id")]
    pub app_id: String,
    /// Path of the app private key (PKCS#1/PKCS#8 PEM or bare base64). With the simulator
    /// it may be omitted: keys are then generated in memory.
    #[serde(default)]
    pub app_private_key: Option<PathBuf>,
    /// Path of Alipay's public key (PEM or bare base64).
    #[serde(default)]
    pub alipay_public_key: Option<PathBuf>,
    /// File holding the app_auth_token (when acting for a merchant). The token may also
    /// come from `SHOPSYNC_APP_AUTH_TOKEN` or the systemd credential `app-auth-token`.
    #[serde(default)]
    pub app_auth_token_file: Option<PathBuf>,
    #[serde(default = "default_op_role")]
    pub op_role: String,
    #[serde(default = "default_query_type")]
    pub query_type: String,
    #[serde(default)]
    pub related_partner_id: Option<String>,
    /// Where Alipay POSTs audit results (`operate_notify_url` of creates and modifies).
    #[serde(default)]
    pub operate_notify_url: Option<String>,
    #[serde(default = "default_connect_timeout", deserialize_with = "de_duration")]
    pub connect_timeout: Duration,
    #[serde(default = "default_request_timeout", deserialize_with = "de_duration")]
    pub request_timeout: Duration,
}

fn default_gateway() -> String {
    "simulator".into()
}
fn default_app_id() -> String {
    "2021000000000001".into()
}
fn default_op_role() -> String {
    "ISV".into()
}
fn default_query_type() -> String {
    "MERCHANT_SELF".into()
}
fn default_connect_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_request_timeout() -> Duration {
    Duration::from_secs(15)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSection {
    /// Managed fields (Alipay names). Default: every field the export provides.
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    #[serde(default = "yes")]
    pub create: bool,
    #[serde(default = "yes")]
    pub modify: bool,
    /// Writes in flight at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Guard: stop before any write when the plan has more creates than this.
    #[serde(default = "default_max_writes")]
    pub max_creates: u64,
    /// Guard: stop before any write when the plan has more modifies than this.
    #[serde(default = "default_max_writes")]
    pub max_modifies: u64,
    /// Guard: stop when the export has fewer than this fraction of the stores of the last
    /// completed sync (a truncated export).
    #[serde(default = "default_min_export_ratio")]
    pub min_export_ratio: f64,
    /// Attempts of one call on a transient error. Throttled calls retry for up to
    /// `retry::THROTTLE_BUDGET` without using attempts.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
}

fn yes() -> bool {
    true
}
fn default_concurrency() -> usize {
    8
}
fn default_max_writes() -> u64 {
    1000
}
fn default_min_export_ratio() -> f64 {
    0.5
}
fn default_attempts() -> u32 {
    8
}

impl Default for SyncSection {
    fn default() -> Self {
        Self {
            fields: None,
            create: true,
            modify: true,
            concurrency: default_concurrency(),
            max_creates: default_max_writes(),
            max_modifies: default_max_writes(),
            min_export_ratio: default_min_export_ratio(),
            max_attempts: default_attempts(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSection {
    /// Calls per second for the whole app (every method).
    #[serde(default = "default_qps")]
    pub qps: u32,
    #[serde(default)]
    pub burst: Option<u32>,
    /// Per-method limits, e.g. `"alipay.offline.market.shop.create" = { qps = 5, burst = 5 }`.
    #[serde(default)]
    pub methods: BTreeMap<String, RateSpec>,
}

fn default_qps() -> u32 {
    10
}

impl Default for RateLimitSection {
    fn default() -> Self {
        Self {
            qps: default_qps(),
            burst: None,
            methods: BTreeMap::new(),
        }
    }
}

impl RateLimitSection {
    pub fn app_spec(&self) -> RateSpec {
        RateSpec {
            qps: self.qps,
            burst: self.burst.unwrap_or(self.qps),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSection {
    #[serde(default = "default_db")]
    pub database: PathBuf,
}

fn default_db() -> PathBuf {
    PathBuf::from("shopsync.db")
}

impl Default for AuditSection {
    fn default() -> Self {
        Self {
            database: default_db(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSection {
    #[serde(default = "default_cron")]
    pub cron: String,
    #[serde(default = "default_tz")]
    pub timezone: String,
    #[serde(default = "default_follow_up", deserialize_with = "de_duration")]
    pub follow_up: Duration,
    /// How long in-flight calls may finish after SIGTERM.
    #[serde(default = "default_grace", deserialize_with = "de_duration")]
    pub grace: Duration,
}

fn default_cron() -> String {
    "30 2 * * *".into()
}
fn default_tz() -> String {
    "Asia/Shanghai".into()
}
fn default_follow_up() -> Duration {
    Duration::from_secs(600)
}
fn default_grace() -> Duration {
    Duration::from_secs(30)
}

impl Default for ScheduleSection {
    fn default() -> Self {
        Self {
            cron: default_cron(),
            timezone: default_tz(),
            follow_up: default_follow_up(),
            grace: default_grace(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySection {
    pub listen: String,
    #[serde(default = "default_notify_path")]
    pub path: String,
}

fn default_notify_path() -> String {
    "/alipay/notify".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthSection {
    pub listen: String,
}

/// Settings of the built-in simulator (`gateway = "simulator"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatorSection {
    #[serde(default = "default_audit_delay", deserialize_with = "de_duration")]
    pub audit_delay: Duration,
    #[serde(default)]
    pub seed: u64,
    /// Optional CSV of shops that already exist on the simulated Alipay.
    #[serde(default)]
    pub seed_csv: Option<PathBuf>,
    /// Optional: the simulator's own call limit (to demonstrate throttling).
    #[serde(default)]
    pub qps: Option<u32>,
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub latency: Option<Duration>,
    /// Where the simulated Alipay keeps its state between runs. Default: next to the audit
    /// database, `<database>.sim.json`. Set `keep_state = false` to start empty each run.
    #[serde(default)]
    pub snapshot: Option<PathBuf>,
    #[serde(default = "yes")]
    pub keep_state: bool,
    /// Apply orders also carry `store_id` and the caller's `request_id` in
    /// `biz_context_info` (a test opt-in; Alipay's hold only category and name).
    #[serde(default)]
    pub rich_biz_context: bool,
    /// Accept any well-formed image id, not only ids the simulator's upload issued.
    #[serde(default)]
    pub accept_image_ids: bool,
    /// Accept the two official example image ids as if uploaded.
    #[serde(default)]
    pub preload_example_images: bool,
}

fn default_audit_delay() -> Duration {
    Duration::from_secs(2)
}

impl Default for SimulatorSection {
    fn default() -> Self {
        Self {
            audit_delay: default_audit_delay(),
            seed: 0,
            seed_csv: None,
            qps: None,
            latency: None,
            snapshot: None,
            keep_state: true,
            rich_biz_context: false,
            accept_image_ids: false,
            preload_example_images: false,
        }
    }
}

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
];

/// Apply `SHOPSYNC_<SECTION>_<KEY>=value` overrides to the parsed TOML. Values are read as
/// TOML scalars when they parse as such (numbers, booleans), else as strings.
fn apply_env(
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
        let parsed = format!("v = {value}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .filter(|v| !v.is_table())
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

impl Config {
    /// Read, apply environment overrides, parse and check.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::load_with_env(path, std::env::vars())
    }

    pub fn load_with_env(
        path: &Path,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let cfg = Self::load_unchecked_with_env(path, env)?;
        let problems = cfg.problems();
        if !problems.is_empty() {
            return Err(ConfigError::Invalid {
                path: path.display().to_string(),
                problems: problems.join("; "),
            });
        }
        Ok(cfg)
    }

    fn load_unchecked_with_env(
        path: &Path,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut doc: toml::Table =
            text.parse()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
        apply_env(&mut doc, env)?;
        let mut cfg: Config =
            Config::deserialize(toml::Value::Table(doc)).map_err(|e| ConfigError::Parse {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
        cfg.path = path.to_path_buf();
        cfg.base_dir = path
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    p.to_path_buf()
                }
            })
            .unwrap_or_else(|| PathBuf::from("."));
        cfg.resolve_paths();
        Ok(cfg)
    }

    /// [`Config::load`] without the semantic checks: `validate` lists them itself.
    pub fn load_unchecked(path: &Path) -> Result<Self, ConfigError> {
        Self::load_unchecked_with_env(path, std::env::vars())
    }

    /// Relative paths are relative to the config file's directory's parent when the config
    /// lives in a `config/` directory (so `samples/stores.csv` works from the repository
    /// root), otherwise to the config file's directory.
    fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            return p.to_path_buf();
        }
        let base = if self.base_dir.file_name().is_some_and(|n| n == "config") {
            self.base_dir
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default()
        } else {
            self.base_dir.clone()
        };
        if base.as_os_str().is_empty() {
            p.to_path_buf()
        } else {
            base.join(p)
        }
    }

    fn resolve_paths(&mut self) {
        self.source.path = self.resolve(&self.source.path);
        self.audit.database = self.resolve(&self.audit.database);
        self.simulator.snapshot = if self.simulator.keep_state {
            Some(match &self.simulator.snapshot {
                Some(p) => self.resolve(p),
                None => {
                    let mut name = self.audit.database.as_os_str().to_os_string();
                    name.push(".sim.json");
                    PathBuf::from(name)
                }
            })
        } else {
            None
        };
        let resolved: Vec<Option<PathBuf>> = [
            &self.alipay.app_private_key,
            &self.alipay.alipay_public_key,
            &self.alipay.app_auth_token_file,
            &self.simulator.seed_csv,
        ]
        .iter()
        .map(|p| {
            p.as_ref()
                .map(|path| credential_or_path(path, |q| self.resolve(q)))
        })
        .collect();
        let mut it = resolved.into_iter();
        for slot in [
            &mut self.alipay.app_private_key,
            &mut self.alipay.alipay_public_key,
            &mut self.alipay.app_auth_token_file,
            &mut self.simulator.seed_csv,
        ] {
            *slot = it.next().flatten();
        }
    }

    /// Every semantic problem (not syntax), so `validate` can list them all.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.alipay.app_id.trim().is_empty()
            || !self.alipay.app_id.chars().all(|c| c.is_ascii_digit())
        {
            out.push(format!(
                "[alipay] app_id {:?} must be the app's numeric id",
                self.alipay.app_id
            ));
        }
        if !self.is_simulator() {
            if self.alipay.app_private_key.is_none() {
                out.push("[alipay] app_private_key is required for a real gateway".into());
            }
            if self.alipay.alipay_public_key.is_none() {
                out.push("[alipay] alipay_public_key is required for a real gateway".into());
            }
            if self.gateway_url().is_none() {
                out.push(format!(
                    "[alipay] gateway {:?} is not \"simulator\", \"production\", \"sandbox\" or an http(s) URL",
                    self.alipay.gateway
                ));
            }
        }
        if let Some(fields) = &self.sync.fields {
            for f in fields {
                if Field::from_name(f).is_none() {
                    out.push(format!("[sync] fields: {f:?} is not an Alipay shop field"));
                }
            }
        }
        if let Err(e) = crate::source::check_settings(&self.source) {
            out.push(format!("[source] {e}"));
        }
        if self.sync.concurrency == 0 || self.sync.concurrency > 256 {
            out.push("[sync] concurrency must be 1..=256".into());
        }
        if !(0.0..=1.0).contains(&self.sync.min_export_ratio) {
            out.push("[sync] min_export_ratio must be between 0 and 1".into());
        }
        if self.rate_limit.qps == 0 {
            out.push("[rate_limit] qps must be at least 1".into());
        }
        if self.rate_limit.burst == Some(0) {
            out.push("[rate_limit] burst must be at least 1".into());
        }
        for (m, spec) in &self.rate_limit.methods {
            if !m.starts_with("alipay.") {
                out.push(format!(
                    "[rate_limit.methods] {m:?} is not an Alipay method name"
                ));
            }
            if spec.qps == 0 || spec.burst == 0 {
                out.push(format!(
                    "[rate_limit.methods] {m}: qps and burst must be at least 1"
                ));
            }
        }
        if self.alipay.connect_timeout.is_zero() || self.alipay.request_timeout.is_zero() {
            out.push("[alipay] timeouts must be positive".into());
        }
        if let Some(n) = &self.notify {
            if n.listen.parse::<std::net::SocketAddr>().is_err() {
                out.push(format!(
                    "[notify] listen {:?} is not an address like 127.0.0.1:8091",
                    n.listen
                ));
            }
            if !n.path.starts_with('/') {
                out.push(format!("[notify] path {:?} must start with /", n.path));
            }
        }
        if let Some(h) = &self.health {
            if h.listen.parse::<std::net::SocketAddr>().is_err() {
                out.push(format!(
                    "[health] listen {:?} is not an address like 127.0.0.1:9091",
                    h.listen
                ));
            }
        }
        out
    }

    pub fn is_simulator(&self) -> bool {
        self.alipay.gateway == "simulator"
    }

    /// The gateway URL for a real gateway.
    pub fn gateway_url(&self) -> Option<String> {
        match self.alipay.gateway.as_str() {
            "production" => Some(crate::alipay::gateway::PRODUCTION_URL.into()),
            "sandbox" => Some(crate::alipay::gateway::SANDBOX_URL.into()),
            g if g.starts_with("http://") || g.starts_with("https://") => Some(g.to_string()),
            _ => None,
        }
    }

    /// The managed fields.
    pub fn managed_fields(&self) -> std::collections::BTreeSet<Field> {
        match &self.sync.fields {
            Some(names) => names.iter().filter_map(|n| Field::from_name(n)).collect(),
            None => Field::ALL.iter().copied().collect(),
        }
    }

    /// The app_auth_token: `SHOPSYNC_APP_AUTH_TOKEN`, then `app_auth_token_file`, then the
    /// systemd credential `app-auth-token`. Never logged.
    pub fn app_auth_token(&self) -> Result<Option<Secret>, ConfigError> {
        if let Ok(v) = std::env::var(TOKEN_ENV) {
            if !v.trim().is_empty() {
                return Ok(Some(Secret::new(v.trim())));
            }
        }
        if self.alipay.app_auth_token_file.is_none() {
            // systemd credential: an empty file means "no token" (the unit may ship one).
            let credential = std::env::var_os("CREDENTIALS_DIRECTORY")
                .map(|d| PathBuf::from(d).join("app-auth-token"))
                .filter(|p| p.exists());
            return match credential {
                None => Ok(None),
                Some(path) => {
                    let text =
                        std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                            path: path.display().to_string(),
                            source,
                        })?;
                    Ok(Some(text.trim()).filter(|t| !t.is_empty()).map(Secret::new))
                }
            };
        }
        match self.alipay.app_auth_token_file.clone() {
            None => Ok(None),
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                let token = text.trim();
                if token.is_empty() {
                    return Err(ConfigError::Invalid {
                        path: path.display().to_string(),
                        problems: "the app_auth_token file is empty".into(),
                    });
                }
                Ok(Some(Secret::new(token)))
            }
        }
    }
}

/// `credential:NAME` reads `$CREDENTIALS_DIRECTORY/NAME` (systemd `LoadCredential=`).
fn credential_or_path(p: &Path, resolve: impl Fn(&Path) -> PathBuf) -> PathBuf {
    if let Some(name) = p.to_str().and_then(|s| s.strip_prefix("credential:")) {
        let dir = std::env::var_os("CREDENTIALS_DIRECTORY")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/run/credentials/shopsync.service"));
        return dir.join(name);
    }
    resolve(p)
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
        assert_eq!(doc["sync"]["concurrency"].as_integer(), Some(2));
        assert_eq!(doc["rate_limit"]["qps"].as_integer(), Some(7));
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
        let before = doc.clone();
        apply_env(
            &mut doc,
            vec![("SHOPSYNC_TEST_HEAVY".to_string(), "1".to_string())].into_iter(),
        )
        .unwrap();
        assert_eq!(doc, before);
    }
}
