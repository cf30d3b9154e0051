//! `plan` and `sync` end to end: HTTP to the simulator, real CSV, real SQLite; every test
//! on both protocols (classic `gateway.do` and v3), as `NAME::classic` and `NAME::v3`.

use shopsync::audit::{RunStatus, RunSummary};
use shopsync::exit::Exit;
use shopsync::record::Field;
use shopsync::sim::{FaultKind, FaultRule, ForcedOutcome, RateSpec, Trigger};
use shopsync::sync::plan::Action;

use crate::harness::{each_protocol, Harness, Options, Setup};
use crate::support::export::{csv_of, row, HEADER};

const CREATE: &str = "alipay.offline.market.shop.create";
const MODIFY: &str = "alipay.offline.market.shop.modify";

async fn in_sync(n: usize, extra_toml: &str, setup: Setup) -> Harness {
    let h = Harness::start(Options {
        setup,
        csv: csv_of(n),
        extra_toml: extra_toml.to_string(),
        ..Default::default()
    })
    .await;
    let first = h.sync().await;
    assert_eq!(first.exit, Exit::Ok, "{:?}", first.message);
    assert_eq!(first.summary.created, n as u64);
    h.finish_audits();
    let second = h.sync().await;
    assert_eq!(second.exit, Exit::Ok, "{:?}", second.message);
    h
}

/// (store_id, [(field, new value)]) of every modify in the plan.
type Modifies = Vec<(String, Vec<(Field, Option<String>)>)>;

fn modifies(result: &shopsync::sync::run::RunResult) -> Modifies {
    result
        .plan
        .items
        .iter()
        .filter_map(|i| match &i.action {
            Action::Modify { changes, .. } => Some((
                i.store_id.clone().unwrap().to_string(),
                changes.iter().map(|c| (c.field, c.new.clone())).collect(),
            )),
            _ => None,
        })
        .collect()
}

async fn first_sync_creates_every_store_then_second_run_is_a_noop(setup: Setup) {
    let h = Harness::start(Options {
        setup,
        csv: csv_of(12),
        ..Default::default()
    })
    .await;
    let first = h.sync().await;
    assert_eq!(first.exit, Exit::Ok);
    assert_eq!(first.summary.created, 12);
    assert_eq!(h.sim.call_counts().get(CREATE), Some(&12));
    assert_eq!(h.ctx.gateway.protocol(), setup.protocol);
    // v3 answers carry alipay-trace-id: the audit trail keeps each write's (`audit show`,
    // `audit store`); classic answers have none.
    let run = h.ctx.db.runs(1).unwrap()[0].id;
    let actions = h.ctx.db.actions_for_run(run).unwrap();
    assert_eq!(actions.len(), 12);
    let traces: std::collections::BTreeSet<_> =
        actions.iter().filter_map(|a| a.trace_id.clone()).collect();
    let mut shown = Vec::new();
    shopsync::audit::run_command(
        &h.ctx.db,
        &shopsync::audit::AuditCommand::Show { run: run.0 },
        shopsync::audit::OutputFormat::Table,
        &mut shown,
    )
    .unwrap();
    let shown = String::from_utf8(shown).unwrap();
    if setup.protocol == shopsync::alipay::Protocol::V3 {
        assert_eq!(traces.len(), 12, "one distinct trace id per write");
        for t in &traces {
            assert!(shown.contains(&format!("alipay-trace-id {t}")), "{shown}");
        }
    } else {
        assert!(traces.is_empty(), "{traces:?}");
        assert!(!shown.contains("alipay-trace-id"), "{shown}");
    }
    // Before the audit ends, a second run must not create again.
    let during = h.sync().await;
    assert_eq!(during.summary.pending, 12);
    assert_eq!(during.summary.created, 0);
    assert_eq!(h.sim.call_counts().get(CREATE), Some(&12));

    h.finish_audits();
    let after = h.sync().await;
    assert_eq!(after.exit, Exit::Ok);
    assert_eq!(after.summary.unchanged, 12, "{:?}", after.summary);
    assert_eq!(h.writes_sent(), 12, "the second run wrote nothing");
    assert_eq!(h.ctx.db.shop_map().unwrap().len(), 12);
    assert!(h.shops_per_store().values().all(|n| *n == 1));

    let plan = h.plan().await;
    assert_eq!(plan.exit, Exit::Ok, "plan exits 0 when in sync");
    let runs = h.ctx.db.runs(10).unwrap();
    assert_eq!(runs.len(), 4);
    assert!(h.ctx.db.unresolved_actions().unwrap().is_empty());
}

