//! The audit store on real SQLite files: migrations, runs, actions and their resolution,
//! the shop map, applications, notifications, accepted values, concurrency, and the
//! `audit` subcommands' output (in `audit/report.rs`).

mod merchants;
mod report;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use shopsync::audit::{
    AppStatus, AuditDb, AuditError, NewAction, NewApplication, NotificationRecord, Outcome, RunId,
    RunKind, RunStatus, RunSummary,
};
use shopsync::record::WriteKind;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap()
}

fn at(mins: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(mins)
}

fn temp_db() -> (tempfile::TempDir, PathBuf, AuditDb) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state").join("audit.db");
    let db = AuditDb::open(&path).unwrap();
    (dir, path, db)
}

fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn intent(db: &AuditDb, run: RunId, store: &str, request_id: &str) -> shopsync::audit::ActionId {
    let f = fields(&[("main_shop_name", "老王面馆"), ("address", "文三路 100 号")]);
    db.record_intent(
        &NewAction {
            run,
            store_id: &store.into(),
            kind: WriteKind::Create,
            shop_id: None,
            request_id: &request_id.into(),
            fields: &f,
        },
        at(1),
    )
    .unwrap()
}

fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

#[test]
fn migrations_are_applied_once_and_reopening_is_idempotent() {
    let (_dir, path, db) = temp_db();
    assert_eq!(db.path(), path.as_path());
    assert_eq!(db.applied_migrations().unwrap(), vec![1, 2, 3, 4, 5, 6]);
    drop(db);
    let db = AuditDb::open(&path).unwrap();
    assert_eq!(db.applied_migrations().unwrap(), vec![1, 2, 3, 4, 5, 6]);
    let n: i64 = raw(&path)
        .query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 6, "each migration recorded once");
    assert_eq!(db.integrity_check().unwrap(), "ok");
}

#[test]
fn a_store_from_a_newer_version_is_refused() {
    let (_dir, path, db) = temp_db();
    drop(db);
    raw(&path)
        .execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (7, 'future', 'x')",
            [],
        )
        .unwrap();
    let err = AuditDb::open(&path).unwrap_err();
    assert!(
        matches!(err, AuditError::NewerSchema { found: 7, known: 6 }),
        "{err:?}"
    );
    let err = AuditDb::open_read_only(&path).unwrap_err();
    assert!(
        matches!(err, AuditError::NewerSchema { found: 7, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer shopsync"));
}

#[test]
fn wal_mode_and_foreign_keys_are_on() {
    let (_dir, path, db) = temp_db();
    let mode: String = raw(&path)
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    // Foreign keys: an action for a run that does not exist is refused.
    let f = fields(&[]);
    let err = db
        .record_intent(
            &NewAction {
                run: RunId(99),
                store_id: &"S1".into(),
                kind: WriteKind::Create,
                shop_id: None,
                request_id: &"r1".into(),
                fields: &f,
            },
            at(0),
        )
        .unwrap_err();
    assert!(matches!(err, AuditError::Sql(_)), "{err:?}");
}

#[test]
fn read_only_open_needs_an_existing_store_and_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.db");
    let err = AuditDb::open_read_only(&missing).unwrap_err();
    assert!(matches!(err, AuditError::Open { .. }), "{err:?}");
    assert!(!missing.exists());

    let (_dir, path, db) = temp_db();
    let run = db.start_run(RunKind::Sync, "stores.csv", 3, at(0)).unwrap();
    let ro = AuditDb::open_read_only(&path).unwrap();
    assert_eq!(ro.run(run).unwrap().unwrap().source, "stores.csv");
    assert!(ro.start_run(RunKind::Plan, "x", 1, at(1)).is_err());
    // The usual `audit` case: no writer open (its WAL files were removed on close).
    drop((db, ro));
    let ro = AuditDb::open_read_only(&path).unwrap();
    assert_eq!(ro.runs(5).unwrap().len(), 1);
    assert_eq!(ro.integrity_check().unwrap(), "ok");
}

#[test]
fn intent_without_outcome_survives_a_crash_as_unresolved() {
    let (_dir, path, db) = temp_db();
    let run = db.start_run(RunKind::Sync, "stores.csv", 2, at(0)).unwrap();
    let done = intent(&db, run, "S1", "req1");
    db.record_outcome(
        done,
        &Outcome::Accepted {
            apply_id: "A1".into(),
            audit_status: Some("AUDITING".into()),
        },
        at(2),
    )
    .unwrap();
    let lost = intent(&db, run, "S2", "req2");
    drop(db); // the process dies before the outcome of req2 is recorded

    let db = AuditDb::open(&path).unwrap();
    let open = db.unresolved_actions().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id, lost);
    assert_eq!(open[0].store_id, "S2");
    assert_eq!(open[0].outcome, None);
    assert_eq!(open[0].fields["main_shop_name"], "老王面馆");

    assert_eq!(db.mark_interrupted_runs(at(10)).unwrap(), 1);
    assert_eq!(db.mark_interrupted_runs(at(11)).unwrap(), 0);
    let row = db.run(run).unwrap().unwrap();
    assert_eq!(row.status, Some(RunStatus::Interrupted));
    assert_eq!(row.finished_at, Some(at(10)));
    assert!(db.last_completed_sync().unwrap().is_none());
}

