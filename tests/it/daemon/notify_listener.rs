//! The audit notification listener over real HTTP, with the SDK-made vectors.
use std::sync::{Arc, Mutex};

use chrono::{TimeZone, Utc};
use shopsync::alipay::sign::{notify_sign_content, SignKey, VerifyKey};
use shopsync::daemon::notify_listener::{serve, AuditNotification, AuditStatus, NotificationSink};
use tokio::sync::oneshot;

use crate::support::keys::{key_file, vectors};

const PATH: &str = "/alipay/shop-notify";

#[derive(Default)]
struct MemorySink {
    recorded: Mutex<Vec<AuditNotification>>,
    fail: bool,
}

impl NotificationSink for MemorySink {
    fn record(&self, n: &AuditNotification) -> anyhow::Result<()> {
        if self.fail {
            anyhow::bail!("audit store is read-only");
        }
        self.recorded.lock().unwrap().push(n.clone());
        Ok(())
    }
}

struct Listener {
    url: String,
    sink: Arc<MemorySink>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Listener {
    async fn start(fail: bool) -> Listener {
        let key = VerifyKey::from_file(&key_file("alipay_public.pem")).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}{PATH}", listener.local_addr().unwrap());
        let sink = Arc::new(MemorySink {
            fail,
            ..Default::default()
        });
        let (tx, rx) = oneshot::channel::<()>();
        let dyn_sink: Arc<dyn NotificationSink> = sink.clone();
        let task = tokio::spawn(serve(listener, PATH.to_string(), key, dyn_sink, async {
            let _ = rx.await;
        }));
        Listener {
            url,
            sink,
            stop: Some(tx),
            task,
        }
    }

    fn recorded(&self) -> Vec<AuditNotification> {
        self.sink.recorded.lock().unwrap().clone()
    }

    async fn post_form(&self, form: &[(String, String)]) -> (u16, String) {
        let resp = reqwest::Client::new()
            .post(&self.url)
            .form(form)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap().unwrap();
    }
}

