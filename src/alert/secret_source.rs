//! A destination's signing secret: from a file, a systemd credential, or an environment
//! variable — never inline in the config, never in a log.

use std::path::{Path, PathBuf};

use crate::secret::Secret;

/// Why a signing secret could not be read. Names where it looked, never the value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read the alert secret file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the alert secret file {path} is empty")]
    EmptyFile { path: String },
    #[error("the alert secret variable {var} is not set or empty")]
    MissingEnv { var: String },
}

/// `credential:NAME` → `$CREDENTIALS_DIRECTORY/NAME` (systemd `LoadCredential=`), as for
/// the config's other credentials; anything else is a path.
pub fn credential_path(p: &Path) -> PathBuf {
    if let Some(name) = p.to_str().and_then(|s| s.strip_prefix("credential:")) {
        let dir = std::env::var_os("CREDENTIALS_DIRECTORY")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/run/credentials/shopsync.service"));
        return dir.join(name);
    }
    p.to_path_buf()
}

/// The secret from `file` (trimmed) or from the variable `env`; `None` when neither is
/// given.
pub fn load(file: Option<&Path>, env: Option<&str>) -> Result<Option<Secret>, SecretError> {
    if let Some(file) = file {
        let path = credential_path(file);
        let text = std::fs::read_to_string(&path).map_err(|source| SecretError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let secret = text.trim();
        if secret.is_empty() {
            return Err(SecretError::EmptyFile {
                path: path.display().to_string(),
            });
        }
        return Ok(Some(Secret::new(secret)));
    }
    if let Some(var) = env {
        return match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(Secret::new(v.trim()))),
            _ => Err(SecretError::MissingEnv {
                var: var.to_string(),
            }),
        };
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_files_and_credentials_and_never_shows_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ding.secret");
        std::fs::write(&file, "SECabc123\n").unwrap();
        let s = load(Some(&file), None).unwrap().unwrap();
        assert_eq!(s.expose(), "SECabc123");
        assert_eq!(format!("{s:?}"), "[redacted]");

        std::fs::write(dir.path().join("empty"), "  \n").unwrap();
        let e = load(Some(&dir.path().join("empty")), None).unwrap_err();
        assert!(e.to_string().contains("is empty"), "{e}");
        let e = load(Some(&dir.path().join("missing")), None).unwrap_err();
        assert!(e.to_string().contains("missing"), "{e}");

        assert_eq!(
            credential_path(Path::new("credential:ding"))
                .file_name()
                .unwrap(),
            "ding"
        );
        let e = load(None, Some("SHOPSYNC_UNIT_TEST_NO_SUCH_VARIABLE")).unwrap_err();
        assert!(e
            .to_string()
            .contains("SHOPSYNC_UNIT_TEST_NO_SUCH_VARIABLE"));
        assert!(load(None, None).unwrap().is_none());
    }
}
