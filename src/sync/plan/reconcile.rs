//! Reconcile the export with Alipay: a pure function of (stores, remote shops, shop map,
//! applications, accepted values). No I/O.

use std::collections::BTreeMap;

use super::model::*;
use crate::ids::{ApplyId, StoreId};
use crate::record::{Field, FieldValues, Store, WriteKind};

type FastMap<K, V> = foldhash::HashMap<K, V>;
type FastSet<K> = foldhash::HashSet<K>;

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
            let apply_ids: Vec<ApplyId> =
                pending.iter().filter_map(|p| p.apply_id.clone()).collect();
            let reason = if pending
                .iter()
                .any(|p| p.apply_id.as_ref().is_some_and(|a| !a.is_identified()))
            {
                "Alipay accepted a write of this store whose application is not identified yet; it is not written again until that is settled".to_string()
            } else if pending.iter().any(|p| p.apply_id.is_none()) {
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
        let shop = r.store_id.as_deref().and_then(|id| input.mapping.get(id));
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
            store_id: owner.map(StoreId::new),
            action: Action::RemoteOnly {
                shop_id: remote.shop_id.clone(),
                name: remote.name(),
            },
        });
    }

    for r in input.rejected {
        items.push(PlanItem {
            store_id: r.store_id.as_deref().map(StoreId::new),
            action: Action::Rejected {
                file: r.file.clone(),
                line: r.line,
                field: r.field.clone(),
                reason: r.reason.clone(),
            },
        });
    }
    Plan {
        items,
        ..Plan::default()
    }
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
