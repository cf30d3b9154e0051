//! Property tests on bad input: the response-node extractor and verifier never panic and
//! never hand out tampered data; signed nodes with awkward strings extract exactly; a store
//! that passes our validation passes the simulator's synchronous checks too.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestRunner};
use serde_json::{Map, Value};
use shopsync::alipay::envelope::{self, Verification};
use shopsync::alipay::gateway::interpret;
use shopsync::alipay::koubei::ShopWrite;
use shopsync::alipay::ratelimit::RateLimiter;
use shopsync::alipay::sign::{SignKey, VerifyKey};
use shopsync::alipay::{Gateway, GatewayConfig};
use shopsync::record::{build_store, Field};

use crate::support::keys::test_keys;
use crate::support::sim::{start_sim, system_clock};

const METHOD: &str = "alipay.offline.market.shop.create";
const NODE: &str = "alipay_offline_market_shop_create_response";

fn alipay_keys() -> &'static (SignKey, VerifyKey) {
    static KEYS: std::sync::OnceLock<(SignKey, VerifyKey)> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let (_, _, alipay, alipay_pub) = test_keys();
        (alipay, alipay_pub)
    })
}

/// Strings full of JSON and envelope syntax: braces, quotes, backslashes, slashes, node
/// names, Chinese, control characters.
fn awkward_string() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("{".to_string()),
        Just("}".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("/".to_string()),
        Just("\\/".to_string()),
        Just(":".to_string()),
        Just(",".to_string()),
        Just(format!("\"{NODE}\":")),
        Just("\"sign\":\"".to_string()),
        Just("\"error_response\":{".to_string()),
        Just("门店".to_string()),
        Just("南京西路（静安）".to_string()),
        Just("\u{0}\n\t".to_string()),
        "[a-z0-9 ]{0,6}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(pieces, 0..10).prop_map(|v| v.concat())
}

/// A success node with the given extra string fields, as serde_json writes it.
fn node_text(values: &[(String, String)]) -> String {
    let mut map = Map::new();
    map.insert("code".into(), Value::from("10000"));
    map.insert("msg".into(), Value::from("Success"));
    for (i, (k, v)) in values.iter().enumerate() {
        map.insert(format!("k{i}_{k}"), Value::from(v.clone()));
    }
    Value::Object(map).to_string()
}

/// A body as Alipay sends it: the node, then the signature over the node text as signed.
fn signed_body(node_on_wire: &str, node_signed: &str) -> String {
    let sign = alipay_keys().0.sign(node_signed);
    format!("{{\"{NODE}\":{node_on_wire},\"sign\":\"{sign}\"}}")
}

/// Envelope syntax soup: mostly the characters the extractor cares about.
fn envelope_soup() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("{".to_string()),
        Just("}".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just(":".to_string()),
        Just(" ".to_string()),
        Just(format!("\"{NODE}\"")),
        Just("\"error_response\"".to_string()),
        Just("\"sign\"".to_string()),
        Just("\"code\":\"10000\"".to_string()),
        Just("店".to_string()),
    ];
    prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(RunnerConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400), write in any::<bool>()) {
        let _ = interpret(METHOD, &bytes, write, &alipay_keys().1);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            if let Ok(e) = envelope::extract(text, METHOD) {
                let _ = envelope::verify(&e, &alipay_keys().1);
            }
        }
    }

    #[test]
    fn envelope_soup_never_panics_and_is_never_valid(body in envelope_soup(), write in any::<bool>()) {
        if let Ok(e) = envelope::extract(&body, METHOD) {
            prop_assert!(body.contains(e.content));
            prop_assert_ne!(envelope::verify(&e, &alipay_keys().1), Verification::Valid);
        }
        prop_assert!(interpret(METHOD, body.as_bytes(), write, &alipay_keys().1).is_err());
    }
}

