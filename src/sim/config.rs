//! What the simulator is told at start: identity and keys, timings, quotas, the stage of
//! each configurable rejection rule, fault switches and the snapshot file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use super::cert::CertMode;
use crate::alipay::sign::{SignKey, VerifyKey};
use crate::clock::{SharedClock, SystemClock};

/// A token bucket: `qps` tokens per second, at most `burst` stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RateSpec {
    pub qps: u32,
    pub burst: u32,
}

/// Where a rejection rule is evaluated (§8.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Checked on create/modify: answers `40004` at once.
    Sync,
    /// Checked when the audit runs: the application fails.
    Audit,
    /// Not checked.
    Off,
}

/// The stage of each configurable rejection rule (§8.5). Defaults follow the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RuleStages {
    /// Fewer than `min_audit_images` distinct `audit_images` (default audit).
    pub min_audit_images: Stage,
    /// `main_shop_name` carrying a branch part such as `…店` (default audit).
    pub branch_in_main_name: Stage,
    /// `main_shop_name` >20 chars, `branch_shop_name` not 2–20 (default sync).
    pub name_lengths: Stage,
    /// `address` not 4–50 chars (default sync).
    pub address_length: Stage,
    /// `business_time` grammar (default sync).
    pub business_time: Stage,
    /// Licence data or `is_operating_online=T` + `online_url` required on create (default off).
    pub licence_required: Stage,
    /// Any value containing `#REJECT#` (default audit).
    pub reject_marker: Stage,
}

impl Default for RuleStages {
    fn default() -> Self {
        Self {
            min_audit_images: Stage::Audit,
            branch_in_main_name: Stage::Audit,
            name_lengths: Stage::Sync,
            address_length: Stage::Sync,
            business_time: Stage::Sync,
            licence_required: Stage::Off,
            reject_marker: Stage::Audit,
        }
    }
}

/// What a forced audit outcome is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", content = "reason", rename_all = "lowercase")]
pub enum ForcedOutcome {
    Success,
    Fail(String),
}

/// Everything the simulator needs to run.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub app_id: String,
    /// Verifies request signatures.
    pub app_public_key: VerifyKey,
    /// Signs responses and notifications.
    pub alipay_key: SignKey,
    /// Accepted `app_auth_token`s, each a merchant of its own (`merchants::token_merchant`, in
    /// order). No token = the app's own merchant.
    pub app_auth_tokens: Vec<String>,
    pub audit_delay: chrono::Duration,
    pub timestamp_skew: chrono::Duration,
    /// The app bucket; `None` = unlimited.
    pub rate: Option<RateSpec>,
    /// Per-method buckets (full method names).
    pub method_rates: BTreeMap<String, RateSpec>,
    pub min_audit_images: usize,
    pub seed: u64,
    pub clock: SharedClock,
    /// Retry schedule of notifications after the first attempt.
    pub notify_retry: Vec<std::time::Duration>,
    /// How long `timeout_*` faults hold the connection.
    pub hold_timeout: std::time::Duration,
    /// Added before answering every `/gateway.do` and `/v3/` request (network and service
    /// latency); `None` answers at once. Not applied to `/__sim/` control endpoints.
    pub latency: Option<std::time::Duration>,
    pub rules: RuleStages,
    /// Names and addresses containing one of these answer `EXIST_FORBIDDEN_WORD`.
    pub forbidden_words: Vec<String>,
    /// Extra area codes: `(province, city, district)`, added to the fixture.
    pub extra_areas: Vec<(String, String, String)>,
    /// Methods not enabled for the app (`40006 isv.insufficient-isv-permissions`).
    pub disabled_methods: BTreeSet<String>,
    /// A `store_id` held by a pending create blocks another create of it (§8.4).
    pub reserve_pending_store_ids: bool,
    /// §8.6 fault switch: log notifications but never send them (the client must poll).
    pub suppress_notifications: bool,
    /// §8.6 fault switch: send every notification twice (same `notify_id`).
    pub duplicate_notifications: bool,
    /// Accept any well-formed image id (32 chars of `[A-Za-z0-9_-]`) in a create or modify,
    /// for rehearsing an export that already holds real Alipay ids. Default off: only ids
    /// this simulator's image.upload issued to the merchant.
    pub accept_image_ids: bool,
    /// Accept the two official example image ids (§8.4) as if uploaded, for tests whose
    /// stores use them. Default off.
    pub preload_example_images: bool,
    /// Certificate mode (§2.9): requests must carry the app and root SNs, answers name
    /// Alipay's certificate and are signed under it (`alipay_key` and `app_public_key`
    /// are then not used), `alipaycert.download` serves the certificates held.
    pub cert: Option<CertMode>,
    /// Apply orders' `biz_context_info` also holds `store_id` and the caller's
    /// `request_id` (default off: only `category_id` and `main_shop_name`, as the official
    /// model). For tests of a client's optional narrowing only.
    pub rich_biz_context: bool,
    /// State file (§8.1): loaded at start when it exists; written by
    /// [`SimHandle::save_snapshot`] / [`SimHandle::save_configured_snapshot`].
    pub snapshot: Option<PathBuf>,
}

impl SimConfig {
    /// The defaults of the reference, with the given keys.
    pub fn new(app_public_key: VerifyKey, alipay_key: SignKey) -> Self {
        Self {
            app_id: "2021000000000001".to_string(),
            app_public_key,
            alipay_key,
            app_auth_tokens: Vec::new(),
            audit_delay: chrono::Duration::seconds(2),
            timestamp_skew: chrono::Duration::minutes(10),
            rate: None,
            method_rates: BTreeMap::new(),
            min_audit_images: 2,
            seed: 0,
            clock: Arc::new(SystemClock),
            notify_retry: [2, 10, 60, 300]
                .into_iter()
                .map(std::time::Duration::from_secs)
                .collect(),
            hold_timeout: std::time::Duration::from_secs(30),
            latency: None,
            rules: RuleStages::default(),
            forbidden_words: Vec::new(),
            extra_areas: Vec::new(),
            disabled_methods: BTreeSet::new(),
            reserve_pending_store_ids: true,
            suppress_notifications: false,
            duplicate_notifications: false,
            accept_image_ids: false,
            preload_example_images: false,
            cert: None,
            rich_biz_context: false,
            snapshot: None,
        }
    }
}

impl SimConfig {
    /// The key that verifies requests: the app certificate's in certificate mode.
    pub fn app_key(&self) -> &VerifyKey {
        self.cert
            .as_ref()
            .map_or(&self.app_public_key, |c| &c.app_key)
    }

    /// The key answers are signed with before any rotation.
    pub fn first_alipay_key(&self) -> &SignKey {
        match &self.cert {
            Some(c) => &c.alipay[0].key,
            None => &self.alipay_key,
        }
    }
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot read simulator snapshot {}: {source}", .path.display())]
    SnapshotRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("simulator snapshot {} is not usable: {message}", .path.display())]
    SnapshotInvalid { path: PathBuf, message: String },
    #[error("cannot write simulator snapshot {}: {source}", .path.display())]
    SnapshotWrite {
        path: PathBuf,
        source: std::io::Error,
    },
}