async fn a_changed_export_gives_exactly_the_expected_modifies(setup: Setup) {
    let h = in_sync(4, "", setup).await;
    let mut csv = String::from(HEADER);
    csv.push('\n');
    for i in 1..=4 {
        let mut r = row(i);
        if i == 2 {
            r = r.replace("021-62880002", "021-62889999");
        }
        if i == 3 {
            r = r.replace("分店0003号", "新名字店");
        }
        csv.push_str(&r);
        csv.push('\n');
    }
    h.write_csv(&csv);
    let plan = h.plan().await;
    assert_eq!(
        plan.exit,
        Exit::Changes,
        "plan exits 2 with changes pending"
    );
    let mut m = modifies(&plan);
    m.sort();
    assert_eq!(
        m,
        vec![
            (
                "ST-0002".to_string(),
                vec![(Field::ContactNumber, Some("021-62889999".to_string()))]
            ),
            (
                "ST-0003".to_string(),
                vec![(Field::BranchShopName, Some("新名字店".to_string()))]
            ),
        ]
    );
    let review = plan.plan.items.iter().find_map(|i| match &i.action {
        Action::Modify { review, .. } if i.store_id.as_deref() == Some("ST-0003") => Some(*review),
        _ => None,
    });
    assert_eq!(
        review,
        Some(true),
        "a branch name change re-triggers the audit"
    );

    let before = h.sim.call_counts().get(MODIFY).copied().unwrap_or(0);
    let sync = h.sync().await;
    assert_eq!(sync.summary.modified, 2);
    assert_eq!(
        h.sim.call_counts().get(MODIFY).copied().unwrap_or(0) - before,
        2
    );
    h.finish_audits();
    let again = h.sync().await;
    assert_eq!(again.summary.unchanged, 4, "{:?}", again.summary);
    let shop = h
        .sim
        .shops()
        .into_iter()
        .find(|s| s.store_id == "ST-0003")
        .unwrap();
    assert_eq!(
        shop.fields.get("branch_shop_name").map(String::as_str),
        Some("新名字店")
    );
}

async fn an_edit_made_on_alipay_is_detected_and_reverted(setup: Setup) {
    let h = in_sync(3, "", setup).await;
    let shop_id = h.ctx.db.shop_map().unwrap()["ST-0002"].clone();
    h.sim
        .edit_shop(&shop_id, "address", Some("被人改过的地址100号"));
    let plan = h.plan().await;
    assert_eq!(
        modifies(&plan),
        vec![(
            "ST-0002".to_string(),
            vec![(Field::Address, Some("南京西路2号".to_string()))]
        )]
    );
    h.sync().await;
    h.finish_audits();
    let shop = h
        .sim
        .shops()
        .into_iter()
        .find(|s| shop_id == s.shop_id)
        .unwrap();
    assert_eq!(
        shop.fields.get("address").map(String::as_str),
        Some("南京西路2号")
    );
    assert_eq!(h.sync().await.summary.unchanged, 3);
}

async fn existing_shops_are_adopted_not_duplicated(setup: Setup) {
    let h = Harness::start(Options {
        setup,
        csv: csv_of(5),
        ..Default::default()
    })
    .await;
    // Shops 1 and 2 already exist on Alipay (created by hand before shopsync), and one
    // shop belongs to a store the export does not have.
    for i in [1usize, 2] {
        let mut fields = std::collections::BTreeMap::new();
        let cols: Vec<&str> = HEADER.split(',').collect();
        let r = row(i);
        for (k, v) in cols.iter().zip(r.split(',')) {
            if *k != "store_id" {
                fields.insert(k.to_string(), v.to_string());
            }
        }
        fields.insert("category_id".into(), "2015050700000018".into());
        fields.insert("main_shop_name".into(), "鲜果坊".into());
        fields.insert("brand_name".into(), "鲜果坊".into());
        fields.insert(
            "main_image".into(),
            "1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC".into(),
        );
        fields.insert(
            "audit_images".into(),
            "1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC,4Q8Pp00AT7eo9NoAJkMR3AAAACMAAUYT".into(),
        );
        h.sim.seed_shop(&format!("ST-{i:04}"), fields.clone());
        if i == 1 {
            h.sim.seed_shop("OTHER-1", fields);
        }
    }
    let first = h.sync().await;
    assert_eq!(first.summary.created, 3, "{:?}", first.summary);
    assert_eq!(first.summary.remote_only, 1);
    assert_eq!(h.sim.call_counts().get(CREATE), Some(&3));
    h.finish_audits();
    let second = h.sync().await;
    assert_eq!(second.summary.unchanged, 5, "{:?}", second.summary);
    let counts = h.shops_per_store();
    for i in 1..=5 {
        assert_eq!(counts.get(&format!("ST-{i:04}")), Some(&1));
    }
    // querydetail ran once per unmapped shop, not on every run.
    let qd = h
        .sim
        .call_counts()
        .get("alipay.offline.market.shop.querydetail")
        .copied();
    assert_eq!(qd, Some(3));
}

