//! `shopsync audit` output: each subcommand as a table and as JSON, and its parsing.

use clap::Parser;
use shopsync::audit::{
    run_command, run_command_at, AppStatus, AuditCommand, AuditDb, AuditError, NewApplication,
    Outcome, OutputFormat, RunId, RunKind, RunStatus, RunSummary,
};
use shopsync::record::WriteKind;

use super::{at, fields, intent, notification, temp_db};

/// A store with a create accepted, an unresolved modify, a notification and values.
fn populated() -> (tempfile::TempDir, AuditDb, RunId) {
    let (dir, _path, db) = temp_db();
    let run = db.start_run(RunKind::Sync, "stores.csv", 3, at(0)).unwrap();
    let a = intent(&db, run, "S1", "req1");
    db.record_outcome(
        a,
        &Outcome::Accepted {
            apply_id: "2026112500107000000000000001".into(),
            audit_status: Some("AUDITING".into()),
        },
        at(2),
    )
    .unwrap();
    let f = fields(&[("main_shop_name", "老王面馆")]);
    db.add_application(
        &NewApplication {
            apply_id: &"2026112500107000000000000001".into(),
            store_id: &"S1".into(),
            shop_id: None,
            kind: WriteKind::Create,
            request_id: &"req1".into(),
            action_id: Some(a),
            fields: &f,
        },
        at(2),
    )
    .unwrap();
    let b = intent(&db, run, "S2", "req2");
    db.record_outcome(
        b,
        &Outcome::Business {
            code: "40004".into(),
            sub_code: "SHOP_EXISTS".into(),
            msg: "门店已存在".into(),
        },
        at(3),
    )
    .unwrap();
    intent(&db, run, "S3", "req3");
    db.finish_run(
        run,
        RunStatus::Partial,
        &RunSummary {
            stores: 3,
            created: 1,
            failed: 1,
            unknown: 1,
            ..RunSummary::default()
        },
        None,
        at(65),
    )
    .unwrap();
    let mut n = notification("n1");
    n.apply_id = Some("2026112500107000000000000001".into());
    db.record_notification(&n, at(90)).unwrap();
    db.finish_application(
        &"2026112500107000000000000001".into(),
        AppStatus::Success,
        Some(&"shop1".into()),
        None,
        None,
        at(90),
    )
    .unwrap();
    db.set_mapping(&"S1".into(), &"shop1".into(), "notified", at(90))
        .unwrap();
    db.set_accepted_values(&"S1".into(), &fields(&[("avg_price", "35")]), at(90))
        .unwrap();
    (dir, db, run)
}

fn output(db: &AuditDb, cmd: AuditCommand, format: OutputFormat) -> String {
    let mut out = Vec::new();
    run_command_at(db, &cmd, format, &mut out, at(240)).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn audit_runs_and_show_render_the_run_and_its_writes() {
    let (_dir, db, run) = populated();
    let text = output(&db, AuditCommand::Runs { limit: 20 }, OutputFormat::Table);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("ID  KIND  STARTED"), "{text}");
    assert!(lines[0].contains("DURATION") && lines[0].contains("UNKNOWN"));
    for want in ["sync", "2026-11-25 16:00:00 +08:00", "1h 5m", "partial"] {
        assert!(lines[1].contains(want), "{want} missing in {text}");
    }
    let json: serde_json::Value = serde_json::from_str(&output(
        &db,
        AuditCommand::Runs { limit: 20 },
        OutputFormat::Json,
    ))
    .unwrap();
    assert_eq!(json[0]["id"], run.0);
    assert_eq!(json[0]["status"], "partial");
    assert_eq!(json[0]["summary"]["unknown"], 1);

    let text = output(&db, AuditCommand::Show { run: run.0 }, OutputFormat::Table);
    for want in [
        "Run 1 (sync)",
        "status:    partial",
        "source:    stores.csv",
        "created 1",
        "Writes (3):",
        "2026112500107000000000000001",
        "business error 40004/SHOP_EXISTS: 门店已存在",
        "no outcome recorded (the process stopped before the answer) [UNRESOLVED: the next run confirms it]",
        "main_shop_name=老王面馆",
        "req3",
    ] {
        assert!(text.contains(want), "{want:?} missing in\n{text}");
    }
    let json: serde_json::Value = serde_json::from_str(&output(
        &db,
        AuditCommand::Show { run: run.0 },
        OutputFormat::Json,
    ))
    .unwrap();
    assert_eq!(json["actions"][1]["outcome"]["sub_code"], "SHOP_EXISTS");
    assert_eq!(json["actions"][2]["outcome"], serde_json::Value::Null);

    let mut out = Vec::new();
    let err = run_command(
        &db,
        &AuditCommand::Show { run: 77 },
        OutputFormat::Table,
        &mut out,
    );
    assert!(matches!(err, Err(AuditError::NotFound { .. })));
}

