//! The HTML run report (`shopsync report RUN --html FILE`, `sync --report FILE`): one
//! self-contained page per run, for a browser and for a mail client.
//!
//! The caller fills a [`RunReport`] (plain owned data, serde-friendly, times already
//! formatted in the configured zone) and [`render`]s it; [`from_store`] fills one from
//! the audit store (`shopsync report RUN`; `sync --report` adds the blocked stores and
//! remote-only shops of the run's plan, `src/commands/report.rs`). The page:
//! - has inline CSS only (one `<style>` block from `style.css`), no scripts, no external
//!   resources; a `Content-Security-Policy` meta tag (`default-src 'none'`) makes a browser
//!   refuse anything else, so a regression shows up as a console error;
//! - escapes every value (store data is untrusted);
//! - keeps what layout depends on in HTML attributes (`border`, `cellpadding`, `bgcolor`),
//!   which mail clients keep when they drop `<style>`;
//! - is bounded, whatever the run's size: each outcome table shows at most
//!   [`ROWS_PER_TABLE`] rows and at most [`TABLE_BYTES`] of rendered rows, then says how
//!   many rows it left out and which command lists them all; every value is cut to a
//!   fixed length. The whole page is at most [`MAX_PAGE_BYTES`]. No `<details>`: several
//!   mail clients ignore it and show or hide everything.

mod escape;
mod from_store;
mod render;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::audit::{RunKind, RunStatus, RunSummary};

pub use from_store::{from_store, ReportContext, PHOTOS_NOTE};
pub use render::{render, MAX_PAGE_BYTES, ROWS_PER_TABLE, TABLE_BYTES};

/// Everything the report shows about one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunReport {
    pub header: RunHeader,
    /// The run's counts, as stored with the finished run.
    pub counts: RunSummary,
    pub created: Vec<CreatedRow>,
    pub modified: Vec<ModifiedRow>,
    pub pending: Vec<PendingRow>,
    pub blocked: Vec<BlockedRow>,
    pub remote_only: Vec<RemoteOnlyRow>,
    pub failures: Vec<FailureRow>,
    pub unknown: Vec<UnknownRow>,
    pub rejected: Vec<RejectedRow>,
    pub photos: Vec<PhotoRow>,
    /// A note shown under an outcome table's heading, by its id (`created`, `modified`,
    /// `pending`, `blocked`, `remote-only`, `failed`, `unknown`, `rejected`, `photos`): what
    /// the table cannot show, e.g. that the audit store does not keep blocked stores. Cut
    /// to a fixed length.
    pub notes: BTreeMap<String, String>,
}

/// What ran, when, for whom, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunHeader {
    pub run_id: i64,
    pub kind: RunKind,
    pub merchant: Option<String>,
    pub app_id: String,
    /// The export it read (path or `sqlite:…`), if known.
    pub source: Option<String>,
    /// Formatted by the caller in the configured zone, with its offset:
    /// `2026-12-02 02:30:00 +08:00`.
    pub started: String,
    /// `None` while the run has not finished.
    pub finished: Option<String>,
    /// Formatted by the caller: `1m 12s`.
    pub duration: Option<String>,
    /// `None`: still running (or killed before it was marked interrupted).
    pub status: Option<RunStatus>,
    pub exit_code: Option<i32>,
    /// The run's error or closing message.
    pub message: Option<String>,
    /// When the report was made, formatted like `started`.
    pub generated: Option<String>,
}

impl Default for RunHeader {
    fn default() -> Self {
        Self {
            run_id: 0,
            kind: RunKind::Sync,
            merchant: None,
            app_id: String::new(),
            source: None,
            started: String::new(),
            finished: None,
            duration: None,
            status: None,
            exit_code: None,
            message: None,
            generated: None,
        }
    }
}

/// A shop created by the run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedRow {
    pub store_id: String,
    /// `main_shop_name(branch_shop_name)`.
    pub shop_name: String,
    pub apply_id: Option<String>,
}

/// A shop modified by the run, with its field changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModifiedRow {
    pub store_id: String,
    pub shop_id: String,
    pub apply_id: Option<String>,
    pub changes: Vec<FieldChange>,
}

/// One field's old → new value. `None` is "no value" (cleared or never set).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
    /// Changing this field re-triggers Alipay's risk audit (`Field::triggers_review`).
    pub triggers_audit: bool,
}

/// An application still under Alipay's audit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRow {
    pub store_id: String,
    pub shop_id: Option<String>,
    pub apply_id: String,
    /// `create` or `modify`.
    pub action: String,
    /// Alipay's audit status as last seen (`AUDITING`, …).
    pub status: Option<String>,
    /// Formatted like the header's times.
    pub submitted: String,
    pub age_seconds: u64,
}

/// A store the plan did not touch, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockedRow {
    pub store_id: String,
    pub shop_id: Option<String>,
    pub reason: String,
}

/// A shop on Alipay that the export does not list (left alone).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteOnlyRow {
    pub shop_id: String,
    pub name: String,
}

/// A write Alipay refused with a business error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureRow {
    pub store_id: String,
    /// `create` or `modify`.
    pub action: String,
    pub code: String,
    pub sub_code: String,
    pub sub_msg: String,
}

/// A write whose outcome is not known yet (resolved before the next plan).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnknownRow {
    pub store_id: String,
    pub action: String,
    pub request_id: String,
    pub reason: String,
}

/// A source row that failed validation (never written).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedRow {
    pub file: String,
    pub line: u64,
    pub store_id: Option<String>,
    pub field: Option<String>,
    pub reason: String,
    /// The offending value as the export had it (cut short in the page).
    pub raw_value: Option<String>,
}

/// A photo uploaded for a store (`alipay.offline.material.image.upload`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoRow {
    pub store_id: Option<String>,
    /// The file or URL it came from.
    pub source: String,
    pub image_id: String,
}
