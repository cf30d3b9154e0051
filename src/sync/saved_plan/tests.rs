use std::time::Duration;

use super::*;
use crate::ids::{ApplyId, ShopId};
use crate::record::{Field, FieldValues};

fn create(id: &str, address: &str) -> PlanItem {
    PlanItem {
        store_id: Some(StoreId::new(id)),
        action: Action::Create {
            fields: FieldValues::from_pairs([
                (Field::Address, address),
                (Field::MainShopName, "鲜果坊"),
            ]),
        },
    }
}

fn modify(id: &str, shop: &str, new: &str) -> PlanItem {
    PlanItem {
        store_id: Some(StoreId::new(id)),
        action: Action::Modify {
            shop_id: ShopId::new(shop),
            changes: vec![Change {
                field: Field::ContactNumber,
                old: Some("021-1".into()),
                new: Some(new.into()),
            }],
            review: false,
        },
    }
}

fn unchanged(id: &str, shop: &str) -> PlanItem {
    PlanItem {
        store_id: Some(StoreId::new(id)),
        action: Action::Unchanged {
            shop_id: ShopId::new(shop),
        },
    }
}

fn fp(export: &str, remote: &str) -> StoreFingerprint {
    StoreFingerprint {
        export: export.into(),
        remote: remote.into(),
    }
}

fn fps(entries: &[(&str, StoreFingerprint)]) -> Fingerprints {
    entries
        .iter()
        .map(|(id, f)| (StoreId::new(*id), f.clone()))
        .collect()
}

fn target() -> PlanTarget {
    PlanTarget {
        app_id: "2021000000000001".into(),
        merchant: String::new(),
        gateway: "simulator".into(),
    }
}

fn made_at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-02T02:30:00Z")
        .unwrap()
        .to_utc()
}

fn saved(items: Vec<PlanItem>, fingerprints: Fingerprints) -> SavedPlan {
    SavedPlan {
        path: PathBuf::from("plan.json"),
        header: header(&target(), "stores.csv (csv, utf-8)", 1, made_at()),
        digest: String::new(),
        plan: Plan {
            items,
            ..Plan::default()
        },
        fingerprints,
    }
}

#[test]
fn a_saved_plan_round_trips_through_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let plan = Plan {
        items: vec![
            create("ST-0001", "南京西路1号"),
            modify("ST-0002", "2088000000000002", "021-2"),
            unchanged("ST-0003", "2088000000000003"),
            PlanItem {
                store_id: Some(StoreId::new("ST-0004")),
                action: Action::Pending {
                    shop_id: None,
                    apply_ids: vec![ApplyId::new("20261202000001")],
                    reason: "create under audit".into(),
                },
            },
            PlanItem {
                store_id: None,
                action: Action::RemoteOnly {
                    shop_id: ShopId::new("2088000000000009"),
                    name: "旧店".into(),
                },
            },
            PlanItem {
                store_id: None,
                action: Action::Rejected {
                    file: "stores.csv".into(),
                    line: 7,
                    field: Some("contact_number".into()),
                    reason: "not a phone number".into(),
                },
            },
        ],
        ..Plan::default()
    };
    let fingerprints = fps(&[
        ("ST-0001", fp("e1", "r1")),
        ("ST-0002", fp("e2", "r2")),
        ("ST-0003", fp("e3", "r3")),
        ("ST-0004", fp("e4", "r4")),
    ]);
    let h = header(&target(), "stores.csv (csv, utf-8)", 3, made_at());
    let digest = format::write(&path, &h, &plan, &fingerprints).unwrap();
    let back = SavedPlan::load(&path).unwrap();
    assert_eq!(back.header, h);
    assert_eq!(back.digest, digest);
    assert_eq!(back.plan, plan);
    assert_eq!(back.fingerprints, fingerprints);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left behind");

    // A write without its fingerprint is not a plan this build wrote.
    let text = std::fs::read_to_string(&path).unwrap();
    let (body, _) = unseal(&path, &text).unwrap();
    let edited = body.replacen(r#","fingerprint":{"export":"e1","remote":"r1"}"#, "", 1);
    assert_ne!(edited, body);
    let err = SavedPlan::parse(&path, &seal(&edited)).unwrap_err();
    assert!(
        err.to_string()
            .contains("item 1 (store ST-0001): a create without the store's fingerprint"),
        "{err}"
    );
    let edited = body.replacen("\"address\"", "\"addresse\"", 1);
    let err = SavedPlan::parse(&path, &seal(&edited)).unwrap_err();
    assert!(
        err.to_string()
            .contains("\"addresse\" is not an Alipay shop field"),
        "{err}"
    );
}

