//! The simulator's response and network faults, classified by the real client: one table,
//! a row per (fault kind, method), each row on a fresh simulator and client.
//!
//! A row says what the client must answer (an error of these classes, or data), whether
//! the write happened on the simulated Alipay (`applied`, counted from its orders), and
//! what else must hold (`then`). docs/protocol.md §6.4 gives the classes; §8.7 the faults.

use std::time::{Duration, Instant};

use shopsync::alipay::koubei::{ShopDetail, SummaryQuery};
use shopsync::alipay::{AlipayError, ErrorClass, Gateway};
use shopsync::sim::FaultKind;

use super::{create_write, seed_fields, ClientOpts, Env, CREATE, DETAIL, SUMMARY};
use crate::harness::{each_mode, Setup};

use ErrorClass::{OutcomeUnknown, Transport, Unverifiable};

/// The call a row makes, with the fault set on its method.
#[derive(Debug, Clone, Copy)]
enum Call {
    /// summary.batchquery, page 1 of 20, on an empty account.
    Summary,
    /// summary.batchquery, page 1 of 20, with one shop (`ST-0009`) listed.
    SummaryOfOneShop,
    /// shop.create of `ST-0001` (request id `req0001`).
    Create,
    /// querydetail of a shop id the simulator never issued.
    DetailOfUnknownShop,
    /// querydetail of a seeded shop (`ST-0001`).
    DetailOfSeededShop,
}

