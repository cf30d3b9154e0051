//! The body of a saved plan, schema version 1 (docs/saved-plans.md): the header (what the
//! plan was computed from), the counts, and one item per store or remote shop, each with
//! the store's fingerprints. These types are the file's schema; they are converted to and
//! from the planner's [`Plan`] so that the file does not change when the planner's own
//! types do.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::fingerprint::{Fingerprints, StoreFingerprint};
use crate::ids::{ApplyId, ShopId, StoreId};
use crate::record::{Field, FieldValues};
use crate::sync::plan::{Action, Change, Plan, PlanItem, PlannedPhoto};

/// What a plan was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanHeader {
    /// When the plan's run started reading the export and Alipay (RFC 3339, UTC).
    #[serde(with = "rfc3339")]
    pub made_at: DateTime<Utc>,
    /// The shopsync that made it (`CARGO_PKG_VERSION`).
    pub shopsync_version: String,
    /// `[alipay] app_id`.
    pub app_id: String,
    /// The `[[merchant]]` name the plan was made for; `""` for a config without
    /// `[[merchant]]` tables.
    pub merchant: String,
    /// `simulator`, or the gateway URL (`production` and `sandbox` as their URLs).
    pub gateway: String,
    /// The export, as `shopsync audit runs` shows it.
    pub source: String,
    /// The `plan` run in the audit store that computed it.
    pub plan_run: i64,
}

/// `2026-12-02T02:30:00.000Z` (chrono is built without serde here).
mod rfc3339 {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.to_utc())
            .map_err(|e| serde::de::Error::custom(format!("made_at {text:?}: {e}")))
    }
}

/// One field's old → new value in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedChange {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// What the plan does with one store, as the file spells it (the same words and fields as
/// `shopsync plan --format json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum SavedAction {
    Create {
        fields: BTreeMap<String, String>,
    },
    Modify {
        shop_id: String,
        changes: Vec<SavedChange>,
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
        changes: Vec<SavedChange>,
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

/// One item of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedItem {
    pub store_id: Option<String>,
    #[serde(flatten)]
    pub action: SavedAction,
    /// The store's fingerprints; absent for remote-only shops and rejected rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<StoreFingerprint>,
}

fn saved_changes(changes: &[Change]) -> Vec<SavedChange> {
    changes
        .iter()
        .map(|c| SavedChange {
            field: c.field.name().to_string(),
            old: c.old.clone(),
            new: c.new.clone(),
        })
        .collect()
}

/// The file's item for one plan item.
pub fn saved_item(item: &PlanItem, fingerprints: &Fingerprints) -> SavedItem {
    let action = match &item.action {
        Action::Create { fields } => SavedAction::Create {
            fields: fields
                .iter()
                .map(|(f, v)| (f.name().to_string(), v.to_string()))
                .collect(),
        },
        Action::Modify {
            shop_id,
            changes,
            review,
        } => SavedAction::Modify {
            shop_id: shop_id.to_string(),
            changes: saved_changes(changes),
            review: *review,
        },
        Action::Unchanged { shop_id } => SavedAction::Unchanged {
            shop_id: shop_id.to_string(),
        },
        Action::Pending {
            shop_id,
            apply_ids,
            reason,
        } => SavedAction::Pending {
            shop_id: shop_id.as_ref().map(ToString::to_string),
            apply_ids: apply_ids.iter().map(ToString::to_string).collect(),
            reason: reason.clone(),
        },
        Action::Blocked {
            shop_id,
            reason,
            changes,
        } => SavedAction::Blocked {
            shop_id: shop_id.as_ref().map(ToString::to_string),
            reason: reason.clone(),
            changes: saved_changes(changes),
        },
        Action::RemoteOnly { shop_id, name } => SavedAction::RemoteOnly {
            shop_id: shop_id.to_string(),
            name: name.clone(),
        },
        Action::Rejected {
            file,
            line,
            field,
            reason,
        } => SavedAction::Rejected {
            file: file.clone(),
            line: *line,
            field: field.clone(),
            reason: reason.clone(),
        },
    };
    let fingerprint = match (&item.action, &item.store_id) {
        (Action::Rejected { .. } | Action::RemoteOnly { .. }, _) | (_, None) => None,
        (_, Some(id)) => fingerprints.get(id).cloned(),
    };
    SavedItem {
        store_id: item.store_id.as_ref().map(ToString::to_string),
        action,
        fingerprint,
    }
}

fn field(name: &str) -> Result<Field, String> {
    Field::from_name(name).ok_or_else(|| format!("{name:?} is not an Alipay shop field"))
}

fn plan_changes(changes: &[SavedChange]) -> Result<Vec<Change>, String> {
    changes
        .iter()
        .map(|c| {
            Ok(Change {
                field: field(&c.field)?,
                old: c.old.clone(),
                new: c.new.clone(),
            })
        })
        .collect()
}