#[test]
fn a_plan_for_another_target_or_too_old_is_refused_with_the_reason() {
    let plan = saved(Vec::new(), Fingerprints::new());
    let now = made_at() + chrono::Duration::hours(1);
    let day = DEFAULT_MAX_AGE;
    plan.check(&target(), now, day).unwrap();
    for (t, word) in [
        (
            PlanTarget {
                app_id: "2021000000000002".into(),
                ..target()
            },
            "app id",
        ),
        (
            PlanTarget {
                merchant: "鲜果坊".into(),
                ..target()
            },
            "merchant",
        ),
        (
            PlanTarget {
                gateway: "https://openapi.alipay.com/gateway.do".into(),
                ..target()
            },
            "gateway",
        ),
    ] {
        let e = plan.check(&t, now, day).unwrap_err();
        assert!(e.to_string().contains(&format!("is for {word}")), "{e}");
    }
    let e = plan
        .check(&target(), made_at() + chrono::Duration::hours(25), day)
        .unwrap_err();
    assert!(e.to_string().contains("made 1day 1h ago"), "{e}");
    assert!(e.to_string().contains("--max-age 1day"), "{e}");
    plan.check(&target(), now, Duration::from_secs(3601))
        .unwrap();
    assert!(plan
        .check(&target(), now, Duration::from_secs(3599))
        .is_err());
    let e = plan
        .check(&target(), made_at() - chrono::Duration::minutes(10), day)
        .unwrap_err();
    assert!(e.to_string().contains("in the future"), "{e}");
    plan.check(&target(), made_at() - chrono::Duration::minutes(1), day)
        .unwrap();
}