/// What the call must return.
#[derive(Debug)]
enum Expect {
    /// An error of one of these classes.
    Error(&'static [ErrorClass]),
    /// Verified data.
    Data,
}

/// What else a row checks once the call returned.
#[derive(Debug)]
enum Then {
    /// The error body carried a signature that verified.
    Signed,
    /// It did not.
    Unsigned,
    /// The error's text contains this.
    Says(&'static str),
    Code(&'static str),
    SubCode(&'static str),
    /// The fault was one-shot: the same call again is verified data.
    NextCallVerifies,
    /// The simulator received the write once: the client never resends a write.
    SentOnce,
    /// The client gave up at its own (300 ms) timeout, not at the server's 2 s hold.
    GaveUpAtItsOwnTimeout,
    /// The detail carries `://` in `pic_coll` (slashes really were escaped on the wire) and
    /// the seeded store id.
    DetailCarriesSlashesAndStoreId,
}

/// The client of a row.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Client {
    /// The default client (10 s request timeout).
    Default,
    /// A client with a 300 ms request timeout, against a simulator that holds a connection
    /// for 2 s.
    ShortTimeout,
}

struct Case {
    name: &'static str,
    fault: FaultKind,
    call: Call,
    client: Client,
    expect: Expect,
    /// Whether the simulator holds an order for the written store afterwards.
    applied: Option<bool>,
    then: &'static [Then],
}

fn cases() -> Vec<Case> {
    use Call::*;
    use Then::*;
    let case = |name, fault, call, expect, applied, then| Case {
        name,
        fault,
        call,
        client: Client::Default,
        expect,
        applied,
        then,
    };
    vec![
        // A forged signature: unverifiable for a read, unknown for a write.
        case(
            "a forged answer signature makes a read unverifiable, once",
            FaultKind::BadSignature,
            Summary,
            Expect::Error(&[Unverifiable]),
            None,
            &[Unsigned, NextCallVerifies],
        ),
        case(
            "a forged answer signature leaves a write unknown, though it happened",
            FaultKind::BadSignature,
            Create,
            Expect::Error(&[OutcomeUnknown]),
            Some(true),
            &[],
        ),
        // An unsigned success is never data.
        case(
            "an unsigned success is never data for a read",
            FaultKind::UnsignedSuccess,
            Summary,
            Expect::Error(&[Unverifiable]),
            None,
            &[Says("without a signature")],
        ),
        case(
            "an unsigned success leaves a write unknown",
            FaultKind::UnsignedSuccess,
            Create,
            Expect::Error(&[OutcomeUnknown]),
            None,
            &[],
        ),
        // An answer signed with another key.
        case(
            "an answer signed with a wrong key makes a read unverifiable",
            FaultKind::WrongKey,
            Summary,
            Expect::Error(&[Unverifiable]),
            None,
            &[],
        ),
        case(
            "an answer signed with a wrong key leaves a write unknown",
            FaultKind::WrongKey,
            Create,
            Expect::Error(&[OutcomeUnknown]),
            None,
            &[],
        ),
        // 20000: outcome unknown for writes, a transport error for reads.
        case(
            "a signed 20000 after applying leaves a write unknown",
            FaultKind::UnknownErrorApplied,
            Create,
            Expect::Error(&[OutcomeUnknown]),
            Some(true),
            &[Code("20000"), SubCode("isp.unknow-error"), Signed],
        ),
        case(
            "a 20000 without applying leaves a write unknown",
            FaultKind::UnknownErrorNotApplied,
            Create,
            Expect::Error(&[OutcomeUnknown]),
            Some(false),
            &[Code("20000")],
        ),
        case(
            "a 20000 on a read is a transport error",
            FaultKind::UnknownErrorNotApplied,
            Summary,
            Expect::Error(&[Transport]),
            None,
            &[Code("20000")],
        ),
        // SYSTEM_ERROR: outcome unknown for writes.
        case(
            "SHOP_CREATE_SYSTEM_ERROR leaves a write unknown",
            FaultKind::SystemError { applied: true },
            Create,
            Expect::Error(&[OutcomeUnknown]),
            None,
            &[SubCode("SHOP_CREATE_SYSTEM_ERROR")],
        ),
        case(
            "SYSTEM_ERROR on a read is a transport error",
            FaultKind::SystemError { applied: false },
            DetailOfUnknownShop,
            Expect::Error(&[Transport]),
            None,
            &[],
        ),
        // Dropped connections.
        case(
            "a connection dropped before applying leaves a write unknown",
            FaultKind::DropBefore,
            Create,
            Expect::Error(&[OutcomeUnknown]),
            Some(false),
            &[],
        ),
        case(
            "a connection dropped after applying leaves a write unknown and it is not resent",
            FaultKind::DropAfter,
            Create,
            Expect::Error(&[OutcomeUnknown]),
            Some(true),
            &[SentOnce],
        ),
        case(
            "a dropped connection on a read is a transport error",
            FaultKind::DropBefore,
            Summary,
            Expect::Error(&[Transport]),
            None,
            &[],
        ),
        // A truncated body is never data.
        case(
            "a truncated answer to a read is never data",
            FaultKind::TruncatedBody { keep: 20 },
            SummaryOfOneShop,
            Expect::Error(&[Transport, Unverifiable]),
            None,
            &[],
        ),
        case(
            "a truncated answer to a write leaves it unknown, though it happened",
            FaultKind::TruncatedBody { keep: 20 },
            Create,
            Expect::Error(&[OutcomeUnknown]),
            Some(true),
            &[],
        ),
        // A gateway 502 HTML page.
        case(
            "a 502 HTML page on a read is a transport error naming the status",
            FaultKind::Gateway5xx,
            Summary,
            Expect::Error(&[Transport]),
            None,
            &[Says("502")],
        ),
        case(
            "a 502 HTML page on a write leaves it unknown",
            FaultKind::Gateway5xx,
            Create,
            Expect::Error(&[OutcomeUnknown]),
            None,
            &[],
        ),
        // A held connection: the client's own timeout ends the call.
        Case {
            client: Client::ShortTimeout,
            ..case(
                "a timeout leaves a write unknown, at the client's own timeout",
                FaultKind::TimeoutBefore,
                Create,
                Expect::Error(&[OutcomeUnknown]),
                None,
                &[GaveUpAtItsOwnTimeout],
            )
        },
        // `\/` in the body while the signature covers `/` (docs/protocol.md §2.6 step 5).
        case(
            "escaped slashes still verify",
            FaultKind::EscapedSlashes,
            DetailOfSeededShop,
            Expect::Data,
            None,
            &[DetailCarriesSlashesAndStoreId],
        ),
    ]
}

/// What a call returned, kept for the checks.
#[derive(Debug)]
enum Answer {
    Summary,
    Created,
    Detail(ShopDetail),
}

/// The method a call's fault is set on.
fn method(call: Call) -> &'static str {
    match call {
        Call::Summary | Call::SummaryOfOneShop => SUMMARY,
        Call::Create => CREATE,
        Call::DetailOfUnknownShop | Call::DetailOfSeededShop => DETAIL,
    }
}

/// Orders the simulator holds for `store_id` (did the write happen?).
fn orders_for(env: &Env, store_id: &str) -> usize {
    env.sim
        .orders()
        .iter()
        .filter(|o| o.store_id == store_id)
        .count()
}

/// Make `call` (`shop`: the seeded shop's id, when the call needs one).
async fn call(gw: &Gateway, call: Call, shop: Option<&str>) -> Result<Answer, AlipayError> {
    match call {
        Call::Summary | Call::SummaryOfOneShop => gw
            .summary_page(&SummaryQuery::default(), 1, 20)
            .await
            .map(|_| Answer::Summary),
        Call::Create => gw
            .shop_create(&create_write("ST-0001", "req0001"))
            .await
            .map(|_| Answer::Created),
        Call::DetailOfUnknownShop => gw
            .shop_querydetail(&"2026000000000000".into(), None)
            .await
            .map(Answer::Detail),
        Call::DetailOfSeededShop => {
            let shop_id = shop.expect("a seeded shop").to_string();
            gw.shop_querydetail(&shop_id.into(), None)
                .await
                .map(Answer::Detail)
        }
    }
}

async fn run(case: &Case, setup: Setup) {
    let name = case.name;
    let env = match case.client {
        Client::Default => Env::start_in(setup, |_| {}).await,
        Client::ShortTimeout => {
            Env::start_in(setup, |c| c.hold_timeout = Duration::from_secs(2)).await
        }
    };
    let gw = match case.client {
        Client::Default => env.gw.clone(),
        Client::ShortTimeout => env.client(ClientOpts {
            request_timeout: Duration::from_millis(300),
            ..ClientOpts::default()
        }),
    };
    let shop = match case.call {
        Call::SummaryOfOneShop => Some(env.sim.seed_shop("ST-0009", seed_fields(9))),
        Call::DetailOfSeededShop => Some(env.sim.seed_shop("ST-0001", seed_fields(1))),
        _ => None,
    };
    env.fault(method(case.call), case.fault.clone());
    let started = Instant::now();
    let result = call(&gw, case.call, shop.as_deref()).await;
    let elapsed = started.elapsed();

    let (err, answer) = match (&case.expect, result) {
        (Expect::Error(classes), Err(e)) => {
            assert!(
                classes.contains(&e.class),
                "{name}: expected one of {classes:?}, got {e:?}"
            );
            (Some(e), None)
        }
        (Expect::Error(classes), Ok(v)) => {
            panic!("{name}: expected a {classes:?} error, got Ok({v:?})")
        }
        (Expect::Data, Ok(v)) => (None, Some(v)),
        (Expect::Data, Err(e)) => panic!("{name}: expected data, got {e:?}"),
    };
    if let Some(applied) = case.applied {
        let want = usize::from(applied);
        assert_eq!(
            orders_for(&env, "ST-0001"),
            want,
            "{name}: applied = {applied}"
        );
    }
    let err = || err.as_ref().unwrap_or_else(|| panic!("{name}: no error"));
    for then in case.then {
        match then {
            Then::Signed => assert!(err().signed, "{name}: signed"),
            Then::Unsigned => assert!(!err().signed, "{name}: not signed"),
            Then::Says(text) => {
                assert!(err().to_string().contains(text), "{name}: {}", err())
            }
            Then::Code(code) => assert_eq!(err().code.as_deref(), Some(*code), "{name}"),
            // Compared as the client compares (prefix, case, `-`/`_`): v3 sends the
            // gateway codes without `isv.`/`isp.`.
            Then::SubCode(sub) => assert!(err().is(sub), "{name}: {}", err()),
            Then::NextCallVerifies => {
                call(&gw, case.call, shop.as_deref())
                    .await
                    .unwrap_or_else(|e| panic!("{name}: the next answer verifies: {e:?}"));
            }
            Then::SentOnce => assert_eq!(
                env.calls(method(case.call)),
                1,
                "{name}: the client never resends a write"
            ),
            Then::GaveUpAtItsOwnTimeout => assert!(
                elapsed < Duration::from_millis(1500),
                "{name}: the client gave up at its own timeout, not the server's hold ({elapsed:?})"
            ),
            Then::DetailCarriesSlashesAndStoreId => {
                let Some(Answer::Detail(detail)) = &answer else {
                    panic!("{name}: expected a detail, got {answer:?}");
                };
                let pic_coll = detail.fields.get("pic_coll").expect("pic_coll");
                assert!(
                    pic_coll.contains("://"),
                    "{name}: the answer carried slashes: {pic_coll}"
                );
                assert_eq!(detail.store_id.as_deref(), Some("ST-0001"), "{name}");
            }
        }
    }
    env.sim.shutdown().await;
}

async fn every_fault_is_classified_as_its_row_says(setup: Setup) {
    for case in cases() {
        run(&case, setup).await;
    }
}

each_mode!(every_fault_is_classified_as_its_row_says,);