#[test]
fn unknown_outcomes_are_resolved_and_keep_their_history() {
    let (_dir, _path, db) = temp_db();
    let run = db.start_run(RunKind::Sync, "s", 2, at(0)).unwrap();
    let a = intent(&db, run, "S1", "req1");
    let timeout = Outcome::Unknown {
        reason: "timeout after 30s".into(),
    };
    db.record_outcome(a, &timeout, at(2)).unwrap();
    // An outcome is recorded once.
    let err = db.record_outcome(a, &timeout, at(3)).unwrap_err();
    assert!(matches!(err, AuditError::Conflict { .. }), "{err:?}");
    assert_eq!(db.unresolved_actions().unwrap().len(), 1);

    // A resolution must be final.
    assert!(db
        .resolve_action(a, &timeout, "still unknown", at(4))
        .is_err());
    let accepted = Outcome::Accepted {
        apply_id: "A1".into(),
        audit_status: None,
    };
    db.resolve_action(a, &accepted, "found by notification", at(5))
        .unwrap();
    assert!(db.unresolved_actions().unwrap().is_empty());
    let row = db.action_by_request_id(&"req1".into()).unwrap().unwrap();
    assert_eq!(row.outcome, Some(accepted.clone()));
    assert_eq!(row.original_outcome, Some(timeout));
    assert_eq!(row.original_outcome_at, Some(at(2)));
    assert_eq!(row.resolved_at, Some(at(5)));
    assert_eq!(
        row.resolution_note.as_deref(),
        Some("found by notification")
    );
    // Resolving twice is refused.
    assert!(db.resolve_action(a, &accepted, "again", at(6)).is_err());

    // A missing outcome (crash) resolved as not applied.
    let b = intent(&db, run, "S2", "req2");
    let none = Outcome::NotApplied {
        reason: "absent from applyorder and summary".into(),
    };
    db.resolve_action(b, &none, "confirmed absent", at(7))
        .unwrap();
    let row = db.action_by_request_id(&"req2".into()).unwrap().unwrap();
    assert_eq!(row.original_outcome, None);
    assert_eq!(row.outcome, Some(none));
    assert!(!row.is_unresolved());
    assert_eq!(db.actions_for_run(run).unwrap().len(), 2);
    assert!(db.action_by_request_id(&"nope".into()).unwrap().is_none());
    let err = db.resolve_action(shopsync::audit::ActionId(999), &accepted, "x", at(8));
    assert!(matches!(err, Err(AuditError::NotFound { .. })));
}

#[test]
fn a_request_id_is_used_once() {
    let (_dir, _path, db) = temp_db();
    let run = db.start_run(RunKind::Sync, "s", 1, at(0)).unwrap();
    intent(&db, run, "S1", "dup");
    let f = fields(&[]);
    let err = db
        .record_intent(
            &NewAction {
                run,
                store_id: &"S2".into(),
                kind: WriteKind::Modify,
                shop_id: Some(&"shop".into()),
                request_id: &"dup".into(),
                fields: &f,
            },
            at(1),
        )
        .unwrap_err();
    assert!(matches!(err, AuditError::Conflict { .. }), "{err:?}");
}

