//! Field normalisation rules, build_store, and property tests over both.

use proptest::prelude::*;
use shopsync::record::{build_store, normalise, Field};

#[test]
fn normalise_accepts_the_documented_variants() {
    let ok = |f: Field, raw: &str, want: &str| {
        assert_eq!(normalise(f, raw), Ok(Some(want.to_string())), "{f} {raw:?}");
    };
    ok(Field::AvgPrice, "35", "35");
    ok(Field::AvgPrice, " 35.00 ", "35");
    ok(Field::AvgPrice, "¥35", "35");
    ok(Field::AvgPrice, "￥35", "35");
    ok(Field::AvgPrice, "35元", "35");
    ok(Field::AvgPrice, "０３５", "35");
    ok(Field::Longitude, "+121.4700", "121.47");
    ok(Field::Longitude, "121.", "121");
    ok(Field::Longitude, "１２１．５", "121.5");
    ok(Field::Latitude, "54", "54");
    ok(
        Field::ContactNumber,
        "０２１－６２８８１２３４",
        "021-62881234",
    );
    ok(
        Field::ContactNumber,
        "021—62881234；13900000000",
        "021-62881234,13900000000",
    );
    ok(
        Field::ContactNumber,
        "021-62881234 / 139 , +8613900000000",
        "021-62881234,139,+8613900000000",
    );
    ok(
        Field::NotifyMobile,
        "13900000000、13900000001",
        "13900000000,13900000001",
    );
    ok(Field::BusinessTime, "9:00-22:00", "09:00-22:00");
    ok(
        Field::BusinessTime,
        "周一至周五 9：00～20：00；周六-周日 10:00~22:00",
        "周一-周五 09:00-20:00,周六-周日 10:00-22:00",
    );
    ok(
        Field::BusinessTime,
        "星期六-星期天 10:00-22:00,星期一-星期五 9:00-20:00",
        "周一-周五 09:00-20:00,周六-周日 10:00-22:00",
    );
    ok(Field::BusinessTime, "周三 08:00—12:00", "周三 08:00-12:00");
    ok(
        Field::BusinessTime,
        "周一-周日 00:00-23:59",
        "周一-周日 00:00-23:59",
    );
    ok(Field::Wifi, "yes", "T");
    ok(Field::Parking, "无", "F");
    ok(Field::Box, "Ｙ", "T");
    ok(Field::NoSmoking, "0", "F");
    ok(Field::IsOperatingOnline, "TRUE", "T");
    ok(Field::AuditImages, "a1, b_2，c-3", "a1,b_2,c-3");
    ok(Field::LicenceExpires, "2030/6/3", "2030-06-03");
    ok(Field::BusinessCertificateExpires, "长期", "长期");
    ok(Field::ProvinceCode, "３１００００", "310000");
    ok(Field::Address, "  南京西路\n 1266号 ", "南京西路 1266号");
    ok(Field::BranchShopName, "南京西路店", "南京西路店");
    ok(Field::MainShopName, "鲜果坊", "鲜果坊");
    ok(Field::IsvUid, "2088102146225135", "2088102146225135");
    ok(
        Field::LicenceCode,
        "91310000MA1K4XYZ2B",
        "91310000MA1K4XYZ2B",
    );
    ok(Field::ImplementId, "POS001; POS002", "POS001,POS002");
    assert_eq!(normalise(Field::Address, "   "), Ok(None));

    let err = |f: Field, raw: &str| {
        assert!(normalise(f, raw).is_err(), "{f} {raw:?} must be rejected");
    };
    err(Field::AvgPrice, "35.5");
    err(Field::AvgPrice, "-3");
    err(Field::Longitude, "1.2e2");
    err(Field::Longitude, "136.0001");
    err(Field::Longitude, "-121.5");
    err(Field::Latitude, "2.99999");
    err(Field::ContactNumber, "021-6288(1234)");
    err(Field::BusinessTime, "周一-周日 09:00-09:00");
    err(Field::BusinessTime, "09:00-20:00,周六 10:00-12:00");
    err(Field::BusinessTime, "周八 09:00-20:00");
    err(Field::BusinessTime, "周一-周日 9:0-20:00");
    err(Field::MainShopName, "鲜果坊【南京路店】");
    err(Field::MainShopName, "鲜果坊[南京路店]");
    err(Field::MainShopName, "鲜果坊<南京路店>");
    err(Field::MainShopName, "鲜果坊(南京路店)");
    err(Field::CityCode, "310000");
    err(Field::DistrictCode, "3101");
    err(Field::LicenceExpires, "2030-13-01");
    err(Field::Wifi, "有时");
}

