//! Per-store fingerprints: what a plan saw of a store's export row and of its shop on
//! Alipay. A sync of a saved plan computes them again from what it read; a store whose
//! fingerprint moved is stale (docs/saved-plans.md).
//!
//! A fingerprint is the first 16 bytes of a SHA-256, in hex, over a versioned,
//! NUL-separated encoding of the values the planner compares: the normalised export
//! values (defaults included), and the mapped shop's id, status, summary fields and
//! categories as summary.batchquery showed them. It detects change; it proves nothing.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ids::{ShopId, StoreId};
use crate::record::{FieldValues, Store};
use crate::sync::plan::RemoteShop;

/// What a plan saw of one store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreFingerprint {
    /// Of the store's export row (its normalised values).
    pub export: String,
    /// Of the shop mapped to the store on Alipay (or of its absence).
    pub remote: String,
}

/// The fingerprints of every store in the export.
pub type Fingerprints = HashMap<StoreId, StoreFingerprint>;

fn hex16(h: Sha256) -> String {
    hex::encode(&h.finalize()[..16])
}

fn put(h: &mut Sha256, s: &str) {
    h.update(s.as_bytes());
    h.update([0u8]);
}

fn put_values(h: &mut Sha256, values: &FieldValues) {
    for (field, value) in values.iter() {
        put(h, field.name());
        put(h, value);
    }
}

/// The fingerprint of one export row.
pub fn export_fingerprint(store: &Store) -> String {
    let mut h = Sha256::new();
    put(&mut h, "export/1");
    put(&mut h, store.store_id.as_str());
    put_values(&mut h, &store.fields);
    hex16(h)
}

/// The fingerprint of what Alipay showed for the shop mapped to a store: `mapped` is
/// the shop map's entry, `shop` the listed shop (`None`: mapped but not listed).
pub fn remote_fingerprint(mapped: Option<&ShopId>, shop: Option<&RemoteShop>) -> String {
    let mut h = Sha256::new();
    put(&mut h, "remote/1");
    match (mapped, shop) {
        (None, _) => put(&mut h, "unmapped"),
        (Some(id), None) => {
            put(&mut h, "not-listed");
            put(&mut h, id.as_str());
        }
        (Some(id), Some(shop)) => {
            put(&mut h, "listed");
            put(&mut h, id.as_str());
            put(&mut h, shop.status.as_deref().unwrap_or(""));
            put_values(&mut h, &shop.fields);
            put(&mut h, "categories");
            for c in &shop.category_ids {
                put(&mut h, c);
            }
        }
    }
    hex16(h)
}

/// The fingerprints of every store of the export, from what the run read: the stores,
/// the listed shops and the shop map (after adoption).
pub fn fingerprints(
    stores: &[Store],
    remote: &[RemoteShop],
    mapping: &HashMap<StoreId, ShopId>,
) -> Fingerprints {
    let by_shop: HashMap<&ShopId, &RemoteShop> = remote.iter().map(|s| (&s.shop_id, s)).collect();
    stores
        .iter()
        .map(|store| {
            let mapped = mapping.get(&store.store_id);
            let shop = mapped.and_then(|id| by_shop.get(id).copied());
            (
                store.store_id.clone(),
                StoreFingerprint {
                    export: export_fingerprint(store),
                    remote: remote_fingerprint(mapped, shop),
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Field;

    fn store(address: &str) -> Store {
        Store {
            store_id: StoreId::new("ST-0001"),
            line: 2,
            fields: FieldValues::from_pairs([
                (Field::Address, address),
                (Field::MainShopName, "鲜果坊"),
            ]),
        }
    }

    fn shop(status: &str, address: &str) -> RemoteShop {
        RemoteShop {
            shop_id: ShopId::new("2088000000000001"),
            status: Some(status.into()),
            fields: FieldValues::from_pairs([(Field::Address, address)]),
            category_ids: vec!["2015050700000018".into()],
        }
    }

    #[test]
    fn a_fingerprint_moves_with_any_value_the_plan_compares_and_only_then() {
        let a = store("南京西路1号");
        assert_eq!(export_fingerprint(&a), export_fingerprint(&a.clone()));
        assert_eq!(export_fingerprint(&a).len(), 32);
        let mut moved_line = a.clone();
        moved_line.line = 9;
        assert_eq!(export_fingerprint(&a), export_fingerprint(&moved_line));
        assert_ne!(
            export_fingerprint(&a),
            export_fingerprint(&store("南京西路2号"))
        );
        // Field boundaries are part of the encoding: "ab"+"c" is not "a"+"bc".
        assert_ne!(
            export_fingerprint(&store("鲜果坊")),
            export_fingerprint(&Store {
                fields: FieldValues::from_pairs([
                    (Field::Address, "鲜果"),
                    (Field::MainShopName, "坊鲜果坊")
                ]),
                ..store("")
            })
        );

        let id = ShopId::new("2088000000000001");
        let open = shop("OPEN", "南京西路1号");
        let base = remote_fingerprint(Some(&id), Some(&open));
        assert_eq!(base, remote_fingerprint(Some(&id), Some(&open.clone())));
        for other in [
            remote_fingerprint(Some(&id), Some(&shop("PAUSE", "南京西路1号"))),
            remote_fingerprint(Some(&id), Some(&shop("OPEN", "南京西路9号"))),
            remote_fingerprint(Some(&id), None),
            remote_fingerprint(None, None),
            remote_fingerprint(Some(&ShopId::new("2088000000000002")), Some(&open)),
        ] {
            assert_ne!(base, other);
        }
        let mut recategorised = open.clone();
        recategorised.category_ids.push("2015050700000019".into());
        assert_ne!(base, remote_fingerprint(Some(&id), Some(&recategorised)));
    }

    #[test]
    fn every_export_store_gets_one_and_an_unmapped_store_sees_no_shop() {
        let stores = vec![
            store("a"),
            Store {
                store_id: StoreId::new("ST-0002"),
                ..store("b")
            },
        ];
        let mut mapping = HashMap::new();
        mapping.insert(StoreId::new("ST-0001"), ShopId::new("2088000000000001"));
        let fps = fingerprints(&stores, &[shop("OPEN", "a")], &mapping);
        assert_eq!(fps.len(), 2);
        assert_eq!(
            fps[&StoreId::new("ST-0002")].remote,
            remote_fingerprint(None, None)
        );
        assert_eq!(
            fps[&StoreId::new("ST-0001")].remote,
            remote_fingerprint(
                Some(&ShopId::new("2088000000000001")),
                Some(&shop("OPEN", "a"))
            )
        );
    }
}
