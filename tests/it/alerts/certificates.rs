//! The certificate hook (`sync::alerts::Alerts::certificate_warnings`, fed by
//! `CertSet::check`): one `certificate_expiring` alert per run about the certificate that
//! expires first, every warned one listed, naming no merchant; nothing for a certificate
//! with more than 30 days left.

use std::sync::Arc;

use chrono::Duration;
use shopsync::alipay::cert::CertWarning;
use shopsync::audit::RunId;
use shopsync::clock::{ManualClock, SharedClock};
use shopsync::sync::alerts::Alerts;

use super::robots::{webhook, HOOK_SECRET};
use super::{now, webhook_toml, Secrets};
use crate::harness::Harness;
use crate::support::http_receiver::Receiver;

#[tokio::test]
async fn expiring_certificates_make_one_alert_per_run_listing_each() {
    let at = now();
    let secrets = Secrets::new();
    let hook = Receiver::start(webhook(HOOK_SECRET, at)).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = Harness::write_config(
        dir.path(),
        "simulator",
        &webhook_toml(&hook, &secrets.path("hook")),
    );
    let clock: SharedClock = Arc::new(ManualClock::new(at));
    let alerts = Alerts::new(&cfg, clock).unwrap();

    // 31 days left: not yet.
    alerts
        .certificate(Some(RunId(1)), "app certificate", at + Duration::days(31))
        .await;
    assert!(hook.received().is_empty());

    let soon = CertWarning::ExpiresSoon {
        source_name: "alipayCertPublicKey_RSA2.crt".into(),
        subject: "CN=支付宝(中国)网络技术有限公司".into(),
        not_after: at + Duration::days(12) + Duration::hours(1),
        days_left: 12,
    };
    let expired = CertWarning::Expired {
        source_name: "appCertPublicKey.crt".into(),
        subject: "CN=2021000000000001".into(),
        not_after: at - Duration::days(2),
    };
    alerts
        .certificate_warnings(Some(RunId(2)), &[soon.clone(), expired.clone()])
        .await;
    let got = hook.received();
    assert_eq!(got.len(), 1);
    let b = got[0].json();
    assert_eq!(b["event"], "certificate_expiring", "{b}");
    assert_eq!(b["run_id"], 2, "{b}");
    assert!(b["merchant"].is_null(), "{b}");
    assert_eq!(b["command"], "shopsync validate", "{b}");
    let reason = b["reason"].as_str().unwrap();
    assert!(
        reason.contains("CN=2021000000000001 (appCertPublicKey.crt) expired on"),
        "the first to expire leads: {reason}"
    );
    let details: Vec<&str> = b["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(details.len(), 2, "{b}");
    assert!(details[0].starts_with("certificate CN=2021000000000001"));
    assert!(
        details[1].contains("alipayCertPublicKey_RSA2.crt") && details[1].ends_with("(12 days)")
    );

    // The same run again: not sent twice; the next run's check is.
    alerts
        .certificate_warnings(Some(RunId(2)), std::slice::from_ref(&soon))
        .await;
    assert_eq!(hook.received().len(), 1);
    alerts
        .certificate_warnings(Some(RunId(3)), std::slice::from_ref(&soon))
        .await;
    let got = hook.received();
    assert_eq!(got.len(), 2);
    let b = got[1].json();
    assert!(b["reason"].as_str().unwrap().contains("in 12 days"), "{b}");
    assert!(b["details"].as_array().unwrap().is_empty(), "{b}");
}
