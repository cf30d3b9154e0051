//! The simulator's response and network faults, classified by the real client.

use shopsync::alipay::koubei::SummaryQuery;
use shopsync::alipay::ErrorClass;
use shopsync::sim::FaultKind;

use super::{create_write, expect_class, seed_fields, ClientOpts, Env, CREATE, DETAIL, SUMMARY};

/// Orders the simulator holds for `store_id` (did the write happen?).
fn orders_for(env: &Env, store_id: &str) -> usize {
    env.sim
        .orders()
        .iter()
        .filter(|o| o.store_id == store_id)
        .count()
}

#[tokio::test]
async fn forged_response_signature_is_unverifiable_or_unknown() {
    let env = Env::start(|_| {}).await;
    env.fault(SUMMARY, FaultKind::BadSignature);
    let err = expect_class(
        env.gw.summary_page(&SummaryQuery::default(), 1, 20).await,
        ErrorClass::Unverifiable,
    );
    assert!(!err.signed);
    env.fault(CREATE, FaultKind::BadSignature);
    expect_class(
        env.gw
            .shop_create(&create_write("ST-0001", "req0001"))
            .await,
        ErrorClass::OutcomeUnknown,
    );
    assert_eq!(orders_for(&env, "ST-0001"), 1, "the write did happen");
    // The fault was one-shot: the next answer verifies.
    env.gw
        .summary_page(&SummaryQuery::default(), 1, 20)
        .await
        .unwrap();
}

#[tokio::test]
async fn unsigned_success_is_never_data() {
    let env = Env::start(|_| {}).await;
    env.fault(SUMMARY, FaultKind::UnsignedSuccess);
    let err = expect_class(
        env.gw.summary_page(&SummaryQuery::default(), 1, 20).await,
        ErrorClass::Unverifiable,
    );
    assert!(err.to_string().contains("without a signature"), "{err}");
    env.fault(CREATE, FaultKind::UnsignedSuccess);
    expect_class(
        env.gw
            .shop_create(&create_write("ST-0001", "req0001"))
            .await,
        ErrorClass::OutcomeUnknown,
    );
}

#[tokio::test]
async fn wrong_signing_key_is_unverifiable() {
    let env = Env::start(|_| {}).await;
    env.fault(SUMMARY, FaultKind::WrongKey);
    expect_class(
        env.gw.summary_page(&SummaryQuery::default(), 1, 20).await,
        ErrorClass::Unverifiable,
    );
    env.fault(CREATE, FaultKind::WrongKey);
    expect_class(
        env.gw
            .shop_create(&create_write("ST-0001", "req0001"))
            .await,
        ErrorClass::OutcomeUnknown,
    );
}

#[tokio::test]
async fn unknown_error_20000_is_outcome_unknown_for_writes_and_transport_for_reads() {
    let env = Env::start(|_| {}).await;
    env.fault(CREATE, FaultKind::UnknownErrorApplied);
    let err = expect_class(
        env.gw
            .shop_create(&create_write("ST-0001", "req0001"))
            .await,
        ErrorClass::OutcomeUnknown,
    );
    assert_eq!(err.code.as_deref(), Some("20000"));
    assert_eq!(err.sub_code.as_deref(), Some("isp.unknow-error"));
    assert!(err.signed);
    assert_eq!(orders_for(&env, "ST-0001"), 1, "applied");

    env.fault(CREATE, FaultKind::UnknownErrorNotApplied);
    let err = expect_class(
        env.gw
            .shop_create(&create_write("ST-0002", "req0002"))
            .await,
        ErrorClass::OutcomeUnknown,
    );
    assert_eq!(err.code.as_deref(), Some("20000"));
    assert_eq!(orders_for(&env, "ST-0002"), 0, "not applied");

    env.fault(SUMMARY, FaultKind::UnknownErrorNotApplied);
    let err = expect_class(
        env.gw.summary_page(&SummaryQuery::default(), 1, 20).await,
        ErrorClass::Transport,
    );
    assert_eq!(err.code.as_deref(), Some("20000"));
}

