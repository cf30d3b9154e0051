//! Audit notifications name no certificate: after Alipay rotated its certificate (and key),
//! the daemon's listener verifies them with any trusted Alipay certificate's key, the one
//! downloaded after the rotation included; the configured certificate's key alone refuses
//! them. Both protocols, the simulator posting to real listeners over loopback.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use shopsync::alipay::NotificationKeys;
use shopsync::daemon::notify_listener::{serve, AuditNotification, NotificationSink};
use tokio::sync::oneshot;

use crate::client::{create_write, Env};
use crate::harness::{each_protocol, Setup};

const PATH: &str = "/alipay/shop-notify";

#[derive(Default)]
struct Recorded(Mutex<Vec<AuditNotification>>);

impl NotificationSink for Recorded {
    fn record(&self, n: &AuditNotification) -> anyhow::Result<()> {
        self.0.lock().unwrap().push(n.clone());
        Ok(())
    }
}

/// A listener verifying with `keys`; its URL, what it recorded, and its stop.
async fn listener(keys: NotificationKeys) -> (String, Arc<Recorded>, oneshot::Sender<()>) {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{PATH}", tcp.local_addr().unwrap());
    let sink = Arc::new(Recorded::default());
    let (tx, rx) = oneshot::channel::<()>();
    let dyn_sink: Arc<dyn NotificationSink> = sink.clone();
    tokio::spawn(serve(tcp, PATH.into(), keys, dyn_sink, async {
        let _ = rx.await;
    }));
    (url, sink, tx)
}

async fn notifications_signed_after_a_rotation_verify_with_the_downloaded_key(setup: Setup) {
    let env = Env::start_in(setup.with_certs(), |_| {}).await;
    let certs = env.gw.certificates().unwrap().clone();
    let configured = certs.verify_key_for(certs.alipay_cert_sn()).unwrap();
    let (every_url, every, stop_every) = listener(env.gw.notification_keys()).await;
    let (only_url, only, stop_only) = listener(configured.into()).await;

    env.sim.rotate_cert();
    // The first answer under the new certificate makes the client download it.
    env.gw.shop_batchquery(1).await.unwrap();
    assert_eq!(env.gw.notification_keys().keys().len(), 2);
    for (store, url) in [("ST-0001", &every_url), ("ST-0002", &only_url)] {
        let mut w = create_write(store, &format!("req{}", &store[3..]));
        w.operate_notify_url = Some(url.clone());
        env.gw.shop_create(&w).await.unwrap();
    }
    env.finish_audits();
    let tried = env
        .sim
        .wait_for_notifications(Duration::from_secs(10), |sent| {
            sent.len() == 2 && sent.iter().all(|n| n.attempts >= 1 && !n.in_flight)
        })
        .await;
    assert!(tried, "{:?}", env.sim.notifications());
    let sent = env.sim.notifications();
    let delivered = |url: &str| sent.iter().find(|n| n.url == url).unwrap().delivered;
    assert!(delivered(&every_url), "{sent:?}");
    assert!(!delivered(&only_url), "{sent:?}");
    let recorded = every.0.lock().unwrap().clone();
    assert_eq!(recorded.len(), 1);
    assert!(only.0.lock().unwrap().is_empty());
    let _ = (stop_every.send(()), stop_only.send(()));
}

each_protocol!(notifications_signed_after_a_rotation_verify_with_the_downloaded_key);