#[test]
fn the_shop_map_is_one_to_one_and_remapping_is_explicit() {
    let (_dir, _path, db) = temp_db();
    db.set_mapping(&"S1".into(), &"shop1".into(), "created", at(0))
        .unwrap();
    db.set_mapping(&"S1".into(), &"shop1".into(), "adopted", at(1))
        .unwrap(); // same pair: no-op
    assert_eq!(db.mapping(&"S1".into()).unwrap().unwrap().how, "created");
    let err = db
        .set_mapping(&"S1".into(), &"shop2".into(), "adopted", at(2))
        .unwrap_err();
    assert!(matches!(err, AuditError::StoreMapped { ref existing, .. } if existing == "shop1"));
    let err = db
        .set_mapping(&"S2".into(), &"shop1".into(), "adopted", at(2))
        .unwrap_err();
    assert!(matches!(err, AuditError::ShopMapped { ref existing, .. } if existing == "S1"));
    assert!(db
        .set_mapping(&"S3".into(), &"shop3".into(), "guessed", at(2))
        .is_err());
    db.set_mapping(&"S2".into(), &"shop2".into(), "notified", at(3))
        .unwrap();

    let removed = db
        .replace_mapping(&"S1".into(), &"shop2".into(), "adopted", at(4))
        .unwrap();
    assert_eq!(removed.len(), 2);
    let map = db.shop_map().unwrap();
    assert_eq!(map.len(), 1);
    assert_eq!(map["S1"], "shop2");
    let prev = db.previous_mappings(&"S1".into()).unwrap();
    assert_eq!(prev.len(), 1);
    assert_eq!(prev[0].shop_id, "shop1");
    assert_eq!(prev[0].replaced_at, at(4));

    db.cache_detail(&"shopA".into(), Some(&"S9".into()), at(5))
        .unwrap();
    db.cache_detail(&"shopB".into(), Some(&"".into()), at(5))
        .unwrap();
    db.cache_detail(&"shopC".into(), None, at(5)).unwrap();
    db.cache_detail(&"shopA".into(), Some(&"S10".into()), at(6))
        .unwrap();
    let cache = db.detail_cache().unwrap();
    assert_eq!(cache.len(), 3);
    assert_eq!(cache["shopA"].as_deref(), Some("S10"));
    assert_eq!(cache["shopB"], None);
    assert_eq!(cache["shopC"], None);
}

#[test]
fn applications_go_from_pending_to_a_final_status_once() {
    let (_dir, _path, db) = temp_db();
    let run = db.start_run(RunKind::Sync, "s", 1, at(0)).unwrap();
    let action = intent(&db, run, "S1", "req1");
    let f = fields(&[("main_shop_name", "老王面馆")]);
    let app = NewApplication {
        apply_id: &"A1".into(),
        store_id: &"S1".into(),
        shop_id: None,
        kind: WriteKind::Create,
        request_id: &"req1".into(),
        action_id: Some(action),
        fields: &f,
    };
    db.add_application(&app, at(1)).unwrap();
    db.add_application(&app, at(2)).unwrap(); // same application again: no-op
    let other = NewApplication {
        store_id: &"S2".into(),
        ..app.clone()
    };
    assert!(matches!(
        db.add_application(&other, at(2)),
        Err(AuditError::Conflict { .. })
    ));
    let pending = db.pending_applications().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].submitted_at, at(1));
    assert_eq!(pending[0].action_id, Some(action));
    assert_eq!(pending[0].fields, f);

    // Success without the shop id (poll before biz_id), then the notification brings it.
    assert!(db
        .finish_application(&"A1".into(), AppStatus::Success, None, None, None, at(3))
        .unwrap());
    assert!(db
        .finish_application(
            &"A1".into(),
            AppStatus::Success,
            Some(&"shop1".into()),
            None,
            None,
            at(4)
        )
        .unwrap());
    assert!(!db
        .finish_application(
            &"A1".into(),
            AppStatus::Success,
            Some(&"shop1".into()),
            None,
            None,
            at(5)
        )
        .unwrap());
    assert!(db.pending_applications().unwrap().is_empty());
    let done = db
        .application_by_request_id(&"req1".into())
        .unwrap()
        .unwrap();
    assert_eq!(done.status, AppStatus::Success);
    assert_eq!(done.shop_id.as_deref(), Some("shop1"));
    assert_eq!(done.finished_at, Some(at(3)));
    assert!(matches!(
        db.finish_application(&"A1".into(), AppStatus::Failed, None, None, None, at(6)),
        Err(AuditError::Conflict { .. })
    ));
    assert!(matches!(
        db.finish_application(&"A404".into(), AppStatus::Failed, None, None, None, at(6)),
        Err(AuditError::NotFound { .. })
    ));

    // A later modify that fails; newest first for the store.
    let m = NewApplication {
        apply_id: &"A2".into(),
        store_id: &"S1".into(),
        shop_id: Some(&"shop1".into()),
        kind: WriteKind::Modify,
        request_id: &"req2".into(),
        action_id: None,
        fields: &f,
    };
    db.add_application(&m, at(7)).unwrap();
    assert!(db
        .finish_application(
            &"A2".into(),
            AppStatus::Failed,
            None,
            Some("RISK_AUDIT_FAIL"),
            Some("证照审核未通过"),
            at(8)
        )
        .unwrap());
    let apps = db.applications_for_store(&"S1".into()).unwrap();
    assert_eq!(
        apps.iter().map(|a| a.apply_id.as_str()).collect::<Vec<_>>(),
        ["A2", "A1"]
    );
    assert_eq!(apps[0].result_code.as_deref(), Some("RISK_AUDIT_FAIL"));
}