fn vector_form(i: usize) -> Vec<(String, String)> {
    let v = vectors();
    let n = &v["notifications"][i];
    n["form"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

/// Sign `pairs` (V1 rule) with `key`, as Alipay would with its private key.
fn signed(key: &SignKey, mut pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    pairs.retain(|(k, _)| k != "sign" && k != "sign_type");
    let content = notify_sign_content(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    pairs.push(("sign_type".into(), "RSA2".into()));
    pairs.push(("sign".into(), key.sign(&content)));
    pairs
}

fn alipay_key() -> SignKey {
    SignKey::from_file(&key_file("alipay_private_pkcs8.pem")).unwrap()
}

fn failed_create_form() -> Vec<(String, String)> {
    [
        ("notify_id", "c009530cd81267ec37df445d757e60bjh2"),
        ("notify_time", "2026-11-26 13:23:16"),
        ("notify_type", "shop_audit_result"),
        ("biz_type", "CREATE_SHOP_AUDIT"),
        ("version", "2.0"),
        ("apply_id", "2026112600107000000027889581"),
        ("request_id", "c0ffee0000000002"),
        ("audit_status", "AUDIT_FAILED"),
        ("is_online", "F"),
        ("is_show", "F"),
        ("result_code", "RISK_AUDIT_FAIL"),
        (
            "result_desc",
            "您提交的证照图片不清晰，无法辨别证照信息（营业执照不清晰）;",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[tokio::test]
async fn valid_vector_is_recorded_and_acknowledged() {
    let l = Listener::start(false).await;
    let (status, body) = l.post_form(&vector_form(0)).await;
    assert_eq!((status, body.as_str()), (200, "success"));
    let rec = l.recorded();
    assert_eq!(rec.len(), 1);
    let n = &rec[0];
    assert_eq!(n.notify_id, "98408d09b1f2d0c065ecdf828a43b24m01");
    assert_eq!(
        n.notify_time,
        Utc.with_ymd_and_hms(2026, 11, 26, 1, 12, 0).unwrap()
    );
    assert_eq!(n.notify_type, "shop_audit_result");
    assert_eq!(n.biz_type, "CREATE_SHOP_AUDIT");
    assert_eq!(n.apply_id, "2026112500107000000000000001");
    assert_eq!(n.request_id, "c0ffee0000000001");
    assert_eq!(n.shop_id.as_deref(), Some("2026112600077000000000000042"));
    assert_eq!(n.audit_status, AuditStatus::Success);
    assert_eq!((n.is_online, n.is_show), (Some(true), Some(true)));
    assert_eq!(
        (n.result_code.as_deref(), n.result_desc.as_deref()),
        (None, None)
    );
    l.stop().await;
}

#[tokio::test]
async fn tampered_vector_is_refused_and_not_recorded() {
    let l = Listener::start(false).await;
    let (status, body) = l.post_form(&vector_form(1)).await;
    assert_eq!((status, body.as_str()), (400, "fail"));
    assert!(l.recorded().is_empty());
    l.stop().await;
}

#[tokio::test]
async fn notification_signed_by_another_key_is_refused() {
    let forger = SignKey::generate().unwrap();
    let l = Listener::start(false).await;
    let (status, body) = l.post_form(&signed(&forger, vector_form(0))).await;
    assert_eq!((status, body.as_str()), (400, "fail"));
    // The same content signed by the real key passes: only the key differs.
    let (status, _) = l.post_form(&signed(&alipay_key(), vector_form(0))).await;
    assert_eq!(status, 200);
    assert_eq!(l.recorded().len(), 1);
    l.stop().await;
}

#[tokio::test]
async fn legacy_rsa_sign_type_and_missing_sign_are_refused() {
    let l = Listener::start(false).await;
    let mut form = vector_form(0);
    for (k, v) in form.iter_mut() {
        if k == "sign_type" {
            *v = "RSA".into();
        }
    }
    assert_eq!(l.post_form(&form).await.0, 400);
    let unsigned: Vec<_> = vector_form(0)
        .into_iter()
        .filter(|(k, _)| k != "sign")
        .collect();
    assert_eq!(l.post_form(&unsigned).await.0, 400);
    assert!(l.recorded().is_empty());
    l.stop().await;
}

#[tokio::test]
async fn correctly_signed_but_incomplete_or_odd_forms_are_refused() {
    let key = alipay_key();
    let l = Listener::start(false).await;
    for drop_field in [
        "apply_id",
        "notify_id",
        "request_id",
        "audit_status",
        "notify_time",
    ] {
        let form: Vec<_> = vector_form(0)
            .into_iter()
            .filter(|(k, _)| k != drop_field)
            .collect();
        let (status, body) = l.post_form(&signed(&key, form)).await;
        assert_eq!(
            (status, body.as_str()),
            (400, "fail"),
            "without {drop_field}"
        );
    }
    for (field, value) in [
        ("audit_status", "AUDIT_MAYBE"),
        ("notify_time", "2026-11-26T09:12:00"),
        ("notify_type", "trade_status_sync"),
        ("is_online", "Y"),
    ] {
        let mut form = vector_form(0);
        for (k, v) in form.iter_mut() {
            if k == field {
                *v = value.into();
            }
        }
        assert_eq!(
            l.post_form(&signed(&key, form)).await.0,
            400,
            "{field}={value}"
        );
    }
    // A duplicated field is ambiguous even when the signature covers one reading of it.
    let mut form = signed(&key, vector_form(0));
    form.push(("apply_id".into(), "2026112500107000000000000999".into()));
    assert_eq!(l.post_form(&form).await.0, 400);
    // Not form data at all.
    let resp = reqwest::Client::new()
        .post(&l.url)
        .body("{\"json\":true}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert!(l.recorded().is_empty());
    l.stop().await;
}

#[tokio::test]
async fn gbk_encoded_failed_create_is_decoded_and_recorded() {
    let form = signed(&alipay_key(), failed_create_form());
    let mut body = String::new();
    for (i, (k, v)) in form.iter().enumerate() {
        if i > 0 {
            body.push('&');
        }
        let (gbk, _, bad) = encoding_rs::GBK.encode(v);
        assert!(!bad);
        body.push_str(k);
        body.push('=');
        body.extend(form_urlencoded::byte_serialize(&gbk));
    }
    let l = Listener::start(false).await;
    let resp = reqwest::Client::new()
        .post(&l.url)
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=GBK",
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.unwrap(), "success");
    let rec = l.recorded();
    assert_eq!(rec.len(), 1);
    let n = &rec[0];
    assert_eq!(n.audit_status, AuditStatus::Failed);
    assert_eq!(n.shop_id, None, "absent on a failed create");
    assert_eq!((n.is_online, n.is_show), (Some(false), Some(false)));
    assert_eq!(n.result_code.as_deref(), Some("RISK_AUDIT_FAIL"));
    assert_eq!(
        n.result_desc.as_deref(),
        Some("您提交的证照图片不清晰，无法辨别证照信息（营业执照不清晰）;")
    );
    l.stop().await;
}

#[tokio::test]
async fn utf8_failed_create_with_empty_shop_id_is_recorded() {
    let mut form = failed_create_form();
    form.push(("shop_id".into(), String::new()));
    let l = Listener::start(false).await;
    let (status, _) = l.post_form(&signed(&alipay_key(), form)).await;
    assert_eq!(status, 200);
    let rec = l.recorded();
    assert_eq!(rec[0].shop_id, None);
    assert!(rec[0].result_desc.as_deref().unwrap().starts_with("您提交"));
    l.stop().await;
}

#[tokio::test]
async fn sink_failure_answers_500_so_alipay_retries() {
    let l = Listener::start(true).await;
    let (status, body) = l.post_form(&vector_form(0)).await;
    assert_eq!((status, body.as_str()), (500, "fail"));
    l.stop().await;
}

#[tokio::test]
async fn only_post_on_the_configured_path() {
    let l = Listener::start(false).await;
    let other = l.url.replace(PATH, "/other");
    let resp = reqwest::Client::new()
        .post(&other)
        .form(&vector_form(0))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let resp = reqwest::get(&l.url).await.unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    assert!(l.recorded().is_empty());
    l.stop().await;
}

// Regression a2aa4d3: a form declared GBK whose bytes also read as UTF-8 was decoded as UTF-8.
#[test]
fn regression_a_declared_gbk_charset_lost_to_utf8() {
    use shopsync::daemon::notify_listener::decode_form;
    let utf8 = b"result_desc=%E4%B8%AD%E6%96%87&a=b+c";
    assert_eq!(
        decode_form(utf8, false).unwrap(),
        [
            ("result_desc".to_string(), "中文".to_string()),
            ("a".into(), "b c".into())
        ]
    );
    // Those bytes are valid GBK too: declared GBK wins.
    let as_gbk = decode_form(utf8, true).unwrap();
    assert_ne!(as_gbk[0].1, "中文");
    // GBK bytes are not valid UTF-8: GBK is used without a declaration.
    let gbk = b"result_desc=%D6%D0%CE%C4";
    assert_eq!(decode_form(gbk, false).unwrap()[0].1, "中文");
    // Neither: refused.
    assert!(decode_form(b"x=%FF%FF%FF", false).is_err());
}
