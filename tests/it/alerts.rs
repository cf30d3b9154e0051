//! Alert destinations against loopback receivers that check each platform's body shape
//! and signature; the dispatcher's timeout, failure handling, once-per-run rule, and that
//! no secret or access token reaches a log line or a message.
mod certificates;
pub mod robots;
mod runs;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use shopsync::alert::{AlertConfig, AlertEvent, AlertKind, AuditRejection, Dispatcher};
use shopsync::audit::{RunId, RunStatus, RunSummary};
use shopsync::clock::{ManualClock, SharedClock};
use tracing_subscriber::fmt::MakeWriter;

use crate::support::http_receiver::{Receiver, Reply};
use robots::*;

fn now() -> DateTime<Utc> {
    // Whatever the test machine's clock says: the platforms check within an hour of it.
    DateTime::from_timestamp(Utc::now().timestamp(), 123_000_000).unwrap()
}

/// Secret files in a temp dir, as `secret_file` would name them.
struct Secrets(tempfile::TempDir);

impl Secrets {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (name, value) in [
            ("ding", DING_SECRET),
            ("feishu", FEISHU_SECRET),
            ("hook", HOOK_SECRET),
            ("wrong", "SECnotTheRobotsSecret"),
        ] {
            std::fs::write(dir.path().join(name), format!("{value}\n")).unwrap();
        }
        Self(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.path().join(name).display().to_string()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    alert: Vec<AlertConfig>,
}

fn dispatcher(toml: &str, at: DateTime<Utc>) -> Dispatcher {
    let doc: Doc = toml::from_str(toml).unwrap_or_else(|e| panic!("{e}\n{toml}"));
    for (i, c) in doc.alert.iter().enumerate() {
        assert!(c.problems(i + 1).is_empty(), "{:?}", c.problems(i + 1));
    }
    let clock: SharedClock = Arc::new(ManualClock::new(at));
    Dispatcher::new(&doc.alert, clock).unwrap()
}

fn dingtalk_toml(r: &Receiver, secret_file: &str) -> String {
    format!(
        "[[alert]]\nkind = \"dingtalk\"\nurl = \"{}\"\nsecret_file = \"{secret_file}\"\n",
        r.url(&format!("/robot/send?access_token={DING_TOKEN}"))
    )
}

fn wecom_toml(r: &Receiver) -> String {
    format!(
        "[[alert]]\nkind = \"wecom\"\nurl = \"{}\"\n",
        r.url(&format!("/cgi-bin/webhook/send?key={WECOM_KEY}"))
    )
}

fn feishu_toml(r: &Receiver, secret_file: &str) -> String {
    format!(
        "[[alert]]\nkind = \"feishu\"\nurl = \"{}\"\nsecret_file = \"{secret_file}\"\n",
        r.url(&format!("/open-apis/bot/v2/hook/{FEISHU_TOKEN}"))
    )
}

fn webhook_toml(r: &Receiver, secret_file: &str) -> String {
    format!(
        "[[alert]]\nkind = \"webhook\"\nname = \"oncall\"\nurl = \"{}\"\nsecret_file = \"{secret_file}\"\n",
        r.url("/hooks/shopsync")
    )
}

fn partial_run(run: i64) -> AlertEvent {
    let counts = RunSummary {
        stores: 50,
        created: 40,
        failed: 3,
        rejected: 2,
        unchanged: 5,
        ..Default::default()
    };
    AlertEvent::for_run_end(RunId(run), RunStatus::Partial, counts, None)
        .unwrap()
        .with_merchant(Some("鲜果坊"))
        .with_app_id("2021000000000001")
}

/// Log lines at every level, captured for the current thread (the tests run on tokio's
/// current-thread runtime, so the dispatcher and the HTTP client log here).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish();
        (logs.clone(), tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    fn warnings(&self) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| l.contains(" WARN "))
            .map(str::to_string)
            .collect()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn every_platform_gets_its_body_shape_and_a_signature_it_accepts() {
    let at = now();
    let secrets = Secrets::new();
    let ding = Receiver::start(dingtalk(DING_SECRET, at)).await;
    let wecom = Receiver::start(wecom()).await;
    let feishu = Receiver::start(feishu(FEISHU_SECRET, at)).await;
    let hook = Receiver::start(webhook(HOOK_SECRET, at)).await;
    let d = dispatcher(
        &[
            dingtalk_toml(&ding, &secrets.path("ding")),
            wecom_toml(&wecom),
            feishu_toml(&feishu, &secrets.path("feishu")),
            webhook_toml(&hook, &secrets.path("hook")),
        ]
        .concat(),
        at,
    );
    let report = d.send(&partial_run(42)).await;
    assert_eq!(report.failed, Vec::<String>::new());
    assert_eq!(report.delivered, ["dingtalk", "wecom", "feishu", "oncall"]);

    let r = &ding.received()[0];
    verify_dingtalk(r, DING_SECRET, at).unwrap();
    let text = r.json()["markdown"]["text"].as_str().unwrap().to_string();
    assert!(
        text.starts_with("### shopsync (鲜果坊): run 42 finished with failures"),
        "{text}"
    );
    assert!(
        text.contains("3 stores failed, 2 rows were rejected"),
        "{text}"
    );
    assert!(
        text.contains("Counts: 50 stores: failed 3, rejected 2, created 40, unchanged 5"),
        "{text}"
    );
    assert!(text.contains("`shopsync audit show 42`"), "{text}");

    let r = &wecom.received()[0];
    verify_wecom(r).unwrap();
    let content = r.json()["markdown"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(content, text, "DingTalk and WeCom get the same markdown");

    let r = &feishu.received()[0];
    verify_feishu(r, FEISHU_SECRET, at).unwrap();
    let v = r.json();
    assert_eq!(
        v["content"]["post"]["zh_cn"]["title"],
        "shopsync (鲜果坊): run 42 finished with failures"
    );
    let text = feishu_text(&v);
    assert!(
        text.contains("Run: 42\nMerchant: 鲜果坊\nApp: 2021000000000001"),
        "{text}"
    );
    assert!(
        text.ends_with("Look closer: shopsync audit show 42"),
        "{text}"
    );

    let r = &hook.received()[0];
    verify_webhook(r, HOOK_SECRET, at).unwrap();
    let v = r.json();
    assert_eq!(v["event"], "run_partial");
    assert_eq!(v["run_id"], 42);
    assert_eq!(v["merchant"], "鲜果坊");
    assert_eq!(v["counts"]["failed"], 3);
    assert_eq!(v["command"], "shopsync audit show 42");
}

#[tokio::test]
async fn a_signature_with_the_wrong_secret_is_refused_by_the_platform_and_only_logged() {
    let at = now();
    let secrets = Secrets::new();
    let ding = Receiver::start(dingtalk(DING_SECRET, at)).await;
    let feishu = Receiver::start(feishu(FEISHU_SECRET, at)).await;
    let hook = Receiver::start(webhook(HOOK_SECRET, at)).await;
    let wrong = secrets.path("wrong");
    let d = dispatcher(
        &[
            dingtalk_toml(&ding, &wrong),
            feishu_toml(&feishu, &wrong),
            webhook_toml(&hook, &wrong),
        ]
        .concat(),
        at,
    );
    let (logs, _guard) = Logs::capture();
    let report = d.send(&partial_run(7)).await;
    assert!(report.delivered.is_empty());
    assert_eq!(report.failed, ["dingtalk", "feishu", "oncall"]);
    assert_eq!(
        verify_dingtalk(&ding.received()[0], DING_SECRET, at),
        Err("sign not match".into())
    );
    assert_eq!(
        verify_feishu(&feishu.received()[0], FEISHU_SECRET, at),
        Err("sign match fail".into())
    );
    let warnings = logs.warnings();
    assert_eq!(warnings.len(), 3, "{warnings:#?}");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("errcode 310000: sign not match")),
        "{warnings:#?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("code 19021: sign match fail")),
        "{warnings:#?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("HTTP 401")),
        "{warnings:#?}"
    );
    assert!(
        warnings.iter().all(|w| w.contains("Alert not delivered.")),
        "{warnings:#?}"
    );
}