proptest! {
    #![proptest_config(RunnerConfig::with_cases(256))]

    #[test]
    fn signed_nodes_extract_exactly_and_verify(
        values in prop::collection::vec(("[a-z]{1,4}", awkward_string()), 0..5),
        escape_slashes in any::<bool>(),
    ) {
        let node = node_text(&values);
        // Alipay may escape `/` as `\/` on the wire while signing the unescaped text.
        let wire = if escape_slashes { node.replace('/', "\\/") } else { node.clone() };
        let body = signed_body(&wire, &node);
        let e = envelope::extract(&body, METHOD).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(e.content, wire.as_str());
        prop_assert_eq!(e.node.as_str(), NODE);
        prop_assert_eq!(envelope::verify(&e, &alipay_keys().1), Verification::Valid);
        let verified = interpret(METHOD, body.as_bytes(), true, &alipay_keys().1)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let parsed: Value = serde_json::from_str(&verified.node).unwrap();
        for (i, (k, v)) in values.iter().enumerate() {
            prop_assert_eq!(parsed[format!("k{i}_{k}")].as_str(), Some(v.as_str()));
        }
    }

    #[test]
    fn any_single_byte_change_in_the_node_is_rejected(
        values in prop::collection::vec(("[a-z]{1,4}", awkward_string()), 0..4),
        escape_slashes in any::<bool>(),
        at in any::<prop::sample::Index>(),
        new_byte in any::<u8>(),
    ) {
        let node = node_text(&values);
        let wire = if escape_slashes { node.replace('/', "\\/") } else { node.clone() };
        let body = signed_body(&wire, &node);
        let start = body.find(&wire).unwrap();
        let i = start + at.index(wire.len());
        let mut bytes = body.clone().into_bytes();
        prop_assume!(bytes[i] != new_byte);
        bytes[i] = new_byte;
        if let Ok(text) = std::str::from_utf8(&bytes) {
            if let Ok(e) = envelope::extract(text, METHOD) {
                prop_assert_ne!(envelope::verify(&e, &alipay_keys().1), Verification::Valid,
                    "tampered node verified: {}", text);
            }
        }
        for write in [false, true] {
            match interpret(METHOD, &bytes, write, &alipay_keys().1) {
                Ok(v) => return Err(TestCaseError::fail(format!("tampered body accepted: {}", v.node))),
                Err(e) => prop_assert!(!e.signed, "a tampered body counted as signed: {e:?}"),
            }
        }
    }
}

/// `(province, city, district, lng range, lat range)` of districts in the simulator's
/// area fixture, with rough coordinates of each city.
type Area = (
    &'static str,
    &'static str,
    &'static str,
    (u32, u32),
    (u32, u32),
);
const AREAS: [Area; 6] = [
    ("310000", "310100", "310106", (121, 122), (31, 32)),
    ("310000", "310100", "310115", (121, 122), (30, 31)),
    ("110000", "110100", "110105", (116, 117), (39, 40)),
    ("110000", "110100", "110108", (116, 117), (39, 40)),
    ("330000", "330100", "330106", (120, 121), (30, 31)),
    ("330000", "330100", "330182", (119, 120), (29, 30)),
];