#[test]
fn build_store_checks_required_fields_and_areas() {
    let v = |pairs: &[(Field, &str)]| -> Vec<(Field, String)> {
        pairs.iter().map(|(f, s)| (*f, s.to_string())).collect()
    };
    let err = build_store("S1", 7, &v(&[(Field::ContactNumber, "1")])).unwrap_err();
    let missing: Vec<Field> = err.iter().filter_map(|(f, _)| *f).collect();
    assert!(missing.contains(&Field::CategoryId) && missing.contains(&Field::AuditImages));
    assert!(!missing.contains(&Field::ContactNumber));

    let base = [
        (Field::CategoryId, "2015050700000018"),
        (Field::MainShopName, "鲜果坊"),
        (Field::ProvinceCode, "330000"),
        (Field::CityCode, "330100"),
        (Field::DistrictCode, "310106"),
        (Field::Address, "文三路478号"),
        (Field::Longitude, "120.13"),
        (Field::Latitude, "30.27"),
        (Field::ContactNumber, "0571-88211212"),
        (Field::MainImage, "img1"),
        (Field::AuditImages, "img1,img2"),
    ];
    let err = build_store("S1", 7, &v(&base)).unwrap_err();
    assert_eq!(err.len(), 1);
    assert_eq!(err[0].0, Some(Field::DistrictCode));
    let mut good = v(&base);
    good[4].1 = "330106".into();
    let s = build_store(" S1 ", 7, &good).expect("valid");
    assert_eq!((s.store_id.as_str(), s.line, s.fields.len()), ("S1", 7, 11));
    assert!(build_store("", 7, &good).is_err());
}

#[test]
fn expiry_dates_compare_as_dates() {
    use shopsync::record::expires_before;
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    assert!(expires_before("2026-11-24", day));
    assert!(!expires_before("2026-11-25", day));
    assert!(!expires_before("长期", day));
}

fn any_field() -> impl Strategy<Value = Field> {
    (0..Field::ALL.len()).prop_map(|i| Field::ALL[i])
}

/// Strings made of the pieces the rules care about, so the accepting paths are exercised.
fn near_valid() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "0",
        "1",
        "2",
        "3",
        "5",
        "9",
        "12",
        "31",
        "2088",
        "0000",
        "00",
        ".",
        "-",
        "+",
        ",",
        "，",
        "、",
        ";",
        "/",
        " ",
        "　",
        ":",
        "：",
        "~",
        "至",
        "周一",
        "周五",
        "周六",
        "周日",
        "星期三",
        "店",
        "(",
        "）",
        "¥",
        "元",
        "T",
        "f",
        "是",
        "无",
        "长期",
        "abc",
        "_",
        "\n",
        "#EMPTY#",
        "０",
        "：",
        "－",
        "—",
    ]);
    prop::collection::vec(pieces, 0..12).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn normalise_never_panics_and_is_idempotent(field in any_field(), raw in prop_oneof![any::<String>(), near_valid()]) {
        if let Ok(Some(once)) = normalise(field, &raw) {
            prop_assert_eq!(normalise(field, &once), Ok(Some(once.clone())), "{} {:?}", field, raw);
        }
    }

    #[test]
    fn normalise_is_idempotent_on_valid_shapes(
        h1 in 0u32..24, m1 in 0u32..60, h2 in 0u32..24, m2 in 0u32..60,
        d in 0usize..7, lng in 73u32..136, frac in 0u32..100000,
    ) {
        let days = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
        let raw = format!("{}-周日 {h1}:{m1:02}-{h2}:{m2:02}", days[d]);
        let once = normalise(Field::BusinessTime, &raw);
        if (h1, m1) != (h2, m2) {
            let once = once.expect("valid business_time").expect("present");
            prop_assert_eq!(normalise(Field::BusinessTime, &once), Ok(Some(once.clone())));
        }
        let coord = format!("+{lng}.{frac:05}");
        let c = normalise(Field::Longitude, &coord).expect("valid").expect("present");
        prop_assert_eq!(normalise(Field::Longitude, &c), Ok(Some(c.clone())));
    }

    #[test]
    fn build_store_never_panics(
        id in any::<String>(),
        values in prop::collection::vec((any_field(), prop_oneof![any::<String>(), near_valid()]), 0..12),
    ) {
        if let Ok(store) = build_store(&id, 1, &values) {
            for (f, v) in store.fields.iter() {
                prop_assert_eq!(normalise(f, v), Ok(Some(v.to_string())));
            }
        }
    }
}