#[tokio::test]
async fn a_hanging_receiver_holds_the_dispatcher_no_longer_than_its_timeout() {
    let at = now();
    let secrets = Secrets::new();
    let hang = Receiver::start(|_| Reply::Hang).await;
    let ding = Receiver::start(dingtalk(DING_SECRET, at)).await;
    let toml = format!(
        "[[alert]]\nkind = \"webhook\"\nname = \"hangs\"\nurl = \"{}\"\ntimeout = \"300ms\"\n{}",
        hang.url("/hook"),
        dingtalk_toml(&ding, &secrets.path("ding")),
    );
    let d = dispatcher(&toml, at);
    let (logs, _guard) = Logs::capture();
    let started = Instant::now();
    let report = d.send(&partial_run(1)).await;
    let took = started.elapsed();
    // Without the timeout this would never return; the margin is for a loaded machine.
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(
        took >= Duration::from_millis(300),
        "returned before the timeout: {took:?}"
    );
    assert_eq!(
        hang.received().len(),
        1,
        "the request reached the hanging receiver"
    );
    assert_eq!(report.failed, ["hangs"]);
    assert_eq!(
        report.delivered,
        ["dingtalk"],
        "the other destination is not held up"
    );
    let warnings = logs.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(warnings[0].contains("destination=hangs"), "{}", warnings[0]);
    assert!(
        warnings[0].contains("no answer within 300ms") || warnings[0].contains("timed out"),
        "{}",
        warnings[0]
    );
}