/// The plan item of one file item (an error names what is wrong with it).
pub fn plan_item(item: &SavedItem) -> Result<PlanItem, String> {
    let action = match &item.action {
        SavedAction::Create { fields } => Action::Create {
            fields: fields
                .iter()
                .map(|(f, v)| Ok((field(f)?, v.as_str())))
                .collect::<Result<Vec<_>, String>>()?
                .into_iter()
                .collect::<FieldValues>(),
        },
        SavedAction::Modify {
            shop_id,
            changes,
            review,
        } => Action::Modify {
            shop_id: ShopId::new(shop_id.as_str()),
            changes: plan_changes(changes)?,
            review: *review,
        },
        SavedAction::Unchanged { shop_id } => Action::Unchanged {
            shop_id: ShopId::new(shop_id.as_str()),
        },
        SavedAction::Pending {
            shop_id,
            apply_ids,
            reason,
        } => Action::Pending {
            shop_id: shop_id.as_deref().map(ShopId::new),
            apply_ids: apply_ids.iter().map(|a| ApplyId::new(a.as_str())).collect(),
            reason: reason.clone(),
        },
        SavedAction::Blocked {
            shop_id,
            reason,
            changes,
        } => Action::Blocked {
            shop_id: shop_id.as_deref().map(ShopId::new),
            reason: reason.clone(),
            changes: plan_changes(changes)?,
        },
        SavedAction::RemoteOnly { shop_id, name } => Action::RemoteOnly {
            shop_id: ShopId::new(shop_id.as_str()),
            name: name.clone(),
        },
        SavedAction::Rejected {
            file,
            line,
            field,
            reason,
        } => Action::Rejected {
            file: file.clone(),
            line: *line,
            field: field.clone(),
            reason: reason.clone(),
        },
    };
    let is_write = matches!(action, Action::Create { .. } | Action::Modify { .. });
    if is_write && item.store_id.is_none() {
        return Err(format!("a {} without a store_id", action.label()));
    }
    if is_write && item.fingerprint.is_none() {
        return Err(format!(
            "a {} without the store's fingerprint",
            action.label()
        ));
    }
    Ok(PlanItem {
        store_id: item.store_id.as_deref().map(StoreId::new),
        action,
    })
}

/// A body read back: the header, and the plan and fingerprints of its items.
#[derive(Debug)]
pub struct Body {
    pub header: PlanHeader,
    pub plan: Plan,
    pub fingerprints: Fingerprints,
}

/// Reads a body item by item (each converted at once, so memory holds the plan and not
/// the file's items as well). Refuses unknown keys, a missing header or items, and an
/// item that is not a valid plan item (naming it).
pub struct BodySeed;

impl<'de> serde::de::DeserializeSeed<'de> for BodySeed {
    type Value = Body;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Body, D::Error> {
        d.deserialize_map(BodyVisitor)
    }
}

struct BodyVisitor;

impl<'de> serde::de::Visitor<'de> for BodyVisitor {
    type Value = Body;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a saved plan's body: {\"header\", \"counts\", \"items\"} (and \"photos\", \"categories\")")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Body, A::Error> {
        use serde::de::Error;
        let mut header = None;
        let mut items = None;
        let mut photos = Vec::new();
        let mut categories = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "header" => header = Some(map.next_value::<PlanHeader>()?),
                // For people and tools reading the file; recomputed from the items.
                "counts" => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
                // What `plan` showed besides the items; `sync --plan` recomputes them.
                "photos" => photos = map.next_value::<Vec<PlannedPhoto>>()?,
                "categories" => categories = map.next_value::<BTreeMap<String, String>>()?,
                "items" => items = Some(map.next_value_seed(ItemsSeed)?),
                other => {
                    return Err(A::Error::unknown_field(
                        other,
                        &["header", "counts", "photos", "categories", "items"],
                    ))
                }
            }
        }
        let header = header.ok_or_else(|| A::Error::missing_field("header"))?;
        let (mut plan, fingerprints) = items.ok_or_else(|| A::Error::missing_field("items"))?;
        plan.photos = photos;
        plan.categories = categories;
        Ok(Body {
            header,
            plan,
            fingerprints,
        })
    }
}

struct ItemsSeed;

impl<'de> serde::de::DeserializeSeed<'de> for ItemsSeed {
    type Value = (Plan, Fingerprints);

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(ItemsSeed)
    }
}

impl<'de> serde::de::Visitor<'de> for ItemsSeed {
    type Value = (Plan, Fingerprints);

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of plan items")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut plan = Plan {
            items: Vec::with_capacity(seq.size_hint().unwrap_or(0)),
            ..Plan::default()
        };
        let mut fingerprints = Fingerprints::new();
        while let Some(item) = seq.next_element::<SavedItem>()? {
            let converted = plan_item(&item).map_err(|e| {
                serde::de::Error::custom(format!(
                    "item {} (store {}): {e}",
                    plan.items.len() + 1,
                    item.store_id.as_deref().unwrap_or("-")
                ))
            })?;
            if let (Some(id), Some(fp)) = (&converted.store_id, item.fingerprint) {
                fingerprints.insert(id.clone(), fp);
            }
            plan.items.push(converted);
        }
        Ok((plan, fingerprints))
    }
}
