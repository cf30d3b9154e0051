//! Store photos uploaded through image.upload (`sync::photos`): one row per upload that
//! ended, so the same content (SHA-256 of its bytes) is uploaded once per app and
//! merchant, and `audit store` / `audit show` can say which file became which image id.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use super::runs::RunId;
use super::sql::{ser, ts, Ts};
use super::{AuditDb, AuditError};
use crate::ids::StoreId;
use crate::secret::redact;

/// What came of one upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum UploadOutcome {
    /// Alipay issued an image id for the content.
    Uploaded {
        image_id: String,
        image_url: Option<String>,
    },
    /// Alipay refused it (its code, sub_code and message) or it could not be sent (a local
    /// reason in `msg`, no codes).
    Failed {
        code: Option<String>,
        sub_code: Option<String>,
        msg: String,
    },
}

/// An upload about to be recorded.
#[derive(Debug, Clone)]
pub struct NewUpload<'a> {
    /// The run that uploaded it (`None`: learnt otherwise, e.g. copied from another store).
    pub run: Option<RunId>,
    pub app_id: &'a str,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: &'a str,
    /// The file path or URL the bytes came from.
    pub source: &'a str,
    /// What was sent as `image_type` (`jpg`, `png`, `gif`, `bmp`).
    pub image_type: &'a str,
    pub bytes: u64,
    pub outcome: &'a UploadOutcome,
    /// The stores whose writes waited on it.
    pub stores: &'a [StoreId],
}

/// An upload as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UploadRow {
    pub id: i64,
    pub run: Option<RunId>,
    pub app_id: String,
    /// The merchant whose app_auth_token it was uploaded with (`""`: the implicit one).
    pub merchant: String,
    pub sha256: String,
    pub source: String,
    pub image_type: String,
    pub bytes: u64,
    #[serde(flatten)]
    pub outcome: UploadOutcome,
    pub stores: Vec<StoreId>,
    #[serde(serialize_with = "ser::time")]
    pub at: DateTime<Utc>,
}

impl UploadRow {
    /// The image id Alipay issued, for an upload that succeeded.
    pub fn image_id(&self) -> Option<&str> {
        match &self.outcome {
            UploadOutcome::Uploaded { image_id, .. } => Some(image_id),
            UploadOutcome::Failed { .. } => None,
        }
    }
}

/// An image Alipay issued for a content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownImage {
    pub image_id: String,
    pub image_url: Option<String>,
}

const COLUMNS: &str = "id, run_id, app_id, merchant, sha256, source, image_type, bytes, outcome, \
     image_id, image_url, code, sub_code, msg, stores_json, at";

fn upload_from_row(r: &Row<'_>) -> rusqlite::Result<(UploadRow, String)> {
    let outcome: String = r.get(8)?;
    let outcome = if outcome == "uploaded" {
        UploadOutcome::Uploaded {
            image_id: r.get(9)?,
            image_url: r.get(10)?,
        }
    } else {
        UploadOutcome::Failed {
            code: r.get(11)?,
            sub_code: r.get(12)?,
            msg: r.get::<_, Option<String>>(13)?.unwrap_or_default(),
        }
    };
    let row = UploadRow {
        id: r.get(0)?,
        run: r.get::<_, Option<i64>>(1)?.map(RunId),
        app_id: r.get(2)?,
        merchant: r.get(3)?,
        sha256: r.get(4)?,
        source: r.get(5)?,
        image_type: r.get(6)?,
        bytes: r.get::<_, i64>(7)?.max(0) as u64,
        outcome,
        stores: Vec::new(),
        at: r.get::<_, Ts>(15)?.0,
    };
    Ok((row, r.get(14)?))
}