#[tokio::test]
async fn system_error_is_outcome_unknown_for_writes() {
    let env = Env::start(|_| {}).await;
    env.fault(CREATE, FaultKind::SystemError { applied: true });
    let err = expect_class(
        env.gw
            .shop_create(&create_write("ST-0001", "req0001"))
            .await,
        ErrorClass::OutcomeUnknown,
    );
    assert_eq!(err.sub_code.as_deref(), Some("SHOP_CREATE_SYSTEM_ERROR"));
    env.fault(DETAIL, FaultKind::SystemError { applied: false });
    expect_class(
        env.gw
            .shop_querydetail(&"2026000000000000".into(), None)
            .await,
        ErrorClass::Transport,
    );
}

#[tokio::test]
async fn dropped_connections_leave_writes_unknown() {
    let env = Env::start(|_| {}).await;
    env.fault(CREATE, FaultKind::DropBefore);
    expect_class(
        env.gw
            .shop_create(&create_write("ST-0001", "req0001"))
            .await,
        ErrorClass::OutcomeUnknown,
    );
    assert_eq!(orders_for(&env, "ST-0001"), 0);

    env.fault(CREATE, FaultKind::DropAfter);
    expect_class(
        env.gw
            .shop_create(&create_write("ST-0002", "req0002"))
            .await,
        ErrorClass::OutcomeUnknown,
    );
    assert_eq!(orders_for(&env, "ST-0002"), 1, "dropped after applying");
    assert_eq!(env.calls(CREATE), 2, "the client never resends a write");

    env.fault(SUMMARY, FaultKind::DropBefore);
    expect_class(
        env.gw.summary_page(&SummaryQuery::default(), 1, 20).await,
        ErrorClass::Transport,
    );
}

#[tokio::test]
async fn truncated_body_is_never_ok() {
    let env = Env::start(|_| {}).await;
    env.sim.seed_shop("ST-0009", seed_fields(9));
    env.fault(SUMMARY, FaultKind::TruncatedBody { keep: 20 });
    let err = env
        .gw
        .summary_page(&SummaryQuery::default(), 1, 20)
        .await
        .expect_err("a truncated answer is never data");
    assert!(
        matches!(err.class, ErrorClass::Transport | ErrorClass::Unverifiable),
        "{err:?}"
    );
    env.fault(CREATE, FaultKind::TruncatedBody { keep: 20 });
    expect_class(
        env.gw
            .shop_create(&create_write("ST-0001", "req0001"))
            .await,
        ErrorClass::OutcomeUnknown,
    );
    assert_eq!(orders_for(&env, "ST-0001"), 1);
}

#[tokio::test]
async fn gateway_5xx_html_is_transport_or_unknown() {
    let env = Env::start(|_| {}).await;
    env.fault(SUMMARY, FaultKind::Gateway5xx);
    let err = expect_class(
        env.gw.summary_page(&SummaryQuery::default(), 1, 20).await,
        ErrorClass::Transport,
    );
    assert!(err.to_string().contains("502"), "{err}");
    env.fault(CREATE, FaultKind::Gateway5xx);
    expect_class(
        env.gw
            .shop_create(&create_write("ST-0001", "req0001"))
            .await,
        ErrorClass::OutcomeUnknown,
    );
}

#[tokio::test]
async fn timeout_leaves_a_write_unknown() {
    let env = Env::start(|c| c.hold_timeout = std::time::Duration::from_secs(2)).await;
    let gw = env.client(ClientOpts {
        request_timeout: std::time::Duration::from_millis(300),
        ..ClientOpts::default()
    });
    env.fault(CREATE, FaultKind::TimeoutBefore);
    let started = std::time::Instant::now();
    expect_class(
        gw.shop_create(&create_write("ST-0001", "req0001")).await,
        ErrorClass::OutcomeUnknown,
    );
    assert!(
        started.elapsed() < std::time::Duration::from_millis(1500),
        "the client gave up at its own timeout, not the server's hold"
    );
    env.sim.shutdown().await;
}

#[tokio::test]
async fn escaped_slashes_still_verify() {
    let env = Env::start(|_| {}).await;
    let shop_id = env.sim.seed_shop("ST-0001", seed_fields(1));
    env.fault(DETAIL, FaultKind::EscapedSlashes);
    let detail = env
        .gw
        .shop_querydetail(&shop_id.clone().into(), None)
        .await
        .unwrap();
    let pic_coll = detail.fields.get("pic_coll").expect("pic_coll");
    assert!(
        pic_coll.contains("://"),
        "the answer carried slashes: {pic_coll}"
    );
    assert_eq!(detail.store_id.as_deref(), Some("ST-0001"));
}
