//! The TOML configuration: [`sections`] and their defaults, [`env`] overrides
//! (`SHOPSYNC_<SECTION>_<KEY>`), [`credentials`] (the app_auth_token, `credential:NAME`
//! paths), and [`checks`] (every semantic problem, for `validate`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::record::Field;
use crate::source::SourceConfig;

mod checks;
mod credentials;
mod env;
mod images;
mod merchants;
mod sections;

pub use merchants::{valid_name as valid_merchant_name, MerchantSection};

use credentials::credential_or_path;
use env::apply_env;
pub use images::ImagesSection;
pub use sections::*;

/// Where the configuration is looked for when `--config` is not given, in order.
pub const SEARCH_PATH: [&str; 2] = ["config/shopsync.toml", "/etc/shopsync/shopsync.toml"];

/// The configuration file: the one given, else the first of [`SEARCH_PATH`] that exists.
pub fn locate(given: Option<&Path>) -> Result<PathBuf, ConfigError> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    SEARCH_PATH
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| ConfigError::NotFound {
            looked: SEARCH_PATH.join(" and "),
        })
}

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
    #[error(
        "no configuration file: looked for {looked}; pass --config FILE or set SHOPSYNC_CONFIG"
    )]
    NotFound { looked: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub alipay: AlipaySection,
    /// The export of the implicit merchant (a config without `[[merchant]]`); in an
    /// effective per-merchant config ([`Config::for_merchant`]), that merchant's.
    #[serde(default)]
    pub source: Option<SourceConfig>,
    /// `[[merchant]]` tables (ISV mode); empty for one implicit merchant.
    #[serde(default)]
    pub merchant: Vec<MerchantSection>,
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
    /// Photo files and URLs (`sync::photos`).
    #[serde(default)]
    pub images: ImagesSection,
    /// `[[alert]]` destinations (README "Alerts").
    #[serde(default)]
    pub alert: Vec<crate::alert::AlertConfig>,
    /// Directory of the config file; relative paths are resolved against it.
    #[serde(skip)]
    pub base_dir: PathBuf,
    #[serde(skip)]
    pub path: PathBuf,
    /// The merchant this effective config is for (`""`: the implicit one).
    #[serde(skip)]
    pub merchant_name: String,
    /// A merchant's `app_auth_token_env` (effective per-merchant configs only).
    #[serde(skip)]
    pub merchant_token_env: Option<String>,
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
        merchants::merge_sync_overrides(&mut doc);
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
        // Times are shown in the configured zone (tables and the pretty log).
        if let Ok(zone) = cfg.schedule.timezone.parse::<chrono_tz::Tz>() {
            crate::logging::set_zone(zone);
        }
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
        if let Some(mut source) = self.source.take() {
            self.resolve_source(&mut source);
            self.source = Some(source);
        }
        let mut merchants = std::mem::take(&mut self.merchant);
        for m in &mut merchants {
            self.resolve_source(&mut m.source);
            m.app_auth_token_file = m
                .app_auth_token_file
                .as_ref()
                .map(|p| credential_or_path(p, |q| self.resolve(q)));
        }
        self.merchant = merchants;
        self.audit.database = self.resolve(&self.audit.database);
        self.rate_limit.quota_file = Some(match &self.rate_limit.quota_file {
            Some(p) => self.resolve(p),
            None => {
                let mut name = self.audit.database.as_os_str().to_os_string();
                name.push(".quota");
                PathBuf::from(name)
            }
        });
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
            &self.alipay.app_cert,
            &self.alipay.alipay_cert,
            &self.alipay.alipay_root_cert,
        ]
        .iter()
        .map(|p| {
            p.as_ref()
                .map(|path| credential_or_path(path, |q| self.resolve(q)))
        })
        .collect();
        // `credential:NAME` is read by the alert module itself (alert::secret_source).
        let secrets: Vec<Option<PathBuf>> = self
            .alert
            .iter()
            .map(|a| {
                a.secret_file.as_ref().map(|p| match p.to_str() {
                    Some(s) if s.starts_with("credential:") => p.clone(),
                    _ => self.resolve(p),
                })
            })
            .collect();
        for (a, secret) in self.alert.iter_mut().zip(secrets) {
            a.secret_file = secret;
        }
        let mut it = resolved.into_iter();
        for slot in [
            &mut self.alipay.app_private_key,
            &mut self.alipay.alipay_public_key,
            &mut self.alipay.app_auth_token_file,
            &mut self.simulator.seed_csv,
            &mut self.alipay.app_cert,
            &mut self.alipay.alipay_cert,
            &mut self.alipay.alipay_root_cert,
        ] {
            *slot = it.next().flatten();
        }
    }

    /// The three certificate files when all three are set (certificate mode).
    pub fn cert_files(&self) -> Option<crate::alipay::cert::CertFiles<'_>> {
        let a = &self.alipay;
        match (&a.app_cert, &a.alipay_cert, &a.alipay_root_cert) {
            (Some(app), Some(alipay), Some(root)) => Some(crate::alipay::cert::CertFiles {
                app_cert: app,
                alipay_cert: alipay,
                alipay_root_cert: root,
            }),
            _ => None,
        }
    }

    /// A source's paths, relative to the config: the export (an empty path stays empty:
    /// database sources have none), the password file and the CA file (or
    /// `credential:NAME`).
    fn resolve_source(&self, source: &mut SourceConfig) {
        if !source.path.as_os_str().is_empty() {
            source.path = self.resolve(&source.path);
        }
        for slot in [&mut source.password_file, &mut source.ca_file] {
            *slot = slot
                .as_ref()
                .map(|p| credential_or_path(p, |q| self.resolve(q)));
        }
    }

    /// The export of this (effective, per-merchant) config. Every config the engine runs
    /// on has one: the implicit merchant's is checked at load ([`Config::problems`]), and
    /// [`Config::for_merchant`] sets a named merchant's.
    pub fn source(&self) -> &SourceConfig {
        self.source
            .as_ref()
            .expect("an effective per-merchant config has a [source]")
    }

    pub fn is_simulator(&self) -> bool {
        self.alipay.gateway == GatewayChoice::Simulator
    }

    /// The gateway URL for a real gateway.
    pub fn gateway_url(&self) -> Option<String> {
        self.alipay.gateway.url().map(str::to_string)
    }

    /// The managed fields.
    pub fn managed_fields(&self) -> std::collections::BTreeSet<Field> {
        match &self.sync.fields {
            Some(names) => names.iter().filter_map(|n| Field::from_name(n)).collect(),
            None => Field::ALL.iter().copied().collect(),
        }
    }
}