async fn a_rejected_audit_is_recorded_and_the_same_data_is_not_resent(setup: Setup) {
    let h = Harness::start(Options {
        setup,
        csv: csv_of(2),
        ..Default::default()
    })
    .await;
    h.sim
        .force_outcome("ST-0001", ForcedOutcome::Fail("门店照片不清晰".into()));
    h.sync().await;
    h.finish_audits();
    let second = h.sync().await;
    let blocked = second
        .plan
        .items
        .iter()
        .find(|i| i.store_id.as_deref() == Some("ST-0001"))
        .unwrap();
    match &blocked.action {
        Action::Blocked { reason, .. } => assert!(reason.contains("门店照片不清晰"), "{reason}"),
        other => panic!("expected blocked, got {other:?}"),
    }
    assert_eq!(
        h.sim.call_counts().get(CREATE),
        Some(&2),
        "the same data is not resent"
    );
    // Changing the data lets it through again.
    h.write_csv(&format!(
        "{HEADER}\n{}\n{}\n",
        row(1).replace("南京西路1号", "南京西路1号B座"),
        row(2)
    ));
    let third = h.sync().await;
    assert_eq!(third.summary.created, 1);
}

async fn guards_stop_before_any_write(setup: Setup) {
    let h = Harness::start(Options {
        setup,
        csv: csv_of(5),
        extra_toml: "[sync]\nmax_creates = 3\n".into(),
        ..Default::default()
    })
    .await;
    let r = h.sync().await;
    assert_eq!(r.exit, Exit::Guard);
    assert_eq!(r.status, RunStatus::Guarded);
    assert!(r.message.unwrap().contains("max_creates"));
    assert_eq!(h.writes_sent(), 0);
    let forced = h.sync_forced().await;
    assert_eq!(forced.summary.created, 5);

    // A truncated export: far fewer rows than the last completed sync.
    h.finish_audits();
    assert_eq!(h.sync().await.exit, Exit::Ok);
    h.write_csv(&format!("{HEADER}\n{}\n", row(1)));
    let shrunk = h.sync().await;
    assert_eq!(shrunk.exit, Exit::Guard);
    assert!(shrunk.message.unwrap().contains("truncated"));
}

async fn unknown_outcome_creates_end_with_exactly_one_shop_per_store(setup: Setup) {
    let h = Harness::start(Options {
        setup,
        csv: csv_of(6),
        sim: Box::new(|c| c.rich_biz_context = true), // issue 10: until followup stops relying on it
        ..Default::default()
    })
    .await;
    for kind in [
        FaultKind::UnknownErrorApplied,
        FaultKind::DropAfter,
        FaultKind::UnknownErrorNotApplied,
        FaultKind::DropBefore,
    ] {
        h.sim.add_fault(FaultRule {
            method: Some(CREATE.into()),
            kind,
            trigger: Trigger::Next(1),
        });
    }
    let first = h.sync().await;
    assert_eq!(first.exit, Exit::Partial);
    assert_eq!(first.summary.unknown, 4, "{:?}", first.summary);
    assert_eq!(first.summary.created, 2);
    assert_eq!(h.ctx.db.unresolved_actions().unwrap().len(), 4);
    // The next run resolves them by query before touching the stores, and creates only
    // what was not applied.
    let second = h.sync().await;
    assert!(h.ctx.db.unresolved_actions().unwrap().is_empty());
    assert_eq!(second.summary.created, 2, "{:?}", second.summary);
    h.finish_audits();
    let third = h.sync().await;
    assert_eq!(third.summary.unchanged, 6, "{:?}", third.summary);
    let counts = h.shops_per_store();
    assert_eq!(counts.len(), 6);
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
}

