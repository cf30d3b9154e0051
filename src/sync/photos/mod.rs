//! Store photos: what a create needs from Alipay first. The export's image fields hold
//! Alipay image ids, photo files or `http(s)` URLs (`record::image`); Alipay takes only
//! ids, which only `alipay.offline.material.image.upload` issues. In flow order:
//!
//! 1. [`resolve`] (before planning, `plan` and `sync`): each distinct file or URL is read
//!    once with bounds ([`fetch`]), checked from its bytes ([`format`]: JPEG, PNG, GIF or
//!    BMP, whole, at most 5 MB) and hashed (SHA-256). A content uploaded before under this
//!    app and merchant becomes its image id, so a re-run uploads nothing and the plan
//!    compares ids with ids; a new or changed content stands in the values as
//!    `upload:<reference>@sha256:<hash>`, so the plan shows a create, or a modify of that field (marked
//!    as re-triggering Alipay's audit). Bad photos and too few distinct audit photos are
//!    rejected rows.
//! 2. The plan lists the contents its writes wait on ([`Resolution::planned`]).
//! 3. [`upload`] (`sync` only, after the guards, before the writes): each content once,
//!    `[sync] concurrency` at a time under the app's rate limiter, recorded in the audit
//!    store; then [`substitute`] puts the ids into the planned writes. A failed upload
//!    fails only the stores that wait on it.
//!
//! Memory: one photo's bytes per slot at a time; bytes are never kept after hashing.

pub mod fetch;
pub mod format;
pub mod resolve;
pub mod substitute;
pub mod upload;

pub use fetch::Fetcher;
pub use resolve::{resolve, Resolution};
pub use upload::{upload, UploadReport, UploadSettings};

/// What became of a run's photo files and URLs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PhotoCounts {
    /// Distinct files and URLs read.
    pub read: u64,
    /// Of those, contents Alipay already had (uploaded by an earlier run).
    pub known: u64,
    /// Contents uploaded by this run.
    pub uploaded: u64,
    /// Uploads that failed in this run.
    pub failed: u64,
}

use crate::audit::RunId;
use crate::source::Loaded;
use crate::sync::plan::Plan;
use crate::sync::run::RunResult;
use crate::sync::{Context, RunError};

impl Context {
    fn fetcher(&self) -> Result<Fetcher, RunError> {
        Fetcher::new(
            self.cfg.images_dir(),
            self.cfg.images.connect_timeout,
            self.cfg.images.download_timeout,
        )
        .map_err(|e| RunError::Io {
            what: "read photo URLs",
            source: std::io::Error::other(e),
        })
    }

    /// Step 1 of the module docs on the loaded export.
    pub async fn resolve_photos(&self, loaded: &mut Loaded) -> Result<Resolution, RunError> {
        let known = self.db.uploaded_images(&self.cfg.alipay.app_id)?;
        let file = crate::source::file_name(self.cfg.source());
        let resolution = resolve(
            loaded,
            &file,
            &self.fetcher()?,
            &known,
            self.cfg.sync.min_audit_images,
            self.cfg.sync.concurrency,
        )
        .await;
        if resolution.read > 0 {
            tracing::info!(
                photos = resolution.read,
                already_on_alipay = resolution.known,
                "Photos read."
            );
        }
        Ok(resolution)
    }

    /// Step 3 for a run: upload what its plan waits on and substitute the ids. Returns the
    /// plan to apply when some stores are held back (a photo of theirs failed, or the run
    /// was stopped first; `None`: apply the plan as it is) and how many stores failed. A
    /// configuration error (keys, token) ends the run.
    pub async fn photos_before_writes(
        &self,
        run: RunId,
        result: &mut RunResult,
    ) -> Result<(Option<Plan>, u64), RunError> {
        let uploads = self.upload_photos(run, &mut result.plan).await?;
        if let Some(e) = uploads.config_error {
            return Err(RunError::Alipay(e));
        }
        result.photos.uploaded = uploads.uploaded;
        result.photos.failed = uploads.failed;
        Ok((
            uploads.writable(&result.plan),
            uploads.failed_stores.len() as u64,
        ))
    }

    /// Step 3 of the module docs: upload what `plan.photos` lists, substitute the ids.
    pub async fn upload_photos(
        &self,
        run: RunId,
        plan: &mut Plan,
    ) -> Result<UploadReport, RunError> {
        if plan.photos.is_empty() {
            return Ok(UploadReport::default());
        }
        let settings = UploadSettings {
            app_id: self.cfg.alipay.app_id.clone(),
            concurrency: self.cfg.sync.concurrency,
            max_attempts: self.cfg.sync.max_attempts,
        };
        let report = upload(
            &self.gateway,
            &self.db,
            &self.clock,
            run,
            plan,
            &self.fetcher()?,
            &settings,
            &self.stop,
        )
        .await?;
        tracing::info!(
            uploaded = report.uploaded,
            failed = report.failed,
            stores_failed = report.failed_stores.len(),
            "Photos uploaded."
        );
        Ok(report)
    }
}
