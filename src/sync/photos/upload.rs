//! After the guards, before the writes (`sync` only): upload each content the plan's
//! writes wait on, once, `[sync] concurrency` at a time under the app's rate limiter;
//! record every upload; then put the issued image ids into the planned writes. A store
//! whose photo could not be uploaded is not written this run (it fails with Alipay's
//! reason); every other store goes ahead.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use tracing::{info, warn};

use super::fetch::Fetcher;
use super::resolve::verify;
use super::substitute::{substitute, Unresolved};
use crate::alipay::koubei::UploadedImage;
use crate::alipay::retry::read_with_retries;
use crate::alipay::{AlipayError, ErrorClass, ShopApi};
use crate::audit::{AuditDb, AuditError, NewUpload, RunId, UploadOutcome};
use crate::clock::SharedClock;
use crate::ids::StoreId;
use crate::record::image::ImageRef;
use crate::sync::plan::{Plan, PlannedPhoto};

/// How the uploads go.
#[derive(Debug, Clone)]
pub struct UploadSettings {
    pub app_id: String,
    pub concurrency: usize,
    pub max_attempts: u32,
}

/// What the upload step did.
#[derive(Debug, Default)]
pub struct UploadReport {
    /// Contents Alipay issued an image id for in this run.
    pub uploaded: u64,
    /// Uploads that failed (Alipay refused them, or they could not be sent).
    pub failed: u64,
    /// Stores not written because a photo of theirs failed, with the reason.
    pub failed_stores: HashMap<StoreId, String>,
    /// Stores not written because the run was stopped before their photos were uploaded.
    pub not_started: Vec<StoreId>,
    /// A configuration or credential error (the run fails with it; nothing is written).
    pub config_error: Option<AlipayError>,
}

impl UploadReport {
    /// The plan without the writes of the stores this step held back (`None` when it held
    /// none back: apply the plan as it is).
    pub fn writable(&self, plan: &Plan) -> Option<Plan> {
        if self.failed_stores.is_empty() && self.not_started.is_empty() {
            return None;
        }
        let held: std::collections::HashSet<&StoreId> = self
            .failed_stores
            .keys()
            .chain(self.not_started.iter())
            .collect();
        Some(Plan {
            items: plan
                .items
                .iter()
                .filter(|i| i.store_id.as_ref().is_none_or(|s| !held.contains(s)))
                .cloned()
                .collect(),
            ..Plan::default()
        })
    }
}

/// One content's upload.
enum Done {
    Uploaded(String),
    Failed(String),
    Skipped,
    Config(AlipayError),
}

/// Upload what `plan.photos` lists and substitute the ids into the plan (see the module
/// docs). An `Err` only when the audit store fails.
#[allow(clippy::too_many_arguments)]
pub async fn upload(
    api: &dyn ShopApi,
    db: &AuditDb,
    clock: &SharedClock,
    run: RunId,
    plan: &mut Plan,
    fetcher: &Fetcher,
    settings: &UploadSettings,
    stop: &AtomicBool,
) -> Result<UploadReport, AuditError> {
    let mut report = UploadReport::default();
    let photos = plan.photos.clone();
    let results: Vec<(usize, Result<Done, AuditError>)> =
        futures::stream::iter(photos.iter().enumerate())
            .map(|(i, photo)| async move {
                if stop.load(Ordering::SeqCst) {
                    return (i, Ok(Done::Skipped));
                }
                (
                    i,
                    upload_one(api, db, clock, run, photo, fetcher, settings).await,
                )
            })
            .buffer_unordered(settings.concurrency.max(1))
            .collect()
            .await;
    // source → image id of every content uploaded now.
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut reasons: HashMap<String, Option<String>> = HashMap::new();
    for (i, done) in results {
        let photo = &photos[i];
        match done? {
            Done::Uploaded(id) => {
                report.uploaded += 1;
                for s in &photo.sources {
                    ids.insert(s.clone(), id.clone());
                }
            }
            Done::Failed(why) => {
                report.failed += 1;
                for s in &photo.sources {
                    reasons.insert(s.clone(), Some(why.clone()));
                }
            }
            Done::Skipped => {
                for s in &photo.sources {
                    reasons.insert(s.clone(), None);
                }
            }
            Done::Config(e) => {
                report.failed += 1;
                report.config_error.get_or_insert(e);
            }
        }
    }
    for (store, Unresolved { field, source }) in substitute(plan, &ids) {
        match reasons.get(&source) {
            Some(Some(why)) => {
                warn!(store_id = %store, field = %field, photo = %source, reason = %why, "Store not written: its photo was not uploaded.");
                report
                    .failed_stores
                    .insert(store, format!("{field}: photo {source}: {why}"));
            }
            // Stopped before the upload, or a configuration error ends the run.
            _ => report.not_started.push(store),
        }
    }
    Ok(report)
}

