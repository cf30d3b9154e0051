//! Reading one photo's bytes, bounded: a local file (exists, is a file, readable, at most
//! 5 MB by its length before it is read) or an `http(s)` URL (connect and whole-download
//! timeouts, at most 3 redirects and no loop, an answer over 5 MB refused by its
//! `Content-Length` before the body is read, and a body without one cut off at 5 MB).
//! Never more than one photo's bytes per call.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::format::{too_large, MAX_BYTES};
use crate::record::image::ImageRef;

/// Redirects followed for one photo URL.
pub const MAX_REDIRECTS: usize = 3;

/// Reads photo files and downloads photo URLs. Cheap to share.
#[derive(Clone)]
pub struct Fetcher {
    http: reqwest::Client,
    dir: PathBuf,
    download_timeout: Duration,
}

impl Fetcher {
    /// Relative paths are read from `dir`.
    pub fn new(
        dir: PathBuf,
        connect_timeout: Duration,
        download_timeout: Duration,
    ) -> Result<Self, String> {
        let redirects = reqwest::redirect::Policy::custom(|attempt| {
            // `previous` holds the URL asked first and every redirect followed so far.
            if attempt.previous().iter().any(|u| u == attempt.url()) {
                let loop_error = format!("a redirect loop (back to {})", attempt.url());
                attempt.error(loop_error)
            } else if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
            } else {
                attempt.follow()
            }
        });
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(download_timeout)
            .redirect(redirects)
            .user_agent(concat!("shopsync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client for photo URLs: {e}"))?;
        Ok(Self {
            http,
            dir,
            download_timeout,
        })
    }

    /// Where a path reference is read from.
    pub fn path_of(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.dir.join(p)
        }
    }

    /// The bytes of a file or URL reference (an id has none: `None`). The error is the
    /// reason, without the reference itself (the caller names it).
    pub async fn fetch(&self, item: ImageRef<'_>) -> Option<Result<Vec<u8>, String>> {
        match item {
            ImageRef::Id(_) => None,
            ImageRef::Path(p) => {
                let path = self.path_of(p);
                Some(
                    tokio::task::spawn_blocking(move || read_file(&path))
                        .await
                        .unwrap_or_else(|e| Err(format!("reading the file failed: {e}"))),
                )
            }
            ImageRef::Url(u) => Some(self.download(u).await),
        }
    }

    async fn download(&self, url: &str) -> Result<Vec<u8>, String> {
        let mut response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| self.describe(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("the server answered HTTP {status}"));
        }
        if let Some(len) = response.content_length() {
            if len > MAX_BYTES {
                return Err(format!("{} (its Content-Length)", too_large(len)));
            }
        }
        let mut body = Vec::with_capacity(
            response
                .content_length()
                .unwrap_or(64 * 1024)
                .min(MAX_BYTES) as usize,
        );
        while let Some(chunk) = response.chunk().await.map_err(|e| self.describe(&e))? {
            if body.len() as u64 + chunk.len() as u64 > MAX_BYTES {
                return Err("more than 5 MB; Alipay takes at most 5 MB".into());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn describe(&self, e: &reqwest::Error) -> String {
        if e.is_timeout() {
            return format!(
                "no complete answer within {} ([images] download_timeout)",
                humantime::format_duration(self.download_timeout)
            );
        }
        let mut text = if e.is_redirect() {
            "redirects".to_string()
        } else if e.is_connect() {
            "cannot connect".to_string()
        } else {
            "download failed".to_string()
        };
        let mut source = std::error::Error::source(e);
        while let Some(inner) = source {
            text.push_str(": ");
            text.push_str(&inner.to_string());
            source = inner.source();
        }
        text
    }
}

/// A local photo: a readable file of at most 5 MB (its length is checked before it is
/// read; a file that grows meanwhile is cut off one byte past the limit).
fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("no such file {}", path.display()),
        _ => format!("cannot read {}: {e}", path.display()),
    })?;
    if !meta.is_file() {
        return Err(format!("{} is not a file", path.display()));
    }
    if meta.len() > MAX_BYTES {
        return Err(too_large(meta.len()));
    }
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}
