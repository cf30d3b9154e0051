//! Secrets and paths: the app_auth_token (env, file or systemd credential) and
//! `credential:NAME` paths (systemd `LoadCredential=`).

use std::path::{Path, PathBuf};

use super::{Config, ConfigError, TOKEN_ENV};
use crate::secret::Secret;

impl Config {
    /// The app_auth_token: `SHOPSYNC_APP_AUTH_TOKEN`, then `app_auth_token_file`, then the
    /// systemd credential `app-auth-token`. Never logged.
    ///
    /// For a merchant of `[[merchant]]` tables (an effective per-merchant config): its own
    /// `app_auth_token_env` variable or `app_auth_token_file` (or credential), required.
    pub fn app_auth_token(&self) -> Result<Option<Secret>, ConfigError> {
        if !self.merchant_name.is_empty() {
            return self.merchant_token().map(Some);
        }
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

impl Config {
    fn merchant_token(&self) -> Result<Secret, ConfigError> {
        let who = format!("[[merchant]] {}", self.merchant_name);
        if let Some(var) = &self.merchant_token_env {
            return match std::env::var(var) {
                Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim())),
                _ => Err(ConfigError::Env {
                    var: var.clone(),
                    message: format!(
                        "{who}: app_auth_token_env names this variable, which is not set"
                    ),
                }),
            };
        }
        let Some(path) = &self.alipay.app_auth_token_file else {
            return Err(ConfigError::Invalid {
                path: self.path.display().to_string(),
                problems: format!("{who} has no app_auth_token_file or app_auth_token_env"),
            });
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let token = text.trim();
        if token.is_empty() {
            return Err(ConfigError::Invalid {
                path: path.display().to_string(),
                problems: format!("{who}: the app_auth_token file is empty"),
            });
        }
        Ok(Secret::new(token))
    }
}

/// `credential:NAME` reads `$CREDENTIALS_DIRECTORY/NAME` (systemd `LoadCredential=`).
pub(super) fn credential_or_path(p: &Path, resolve: impl Fn(&Path) -> PathBuf) -> PathBuf {
    if let Some(name) = p.to_str().and_then(|s| s.strip_prefix("credential:")) {
        let dir = std::env::var_os("CREDENTIALS_DIRECTORY")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/run/credentials/shopsync.service"));
        return dir.join(name);
    }
    resolve(p)
}
