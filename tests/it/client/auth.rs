//! The app_auth_token travels with every call, and never shows in Debug or error text.

use shopsync::alipay::koubei::SummaryQuery;
use shopsync::alipay::ErrorClass;

use super::{create_write, expect_class, seed_fields, ClientOpts, Env};
use crate::harness::{each_mode, Setup};

const TOKEN: &str = "202611BB0123456789abcdef0123456789ab";
const WRONG: &str = "202611BBffffffffffffffffffffffffffff";

async fn the_token_selects_the_merchant_and_a_wrong_one_is_refused(setup: Setup) {
    let env = Env::start_in(setup, |c| c.app_auth_tokens = vec![TOKEN.into()]).await;
    // Seeded shops belong to the merchant the token acts for.
    let shop_id = env.sim.seed_shop("ST-0001", seed_fields(1));
    let with = env.client(ClientOpts {
        token: Some(TOKEN.into()),
        ..ClientOpts::default()
    });
    let wrong = env.client(ClientOpts {
        token: Some(WRONG.into()),
        ..ClientOpts::default()
    });
    let without = &env.gw;

    let page = with
        .summary_page(&SummaryQuery::default(), 1, 20)
        .await
        .unwrap();
    assert_eq!(page.shop_summary_infos.len(), 1);
    assert_eq!(page.shop_summary_infos[0].shop_id, shop_id);
    let detail = with
        .shop_querydetail(&shop_id.clone().into(), None)
        .await
        .unwrap();
    assert_eq!(detail.store_id.as_deref(), Some("ST-0001"));

    let err_read = expect_class(
        wrong.summary_page(&SummaryQuery::default(), 1, 20).await,
        ErrorClass::Config,
    );
    assert_eq!(err_read.code.as_deref(), Some("20001"));
    assert!(err_read.is("invalid-app-auth-token"), "{err_read}");
    // Classic answers request-check errors unsigned (docs/protocol.md §2.5); v3 signs every
    // answer to a request whose signature verified, errors included (§3).
    assert_eq!(err_read.signed, env.is_v3(), "{err_read}");
    let err_write = expect_class(
        wrong.shop_create(&create_write("ST-0002", "req0002")).await,
        ErrorClass::Config,
    );
    assert!(
        env.sim.orders().is_empty(),
        "a refused token creates nothing"
    );

    // Without a token the call acts on the app's own merchant (docs/protocol.md §8.1): it does
    // not see the authorising merchant's shops.
    let page = without
        .summary_page(&SummaryQuery::default(), 1, 20)
        .await
        .unwrap();
    assert!(page.shop_summary_infos.is_empty());
    let err = expect_class(
        without
            .shop_querydetail(&shop_id.clone().into(), None)
            .await,
        ErrorClass::Business,
    );
    assert!(err.is("INVALID_SHOPID"), "{err}");

    // The token never prints.
    for gw in [&with, &wrong] {
        let debug = format!("{gw:?}");
        assert!(!debug.contains("202611BB"), "{debug}");
    }
    for e in [&err_read, &err_write] {
        for text in [e.to_string(), format!("{e:?}")] {
            assert!(!text.contains(TOKEN) && !text.contains(WRONG), "{text}");
        }
    }
}

async fn a_token_the_simulator_does_not_know_is_refused_on_every_method(setup: Setup) {
    let env = Env::start_in(setup, |_| {}).await;
    let gw = env.client(ClientOpts {
        token: Some(TOKEN.into()),
        ..ClientOpts::default()
    });
    for result in [
        gw.shop_batchquery(1).await.map(|_| ()),
        gw.category_query(None).await.map(|_| ()),
        gw.applyorder_batchquery(&["1".into()]).await.map(|_| ()),
    ] {
        let err = expect_class(result, ErrorClass::Config);
        assert_eq!(err.code.as_deref(), Some("20001"));
    }
}

each_mode!(
    the_token_selects_the_merchant_and_a_wrong_one_is_refused,
    a_token_the_simulator_does_not_know_is_refused_on_every_method,
);