#[test]
fn audit_store_renders_the_history_in_time_order() {
    let (_dir, db, _run) = populated();
    let text = output(
        &db,
        AuditCommand::Store {
            store_id: "S1".into(),
        },
        OutputFormat::Table,
    );
    assert!(
        text.contains("shop:      shop1 (notified at 2026-11-25 17:30:00 +08:00)"),
        "{text}"
    );
    let order = [
        "write sent",
        "accepted, apply_id 2026112500107000000000000001",
        "under audit",
        "notify_id n1: AUDIT_SUCCESS",
        "apply_id 2026112500107000000000000001: success, shop shop1",
        "to shop shop1 (notified)",
        "avg_price = 35",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|w| {
            text.find(w)
                .unwrap_or_else(|| panic!("{w:?} missing in\n{text}"))
        })
        .collect();
    assert!(positions.windows(2).all(|p| p[0] < p[1]), "{text}");
    assert!(
        !text.contains("req2"),
        "another store's write leaked:\n{text}"
    );

    let json: serde_json::Value = serde_json::from_str(&output(
        &db,
        AuditCommand::Store {
            store_id: "S1".into(),
        },
        OutputFormat::Json,
    ))
    .unwrap();
    assert_eq!(json["mapping"]["shop_id"], "shop1");
    assert_eq!(json["applications"][0]["status"], "success");
    assert_eq!(json["notifications"][0]["notify_id"], "n1");
    // Issue 9: a store the audit store knows nothing of is an error (exit 1), not an empty
    // history.
    let mut out = Vec::new();
    let unknown = run_command_at(
        &db,
        &AuditCommand::Store {
            store_id: "nobody".into(),
        },
        OutputFormat::Table,
        &mut out,
        at(240),
    );
    assert!(
        matches!(&unknown, Err(AuditError::NotFound { key, .. }) if key.contains("nobody")),
        "{unknown:?}"
    );
}

#[test]
fn audit_pending_lists_applications_with_their_age() {
    let (_dir, db, _run) = populated();
    assert!(output(&db, AuditCommand::Pending, OutputFormat::Table)
        .contains("No applications pending."));
    let f = fields(&[("brand_name", "老王")]);
    db.add_application(
        &NewApplication {
            apply_id: &"A2".into(),
            store_id: &"S1".into(),
            shop_id: Some(&"shop1".into()),
            kind: WriteKind::Modify,
            request_id: &"req9".into(),
            action_id: None,
            fields: &f,
        },
        at(100),
    )
    .unwrap();
    let text = output(&db, AuditCommand::Pending, OutputFormat::Table);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("APPLY_ID  STORE_ID  KIND"), "{text}");
    for want in [
        "A2",
        "S1",
        "modify",
        "shop1",
        "req9",
        "2026-11-25 17:40:00 +08:00",
        "2h 20m",
    ] {
        assert!(lines[1].contains(want), "{want} missing in {text}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&output(&db, AuditCommand::Pending, OutputFormat::Json)).unwrap();
    assert_eq!(json[0]["apply_id"], "A2");
    assert_eq!(json[0]["age_seconds"], 140 * 60);
}

#[derive(Parser)]
struct Cli {
    #[arg(long, value_enum, default_value = "table")]
    format: OutputFormat,
    #[command(subcommand)]
    cmd: AuditCommand,
}

#[test]
fn audit_subcommands_parse() {
    let cli = Cli::try_parse_from(["audit", "runs"]).unwrap();
    assert_eq!(cli.cmd, AuditCommand::Runs { limit: 20 });
    assert_eq!(cli.format, OutputFormat::Table);
    let cli = Cli::try_parse_from(["audit", "--format", "json", "runs", "--limit", "5"]).unwrap();
    assert_eq!(cli.cmd, AuditCommand::Runs { limit: 5 });
    assert_eq!(cli.format, OutputFormat::Json);
    let cli = Cli::try_parse_from(["audit", "show", "12"]).unwrap();
    assert_eq!(cli.cmd, AuditCommand::Show { run: 12 });
    let cli = Cli::try_parse_from(["audit", "store", "门店-01"]).unwrap();
    assert_eq!(
        cli.cmd,
        AuditCommand::Store {
            store_id: "门店-01".into()
        }
    );
    assert!(Cli::try_parse_from(["audit", "show", "x"]).is_err());
}