#[test]
fn only_the_saved_writes_of_unmoved_stores_survive_and_the_rest_say_why() {
    let plan = saved(
        vec![
            create("ST-0001", "a"),
            modify("ST-0002", "S2", "021-2"),
            create("ST-0003", "c"),
            modify("ST-0004", "S4", "021-4"),
            create("ST-0005", "e"),
            unchanged("ST-0006", "S6"),
            create("ST-0007", "g"),
        ],
        fps(&[
            ("ST-0001", fp("e1", "r1")),
            ("ST-0002", fp("e2", "r2")),
            ("ST-0003", fp("e3", "r3")),
            ("ST-0004", fp("e4", "r4")),
            ("ST-0005", fp("e5", "r5")),
            ("ST-0006", fp("e6", "r6")),
            ("ST-0007", fp("e7", "r7")),
        ]),
    );
    let fresh = Plan {
        items: vec![
            // Same write, same fingerprints: sent.
            create("ST-0001", "a"),
            // Same write, but the shop moved on Alipay: stale.
            modify("ST-0002", "S2", "021-2"),
            // The export row changed (and with it the write): stale.
            create("ST-0003", "c2"),
            // Fingerprints unchanged, but an application is under audit now: stale.
            PlanItem {
                store_id: Some(StoreId::new("ST-0004")),
                action: Action::Pending {
                    shop_id: Some(ShopId::new("S4")),
                    apply_ids: vec![],
                    reason: "a modify is under audit".into(),
                },
            },
            // Fingerprints unchanged, a different write now: stale.
            create("ST-0005", "e-other"),
            // Unchanged when planned, a write now: not sent (no other writes).
            modify("ST-0006", "S6", "021-6"),
            // A store the saved plan never saw: not sent.
            create("ST-0008", "h"),
            // ST-0007 is gone from the export.
        ],
        ..Plan::default()
    };
    let now = fps(&[
        ("ST-0001", fp("e1", "r1")),
        ("ST-0002", fp("e2", "r2-moved")),
        ("ST-0003", fp("e3-moved", "r3")),
        ("ST-0004", fp("e4", "r4")),
        ("ST-0005", fp("e5", "r5")),
        ("ST-0006", fp("e6-moved", "r6")),
        ("ST-0008", fp("e8", "r8")),
    ]);
    let r = plan.restrict(fresh, &now);
    let writes: Vec<&str> = r
        .plan
        .items
        .iter()
        .filter(|i| is_write(&i.action))
        .map(|i| i.store_id.as_ref().unwrap().as_str())
        .collect();
    assert_eq!(writes, vec!["ST-0001"]);
    let stale: Vec<(&str, &str)> = r
        .stale
        .iter()
        .map(|s| (s.store_id.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(
        stale,
        vec![
            ("ST-0002", "its shop on Alipay changed"),
            ("ST-0003", "its export row changed"),
            ("ST-0004", "it is now pending: a modify is under audit"),
            ("ST-0005", "a create with other values is due now"),
            ("ST-0007", "it is no longer in the export"),
        ]
    );
    assert_eq!(r.not_in_plan, 2);
    let c = r.plan.counts();
    assert_eq!((c.create, c.modify, c.pending, c.blocked), (1, 0, 1, 5));
    let reasons: Vec<String> = r
        .plan
        .items
        .iter()
        .filter_map(|i| match &i.action {
            Action::Blocked {
                reason, changes, ..
            } => Some(format!("{reason} [{}]", changes.len())),
            _ => None,
        })
        .collect();
    assert!(
        reasons[0].starts_with(
            "stale: the saved plan's modify was not sent, its shop on Alipay changed [1]"
        ),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("a create not in the saved plan")),
        "{reasons:?}"
    );
    assert!(stale_message(&r.stale).starts_with("5 stores of the saved plan were skipped"));
}

#[test]
fn a_file_with_any_byte_changed_cut_or_grown_is_refused_by_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let plan = Plan {
        items: vec![
            create("ST-0001", "南京西路1号"),
            modify("ST-0002", "S2", "021-2"),
        ],
        ..Plan::default()
    };
    let fingerprints = fps(&[("ST-0001", fp("e1", "r1")), ("ST-0002", fp("e2", "r2"))]);
    let h = header(&target(), "stores.csv", 3, made_at());
    format::write(&path, &h, &plan, &fingerprints).unwrap();
    let good = std::fs::read(&path).unwrap();
    assert_eq!(SavedPlan::load(&path).unwrap().plan, plan);
    let bad = dir.path().join("bad.json");
    for i in 0..good.len() {
        let mut bytes = good.clone();
        bytes[i] ^= 0x20;
        std::fs::write(&bad, &bytes).unwrap();
        assert!(
            SavedPlan::load(&bad).is_err(),
            "byte {i} changed, still loaded"
        );
    }
    for bytes in [&good[..good.len() - 1], &good[..good.len() / 2], &[][..]] {
        std::fs::write(&bad, bytes).unwrap();
        assert!(SavedPlan::load(&bad).is_err());
    }
    let mut grown = good.clone();
    grown.extend_from_slice(b"\n");
    std::fs::write(&bad, &grown).unwrap();
    assert!(SavedPlan::load(&bad).is_err());
    // A damaged body says so (not a JSON error): the digest is checked first.
    let text = String::from_utf8(good.clone()).unwrap();
    std::fs::write(&bad, text.replacen("\"items\":[", "\"items\":{", 1)).unwrap();
    let e = SavedPlan::load(&bad).unwrap_err();
    assert!(matches!(e, SavedPlanError::Digest { .. }), "{e}");
    // The text and the file readers agree.
    let parsed = SavedPlan::parse(&path, &text).unwrap();
    assert_eq!(parsed.plan, plan);
    assert_eq!(parsed.fingerprints, fingerprints);
    assert_eq!(parsed.digest, SavedPlan::load(&path).unwrap().digest);
}
