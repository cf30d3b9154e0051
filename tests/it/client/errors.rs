//! Request-side and key errors: forged request signature, wrong app id, stale timestamp,
//! wrong Alipay public key, the app's own key as Alipay's, business errors.

use chrono::Duration;
use shopsync::alipay::koubei::SummaryQuery;
use shopsync::alipay::ratelimit::RateLimiter;
use shopsync::alipay::sign::KeyError;
use shopsync::alipay::{ErrorClass, Gateway, GatewayConfig};
use shopsync::clock::ManualClock;

use super::{
    app_key, app_public, create_write, expect_class, generated_key, modify_write, ClientOpts, Env,
    SUMMARY,
};
use crate::harness::{each_mode, each_protocol, Setup};

async fn forged_request_signature_is_an_unsigned_config_error(setup: Setup) {
    let env = Env::start_in(setup, |_| {}).await;
    let forger = env.client(ClientOpts {
        sign_key: generated_key().await,
        ..ClientOpts::default()
    });
    let err = expect_class(
        forger.summary_page(&SummaryQuery::default(), 1, 20).await,
        ErrorClass::Config,
    );
    assert_eq!(err.code.as_deref(), Some("40002"));
    assert!(err.is("invalid-signature"), "{err}");
    assert!(!err.signed, "request-check errors are unsigned");
    // A forged write is refused the same way, and nothing is created.
    let err = expect_class(
        forger
            .shop_create(&create_write("ST-0001", "req0001"))
            .await,
        ErrorClass::Config,
    );
    assert!(err.is("invalid-signature"), "{err}");
    assert!(env.sim.orders().is_empty());
}

async fn wrong_app_id_is_config(setup: Setup) {
    let env = Env::start_in(setup, |_| {}).await;
    let other = env.client(ClientOpts {
        app_id: "2021000000009999".into(),
        ..ClientOpts::default()
    });
    let err = expect_class(
        other.summary_page(&SummaryQuery::default(), 1, 20).await,
        ErrorClass::Config,
    );
    assert_eq!(err.code.as_deref(), Some("40002"));
    assert!(err.is("invalid-app-id"), "{err}");
    assert!(!err.signed);
    assert!(
        err.to_string().contains(SUMMARY),
        "the method is named: {err}"
    );
}

async fn stale_timestamp_is_config(setup: Setup) {
    let env = Env::start_in(setup, |_| {}).await;
    let late = ManualClock::new(super::start_time() - Duration::hours(1));
    let gw = env.client(ClientOpts {
        clock: Some(late.clone()),
        ..ClientOpts::default()
    });
    let err = expect_class(
        gw.summary_page(&SummaryQuery::default(), 1, 20).await,
        ErrorClass::Config,
    );
    assert!(err.is("invalid-timestamp"), "{err}");
    assert!(!err.signed);
    // Within the simulator's 10-minute skew it is accepted again.
    late.advance(Duration::minutes(55));
    gw.summary_page(&SummaryQuery::default(), 1, 20)
        .await
        .unwrap();
}

async fn wrong_alipay_public_key_makes_answers_unverifiable_then_a_configuration_error(
    setup: Setup,
) {
    let env = Env::start_in(setup, |_| {}).await;
    let shop_id = env.create_approved("ST-0001", "req0001").await;
    let gw = env.client(ClientOpts {
        alipay_public: generated_key().await.verify_key(),
        ..ClientOpts::default()
    });
    // Signed successes of every read fail to verify; a signed business error does not
    // verify either, so it is not reported as Business.
    expect_class(
        gw.summary_page(&SummaryQuery::default(), 1, 20).await,
        ErrorClass::Unverifiable,
    );
    let err = expect_class(
        gw.shop_querydetail(&"2026000000000000".into(), None).await,
        ErrorClass::Unverifiable,
    );
    // The third bad signature in a row, none ever verified: the key is wrong (exit 78).
    for result in [
        gw.shop_querydetail(&shop_id.clone().into(), None)
            .await
            .map(|_| ()),
        gw.shop_batchquery(1).await.map(|_| ()),
        gw.category_query(None).await.map(|_| ()),
    ] {
        let e = expect_class(result, ErrorClass::Config);
        assert!(e.to_string().contains("alipay_public_key"), "{e}");
    }
    assert_eq!(
        err.sub_code, None,
        "no field of an unverified answer is used"
    );
    // A write whose answer does not verify has an unknown outcome (never a configuration
    // error: it may have been applied), and it did happen.
    expect_class(
        gw.shop_create(&create_write("ST-0002", "req0002")).await,
        ErrorClass::OutcomeUnknown,
    );
    assert_eq!(env.sim.orders().len(), 2);
}

