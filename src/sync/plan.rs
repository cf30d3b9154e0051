//! Reconcile the export with Alipay: a pure function of (stores, remote shops, shop map,
//! applications, accepted values). No I/O.

use std::collections::{BTreeMap, BTreeSet, HashMap};

type FastMap<K, V> = foldhash::HashMap<K, V>;
type FastSet<K> = foldhash::HashSet<K>;

use serde::Serialize;

use crate::alipay::shop::{ShopSummary, EMPTY};
use crate::record::{normalise, Field, FieldValues, Store};

impl Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Shown by Alipay when a shop has no brand.
pub const NO_BRAND: &str = "其它品牌";

/// A shop as summary.batchquery shows it, with the values normalised like the export's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteShop {
    pub shop_id: String,
    pub status: Option<String>,
    /// Normalised values of the fields summary returns. Category: every listed id.
    pub fields: FieldValues,
    pub category_ids: Vec<String>,
}

/// The normalised value or, when it does not normalise, the raw text (so it compares as
/// different and the export's valid value wins).
fn norm_or_raw(field: Field, raw: &str) -> Option<String> {
    match normalise(field, raw) {
        Ok(v) => v,
        Err(_) => Some(raw.trim().to_string()).filter(|s| !s.is_empty()),
    }
}

/// `per_pay` is in fen; `avg_price` in yuan.
fn per_pay_to_avg_price(per_pay: &str) -> Option<String> {
    let fen: u64 = per_pay.trim().parse().ok()?;
    if fen == 0 {
        return None;
    }
    if fen.is_multiple_of(100) {
        Some((fen / 100).to_string())
    } else {
        Some(format!("{}.{:02}", fen / 100, fen % 100))
    }
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

    /// Taken by value: a large account's summaries are converted page by page as they
    /// arrive and never all held at once.
    pub fn from_summary(s: ShopSummary) -> Self {
        let mut fields = Vec::with_capacity(10);
        let mut set = |field: Field, value: &Option<String>| {
            if let Some(v) = value.as_deref().and_then(|raw| norm_or_raw(field, raw)) {
                fields.push((field, v));
            }
        };
        set(Field::MainShopName, &s.main_shop_name);
        set(Field::BranchShopName, &s.branch_shop_name);
        set(Field::BrandName, &s.brand_name);
        set(Field::Address, &s.address);
        set(Field::ProvinceCode, &s.province_code);
        set(Field::CityCode, &s.city_code);
        set(Field::DistrictCode, &s.district_code);
        set(Field::BusinessTime, &s.business_time);
        set(Field::MainImage, &s.main_image);
        if let Some(price) = s.per_pay.as_deref().and_then(per_pay_to_avg_price) {
            fields.push((Field::AvgPrice, price));
        }
        let category_ids: Vec<String> = s
            .category_infos
            .into_iter()
            .map(|c| c.category_id)
            .filter(|c| !c.is_empty())
            .collect();
        Self {
            shop_id: s.shop_id,
            status: s.status,
            fields: FieldValues::from_pairs(fields),
            category_ids,
        }
    }
}

/// What kind of write an application was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteKind {
    Create,
    Modify,
}

