//! Each §8.7 fault, observable from the client side.

use std::time::Duration as StdDuration;

use serde_json::json;
use shopsync::alipay::envelope::{self, Verification};
use shopsync::sim::{FaultKind, FaultRule, SimHandle, Trigger};

use super::client::*;

#[tokio::test]
async fn faults_are_observable() {
    let (h, c) = setup(|cfg| cfg.hold_timeout = StdDuration::from_millis(400)).await;
    let orders = |h: &SimHandle| h.orders().len();
    let mut n = 0;
    let mut next = |h: &SimHandle, kind: FaultKind| {
        h.add_fault(rule(kind));
        n += 1;
        create_biz(&format!("S{n}"), &format!("r{n}"))
    };

    let b = next(&h, FaultKind::DropBefore);
    assert!(c.try_call(CREATE, b).await.is_err());
    assert_eq!(orders(&h), 0);
    let b = next(&h, FaultKind::DropAfter);
    assert!(c.try_call(CREATE, b).await.is_err());
    assert_eq!(orders(&h), 1);

    let short = Client {
        http: reqwest::Client::builder()
            .no_proxy()
            .timeout(StdDuration::from_millis(100))
            .build()
            .unwrap(),
        ..c.clone_client()
    };
    let b = next(&h, FaultKind::TimeoutBefore);
    assert!(short.try_call(CREATE, b).await.unwrap_err().is_timeout());
    assert_eq!(orders(&h), 1);
    let b = next(&h, FaultKind::TimeoutAfter);
    assert!(short.try_call(CREATE, b).await.unwrap_err().is_timeout());
    assert_eq!(orders(&h), 2);

    let b = next(&h, FaultKind::UnknownErrorApplied);
    let a = c.call(CREATE, b).await;
    assert_eq!(
        (a.code(), a.sub_code(), a.verification),
        ("20000", "isp.unknow-error", Verification::Valid)
    );
    assert_eq!(orders(&h), 3);
    let b = next(&h, FaultKind::UnknownErrorNotApplied);
    assert_eq!(c.call(CREATE, b).await.code(), "20000");
    assert_eq!(orders(&h), 3);
    let b = next(&h, FaultKind::SystemError { applied: false });
    let a = c.call(CREATE, b).await;
    assert_eq!(
        (a.sub_code(), a.verification),
        ("SHOP_CREATE_SYSTEM_ERROR", Verification::Valid)
    );
    assert_eq!(orders(&h), 3);
    let b = next(&h, FaultKind::SystemError { applied: true });
    assert_eq!(
        c.call(CREATE, b).await.sub_code(),
        "SHOP_CREATE_SYSTEM_ERROR"
    );
    assert_eq!(orders(&h), 4);

    let b = next(&h, FaultKind::BadSignature);
    let a = c.call(CREATE, b).await;
    assert_eq!((a.code(), a.verification), ("10000", Verification::Invalid));
    let b = next(&h, FaultKind::WrongKey);
    assert_eq!(c.call(CREATE, b).await.verification, Verification::Invalid);
    let b = next(&h, FaultKind::UnsignedSuccess);
    let a = c.call(CREATE, b).await;
    assert_eq!(
        (a.code(), a.verification),
        ("10000", Verification::Unsigned)
    );
    let b = next(&h, FaultKind::TruncatedBody { keep: 10 });
    assert!(c.try_call(CREATE, b).await.is_err());
    assert_eq!(orders(&h), 8);

    let b = next(&h, FaultKind::Gateway5xx);
    let mut q = c.system_params(CREATE);
    let biz = vec![("biz_content".to_string(), b.to_string())];
    let mut all = q.clone();
    all.extend(biz.clone());
    q.push(("sign".into(), c.sign(&all)));
    let resp = c.raw(&q, &biz).await.unwrap();
    assert_eq!(resp.status(), 502);
    assert!(resp.text().await.unwrap().contains("<html>"));
    assert_eq!(orders(&h), 8);

    h.add_fault(FaultRule {
        method: Some(UPLOAD.into()),
        kind: FaultKind::EscapedSlashes,
        trigger: Trigger::Next(1),
    });
    let a = c.upload("png", vec![7; 50]).await;
    assert!(a.body.contains("http:\\/\\/"));
    assert_eq!(
        a.verification,
        Verification::Valid,
        "valid only through the \\/ fallback"
    );
    let ex = envelope::extract(&a.body, UPLOAD).unwrap();
    assert!(!c
        .alipay
        .verify(ex.content.as_bytes(), ex.sign.as_deref().unwrap()));
    h.shutdown().await;
}

#[tokio::test]
async fn probability_faults_repeat_with_the_seed() {
    let mut patterns = Vec::new();
    for _ in 0..2 {
        let (h, c) = setup(|cfg| cfg.seed = 42).await;
        h.add_fault(FaultRule {
            method: None,
            kind: FaultKind::BadSignature,
            trigger: Trigger::Probability(0.5),
        });
        let mut p = Vec::new();
        for _ in 0..12 {
            p.push(c.call(CATEGORY, json!({})).await.verification == Verification::Valid);
        }
        h.shutdown().await;
        patterns.push(p);
    }
    assert_eq!(patterns[0], patterns[1]);
    assert!(patterns[0].contains(&true) && patterns[0].contains(&false));
}
