//! A sync in certificate mode, on both protocols, with Alipay rotating its certificate in
//! the middle of it: the new certificate is downloaded once, chained, kept in the audit
//! database, and the next run (a new process) trusts it from there without downloading it
//! again.

use shopsync::alipay::CertStore;
use shopsync::exit::Exit;
use shopsync::sync::RunOptions;

use super::live::DOWNLOAD;
use crate::harness::{each_protocol, Harness, Options, Setup};
use crate::support::export::csv_of;
use crate::support::pki;

const STORES: usize = 12;

async fn a_rotation_in_the_middle_of_a_sync_is_followed_and_kept(setup: Setup) {
    let h = Harness::start(Options {
        setup: Setup {
            // Listing, then a few creates under the first certificate; the rest after.
            rotate_after: Some(5),
            ..setup.with_certs()
        },
        csv: csv_of(STORES),
        ..Default::default()
    })
    .await;
    let first_sn = h.sim.alipay_cert_sn().unwrap();
    let rotated_sn = pki::leaf_sn(&pki::shared().rotated_chain_pem);
    assert_eq!(h.ctx.gateway.protocol(), setup.protocol);

    let first = h.sync().await;
    assert_eq!(first.exit, Exit::Ok, "{:?}", first.message);
    assert_eq!(first.summary.created, STORES as u64, "{:?}", first.summary);
    assert_eq!(first.summary.unknown, 0, "{:?}", first.summary);
    assert_eq!(h.sim.alipay_cert_sn().as_deref(), Some(rotated_sn.as_str()));
    assert_eq!(h.sim.call_counts().get(DOWNLOAD), Some(&1));
    assert_eq!(
        h.ctx.gateway.certificates().unwrap().trusted_sns(),
        vec![first_sn.clone(), rotated_sn.clone()]
    );
    // Kept by SN in the audit database, as downloaded (leaf first).
    let kept = h.ctx.db.kept_certs("2021000000000001").unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].sn, rotated_sn);
    assert_eq!(kept[0].pem, pki::shared().rotated_chain_pem);

    // The next run is a new process: it trusts the kept certificate before any call.
    h.finish_audits();
    let next = h.next_context().await;
    assert_eq!(
        next.gateway.certificates().unwrap().trusted_sns(),
        vec![first_sn, rotated_sn]
    );
    let second = next
        .run(&RunOptions {
            apply: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(second.exit, Exit::Ok, "{:?}", second.message);
    assert_eq!(
        second.summary.unchanged, STORES as u64,
        "{:?}",
        second.summary
    );
    assert_eq!(
        h.sim.call_counts().get(DOWNLOAD),
        Some(&1),
        "not downloaded again"
    );
    assert!(h.shops_per_store().values().all(|n| *n == 1));
}

each_protocol!(a_rotation_in_the_middle_of_a_sync_is_followed_and_kept);
