//! Rotation against the simulator over loopback HTTP, on both protocols: an answer naming
//! a certificate the client does not hold is verified only after that certificate was
//! downloaded once (`alipay.open.app.alipaycert.download`) and chained to the root; until
//! then it is never data, and a write stays an unknown outcome.

use futures::future::join_all;
use shopsync::alipay::koubei::SummaryQuery;
use shopsync::alipay::ErrorClass;
use shopsync::sim::{FaultKind, FaultRule, Trigger};

use crate::client::{create_write, expect_class, Env, CREATE};
use crate::harness::{each_protocol, Setup};
use crate::support::pki;

pub const DOWNLOAD: &str = "alipay.open.app.alipaycert.download";

/// The simulator and a client in certificate mode on `setup`'s protocol.
async fn env(setup: Setup) -> Env {
    Env::start_in(setup.with_certs(), |_| {}).await
}

fn trusted(env: &Env) -> Vec<String> {
    env.gw
        .certificates()
        .expect("certificate mode")
        .trusted_sns()
}

async fn summary(env: &Env) -> Result<(), shopsync::alipay::AlipayError> {
    env.gw
        .summary_page(&SummaryQuery::default(), 1, 20)
        .await
        .map(|_| ())
}

async fn a_rotation_is_downloaded_once_however_many_answers_name_it(setup: Setup) {
    let env = env(setup).await;
    let first = env.sim.alipay_cert_sn().unwrap();
    summary(&env).await.unwrap();
    assert_eq!(
        env.calls(DOWNLOAD),
        0,
        "the configured certificate verifies"
    );
    assert_eq!(trusted(&env), vec![first.clone()]);

    assert!(env.sim.rotate_cert());
    let rotated = env.sim.alipay_cert_sn().unwrap();
    assert_ne!(rotated, first);
    assert_eq!(rotated, pki::leaf_sn(&pki::shared().rotated_chain_pem));
    // Eight answers under the new certificate at once: one download, all verified.
    let results = join_all((0..8).map(|_| summary(&env))).await;
    for r in results {
        r.unwrap();
    }
    assert_eq!(env.calls(DOWNLOAD), 1);
    assert_eq!(trusted(&env), vec![first, rotated]);
    // Writes verify under it too, with no further download.
    env.gw
        .shop_create(&create_write("ST-0001", "req0001"))
        .await
        .unwrap();
    assert_eq!(env.calls(DOWNLOAD), 1);
}

async fn until_the_download_succeeds_an_answer_under_the_new_certificate_is_not_data(setup: Setup) {
    let env = env(setup).await;
    env.sim.rotate_cert();
    let drop_download = || {
        env.sim.add_fault(FaultRule {
            method: Some(DOWNLOAD.into()),
            kind: FaultKind::DropBefore,
            trigger: Trigger::Next(1),
        })
    };
    // A read whose certificate could not be fetched is unverifiable, not data.
    drop_download();
    let err = expect_class(summary(&env).await, ErrorClass::Unverifiable);
    assert!(err.to_string().contains("not trusted"), "{err}");
    assert_eq!(err.sub_code, None, "nothing of the answer is used");
    // A write's answer the same: an unknown outcome, though Alipay applied it.
    drop_download();
    expect_class(
        env.gw
            .shop_create(&create_write("ST-0001", "req0001"))
            .await,
        ErrorClass::OutcomeUnknown,
    );
    assert_eq!(env.calls(CREATE), 1, "the write is not resent");
    assert_eq!(env.sim.orders().len(), 1);
    assert_eq!(trusted(&env).len(), 1, "nothing was trusted");
    // A failed download is not remembered: the next answer fetches it and verifies.
    summary(&env).await.unwrap();
    assert_eq!(env.calls(DOWNLOAD), 3);
    assert_eq!(trusted(&env).len(), 2);
}

async fn a_rotated_certificate_that_does_not_chain_is_refused_for_good(setup: Setup) {
    // Alipay's "new" certificate is issued by a CA the root bundle does not hold.
    let foreign = pki::foreign();
    let mode = pki::sim_mode(None);
    let env = Env::start_in(setup.with_certs(), move |c| {
        let mut mode = mode;
        mode.alipay.truncate(1);
        c.cert = Some(
            mode.with_rotation(
                &foreign.alipay_chain_pem,
                foreign.alipay_key.clone(),
                u64::MAX,
            )
            .unwrap(),
        );
    })
    .await;
    env.sim.rotate_cert();
    let err = expect_class(summary(&env).await, ErrorClass::Unverifiable);
    assert!(err.to_string().contains("does not chain"), "{err}");
    let err = expect_class(
        env.gw
            .shop_create(&create_write("ST-0001", "req0001"))
            .await,
        ErrorClass::OutcomeUnknown,
    );
    assert!(err.to_string().contains("does not chain"), "{err}");
    assert_eq!(env.calls(DOWNLOAD), 1, "a refusal is not asked again");
    assert_eq!(trusted(&env).len(), 1);
}

/// `Gateway::certificate_warnings()` (for the `certificate_expiring` alert) follows the
/// client's clock and covers the certificates downloaded after a rotation.
async fn certificate_warnings_follow_the_clock_and_the_rotation(setup: Setup) {
    let env = env(setup).await;
    assert!(env.gw.certificate_warnings().is_empty());
    env.sim.rotate_cert();
    summary(&env).await.unwrap();
    // The test PKI ends on 2045-01-01; 20 days before, every certificate in use warns.
    let now = env.sim.now();
    let target = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2044, 12, 12, 0, 0, 0).unwrap();
    env.clock.advance(target - now);
    let warnings: Vec<String> = env
        .gw
        .certificate_warnings()
        .iter()
        .map(ToString::to_string)
        .collect();
    let pki = pki::shared();
    let subject_of = |pem: &str| {
        shopsync::alipay::cert::Cert::parse_pem(pem, "x").unwrap()[0]
            .subject()
            .to_string()
    };
    // (what, its subject, words of its source: the file, or the download by SN)
    let rotated_sn = pki::leaf_sn(&pki.rotated_chain_pem);
    for (what, pem, source) in [
        ("app certificate", &pki.app_cert_pem, "app_cert"),
        ("Alipay certificate", &pki.alipay_chain_pem, "alipay_cert"),
        (
            "rotated Alipay certificate",
            &pki.rotated_chain_pem,
            rotated_sn.as_str(),
        ),
        ("root", &pki.root_pem, "alipay_root_cert"),
    ] {
        let subject = subject_of(pem);
        assert!(
            warnings
                .iter()
                .any(|w| w.contains(&subject) && w.contains(source) && w.contains("(in 20 days)")),
            "{what} ({subject}, {source}) in {warnings:#?}"
        );
    }
}

each_protocol!(
    certificate_warnings_follow_the_clock_and_the_rotation,
    a_rotation_is_downloaded_once_however_many_answers_name_it,
    until_the_download_succeeds_an_answer_under_the_new_certificate_is_not_data,
    a_rotated_certificate_that_does_not_chain_is_refused_for_good,
);
