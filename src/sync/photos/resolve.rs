//! Before planning: every photo file and URL of the export is read once (each distinct
//! reference, `[sync] concurrency` at a time, one photo's bytes per slot), checked (5 MB,
//! the format from the bytes, a whole file) and hashed. A content already uploaded under
//! this app and merchant becomes its image id; any other stands in the store's values as
//! `upload:<reference>@sha256:<hash>` until `upload` replaces it. A store with a photo that cannot be
//! used, or with fewer distinct audit photos than `[sync] min_audit_images`, becomes a
//! rejected row (file, line, store, field, the reference and why). Nothing is uploaded
//! here: `plan` runs this too.

use std::collections::{HashMap, HashSet};

use futures::StreamExt;
use sha2::{Digest, Sha256};

use super::fetch::Fetcher;
use super::format::{self, ImageFormat};
use crate::audit::KnownImage;
use crate::ids::StoreId;
use crate::record::image::{items, ImageRef, IMAGE_FIELDS};
use crate::record::Field;
use crate::source::{Loaded, Reject};
use crate::sync::plan::{photo_placeholder, placeholder_source, Action, Plan, PlannedPhoto};

/// What one file or URL holds.
#[derive(Debug, Clone)]
struct Content {
    sha256: String,
    format: ImageFormat,
    bytes: u64,
}

/// A content not uploaded yet.
#[derive(Debug, Clone)]
struct Pending {
    sha256: String,
    /// References holding these bytes, in order of first use.
    sources: Vec<String>,
    format: ImageFormat,
    bytes: u64,
}

/// What the export's photos resolved to.
#[derive(Debug, Default)]
pub struct Resolution {
    pending: Vec<Pending>,
    /// Reference (as the export wrote it) → index in `pending`.
    by_source: HashMap<String, usize>,
    /// Distinct references read.
    pub read: usize,
    /// Distinct references whose content Alipay already has (an earlier upload).
    pub known: usize,
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Read, check and hash one reference's bytes (dropped before returning).
async fn content_of(fetcher: &Fetcher, item: ImageRef<'_>) -> Result<Content, String> {
    let bytes = match fetcher.fetch(item).await {
        Some(r) => r?,
        None => return Err("an image id has no content".into()),
    };
    let checked = format::check(&bytes)?;
    Ok(Content {
        sha256: sha256_hex(&bytes),
        format: checked.format,
        bytes: bytes.len() as u64,
    })
}

/// The check of [`resolve`] on bytes already read (the upload re-reads each photo and
/// makes sure it is still what was planned).
pub(super) fn verify(bytes: &[u8], sha256: &str) -> Result<ImageFormat, String> {
    let checked = format::check(bytes)?;
    if sha256_hex(bytes) != sha256 {
        return Err("the file changed while the run was going; the next run uploads it".into());
    }
    Ok(checked.format)
}

/// Resolve every store's photos (see the module docs). `known` maps a content's sha256 to
/// the image Alipay issued for it; `file` names the export in rejects.
pub async fn resolve(
    loaded: &mut Loaded,
    file: &str,
    fetcher: &Fetcher,
    known: &HashMap<String, KnownImage>,
    min_audit_images: usize,
    concurrency: usize,
) -> Resolution {
    // Distinct references, in order of first use.
    let mut order: Vec<String> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for store in &loaded.stores {
        for field in IMAGE_FIELDS {
            let Some(value) = store.get(field) else {
                continue;
            };
            for item in items(value) {
                if matches!(ImageRef::parse(item), Ok(r) if r.is_content()) && seen.insert(item) {
                    order.push(item.to_string());
                }
            }
        }
    }
    drop(seen);
    let contents: Vec<Result<Content, String>> = futures::stream::iter(order.iter())
        .map(|item| async move {
            match ImageRef::parse(item) {
                Ok(r) => content_of(fetcher, r).await,
                Err(e) => Err(e),
            }
        })
        .buffered(concurrency.max(1))
        .collect()
        .await;
    let mut resolution = Resolution {
        read: order.len(),
        ..Default::default()
    };
    let mut index_of_sha: HashMap<String, usize> = HashMap::new();
    let mut by_ref: HashMap<&str, &Result<Content, String>> = HashMap::new();
    for (item, content) in order.iter().zip(&contents) {
        by_ref.insert(item, content);
        let Ok(c) = content else { continue };
        if known.contains_key(&c.sha256) {
            resolution.known += 1;
            continue;
        }
        let i = *index_of_sha.entry(c.sha256.clone()).or_insert_with(|| {
            resolution.pending.push(Pending {
                sha256: c.sha256.clone(),
                sources: Vec::new(),
                format: c.format,
                bytes: c.bytes,
            });
            resolution.pending.len() - 1
        });
        resolution.pending[i].sources.push(item.clone());
        resolution.by_source.insert(item.clone(), i);
    }

    let mut rejects = Vec::new();
    let stores = std::mem::take(&mut loaded.stores);
    for store in stores {
        let mut problems: Vec<(Field, String, Option<String>)> = Vec::new();
        let mut replaced: Vec<(Field, String)> = Vec::new();
        for field in IMAGE_FIELDS {
            let Some(value) = store.get(field) else {
                continue;
            };
            let mut out: Vec<String> = Vec::new();
            let mut identities: HashSet<&str> = HashSet::new();
            let mut changed = false;
            for item in items(value) {
                match ImageRef::parse(item) {
                    Ok(ImageRef::Id(id)) => {
                        identities.insert(id);
                        out.push(id.to_string());
                    }
                    Ok(r) => {
                        changed = true;
                        match by_ref.get(r.text()).copied() {
                            Some(Ok(c)) => {
                                identities.insert(&c.sha256);
                                match known.get(&c.sha256) {
                                    Some(k) => out.push(k.image_id.clone()),
                                    None => out.push(photo_placeholder(item, &c.sha256)),
                                }
                            }
                            Some(Err(why)) => problems.push((
                                field,
                                format!("photo {item}: {why}"),
                                Some(item.to_string()),
                            )),
                            None => problems.push((
                                field,
                                format!("photo {item} was not read"),
                                Some(item.to_string()),
                            )),
                        }
                    }
                    Err(why) => problems.push((field, why, Some(item.to_string()))),
                }
            }
            if field == Field::AuditImages
                && identities.len() < min_audit_images
                && !problems.iter().any(|(f, _, _)| *f == field)
            {
                problems.push((
                    field,
                    format!(
                        "{} distinct photo(s); Alipay needs at least {min_audit_images} (one storefront and two interior photos; [sync] min_audit_images)",
                        identities.len()
                    ),
                    Some(value.to_string()),
                ));
            }
            if changed {
                replaced.push((field, out.join(",")));
            }
        }
        if problems.is_empty() {
            if replaced.is_empty() {
                loaded.stores.push(store);
            } else {
                let fields = store.fields.with_replaced(&replaced);
                loaded.stores.push(crate::record::Store { fields, ..store });
            }
        } else {
            for (field, reason, value) in problems {
                rejects.push(Reject {
                    file: file.to_string(),
                    line: store.line,
                    store_id: Some(store.store_id.to_string()),
                    field: Some(field.name().to_string()),
                    reason,
                    value,
                });
            }
        }
    }
    if !rejects.is_empty() {
        loaded.rejects.extend(rejects);
        loaded.rejects.sort_by_key(|r| r.line);
    }
    resolution
}

impl Resolution {
    /// What was read and what Alipay already had (nothing uploaded yet).
    pub fn counts(&self) -> super::PhotoCounts {
        super::PhotoCounts {
            read: self.read as u64,
            known: self.known as u64,
            ..Default::default()
        }
    }

