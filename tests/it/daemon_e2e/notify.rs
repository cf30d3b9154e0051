//! Audit notifications end to end: the simulator's signed POSTs reach the daemon's
//! listener (`notify_listener::serve` + `daemon::run::AuditSink`, as the daemon wires
//! them), the application becomes final from the notification alone, and a forged
//! notification is refused and not recorded.

use std::sync::Arc;
use std::time::Duration;

use shopsync::audit::AppStatus;
use shopsync::clock::SharedClock;
use shopsync::config::Config;
use shopsync::daemon::health::Metrics;
use shopsync::daemon::notify_listener;
use shopsync::daemon::notify_sink::AuditSink;
use shopsync::exit::Exit;
use shopsync::sync::run::RunOptions;

use crate::harness::{Harness, Options};
use crate::support::export::csv_of;
use crate::support::poll::poll;

const APPLYORDER: &str = "alipay.offline.market.applyorder.batchquery";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_alone_finish_applications_and_forgeries_are_refused() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/alipay/notify", listener.local_addr().unwrap());
    let h = Harness::start(Options {
        csv: csv_of(3),
        ..Default::default()
    })
    .await;
    // The same config with `[alipay] operate_notify_url` set (environment override).
    let cfg = Config::load_with_env(
        &h.path("shopsync.toml"),
        [(
            "SHOPSYNC_ALIPAY_OPERATE_NOTIFY_URL".to_string(),
            url.clone(),
        )]
        .into_iter(),
    )
    .unwrap();
    assert_eq!(cfg.alipay.operate_notify_url.as_deref(), Some(url.as_str()));
    let clock: SharedClock = Arc::new(h.clock.clone());
    let ctx = Harness::context(cfg, clock.clone()).await;
    let metrics = Arc::new(Metrics::new());
    let sink = Arc::new(AuditSink {
        db: ctx.db.clone(),
        clock: clock.clone(),
        metrics: Some(metrics.clone()),
    });
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(notify_listener::serve(
        listener,
        "/alipay/notify".into(),
        h.sim.alipay_public_key(),
        sink,
        async move {
            let _ = stop_rx.await;
        },
    ));

    let run = ctx
        .run(&RunOptions {
            apply: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(run.exit, Exit::Ok, "{:?}", run.message);
    assert_eq!(ctx.db.pending_applications().unwrap().len(), 3);
    let polls_before = h.sim.call_counts().get(APPLYORDER).copied().unwrap_or(0);

    h.finish_audits();
    let sent = poll(Duration::from_secs(20), "3 delivered notifications", || {
        let n = h.sim.notifications();
        async move { (n.len() == 3 && n.iter().all(|n| n.delivered)).then_some(n) }
    })
    .await;
    assert_eq!(
        h.sim.call_counts().get(APPLYORDER).copied().unwrap_or(0),
        polls_before,
        "no applyorder poll"
    );
    assert!(ctx.db.pending_applications().unwrap().is_empty());
    assert_eq!(
        metrics
            .render_prometheus()
            .lines()
            .find(|l| l.starts_with("shopsync_notifications_total ")),
        Some("shopsync_notifications_total 3")
    );
    for n in &sent {
        let app = ctx
            .db
            .application(&n.apply_id.clone().into())
            .unwrap()
            .unwrap();
        assert_eq!(app.status, AppStatus::Success, "{app:?}");
        let shop = h
            .sim
            .shops()
            .into_iter()
            .find(|s| app.store_id == s.store_id)
            .unwrap();
        assert_eq!(app.shop_id.as_deref(), Some(shop.shop_id.as_str()));
        assert_eq!(
            ctx.db.notifications_for_store(&app.store_id).unwrap().len(),
            1
        );
    }

    // A forged notification: a valid one with the verdict flipped and a new notify_id.
    let genuine = &sent[0];
    let store = ctx
        .db
        .application(&genuine.apply_id.clone().into())
        .unwrap()
        .unwrap()
        .store_id;
    let forged: Vec<(String, String)> = genuine
        .form
        .iter()
        .map(|(k, v)| match k.as_str() {
            "audit_status" => (k.clone(), "AUDIT_FAILED".to_string()),
            "notify_id" => (k.clone(), "forgedforgedforgedforgedforgedfor1".to_string()),
            _ => (k.clone(), v.clone()),
        })
        .collect();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let post = |form: Vec<(String, String)>| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form.iter())
                .finish();
            let resp = client
                .post(&url)
                .header(
                    "content-type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                )
                .body(body)
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        }
    };
    let (status, body) = post(forged).await;
    assert!(
        (400..500).contains(&status),
        "forged answered {status} {body}"
    );
    assert_eq!(body, "fail");
    let app = ctx
        .db
        .application(&genuine.apply_id.clone().into())
        .unwrap()
        .unwrap();
    assert_eq!(app.status, AppStatus::Success, "a forgery changes nothing");
    assert_eq!(
        ctx.db.notifications_for_store(&store).unwrap().len(),
        1,
        "not recorded"
    );
    // The genuine one again (Alipay's retry) is acknowledged and stays recorded once.
    assert_eq!(
        post(genuine.form.clone()).await,
        (200, "success".to_string())
    );
    assert_eq!(ctx.db.notifications_for_store(&store).unwrap().len(), 1);

    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();
}