fn notification(id: &str) -> NotificationRecord {
    NotificationRecord::from_form(&fields(&[
        ("notify_id", id),
        ("notify_time", "2026-11-25 16:30:00"),
        ("notify_type", "shop_audit_result"),
        ("biz_type", "CREATE_SHOP_AUDIT"),
        ("apply_id", "A1"),
        ("request_id", "req1"),
        ("shop_id", "shop1"),
        ("audit_status", "AUDIT_SUCCESS"),
        ("sign_type", "RSA2"),
        ("sign", "c2lnbmF0dXJl"),
    ]))
    .unwrap()
}

#[test]
fn notifications_are_deduplicated_by_notify_id() {
    let (_dir, _path, db) = temp_db();
    let run = db.start_run(RunKind::Sync, "s", 1, at(0)).unwrap();
    intent(&db, run, "S1", "req1");
    assert!(db.record_notification(&notification("n1"), at(30)).unwrap());
    assert!(!db.record_notification(&notification("n1"), at(31)).unwrap());
    assert!(db.record_notification(&notification("n2"), at(32)).unwrap());
    let seen = db.notifications_for_store(&"S1".into()).unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].received_at, at(30));
    assert_eq!(seen[0].record.shop_id.as_deref(), Some("shop1"));
    assert!(!seen[0].record.fields.contains_key("sign"));
    assert!(!seen[0].record.fields.contains_key("sign_type"));
    assert!(NotificationRecord::from_form(&fields(&[("apply_id", "A1")])).is_none());
}