#[tokio::test]
async fn a_500_and_a_closed_port_are_logged_and_never_an_error() {
    let at = now();
    let broken = Receiver::start(|_| Reply::Answer(500, "internal error".into())).await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let toml = format!(
        "[[alert]]\nkind = \"wecom\"\nurl = \"{}\"\n[[alert]]\nkind = \"webhook\"\nname = \"closed\"\nurl = \"http://{closed}/hook\"\n",
        broken.url(&format!("/cgi-bin/webhook/send?key={WECOM_KEY}")),
    );
    let d = dispatcher(&toml, at);
    let (logs, _guard) = Logs::capture();
    let report = d.send(&partial_run(3)).await;
    assert_eq!(report.failed, ["wecom", "closed"]);
    assert_eq!(broken.received().len(), 1);
    let warnings = logs.warnings();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(
        warnings[0].contains("HTTP 500: internal error"),
        "{}",
        warnings[0]
    );
    assert!(warnings[0].contains("key=[redacted]"), "{}", warnings[0]);
    assert!(
        warnings[1].contains("destination=closed"),
        "{}",
        warnings[1]
    );
}

#[tokio::test]
async fn at_most_one_alert_per_event_kind_per_run() {
    let at = now();
    let secrets = Secrets::new();
    let hook = Receiver::start(webhook(HOOK_SECRET, at)).await;
    let d = dispatcher(&webhook_toml(&hook, &secrets.path("hook")), at);
    assert!(!d.send(&partial_run(5)).await.duplicate);
    let again = d.send(&partial_run(5)).await;
    assert!(again.duplicate && again.delivered.is_empty());
    assert_eq!(
        hook.received().len(),
        1,
        "the same kind for the same run is sent once"
    );

    // Another kind for the same run, and the same kind for the next run, are sent.
    let rejected = AlertEvent::audit_rejected(
        RunId(5),
        &[AuditRejection {
            store_id: "S1".into(),
            apply_id: "A1".into(),
            reason: "照片模糊".into(),
        }],
    )
    .unwrap();
    assert_eq!(d.send(&rejected).await.delivered, ["oncall"]);
    assert_eq!(d.send(&partial_run(6)).await.delivered, ["oncall"]);
    let events: Vec<(String, i64)> = hook
        .received()
        .iter()
        .map(|r| {
            let v = r.json();
            (
                v["event"].as_str().unwrap().to_string(),
                v["run_id"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("run_partial".into(), 5),
            ("audit_rejected".into(), 5),
            ("run_partial".into(), 6)
        ]
    );
    assert_eq!(hook.received()[1].json()["details"][0], "S1 (A1): 照片模糊");
}

#[tokio::test]
async fn the_events_filter_chooses_the_destinations() {
    let at = now();
    let guards_only = Receiver::start(wecom()).await;
    let everything = Receiver::start(wecom()).await;
    let toml = format!(
        "{}events = [\"guard_stop\", \"token_rejected\"]\nname = \"guards\"\n{}",
        wecom_toml(&guards_only),
        wecom_toml(&everything),
    );
    let d = dispatcher(&toml, at);
    assert_eq!(d.send(&partial_run(1)).await.delivered, ["wecom"]);
    let guard = AlertEvent::for_run_end(
        RunId(2),
        RunStatus::Guarded,
        RunSummary::default(),
        Some("The export shrank from 50 to 10 rows."),
    )
    .unwrap();
    assert_eq!(guard.kind, AlertKind::GuardStop);
    assert_eq!(d.send(&guard).await.delivered, ["guards", "wecom"]);
    assert_eq!(guards_only.received().len(), 1);
    assert_eq!(everything.received().len(), 2);
    let content = guards_only.received()[0].json()["markdown"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        content.contains("The export shrank from 50 to 10 rows."),
        "{content}"
    );
}

#[tokio::test]
async fn no_secret_or_access_token_in_logs_messages_or_debug_output() {
    let at = now();
    let secrets = Secrets::new();
    let ding = Receiver::start(dingtalk(DING_SECRET, at)).await;
    let feishu_bad = Receiver::start(feishu(FEISHU_SECRET, at)).await;
    // A broken robot that echoes the path and query it was sent (tokens included; a
    // remote's answer is untrusted too): the WARN must not repeat them.
    let echo = Receiver::start(|r| {
        Reply::Answer(
            500,
            format!(
                "bad request to {}?{}",
                r.path,
                r.query.clone().unwrap_or_default()
            ),
        )
    })
    .await;
    let hang = Receiver::start(|_| Reply::Hang).await;
    let toml = [
        dingtalk_toml(&ding, &secrets.path("ding")),
        feishu_toml(&feishu_bad, &secrets.path("wrong")),
        dingtalk_toml(&echo, &secrets.path("ding")).replace(
            "kind = \"dingtalk\"",
            "kind = \"dingtalk\"\nname = \"echo\"",
        ),
        webhook_toml(&echo, &secrets.path("hook"))
            .replace("/hooks/shopsync", &format!("/hooks/{FEISHU_TOKEN}")),
        wecom_toml(&hang).replace("[[alert]]\n", "[[alert]]\ntimeout = \"200ms\"\n"),
    ]
    .concat();
    let (logs, _guard) = Logs::capture();
    let d = dispatcher(&toml, at);
    let report = d.send(&partial_run(9)).await;
    assert_eq!(report.delivered, ["dingtalk"]);
    assert_eq!(report.failed.len(), 4, "{report:?}");
    tracing::debug!(dispatcher = ?d, "Dispatcher state.");

    let text = logs.text();
    assert!(text.contains("Alert not delivered."), "{text}");
    assert!(
        text.contains("Dispatcher state."),
        "the Debug output is in the scan"
    );
    assert!(text.contains("access_token=[redacted]"), "{text}");
    for secret in ALL_SECRETS {
        assert!(!text.contains(secret), "{secret} in the logs:\n{text}");
    }
    // Messages carry no secret (the DingTalk sign is derived, the secret never sent).
    for r in ding
        .received()
        .iter()
        .chain(feishu_bad.received().iter())
        .chain(echo.received().iter())
        .chain(hang.received().iter())
    {
        let body = String::from_utf8_lossy(&r.body);
        for secret in [
            DING_SECRET,
            FEISHU_SECRET,
            HOOK_SECRET,
            "SECnotTheRobotsSecret",
        ] {
            assert!(!body.contains(secret), "{secret} in a message body");
            assert!(
                !r.query.clone().unwrap_or_default().contains(secret),
                "{secret} in a URL"
            );
        }
    }
}
