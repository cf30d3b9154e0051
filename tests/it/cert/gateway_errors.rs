//! The certificate-mode gateway errors (docs/protocol.md §2.9) on both protocols: a key-mode
//! client of a certificate-mode app (`isv.missing-app-cert-sn`), an app certificate Alipay
//! does not know (`isv.app-cert-not-exist`), a root bundle it does not know
//! (`isv.invalid-alipay-root-cert-sn`): configuration errors (exit 78) that say what to
//! check, and nothing is written.

use std::sync::Arc;
use std::time::Duration;

use shopsync::alipay::cert::{Cert, CertSet};
use shopsync::alipay::koubei::SummaryQuery;
use shopsync::alipay::ratelimit::RateLimiter;
use shopsync::alipay::{AlipayError, ErrorClass, Gateway, GatewayConfig};
use shopsync::clock::{Clock, SharedClock};

use crate::client::{alipay_public, app_key, create_write, expect_class, Env};
use crate::harness::{each_protocol, Setup};
use crate::support::pki;

fn config(env: &Env) -> GatewayConfig {
    GatewayConfig {
        url: env.sim.gateway_url(),
        app_id: pki::APP_ID.into(),
        app_auth_token: None,
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
    }
}

/// A certificate-mode client of `env`'s simulator with these certificates.
fn cert_client(env: &Env, setup: Setup, app: &str, alipay: &str, roots: &str) -> Gateway {
    let parse = |text: &str, name: &str| Cert::parse_pem(text, name).unwrap();
    let now = env.clock.now();
    let certs = CertSet::new(
        parse(app, "app_cert"),
        parse(alipay, "alipay_cert"),
        parse(roots, "alipay_root_cert"),
        "alipay_root_cert",
        now,
    )
    .unwrap();
    let clock: SharedClock = Arc::new(env.clock.clone());
    Gateway::with_certificates(
        config(env),
        app_key(),
        Arc::new(certs),
        clock,
        Arc::new(RateLimiter::unlimited()),
    )
    .unwrap()
    .with_protocol(setup.protocol)
}

/// A read and a write both refused as a configuration error naming `code` and saying
/// `hint`; nothing applied.
async fn refused(env: &Env, gw: &Gateway, code: &str, hint: &str) {
    let read = gw.summary_page(&SummaryQuery::default(), 1, 20).await;
    let write = gw.shop_create(&create_write("ST-0001", "req0001")).await;
    for result in [read.map(|_| ()), write.map(|_| ())] {
        let err: AlipayError = expect_class(result, ErrorClass::Config);
        assert!(err.is(code), "{err}");
        assert!(!err.signed, "request-check errors are unsigned: {err}");
        assert!(err.to_string().contains(hint), "{err}");
    }
    assert!(env.sim.orders().is_empty());
}

async fn a_key_mode_client_of_a_certificate_mode_app_is_told_to_configure_them(setup: Setup) {
    let env = Env::start_in(setup.with_certs(), |_| {}).await;
    let clock: SharedClock = Arc::new(env.clock.clone());
    let key_mode = Gateway::new(
        config(&env),
        app_key(),
        alipay_public(),
        clock,
        Arc::new(RateLimiter::unlimited()),
    )
    .unwrap()
    .with_protocol(setup.protocol);
    refused(
        &env,
        &key_mode,
        "missing-app-cert-sn",
        "configure [alipay] app_cert, alipay_cert and alipay_root_cert",
    )
    .await;
}

async fn an_app_certificate_alipay_does_not_know_is_a_configuration_error(setup: Setup) {
    let env = Env::start_in(setup.with_certs(), |_| {}).await;
    // Issued for the same app key by another CA: another SN.
    let f = pki::foreign();
    let gw = cert_client(
        &env,
        setup,
        &f.app_cert_pem,
        &f.alipay_chain_pem,
        &f.root_pem,
    );
    refused(
        &env,
        &gw,
        "app-cert-not-exist",
        "[alipay] app_cert must be this app's certificate",
    )
    .await;
}

async fn a_root_bundle_alipay_does_not_know_is_a_configuration_error(setup: Setup) {
    let env = Env::start_in(setup.with_certs(), |_| {}).await;
    // The right certificates, but a bundle with one more RSA root: another root SN.
    let (s, f) = (pki::shared(), pki::foreign());
    let roots = format!("{}{}", s.root_pem, f.root_pem);
    let gw = cert_client(&env, setup, &s.app_cert_pem, &s.alipay_chain_pem, &roots);
    assert!(gw.certificates().unwrap().root_cert_sn().contains('_'));
    refused(
        &env,
        &gw,
        "invalid-alipay-root-cert-sn",
        "[alipay] alipay_root_cert must be the alipayRootCert.crt",
    )
    .await;
}

each_protocol!(
    a_key_mode_client_of_a_certificate_mode_app_is_told_to_configure_them,
    an_app_certificate_alipay_does_not_know_is_a_configuration_error,
    a_root_bundle_alipay_does_not_know_is_a_configuration_error,
);