/// An application still under audit (or a write whose outcome is unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingWrite {
    pub store_id: String,
    pub kind: WriteKind,
    /// `apply_id`, or `None` for an unknown-outcome write not yet resolved.
    pub apply_id: Option<String>,
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
    /// store_id → shop_id.
    pub mapping: &'a HashMap<String, String>,
    pub pending: &'a [PendingWrite],
    /// store_id → values Alipay last accepted (only fields that are
    /// [`Field::compared_with_accepted`] are looked at).
    pub accepted: &'a HashMap<String, FieldValues>,
    /// store_id → last rejected application.
    pub failed: &'a HashMap<String, FailedWrite>,
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
        self.new.clone().unwrap_or_else(|| EMPTY.to_string())
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
        shop_id: String,
        changes: Vec<Change>,
        /// The change re-triggers Alipay's risk audit.
        review: bool,
    },
    Unchanged {
        shop_id: String,
    },
    Pending {
        shop_id: Option<String>,
        apply_ids: Vec<String>,
        reason: String,
    },
    Blocked {
        shop_id: Option<String>,
        reason: String,
        changes: Vec<Change>,
    },
    RemoteOnly {
        shop_id: String,
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
    pub store_id: Option<String>,
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

/// Compare one field. Returns `Some(change)` when the export's value must be pushed.
fn compare(field: Field, desired: Option<&str>, current: Option<&str>) -> Option<Change> {
    let current = match (field, current) {
        // No brand shows as 其它品牌.
        (Field::BrandName, Some(NO_BRAND)) => None,
        (_, c) => c,
    };
    if desired == current {
        return None;
    }
    match desired {
        Some(new) => Some(Change {
            field,
            old: current.map(str::to_string),
            new: Some(new.to_string()),
        }),
        // Absent in the export: clear it if Alipay allows, otherwise leave it.
        None if field.clearable() => Some(Change {
            field,
            old: current.map(str::to_string),
            new: None,
        }),
        None => None,
    }
}

fn same_values(fields: &BTreeMap<String, String>, changes: &[(String, String)]) -> bool {
    !changes.is_empty()
        && changes.len() == fields.len()
        && changes.iter().all(|(k, v)| fields.get(k) == Some(v))
}

/// Build the plan.
pub fn plan(input: PlanInput<'_>) -> Plan {
    // Internal indexes use foldhash: SipHash over 200k+ keys was a tenth of the plan's time.
    // Plans of 100k stores are bound by memory latency (random lookups in large maps), so
    // each store looks up its shop once and the remote-only pass is a scan.
    let mut remote_by_id: FastMap<&str, usize> =
        FastMap::with_capacity_and_hasher(input.remote.len(), Default::default());
    for (i, r) in input.remote.iter().enumerate() {
        remote_by_id.insert(r.shop_id.as_str(), i);
    }
    // Remote shops mapped to a store of the export or to a rejected row: not remote-only.
    let mut claimed = vec![false; input.remote.len()];
    let mut pending_by_store: FastMap<&str, Vec<&PendingWrite>> = FastMap::default();
    for p in input.pending {
        pending_by_store
            .entry(p.store_id.as_str())
            .or_default()
            .push(p);
    }
    let empty = FieldValues::new();
    let mut items = Vec::with_capacity(input.stores.len() + input.rejected.len());

    for store in input.stores {
        let shop_id = input.mapping.get(&store.store_id);
        let remote = shop_id
            .and_then(|id| remote_by_id.get(id.as_str()))
            .copied();
        if let Some(i) = remote {
            claimed[i] = true;
        }
        let action = if let Some(pending) = pending_by_store.get(store.store_id.as_str()) {
            let apply_ids: Vec<String> =
                pending.iter().filter_map(|p| p.apply_id.clone()).collect();
            let reason = if pending.iter().any(|p| p.apply_id.is_none()) {
                "a previous write's outcome is unknown; it is resolved before the store is touched again".to_string()
            } else if pending.iter().any(|p| p.kind == WriteKind::Create) {
                "the shop's creation is under Alipay's audit".to_string()
            } else {
                "a modification is under Alipay's audit".to_string()
            };
            Action::Pending {
                shop_id: shop_id.cloned(),
                apply_ids,
                reason,
            }
        } else if let Some(shop_id) = shop_id {
            match remote.map(|i| &input.remote[i]) {
                None => Action::Blocked {
                    shop_id: Some(shop_id.clone()),
                    reason: format!(
                        "the store maps to shop {shop_id}, which Alipay no longer lists; check it in the merchant portal"
                    ),
                    changes: Vec::new(),
                },
                Some(remote) => plan_existing(store, remote, input, &empty),
            }
        } else {
            plan_create(store, input)
        };
        items.push(PlanItem {
            store_id: Some(store.store_id.clone()),
            action,
        });
    }

    for r in input.rejected {
        let shop = r.store_id.as_ref().and_then(|id| input.mapping.get(id));
        if let Some(&i) = shop.and_then(|id| remote_by_id.get(id.as_str())) {
            claimed[i] = true;
        }
    }
    let unclaimed: FastSet<&str> = input
        .remote
        .iter()
        .zip(&claimed)
        .filter(|(_, c)| !**c)
        .map(|(r, _)| r.shop_id.as_str())
        .collect();
    // The store an unclaimed shop is mapped to (one that left the export), if any.
    let owners: FastMap<&str, &str> = if unclaimed.is_empty() {
        FastMap::default()
    } else {
        input
            .mapping
            .iter()
            .filter(|(_, shop)| unclaimed.contains(shop.as_str()))
            .map(|(store, shop)| (shop.as_str(), store.as_str()))
            .collect()
    };
    for (remote, _) in input.remote.iter().zip(&claimed).filter(|(_, c)| !**c) {
        let owner = owners.get(remote.shop_id.as_str()).copied();
        items.push(PlanItem {
            store_id: owner.map(str::to_string),
            action: Action::RemoteOnly {
                shop_id: remote.shop_id.clone(),
                name: remote.name(),
            },
        });
    }

    for r in input.rejected {
        items.push(PlanItem {
            store_id: r.store_id.clone(),
            action: Action::Rejected {
                file: r.file.clone(),
                line: r.line,
                field: r.field.clone(),
                reason: r.reason.clone(),
            },
        });
    }
    Plan { items }
}

fn plan_create(store: &Store, input: PlanInput<'_>) -> Action {
    let fields = store
        .fields
        .filtered(|f| input.settings.managed.contains(&f) || f.required_for_create());
    if let Some(failed) = input.failed.get(&store.store_id) {
        let wire: Vec<(String, String)> = fields
            .iter()
            .map(|(f, v)| (f.name().to_string(), v.to_string()))
            .collect();
        if failed.kind == WriteKind::Create && same_values(&failed.fields, &wire) {
            return Action::Blocked {
                shop_id: None,
                reason: format!(
                    "Alipay's audit rejected a create with these same values: {}; change the store's data to try again",
                    failed.reason
                ),
                changes: Vec::new(),
            };
        }
    }
    if !input.settings.create {
        return Action::Blocked {
            shop_id: None,
            reason: "not on Alipay, and creates are switched off ([sync] create = false)"
                .to_string(),
            changes: Vec::new(),
        };
    }
    Action::Create { fields }
}

fn plan_existing(
    store: &Store,
    remote: &RemoteShop,
    input: PlanInput<'_>,
    empty: &FieldValues,
) -> Action {
    let accepted = input.accepted.get(&store.store_id).unwrap_or(empty);
    let mut changes = Vec::new();
    let mut forbidden = Vec::new();
    for field in &input.settings.managed {
        let field = *field;
        if field.create_only() {
            continue;
        }
        let desired = store.get(field);
        let change = if field == Field::CategoryId {
            match desired {
                Some(want) if !remote.category_ids.is_empty() => {
                    if remote.category_ids.iter().any(|c| c == want) {
                        None
                    } else {
                        Some(Change {
                            field,
                            old: remote.category_ids.last().cloned(),
                            new: Some(want.to_string()),
                        })
                    }
                }
                Some(want) => compare(field, Some(want), accepted.get(field)),
                None => None,
            }
        } else if field.in_summary() {
            compare(field, desired, remote.fields.get(field))
        } else {
            let known = accepted.get(field);
            // A field never pushed and absent in the export is not a change.
            if known.is_none() && desired.is_none() {
                None
            } else {
                compare(field, desired, known)
            }
        };
        if let Some(change) = change {
            if field.immutable() {
                forbidden.push(change);
            } else {
                changes.push(change);
            }
        }
    }
    if !forbidden.is_empty() {
        let names: Vec<&str> = forbidden.iter().map(|c| c.field.name()).collect();
        forbidden.extend(changes);
        return Action::Blocked {
            shop_id: Some(remote.shop_id.clone()),
            reason: format!(
                "Alipay does not allow changing {} of an existing shop; fix the export or handle it in the merchant portal",
                names.join(", ")
            ),
            changes: forbidden,
        };
    }
    if changes.is_empty() {
        return Action::Unchanged {
            shop_id: remote.shop_id.clone(),
        };
    }
    if let Some(failed) = input.failed.get(&store.store_id) {
        let wire: Vec<(String, String)> = changes
            .iter()
            .map(|c| (c.field.name().to_string(), c.wire_value()))
            .collect();
        if failed.kind == WriteKind::Modify && same_values(&failed.fields, &wire) {
            return Action::Blocked {
                shop_id: Some(remote.shop_id.clone()),
                reason: format!(
                    "Alipay's audit rejected a modify with these same values: {}",
                    failed.reason
                ),
                changes,
            };
        }
    }
    if !input.settings.modify {
        return Action::Blocked {
            shop_id: Some(remote.shop_id.clone()),
            reason: "differs from Alipay, and modifies are switched off ([sync] modify = false)"
                .to_string(),
            changes,
        };
    }
    let review = changes.iter().any(|c| c.field.triggers_review());
    Action::Modify {
        shop_id: remote.shop_id.clone(),
        changes,
        review,
    }
}