/// Upload one content: read it again (it must still be what was planned), send it, record
/// the outcome.
async fn upload_one(
    api: &dyn ShopApi,
    db: &AuditDb,
    clock: &SharedClock,
    run: RunId,
    photo: &PlannedPhoto,
    fetcher: &Fetcher,
    settings: &UploadSettings,
) -> Result<Done, AuditError> {
    let source = photo.sources[0].as_str();
    let name = image_name(source);
    // image.upload counts as a read (docs/protocol.md §6.4): a duplicate image is
    // harmless, so an upload whose answer was lost (timeout, dropped connection, 20000) is
    // simply sent again; the lost attempt at most leaves Alipay an unused image id. Each
    // attempt reads the bytes again, so a slot never holds more than one copy.
    let result = read_with_retries(settings.max_attempts, || async {
        let bytes = match read_planned(fetcher, photo).await {
            Ok(b) => b,
            Err(why) => return Ok(Err(why)),
        };
        api.upload_image(&photo.image_type, &name, bytes)
            .await
            .map(Ok::<UploadedImage, String>)
    })
    .await;
    let (outcome, done) = match result {
        Ok(Ok(img)) => (
            UploadOutcome::Uploaded {
                image_id: img.image_id.clone(),
                image_url: img.image_url.clone(),
            },
            None,
        ),
        Ok(Err(why)) => (
            UploadOutcome::Failed {
                code: None,
                sub_code: None,
                msg: why.clone(),
            },
            Some(Done::Failed(why)),
        ),
        Err(e) => {
            let why = match (&e.code, &e.sub_code, &e.sub_msg) {
                (Some(code), sub, msg) => format!(
                    "Alipay refused the upload: {code} {} {}",
                    sub.as_deref().unwrap_or("-"),
                    msg.as_deref().unwrap_or("")
                )
                .trim_end()
                .to_string(),
                _ => format!("the upload failed: {}", e.detail),
            };
            let done = if e.class == ErrorClass::Config {
                Done::Config(e.clone())
            } else {
                Done::Failed(why.clone())
            };
            (
                UploadOutcome::Failed {
                    code: e.code.clone(),
                    sub_code: e.sub_code.clone(),
                    msg: e.sub_msg.clone().unwrap_or(why),
                },
                Some(done),
            )
        }
    };
    let recorded = db.record_upload(
        &NewUpload {
            run: Some(run),
            app_id: &settings.app_id,
            sha256: &photo.sha256,
            source,
            image_type: &photo.image_type,
            bytes: photo.bytes,
            outcome: &outcome,
            stores: &photo.stores,
        },
        clock.now(),
    )?;
    if let Some(done) = done {
        return Ok(done);
    }
    let image = recorded.expect("an uploaded outcome records an image");
    info!(photo = %source, sha256 = %&photo.sha256[..12], image_id = %image.image_id, stores = photo.stores.len(), "Photo uploaded.");
    Ok(Done::Uploaded(image.image_id))
}

/// The bytes of the first source that still holds the planned content.
async fn read_planned(fetcher: &Fetcher, photo: &PlannedPhoto) -> Result<Vec<u8>, String> {
    let mut last = String::from("no source");
    for source in &photo.sources {
        let Ok(item) = ImageRef::parse(source) else {
            continue;
        };
        match fetcher.fetch(item).await {
            Some(Ok(bytes)) => match verify(&bytes, &photo.sha256) {
                Ok(_) => return Ok(bytes),
                Err(why) => last = why,
            },
            Some(Err(why)) => last = why,
            None => {}
        }
    }
    Err(last)
}

/// `image_name` of an upload: the file name without extension, in `[A-Za-z0-9_-]`
/// (others become `_`), at most 40 characters; `photo` when nothing is left.
fn image_name(source: &str) -> String {
    let path = source.split(['?', '#']).next().unwrap_or("");
    let last = path
        .split(['/', '\\'])
        .rfind(|s| !s.is_empty() && !s.contains(':'))
        .unwrap_or("");
    let stem = last.rsplit_once('.').map_or(last, |(s, _)| s);
    let name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    if name.trim_matches('_').is_empty() {
        "photo".to_string()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn image_names_come_from_the_file_name() {
        assert_eq!(
            super::image_name("images/storefront-sh.jpg"),
            "storefront-sh"
        );
        assert_eq!(
            super::image_name("https://cdn.example.com/p/front%201.png?x=1"),
            "front_201"
        );
        assert_eq!(super::image_name("门头.jpg"), "photo");
        assert_eq!(super::image_name("https://cdn.example.com/"), "cdn_example");
    }
}