impl AuditDb {
    /// Record an upload, as this handle's merchant. For content already uploaded under this
    /// app and merchant (another process got there first), the earlier image is kept and
    /// returned; otherwise the recorded image (`None` for a failed upload).
    pub fn record_upload(
        &self,
        u: &NewUpload<'_>,
        at: DateTime<Utc>,
    ) -> Result<Option<KnownImage>, AuditError> {
        let stores = serde_json::to_string(u.stores).map_err(|source| AuditError::Json {
            column: "uploads.stores_json",
            source,
        })?;
        self.write(|tx| {
            if let UploadOutcome::Uploaded { .. } = u.outcome {
                let existing = tx
                    .query_row(
                        "SELECT image_id, image_url FROM uploads
                         WHERE app_id = ?1 AND merchant = ?2 AND sha256 = ?3 AND outcome = 'uploaded'",
                        params![u.app_id, self.merchant(), u.sha256],
                        |r| {
                            Ok(KnownImage {
                                image_id: r.get(0)?,
                                image_url: r.get(1)?,
                            })
                        },
                    )
                    .optional()?;
                if existing.is_some() {
                    return Ok(existing);
                }
            }
            let (word, image_id, image_url, code, sub_code, msg) = match u.outcome {
                UploadOutcome::Uploaded {
                    image_id,
                    image_url,
                } => ("uploaded", Some(image_id), image_url.as_ref(), None, None, None),
                UploadOutcome::Failed {
                    code,
                    sub_code,
                    msg,
                } => (
                    "failed",
                    None,
                    None,
                    code.as_ref(),
                    sub_code.as_ref(),
                    Some(redact(msg).into_owned()),
                ),
            };
            tx.execute(
                &format!(
                    "INSERT INTO uploads ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                    &COLUMNS["id, ".len()..]
                ),
                params![
                    u.run.map(|r| r.0),
                    u.app_id,
                    self.merchant(),
                    u.sha256,
                    redact(u.source),
                    u.image_type,
                    u.bytes as i64,
                    word,
                    image_id,
                    image_url,
                    code,
                    sub_code,
                    msg,
                    stores,
                    ts(at)
                ],
            )?;
            Ok(image_id.map(|id| KnownImage {
                image_id: id.clone(),
                image_url: image_url.cloned(),
            }))
        })
    }

    /// sha256 → the image Alipay issued for it, for every content uploaded under this app
    /// and this handle's merchant (image ids are valid only for the merchant they were
    /// uploaded for).
    pub fn uploaded_images(&self, app_id: &str) -> Result<HashMap<String, KnownImage>, AuditError> {
        let merchant = self.merchant();
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT sha256, image_id, image_url FROM uploads
             WHERE app_id = ?1 AND merchant = ?2 AND outcome = 'uploaded'",
        )?;
        let rows = stmt
            .query_map(params![app_id, merchant], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    KnownImage {
                        image_id: r.get(1)?,
                        image_url: r.get(2)?,
                    },
                ))
            })?
            .collect::<Result<HashMap<_, _>, _>>()?;
        Ok(rows)
    }

    /// The uploads of one run (successes and failures), in the order they ended.
    pub fn uploads_for_run(&self, run: RunId) -> Result<Vec<UploadRow>, AuditError> {
        self.uploads_where(
            "run_id = ?1 AND (?2 IS NULL OR merchant = ?2) ORDER BY id",
            params![run.0, self.only()],
        )
    }

    /// The uploads a store waited on, and the uploads whose image id is one of `image_ids`
    /// (the ids its writes carried), oldest first; this handle's merchant only (a store id
    /// is unique within its merchant).
    pub fn uploads_for_store(
        &self,
        store_id: &StoreId,
        image_ids: &[&str],
    ) -> Result<Vec<UploadRow>, AuditError> {
        let ids = serde_json::to_string(image_ids).map_err(|source| AuditError::Json {
            column: "uploads.image_id",
            source,
        })?;
        self.uploads_where(
            "(EXISTS (SELECT 1 FROM json_each(uploads.stores_json) WHERE value = ?1)
                OR image_id IN (SELECT value FROM json_each(?2)))
               AND (?3 IS NULL OR merchant = ?3)
             ORDER BY id",
            params![store_id, ids, self.only()],
        )
    }

    fn uploads_where<P: rusqlite::Params>(
        &self,
        condition: &str,
        params: P,
    ) -> Result<Vec<UploadRow>, AuditError> {
        let raw = {
            let conn = self.lock();
            let mut stmt =
                conn.prepare(&format!("SELECT {COLUMNS} FROM uploads WHERE {condition}"))?;
            let rows = stmt
                .query_map(params, upload_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            rows
        };
        raw.into_iter()
            .map(|(mut row, stores)| {
                row.stores = serde_json::from_str(&stores).map_err(|source| AuditError::Json {
                    column: "uploads.stores_json",
                    source,
                })?;
                Ok(row)
            })
            .collect()
    }
}