    /// The contents the plan's creates and modifies wait on, in order of first use, each
    /// with the stores waiting. A store pending or blocked needs no upload this run.
    pub fn planned(&self, plan: &Plan) -> Vec<PlannedPhoto> {
        let mut out: Vec<PlannedPhoto> = Vec::new();
        let mut slot: HashMap<usize, usize> = HashMap::new();
        for item in &plan.items {
            let Some(store) = &item.store_id else {
                continue;
            };
            let mut values: Vec<&str> = Vec::new();
            match &item.action {
                Action::Create { fields } => values.extend(
                    fields
                        .iter()
                        .filter(|(f, _)| f.holds_images())
                        .map(|(_, v)| v),
                ),
                Action::Modify { changes, .. } => values.extend(
                    changes
                        .iter()
                        .filter(|c| c.field.holds_images())
                        .filter_map(|c| c.new.as_deref()),
                ),
                _ => continue,
            }
            let mut mine: Vec<usize> = Vec::new();
            for v in values {
                for it in items(v) {
                    let Some(source) = placeholder_source(it) else {
                        continue;
                    };
                    if let Some(&i) = self.by_source.get(source) {
                        if !mine.contains(&i) {
                            mine.push(i);
                        }
                    }
                }
            }
            for i in mine {
                let at = *slot.entry(i).or_insert_with(|| {
                    let p = &self.pending[i];
                    out.push(PlannedPhoto {
                        sha256: p.sha256.clone(),
                        sources: p.sources.clone(),
                        image_type: p.format.image_type().to_string(),
                        bytes: p.bytes,
                        stores: Vec::new(),
                    });
                    out.len() - 1
                });
                out[at].stores.push(StoreId::clone(store));
            }
        }
        out
    }
}
