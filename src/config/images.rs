//! `[images]`: where photo files are read from and how photo URLs are downloaded
//! (`sync::photos`). Alipay's own bounds (5 MB, the formats) are not settings.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::sections::de_duration;
use super::Config;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImagesSection {
    /// Directory that relative photo paths in the export are read from. Default: the
    /// export's own directory. Relative to the config file like every other path.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Connecting to a photo URL's host may take this long.
    #[serde(default = "default_connect_timeout", deserialize_with = "de_duration")]
    pub connect_timeout: Duration,
    /// The whole download of one photo URL (redirects and body included) may take this
    /// long.
    #[serde(default = "default_download_timeout", deserialize_with = "de_duration")]
    pub download_timeout: Duration,
}

fn default_connect_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_download_timeout() -> Duration {
    Duration::from_secs(30)
}

impl Default for ImagesSection {
    fn default() -> Self {
        Self {
            dir: None,
            connect_timeout: default_connect_timeout(),
            download_timeout: default_download_timeout(),
        }
    }
}

impl Config {
    /// The directory relative photo paths are read from: `[images] dir` (resolved like
    /// every configured path), else the export's directory (a CSV or SQLite file's), else
    /// (a database server has none) the directory configured paths are relative to.
    pub fn images_dir(&self) -> PathBuf {
        if let Some(dir) = &self.images.dir {
            return self.resolve(dir);
        }
        let export = self.source.as_ref().map(|s| s.path.as_path());
        match export.and_then(Path::parent) {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => {
                let base = self.resolve(Path::new(""));
                if base.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    base
                }
            }
        }
    }

    /// The `[images]` problems `validate` lists.
    pub(super) fn images_problems(&self, out: &mut Vec<String>) {
        if self.images.connect_timeout.is_zero() || self.images.download_timeout.is_zero() {
            out.push("[images] timeouts must be positive".into());
        }
        if let Some(dir) = &self.images.dir {
            let dir = self.resolve(dir);
            if !dir.is_dir() {
                out.push(format!("[images] dir {} is not a directory", dir.display()));
            }
        }
    }
}