/// Raw cells as a chain might export them: spacing, full-width forms, varied phone and
/// opening-hours spellings.
fn raw_store() -> impl Strategy<Value = Vec<(Field, String)>> {
    let name = "[ 　]{0,2}[鲜果坊门店A-Za-z0-9（）() ·]{1,24}[ 　]{0,2}";
    let address = "[ ]{0,2}[南京西路号弄栋楼层A-Za-z0-9#（）,\\-/ ]{1,60}";
    let phone = prop_oneof![
        "0[1-9][0-9]-[0-9]{8}",
        "1[3-9][0-9]{9}",
        "\\+86 ?1[3-9][0-9]{9}",
        "0[1-9][0-9]{1,2} [0-9]{7,8}",
        "1[3-9][0-9]{9}[,、/;]0[1-9][0-9]-[0-9]{8}",
        "[０-９]{11}",
    ];
    let time = prop_oneof![
        Just("周一-周日 09:00-22:00".to_string()),
        Just("09:00-21:00".to_string()),
        Just("周一至周五 08:30-20:00;周六~周日 10:00-22:00".to_string()),
        Just("星期一到星期五 07:00-19:00".to_string()),
        Just("周一-周五 09:00-18:00、周六 10:00-16:00".to_string()),
        Just("周一～周日 ０９:００-２２:００".to_string()),
        (0u32..24, 0u32..60, 0u32..24, 0u32..60)
            .prop_map(|(a, b, c, d)| format!("{a:02}:{b:02}-{c:02}:{d:02}")),
    ];
    let coord = |(lo, _hi): (u32, u32)| {
        (0u32..1_000_000, 0usize..8).prop_map(move |(f, digits)| {
            let frac = format!("{f:06}");
            if digits == 0 {
                format!("{lo}")
            } else {
                format!("{lo}.{}", &frac[..digits.min(6)])
            }
        })
    };
    (
        0..AREAS.len(),
        name,
        address,
        phone,
        time,
        1u32..2000,
        any::<bool>(),
    )
        .prop_flat_map(move |(a, branch, address, phone, time, price, wifi)| {
            let (p, c, d, lng, lat) = AREAS[a];
            (coord(lng), coord(lat)).prop_map(move |(lng, lat)| {
                vec![
                    (Field::CategoryId, "2015050700000018".to_string()),
                    (Field::BrandName, "鲜果坊".to_string()),
                    (Field::MainShopName, "鲜果坊".to_string()),
                    (Field::BranchShopName, branch.clone()),
                    (Field::ProvinceCode, p.to_string()),
                    (Field::CityCode, c.to_string()),
                    (Field::DistrictCode, d.to_string()),
                    (Field::Address, address.clone()),
                    (Field::Longitude, lng),
                    (Field::Latitude, lat),
                    (Field::ContactNumber, phone.clone()),
                    (Field::BusinessTime, time.clone()),
                    (Field::AvgPrice, format!("{price}元")),
                    (Field::Wifi, if wifi { "是" } else { "N" }.to_string()),
                    (
                        Field::MainImage,
                        "1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC".to_string(),
                    ),
                    (
                        Field::AuditImages,
                        "1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC，4Q8Pp00AT7eo9NoAJkMR3AAAACMAAUYT"
                            .to_string(),
                    ),
                ]
            })
        })
}

#[test]
fn what_passes_validation_passes_the_simulators_checks() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (app, _, _, alipay_pub) = test_keys();
    let sim = rt.block_on(start_sim(system_clock(), |_| {}));
    let gw = Gateway::new(
        GatewayConfig {
            url: sim.gateway_url(),
            app_id: sim.app_id().to_string(),
            app_auth_token: None,
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
        },
        app,
        alipay_pub,
        system_clock(),
        Arc::new(RateLimiter::unlimited()),
    )
    .unwrap();
    let next_id = AtomicU64::new(1);
    let (accepted, tried) = (AtomicU64::new(0), AtomicU64::new(0));
    let mut runner = TestRunner::new(RunnerConfig::with_cases(64));
    runner
        .run(&raw_store(), |values| {
            tried.fetch_add(1, Ordering::SeqCst);
            let store_id = format!("P-{}", next_id.fetch_add(1, Ordering::SeqCst));
            let Ok(store) = build_store(&store_id, 2, &values) else {
                return Ok(());
            };
            accepted.fetch_add(1, Ordering::SeqCst);
            let write = ShopWrite {
                store_id: Some(store.store_id.clone()),
                fields: store
                    .fields
                    .iter()
                    .map(|(f, v)| (f.name().to_string(), v.to_string()))
                    .collect(),
                request_id: shopsync::ids::RequestId::generate(),
                ..Default::default()
            };
            match rt.block_on(gw.shop_create(&write)) {
                Ok(_) => Ok(()),
                Err(e) => Err(TestCaseError::fail(format!(
                    "validated store refused by the simulator: {e} ({:?})\nfields: {:?}",
                    e.sub_code, store.fields
                ))),
            }
        })
        .unwrap();
    // The generator must mostly produce valid stores, or the property says little.
    let (accepted, tried) = (accepted.into_inner(), tried.into_inner());
    assert!(
        accepted * 2 >= tried,
        "only {accepted} of {tried} generated stores validated"
    );
    rt.block_on(sim.shutdown());
}