#[test]
fn accepted_values_merge_per_store_and_filter_by_field() {
    let (_dir, _path, db) = temp_db();
    db.set_accepted_values(
        &"S1".into(),
        &fields(&[("avg_price", "50"), ("wifi", "T")]),
        at(0),
    )
    .unwrap();
    db.set_accepted_values(
        &"S1".into(),
        &fields(&[("avg_price", ""), ("parking", "F")]),
        at(1),
    )
    .unwrap();
    db.set_accepted_values(&"S2".into(), &fields(&[("box", "T")]), at(1))
        .unwrap();
    db.set_accepted_values(
        &"S3".into(),
        &fields(&[("field_of_a_newer_version", "x")]),
        at(1),
    )
    .unwrap();
    let not_in_summary = db.accepted_values(|f| !f.in_summary()).unwrap();
    assert_eq!(not_in_summary["S1"].len(), 2, "wifi and parking");
    let in_summary = db.accepted_values(|f| f.in_summary()).unwrap();
    assert!(!in_summary.contains_key("S1"), "{in_summary:?}");
    let all = db.accepted_values(|_| true).unwrap();
    let named = |v: &shopsync::record::FieldValues| {
        v.iter()
            .map(|(f, v)| (f.name().to_string(), v.to_string()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    assert_eq!(
        named(&all["S1"]),
        fields(&[("wifi", "T"), ("parking", "F")])
    );
    assert_eq!(named(&all["S2"]), fields(&[("box", "T")]));
    assert!(
        all.get("S3").is_none_or(|v| v.is_empty()),
        "unknown field names are skipped"
    );
}

#[test]
fn the_last_completed_sync_skips_failed_runs_and_plans() {
    let (_dir, _path, db) = temp_db();
    let summary = RunSummary {
        stores: 120,
        created: 2,
        modified: 3,
        unchanged: 110,
        rejected: 1,
        failed: 1,
        ..RunSummary::default()
    };
    let ok = db.start_run(RunKind::Sync, "a.csv", 120, at(0)).unwrap();
    db.finish_run(ok, RunStatus::Ok, &summary, None, at(1))
        .unwrap();
    let partial = db.start_run(RunKind::Sync, "a.csv", 118, at(2)).unwrap();
    db.finish_run(partial, RunStatus::Partial, &summary, None, at(3))
        .unwrap();
    let failed = db.start_run(RunKind::Sync, "a.csv", 5, at(4)).unwrap();
    db.finish_run(
        failed,
        RunStatus::Failed,
        &RunSummary::default(),
        Some("gateway down"),
        at(5),
    )
    .unwrap();
    let plan = db.start_run(RunKind::Plan, "a.csv", 120, at(6)).unwrap();
    db.finish_run(plan, RunStatus::Ok, &summary, None, at(7))
        .unwrap();

    let last = db.last_completed_sync().unwrap().unwrap();
    assert_eq!(last.id, partial);
    assert_eq!(last.store_count, 118);
    assert_eq!(last.summary.as_ref(), Some(&summary));
    assert!(matches!(
        db.finish_run(ok, RunStatus::Failed, &summary, None, at(8)),
        Err(AuditError::Conflict { .. })
    ));
    assert!(matches!(
        db.finish_run(RunId(42), RunStatus::Ok, &summary, None, at(8)),
        Err(AuditError::NotFound { .. })
    ));
    let recent = db.runs(2).unwrap();
    assert_eq!(
        recent.iter().map(|r| r.id).collect::<Vec<_>>(),
        [plan, failed]
    );
    assert_eq!(recent[1].error.as_deref(), Some("gateway down"));
}

#[test]
fn eight_threads_can_write_one_store_at_once() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<AuditDb>();
    assert_send_sync::<AuditError>();
    let (_dir, _path, db) = temp_db();
    let db = Arc::new(db);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let db = Arc::clone(&db);
            std::thread::spawn(move || {
                let run = db.start_run(RunKind::Sync, "s", 25, at(0)).unwrap();
                for i in 0..25 {
                    let store = format!("S{t}-{i}");
                    let id = intent(&db, run, &store, &format!("req-{t}-{i}"));
                    db.record_outcome(
                        id,
                        &Outcome::Accepted {
                            apply_id: format!("A{t}-{i}").into(),
                            audit_status: None,
                        },
                        at(1),
                    )
                    .unwrap();
                    db.set_mapping(
                        &store.clone().into(),
                        &format!("shop-{t}-{i}").into(),
                        "created",
                        at(2),
                    )
                    .unwrap();
                }
                db.finish_run(run, RunStatus::Ok, &RunSummary::default(), None, at(3))
                    .unwrap();
                run
            })
        })
        .collect();
    let runs: Vec<RunId> = threads.into_iter().map(|h| h.join().unwrap()).collect();
    for run in runs {
        assert_eq!(db.actions_for_run(run).unwrap().len(), 25);
    }
    assert_eq!(db.shop_map().unwrap().len(), 200);
    assert!(db.unresolved_actions().unwrap().is_empty());
    assert_eq!(db.integrity_check().unwrap(), "ok");
}

#[test]
fn no_column_can_hold_a_key_or_token_and_secret_fields_are_dropped() {
    let (_dir, path, db) = temp_db();
    let conn = raw(&path);
    let mut stmt = conn
        .prepare(
            "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
             WHERE m.type = 'table'",
        )
        .unwrap();
    let columns: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(columns.len() > 40, "{columns:?}");
    for (table, column) in &columns {
        let c = column.to_ascii_lowercase();
        for bad in ["key", "token", "secret", "private", "password"] {
            assert!(!c.contains(bad), "{table}.{column}");
        }
    }

    let run = db.start_run(RunKind::Sync, "s", 1, at(0)).unwrap();
    let f = fields(&[
        ("main_shop_name", "老王面馆"),
        ("app_auth_token", "202611BBsecret-token-value"),
    ]);
    db.record_intent(
        &NewAction {
            run,
            store_id: &"S1".into(),
            kind: WriteKind::Create,
            shop_id: None,
            request_id: &"r".into(),
            fields: &f,
        },
        at(0),
    )
    .unwrap();
    let row = db.action_by_request_id(&"r".into()).unwrap().unwrap();
    assert_eq!(row.fields.keys().collect::<Vec<_>>(), ["main_shop_name"]);
    drop(db);
    let mut bytes = std::fs::read(&path).unwrap();
    if let Ok(wal) = std::fs::read(path.with_extension("db-wal")) {
        bytes.extend(wal);
    }
    let needle = b"secret-token-value";
    assert!(!bytes.windows(needle.len()).any(|w| w == needle));
}