async fn a_pending_modify_blocks_a_concurrent_one(setup: Setup) {
    let h = in_sync(2, "", setup).await;
    h.write_csv(&format!(
        "{HEADER}\n{}\n{}\n",
        row(1).replace("分店0001号", "改名一次店"),
        row(2)
    ));
    assert_eq!(h.sync().await.summary.modified, 1);
    let sent = h.sim.call_counts().get(MODIFY).copied();
    h.write_csv(&format!(
        "{HEADER}\n{}\n{}\n",
        row(1).replace("分店0001号", "改名两次店"),
        row(2)
    ));
    let second = h.sync().await;
    assert_eq!(second.summary.pending, 1, "{:?}", second.summary);
    assert_eq!(
        h.sim.call_counts().get(MODIFY).copied(),
        sent,
        "no modify while one is under audit"
    );
    h.finish_audits();
    assert_eq!(h.sync().await.summary.modified, 1);
}

async fn throttling_never_produces_a_failed_store(setup: Setup) {
    let h = Harness::start(Options {
        setup,
        csv: csv_of(30),
        sim: Box::new(|c| c.rate = Some(RateSpec { qps: 20, burst: 5 })),
        ..Default::default()
    })
    .await;
    let r = h.sync().await;
    assert!(h.sim.throttled_count() > 0, "the simulator did throttle");
    assert_eq!(r.summary.failed, 0);
    assert_eq!(r.summary.created, 30);
    assert_eq!(r.exit, Exit::Ok, "{:?} {:?}", r.summary, r.message);
}

async fn rejected_rows_are_reported_and_never_written(setup: Setup) {
    let mut csv = csv_of(3);
    csv.push_str("ST-BAD1,分店,310000,310100,310106,南京西路9号,121.4,31.2,not-a-phone,周一-周日 09:00-22:00,30\n");
    csv.push_str(
        "ST-BAD2,分店二,310000,310100,310106,路,121.4,31.2,021-1,周一-周日 09:00-22:00,30\n",
    );
    let h = Harness::start(Options {
        setup,
        csv,
        ..Default::default()
    })
    .await;
    let r = h.sync().await;
    assert_eq!(r.summary.rejected, 2);
    assert_eq!(r.summary.created, 3);
    assert_eq!(
        r.exit,
        Exit::Partial,
        "rejected rows make the run partial (exit 3)"
    );
    assert!(!h.shops_per_store().contains_key("ST-BAD1"));
    let summary: RunSummary = h.ctx.db.run(r.run).unwrap().unwrap().summary.unwrap();
    assert_eq!(summary.rejected, 2);
}

/// A licence that expired before the run's day (China date, from the run's clock) is a
/// rejected row, never sent; one expiring today is valid. The harness clock reads
/// 2026-11-24 18:30 UTC, which is 2026-11-25 in China.
// Regression acd5329: an expired licence was sent (and refused, *_LICENSE_EXPIRES), not rejected.
async fn regression_an_expired_licence_was_sent_to_alipay(setup: Setup) {
    let mut csv = format!("{HEADER},licence_expires\n");
    for (i, expires) in [(1, "2026-11-24"), (2, "2026-11-25"), (3, "")] {
        csv.push_str(&format!("{},{expires}\n", row(i)));
    }
    let h = Harness::start(Options {
        setup,
        csv,
        ..Default::default()
    })
    .await;
    let r = h.sync().await;
    assert_eq!(
        (r.summary.created, r.summary.rejected),
        (2, 1),
        "{:?}",
        r.summary
    );
    assert_eq!(h.sim.call_counts().get(CREATE), Some(&2));
    let rejected = r
        .plan
        .items
        .iter()
        .find(|i| i.action.label() == "rejected")
        .expect("a rejected item");
    assert_eq!(rejected.store_id.as_deref(), Some("ST-0001"));
    let text = format!("{:?}", rejected.action);
    assert!(
        text.contains("licence_expires") && text.contains("2026-11-24"),
        "{text}"
    );
    assert!(!h.shops_per_store().contains_key("ST-0001"));
}

each_protocol!(
    first_sync_creates_every_store_then_second_run_is_a_noop,
    a_changed_export_gives_exactly_the_expected_modifies,
    an_edit_made_on_alipay_is_detected_and_reverted,
    existing_shops_are_adopted_not_duplicated,
    a_rejected_audit_is_recorded_and_the_same_data_is_not_resent,
    guards_stop_before_any_write,
    unknown_outcome_creates_end_with_exactly_one_shop_per_store,
    a_pending_modify_blocks_a_concurrent_one,
    throttling_never_produces_a_failed_store,
    rejected_rows_are_reported_and_never_written,
    regression_an_expired_licence_was_sent_to_alipay,
);