#[tokio::test]
async fn the_apps_own_public_key_as_alipays_is_refused() {
    let cfg = GatewayConfig {
        url: "http://127.0.0.1:9/gateway.do".into(),
        app_id: "2021000000000001".into(),
        app_auth_token: None,
        connect_timeout: std::time::Duration::from_secs(1),
        request_timeout: std::time::Duration::from_secs(1),
    };
    let clock = std::sync::Arc::new(ManualClock::new(super::start_time()));
    let err = Gateway::new(
        cfg,
        app_key(),
        app_public(),
        clock,
        std::sync::Arc::new(RateLimiter::unlimited()),
    )
    .unwrap_err();
    assert!(matches!(err, KeyError::OwnPublicKey), "{err}");
    assert!(
        err.to_string()
            .contains("public half of the app's own private key"),
        "{err}"
    );
}

async fn business_errors_are_signed_and_named(setup: Setup) {
    let env = Env::start_in(setup, |_| {}).await;
    let shop_id = env.create_approved("ST-0001", "req0001").await;

    let err = expect_class(
        env.gw
            .shop_create(&create_write("ST-0001", "req0002"))
            .await,
        ErrorClass::Business,
    );
    assert_eq!(err.code.as_deref(), Some("40004"));
    assert!(
        err.is("SHOP_CREATE_UNIQUE_CONSTRAINT_OUTSHOPID_ERROR"),
        "{err}"
    );
    assert!(err.signed);
    assert!(err.is("SHOP_CREATE_UNIQUE_CONSTRAINT_OUTSHOPID_ERROR"));
    assert!(err.sub_msg.is_some());

    // A review-triggering modify is pending; a second modify is refused until it settles.
    env.gw
        .shop_modify(&modify_write(
            &shop_id,
            "req0003",
            &[("branch_shop_name", "新名字店")],
        ))
        .await
        .unwrap();
    let err = expect_class(
        env.gw
            .shop_modify(&modify_write(
                &shop_id,
                "req0004",
                &[("contact_number", "021-11112222")],
            ))
            .await,
        ErrorClass::Deferred,
    );
    assert!(err.is("NOT_ALLOWED_CONCURRENT_MODIFY"), "{err}");
    assert!(err.signed);
    env.finish_audits();
    env.gw
        .shop_modify(&modify_write(
            &shop_id,
            "req0005",
            &[("contact_number", "021-11112222")],
        ))
        .await
        .unwrap();

    // A repeated request id on create proves the first create with it was accepted
    // (issue 10): its own class, never a business error or an unknown outcome.
    let err = expect_class(
        env.gw
            .shop_create(&create_write("ST-0009", "req0001"))
            .await,
        ErrorClass::AlreadyAccepted,
    );
    assert!(err.is("SHOP_CREATE_REPEAT_REQUEST"));
}

each_protocol!(
    forged_request_signature_is_an_unsigned_config_error,
    wrong_app_id_is_config,
    stale_timestamp_is_config,
    wrong_alipay_public_key_makes_answers_unverifiable_then_a_configuration_error,
);

each_mode!(business_errors_are_signed_and_named,);
