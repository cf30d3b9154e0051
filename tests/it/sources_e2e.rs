//! The GBK, SQLite, PostgreSQL and MySQL (MariaDB) exports of the sample chain plan exactly
//! like the UTF-8 CSV, against the same simulated Alipay.

use std::sync::Arc;

use shopsync::clock::{ManualClock, SharedClock};
use shopsync::config::Config;
use shopsync::sync::plan::Plan;

use crate::harness::Harness;
use crate::source_db::{sample_database, sample_source_text};
use crate::support::db_servers::Kind;
use crate::support::keys::key_file;
use crate::support::sim::start_sim;

fn config_for(sample: &str, gateway: &str, dir: &std::path::Path) -> Config {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let server = match sample {
        "source-postgres.toml" => Some(Kind::Postgres),
        "source-mysql.toml" => Some(Kind::MariaDb),
        _ => None,
    };
    let source = match server {
        // The sample chain loaded into a database of its own (samples/stores-*.sql).
        Some(kind) => sample_source_text(kind, &sample_database(kind), dir),
        None => std::fs::read_to_string(root.join("samples").join(sample))
            .unwrap()
            .replace(
                "path = \"samples/",
                &format!("path = \"{}/samples/", root.display()),
            ),
    };
    let text = format!(
        "[alipay]\ngateway = \"{gateway}\"\napp_private_key = \"{}\"\nalipay_public_key = \"{}\"\n\n{source}\n[rate_limit]\nqps = 1000\n\n[audit]\ndatabase = \"{}\"\n",
        key_file("app_private_pkcs8.pem").display(),
        key_file("alipay_public.pem").display(),
        dir.join(format!("{sample}.db")).display(),
    );
    let path = dir.join(format!("{sample}.config.toml"));
    std::fs::write(&path, text).unwrap();
    Config::load_with_env(&path, std::iter::empty()).unwrap()
}

/// The plan's items as JSON lines, in store order (sources list stores in their own order).
fn comparable(plan: &Plan) -> Vec<String> {
    let mut items: Vec<String> = plan
        .items
        .iter()
        .map(|i| serde_json::to_string(i).unwrap())
        .collect();
    items.sort();
    items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gbk_sqlite_postgres_and_mysql_exports_give_the_same_plan_as_utf8() {
    let clock = ManualClock::new(chrono::Utc::now());
    let shared: SharedClock = Arc::new(clock.clone());
    let sim = start_sim(shared.clone(), |_| {}).await;
    let dir = tempfile::tempdir().unwrap();

    // First bring Alipay in line with the UTF-8 export, then change two shops on Alipay's
    // side so that the plans contain modifies too.
    let utf8 = Harness::context(
        config_for("source-csv.toml", &sim.gateway_url(), dir.path()),
        shared.clone(),
    )
    .await;
    let opts = shopsync::sync::run::RunOptions {
        apply: true,
        ..Default::default()
    };
    let first = utf8.run(&opts).await.unwrap();
    assert_eq!(first.summary.created, 50);
    clock.advance(chrono::Duration::seconds(5));
    sim.process_due();
    utf8.run(&opts).await.unwrap();
    let shops = sim.shops();
    sim.edit_shop(&shops[0].shop_id, "address", Some("别处路1号"));
    sim.edit_shop(
        &shops[7].shop_id,
        "business_time",
        Some("周一-周五 10:00-18:00"),
    );

    let plan_of = |ctx: shopsync::sync::Context| async move {
        ctx.run(&shopsync::sync::run::RunOptions::default())
            .await
            .unwrap()
            .plan
    };
    // The photos the first sync uploaded; a fresh audit store is told about them below
    // (without them it would plan to upload every photo again and modify every shop).
    let uploaded = utf8.db.uploads_for_run(first.run).unwrap();
    assert_eq!(uploaded.len(), 6, "3 storefronts, 2 interiors, the logo");
    let reference = plan_of(utf8).await;
    assert_eq!(reference.counts().modify, 2, "{:?}", reference.counts());
    assert_eq!(reference.counts().unchanged, 48);
    for sample in [
        "source-gbk.toml",
        "source-sqlite.toml",
        "source-postgres.toml",
        "source-mysql.toml",
    ] {
        // A fresh audit store that has the same shop map (adoption through querydetail).
        let ctx = Harness::context(
            config_for(sample, &sim.gateway_url(), dir.path()),
            shared.clone(),
        )
        .await;
        for u in &uploaded {
            ctx.db
                .record_upload(
                    &shopsync::audit::NewUpload {
                        run: None,
                        app_id: &u.app_id,
                        sha256: &u.sha256,
                        source: &u.source,
                        image_type: &u.image_type,
                        bytes: u.bytes,
                        outcome: &u.outcome,
                        stores: &u.stores,
                    },
                    u.at,
                )
                .unwrap();
        }
        let plan = plan_of(ctx).await;
        assert_eq!(comparable(&plan), comparable(&reference), "{sample}");
    }
}
