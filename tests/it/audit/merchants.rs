//! One audit database, two merchants: what the HTML report and the alerts read of a
//! merchant is its own (its run's header, its pending applications, its audit
//! rejections), and the old → new of its modifies carry its name.

use chrono::{Duration, TimeZone, Utc};
use shopsync::audit::html::{from_store, ReportContext};
use shopsync::audit::{
    AppStatus, AuditDb, NewAction, NewApplication, NewChange, Outcome, RunKind, RunStatus,
    RunSummary,
};
use shopsync::record::WriteKind;

use super::{fields, raw, temp_db};

fn accepted(
    db: &AuditDb,
    action: shopsync::audit::ActionId,
    apply_id: &shopsync::ids::ApplyId,
    at: chrono::DateTime<Utc>,
) {
    let outcome = Outcome::Accepted {
        apply_id: apply_id.clone(),
        audit_status: Some("AUDITING".into()),
    };
    db.record_outcome(action, &outcome, at).unwrap();
}

/// One sync of `db`'s merchant: a modify of `store` (phone old → new) whose application
/// is pending, and a create of `store`-new whose application Alipay's audit rejected.
fn one_run(db: &AuditDb, store: &str, minute: i64) -> shopsync::audit::RunId {
    let at = |m: i64| Utc.with_ymd_and_hms(2026, 12, 1, 2, 30, 0).unwrap() + Duration::minutes(m);
    let run = db
        .start_run(RunKind::Sync, "stores.csv", 2, at(minute))
        .unwrap();
    let f = fields(&[("contact_number", "021-1")]);
    let shop = format!("shop-{store}").into();
    let modify = db
        .record_intent_with_changes(
            &NewAction {
                run,
                store_id: &store.into(),
                kind: WriteKind::Modify,
                shop_id: Some(&shop),
                request_id: &format!("rq-{store}-m").into(),
                fields: &f,
            },
            &[NewChange {
                field: "contact_number",
                old: Some("021-0"),
                new: Some("021-1"),
            }],
            at(minute),
        )
        .unwrap();
    let modify_apply = format!("ap-{store}-m").into();
    accepted(db, modify, &modify_apply, at(minute));
    db.add_application(
        &NewApplication {
            apply_id: &modify_apply,
            store_id: &store.into(),
            shop_id: Some(&shop),
            kind: WriteKind::Modify,
            request_id: &format!("rq-{store}-m").into(),
            action_id: Some(modify),
            fields: &f,
        },
        at(minute),
    )
    .unwrap();
    let new_store = format!("{store}-new");
    let create = db
        .record_intent(
            &NewAction {
                run,
                store_id: &new_store.as_str().into(),
                kind: WriteKind::Create,
                shop_id: None,
                request_id: &format!("rq-{store}-c").into(),
                fields: &f,
            },
            at(minute),
        )
        .unwrap();
    let apply_id = format!("ap-{store}-c").into();
    accepted(db, create, &apply_id, at(minute));
    db.add_application(
        &NewApplication {
            apply_id: &apply_id,
            store_id: &new_store.as_str().into(),
            shop_id: None,
            kind: WriteKind::Create,
            request_id: &format!("rq-{store}-c").into(),
            action_id: Some(create),
            fields: &f,
        },
        at(minute),
    )
    .unwrap();
    db.finish_application(
        &apply_id,
        AppStatus::Failed,
        None,
        Some("AUDIT_FAILED"),
        Some("门头照不清晰"),
        at(minute + 1),
    )
    .unwrap();
    db.finish_run(
        run,
        RunStatus::Ok,
        &RunSummary::default(),
        None,
        at(minute + 2),
    )
    .unwrap();
    run
}

#[test]
fn a_merchants_report_and_rejections_are_its_own() {
    let (_dir, path, db) = temp_db();
    let (acme, bravo) = (db.for_merchant("acme"), db.for_merchant("bravo"));
    let acme_run = one_run(&acme, "ST-0001", 0);
    let bravo_run = one_run(&bravo, "BR-0101", 10);
    let ctx = ReportContext {
        app_id: "2021000000000001",
        now: Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap(),
        exit_code: None,
    };
    // Through a handle on every merchant (as `shopsync report RUN` opens the store).
    for (run, merchant, own, other) in [
        (acme_run, "acme", "ST-0001", "BR-0101"),
        (bravo_run, "bravo", "BR-0101", "ST-0001"),
    ] {
        let report = from_store(&db.all_merchants(), run, &ctx).unwrap();
        assert_eq!(report.header.merchant.as_deref(), Some(merchant));
        let pending: Vec<&str> = report.pending.iter().map(|p| p.store_id.as_str()).collect();
        assert_eq!(pending, vec![own], "{merchant}: pending");
        let failed: Vec<&str> = report
            .failures
            .iter()
            .map(|f| f.store_id.as_str())
            .collect();
        assert_eq!(failed, vec![format!("{own}-new")], "{merchant}: failures");
        assert!(!failed[0].starts_with(other));
        assert_eq!(report.modified.len(), 1);
        assert_eq!(report.modified[0].changes[0].old.as_deref(), Some("021-0"));
    }
    // The implicit merchant's handle sees neither.
    let none = from_store(&db, acme_run, &ctx).unwrap_err();
    assert!(
        none.to_string().contains("not in the audit store"),
        "{none}"
    );
    // Audit rejections, as the alerts read them: each merchant's own.
    let since = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
    let of = |h: &AuditDb| -> Vec<(Option<i64>, String)> {
        h.rejected_applications_since(since)
            .unwrap()
            .into_iter()
            .map(|(run, app)| (run.map(|r| r.0), app.store_id.to_string()))
            .collect()
    };
    assert_eq!(of(&acme), vec![(Some(acme_run.0), "ST-0001-new".into())]);
    assert_eq!(of(&bravo), vec![(Some(bravo_run.0), "BR-0101-new".into())]);
    assert!(of(&db).is_empty());
    // The changes rows carry the merchant of their write.
    let merchants: Vec<String> = raw(&path)
        .prepare("SELECT merchant FROM action_changes ORDER BY action_id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(merchants, vec!["acme", "bravo"]);
}
