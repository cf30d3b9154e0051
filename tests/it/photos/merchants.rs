//! ISV mode: an image id belongs to the merchant whose app_auth_token uploaded it, so the
//! same photo file in two merchants' exports is one upload per merchant (the audit store
//! keys uploads by app and merchant), each merchant's shops carry ids issued to it, and a
//! re-run uploads nothing for either.

use std::sync::Arc;

use shopsync::audit::AuditDb;
use shopsync::clock::{ManualClock, SharedClock};
use shopsync::config::Config;
use shopsync::sync::context::App;
use shopsync::sync::RunOptions;

use super::*;
use crate::support::keys::key_file;
use crate::support::sim::start_sim;

const TOKENS: [(&str, &str); 2] = [("a", "tok-a-1111"), ("b", "tok-b-2222")];

fn isv_config(dir: &Path, gateway: &str) -> std::path::PathBuf {
    let mut text = format!(
        "[alipay]\ngateway = \"{gateway}\"\napp_id = \"2021000000000001\"\n\
         app_private_key = \"{}\"\nalipay_public_key = \"{}\"\n\n\
         [rate_limit]\nqps = 1000\n\n[audit]\ndatabase = \"audit.db\"\n\n\
         [sync]\nmin_audit_images = 3\n",
        key_file("app_private_pkcs8.pem").display(),
        key_file("alipay_public.pem").display(),
    );
    for (name, token) in TOKENS {
        std::fs::write(dir.join(format!("{name}.token")), token).unwrap();
        // The same store ids and the same photo files in both exports.
        std::fs::write(
            dir.join(format!("{name}.csv")),
            photo_csv(&standard_rows(2)),
        )
        .unwrap();
        text.push_str(&format!(
            "\n[[merchant]]\nname = \"{name}\"\napp_auth_token_file = \"{name}.token\"\n\n\
             [merchant.source]\npath = \"{name}.csv\"\n\n[merchant.source.defaults]\n\
             category_id = \"2015050700000018\"\nbrand_name = \"鲜果坊\"\nmain_shop_name = \"鲜果坊\"\n"
        ));
    }
    let path = dir.join("shopsync.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_shared_by_two_merchants_is_uploaded_once_for_each() {
    let clock = ManualClock::new(chrono::Utc::now());
    let shared: SharedClock = Arc::new(clock.clone());
    let sim = start_sim(shared.clone(), |c| {
        c.app_auth_tokens = TOKENS.iter().map(|(_, t)| t.to_string()).collect();
        c.preload_example_images = false;
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    for (name, sample_name) in [
        ("images/front.jpg", "storefront-sh.jpg"),
        ("images/counter.jpg", "interior-counter.jpg"),
        ("images/seating.png", "interior-seating.png"),
    ] {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, sample(sample_name)).unwrap();
    }
    let path = isv_config(dir.path(), &sim.gateway_url());
    let cfg = Config::load_with_env(&path, std::iter::empty()).unwrap();
    let db = Arc::new(AuditDb::open(&cfg.audit.database).unwrap());
    let app = App::connect(cfg, db, shared.clone(), None).await.unwrap();
    let sync = RunOptions {
        apply: true,
        ..Default::default()
    };
    let upload_calls = || sim.call_counts().get(UPLOAD).copied().unwrap_or(0);

    let mut issued_to = Vec::new();
    for (name, token) in TOKENS {
        let ctx = app.context(name).unwrap();
        let r = ctx.run(&sync).await.unwrap();
        assert_eq!(r.summary.created, 2, "{name}: {:?}", r.message);
        assert_eq!(
            r.photos.uploaded, 3,
            "{name}: its own upload of each content"
        );
        let rows = ctx.db.uploads_for_run(r.run).unwrap();
        assert!(rows.iter().all(|u| u.merchant == name), "{rows:?}");
        let merchant = sim.merchant_of_token(Some(token)).unwrap();
        let ids: Vec<String> = rows.iter().map(|u| u.image_id().unwrap().into()).collect();
        let theirs = sim
            .state()
            .images
            .get(&merchant)
            .cloned()
            .unwrap_or_default();
        assert!(
            ids.iter().all(|id| theirs.contains(id)),
            "{name}: {ids:?} issued to {merchant}: {theirs:?}"
        );
        issued_to.push(ids);
    }
    assert_eq!(upload_calls(), 6, "3 contents × 2 merchants");
    assert!(
        issued_to[0].iter().all(|id| !issued_to[1].contains(id)),
        "different ids per merchant: {issued_to:?}"
    );

    clock.advance(chrono::Duration::seconds(5));
    sim.process_due();
    for (name, _) in TOKENS {
        let r = app.context(name).unwrap().run(&sync).await.unwrap();
        assert_eq!(
            (r.photos.known, r.photos.uploaded),
            (3, 0),
            "{name}: {:?}",
            r.summary
        );
    }
    assert_eq!(upload_calls(), 6, "a re-run uploads nothing");
    sim.shutdown().await;
}
