//! The planner's vocabulary: its inputs (remote shops, pending and failed writes,
//! settings) and its output (a [`Plan`] of one [`PlanItem`] per store or remote shop).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::ids::{ApplyId, ShopId, StoreId};
use crate::record::{Field, FieldValues, Store, WriteKind, CLEAR};

/// Shown by Alipay when a shop has no brand.
pub const NO_BRAND: &str = "其它品牌";

/// A shop as summary.batchquery shows it, with the values normalised like the export's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteShop {
    pub shop_id: ShopId,
    pub status: Option<String>,
    /// Normalised values of the fields summary returns. Category: every listed id.
    pub fields: FieldValues,
    pub category_ids: Vec<String>,
}

impl RemoteShop {
    /// Display name `main(branch)`, as Alipay shows it.
    pub fn name(&self) -> String {
        let main = self.fields.get(Field::MainShopName).unwrap_or_default();
        match self.fields.get(Field::BranchShopName) {
            Some(b) => format!("{main}({b})"),
            None => main.to_string(),
        }
    }
}

/// An application still under audit (or a write whose outcome is unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingWrite {
    pub store_id: StoreId,
    pub kind: WriteKind,
    /// `apply_id`, or `None` for an unknown-outcome write not yet resolved.
    pub apply_id: Option<ApplyId>,
}

/// The last application of a store that Alipay's audit rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedWrite {
    pub kind: WriteKind,
    pub fields: BTreeMap<String, String>,
    pub reason: String,
}

/// Which fields shopsync manages and which writes it may make.
#[derive(Debug, Clone)]
pub struct PlanSettings {
    pub managed: BTreeSet<Field>,
    pub create: bool,
    pub modify: bool,
}

impl Default for PlanSettings {
    fn default() -> Self {
        Self {
            managed: Field::ALL.iter().copied().collect(),
            create: true,
            modify: true,
        }
    }
}

/// Everything the planner looks at.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    pub stores: &'a [Store],
    /// `(store_id, line, field, reason)` of rows that failed validation.
    pub rejected: &'a [RejectedRow],
    pub remote: &'a [RemoteShop],
    pub mapping: &'a HashMap<StoreId, ShopId>,
    pub pending: &'a [PendingWrite],
    /// store_id → values Alipay last accepted (only fields that are
    /// [`Field::compared_with_accepted`] are looked at).
    pub accepted: &'a HashMap<StoreId, FieldValues>,
    /// The last rejected application of a store.
    pub failed: &'a HashMap<StoreId, FailedWrite>,
    pub settings: &'a PlanSettings,
}

/// A row of the export that was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectedRow {
    pub store_id: Option<String>,
    pub file: String,
    pub line: u64,
    pub field: Option<String>,
    pub reason: String,
}

/// One field's difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub field: Field,
    pub old: Option<String>,
    pub new: Option<String>,
}

impl Change {
    /// The value to send: the new one, or `#EMPTY#` to clear.
    pub fn wire_value(&self) -> String {
        self.new.clone().unwrap_or_else(|| CLEAR.to_string())
    }
}

/// What to do with one store (or remote shop).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Create {
        fields: FieldValues,
    },
    Modify {
        shop_id: ShopId,
        changes: Vec<Change>,
        /// The change re-triggers Alipay's risk audit.
        review: bool,
    },
    Unchanged {
        shop_id: ShopId,
    },
    Pending {
        shop_id: Option<ShopId>,
        apply_ids: Vec<ApplyId>,
        reason: String,
    },
    Blocked {
        shop_id: Option<ShopId>,
        reason: String,
        changes: Vec<Change>,
    },
    RemoteOnly {
        shop_id: ShopId,
        name: String,
    },
    Rejected {
        file: String,
        line: u64,
        field: Option<String>,
        reason: String,
    },
}

impl Action {
    pub fn label(&self) -> &'static str {
        match self {
            Action::Create { .. } => "create",
            Action::Modify { .. } => "modify",
            Action::Unchanged { .. } => "unchanged",
            Action::Pending { .. } => "pending",
            Action::Blocked { .. } => "blocked",
            Action::RemoteOnly { .. } => "remote_only",
            Action::Rejected { .. } => "rejected",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanItem {
    /// The store, or `None` for a remote-only shop or a rejected row without a store_id.
    pub store_id: Option<StoreId>,
    #[serde(flatten)]
    pub action: Action,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PlanCounts {
    pub create: u64,
    pub modify: u64,
    pub unchanged: u64,
    pub pending: u64,
    pub blocked: u64,
    pub remote_only: u64,
    pub rejected: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub items: Vec<PlanItem>,
    /// Photos the plan's creates and modifies need uploaded first (`sync::photos`); their
    /// values stand in the items as [`PlannedPhoto::placeholder`]s until then.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<PlannedPhoto>,
    /// category id → its name (the path category.query gives, e.g. `美食-中餐-淮扬菜`), for
    /// the categories the export uses.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub categories: BTreeMap<String, String>,
}

/// The value that stands in a planned write for a photo not uploaded yet:
/// `upload:<file or URL>@sha256:<first 16 hex digits of its SHA-256>`. Never an image id
/// (`:` is not in one). The content's hash is part of the value, so a saved plan's write
/// (and its store's fingerprint) changes when the photo's bytes do.
pub const PHOTO_PLACEHOLDER: &str = "upload:";

/// Separates a placeholder's source from its content hash.
const PHOTO_HASH: &str = "@sha256:";

/// The placeholder of `source` holding the content `sha256` (lowercase hex).
pub fn photo_placeholder(source: &str, sha256: &str) -> String {
    let short = &sha256[..sha256.len().min(16)];
    format!("{PHOTO_PLACEHOLDER}{source}{PHOTO_HASH}{short}")
}

/// The file or URL of a placeholder item (`None` for an image id).
pub fn placeholder_source(item: &str) -> Option<&str> {
    let rest = item.strip_prefix(PHOTO_PLACEHOLDER)?;
    Some(
        rest.rsplit_once(PHOTO_HASH)
            .map_or(rest, |(source, _)| source),
    )
}

/// A photo content (one SHA-256) that writes of this plan wait on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedPhoto {
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
    /// The files or URLs (as the export wrote them) that hold these bytes; each stands in
    /// the items as its [`photo_placeholder`].
    pub sources: Vec<String>,
    /// `jpg`, `png`, `gif` or `bmp`, decided from the bytes.
    pub image_type: String,
    pub bytes: u64,
    /// The stores whose create or modify waits on it.
    pub stores: Vec<StoreId>,
}

impl PlannedPhoto {
    /// The placeholder of each source.
    pub fn placeholders(&self) -> impl Iterator<Item = String> + '_ {
        self.sources
            .iter()
            .map(|s| photo_placeholder(s, &self.sha256))
    }
}

impl Plan {
    pub fn counts(&self) -> PlanCounts {
        let mut c = PlanCounts::default();
        for item in &self.items {
            match item.action {
                Action::Create { .. } => c.create += 1,
                Action::Modify { .. } => c.modify += 1,
                Action::Unchanged { .. } => c.unchanged += 1,
                Action::Pending { .. } => c.pending += 1,
                Action::Blocked { .. } => c.blocked += 1,
                Action::RemoteOnly { .. } => c.remote_only += 1,
                Action::Rejected { .. } => c.rejected += 1,
            }
        }
        c
    }

    /// True when applying would write something.
    pub fn has_writes(&self) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i.action, Action::Create { .. } | Action::Modify { .. }))
    }
}
