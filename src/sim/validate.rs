//! The synchronous checks of create/modify (§8.4), in [`Check`] order, over the simulator's
//! own rule table. The first failing check answers `40004` with its code.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};

use super::api::Refusal;
use super::audit_rules::{self, has_licence};
use super::config::{SimConfig, Stage};
use super::fixtures::{category, AREAS, PRELOADED_IMAGES};
use super::ids;
use super::records::SimShop;
use super::rules::{self, get, list, Check, Format, Kind, OnCreate, OnModify, EMPTY};
use super::state::State;
use crate::alipay::timestamp::china;

/// The string business parameters of a `biz_content`: strings as they are, numbers as
/// their text, empty strings dropped (they count as absent). `None` when a field of the
/// table or a bookkeeping parameter holds another JSON type; unknown keys are ignored.
pub fn string_params(
    biz: &serde_json::Map<String, serde_json::Value>,
) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (k, v) in biz {
        let s = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Null => continue,
            _ => {
                if rules::field(k).is_some() || rules::BOOKKEEPING.contains(&k.as_str()) {
                    return None;
                }
                continue;
            }
        };
        if !s.is_empty() {
            out.insert(k.clone(), s);
        }
    }
    Some(out)
}

/// What the checks read besides the request.
pub struct Ctx<'a> {
    pub cfg: &'a SimConfig,
    pub state: &'a State,
    pub merchant: &'a str,
    pub now: DateTime<Utc>,
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// The present values of every field of the table with this format.
fn values_of<'a>(
    p: &'a BTreeMap<String, String>,
    keep: impl Fn(Format) -> bool + 'a,
) -> impl Iterator<Item = (&'static str, &'a str)> + 'a {
    rules::FIELDS
        .iter()
        .filter(move |r| keep(r.format))
        .filter_map(move |r| get(p, r.name).map(|v| (r.name, v)))
}

fn refuse(check: Check, kind: Kind) -> Refusal {
    Refusal::new(check.code(kind))
}

/// Validate a create or modify.
pub fn validate(kind: Kind, p: &BTreeMap<String, String>, ctx: &Ctx<'_>) -> Result<(), Refusal> {
    let fail = |check: Check| Err(refuse(check, kind));
    let request_id = p.get("request_id").map(String::as_str).unwrap_or("");
    if request_id.is_empty() || !request_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return fail(Check::RequestIdFormat);
    }
    if ctx.state.request_ids.contains(request_id) {
        return fail(Check::RequestIdRepeat);
    }
    let shop = match kind {
        Kind::Modify => Some(modify_target(p, ctx)?),
        Kind::Create => None,
    };
    for (k, v) in p {
        if v == EMPTY {
            let clearable = rules::field(k).is_some_and(|r| r.clearable);
            if kind == Kind::Create || !clearable {
                return fail(Check::EmptyMarker);
            }
        }
    }
    let store_id = p.get("store_id").map(String::as_str);
    match store_id {
        None if kind == Kind::Create => return fail(Check::StoreIdRule),
        Some(s) if chars(s) > 32 => return fail(Check::StoreIdRule),
        _ => {}
    }
    if let Some(sid) = store_id {
        if store_id_taken(sid, shop, ctx) {
            return fail(Check::StoreIdTaken);
        }
    }
    if kind == Kind::Create {
        let missing = rules::FIELDS
            .iter()
            .filter(|r| r.on_create == OnCreate::Required)
            // Area codes answer AREA_CAN_NOT_NULL, the store code OUT_SHOP_ID_RULE_ERROR.
            .filter(|r| !matches!(r.format, Format::Area | Format::StoreCode))
            .any(|r| get(p, r.name).is_none());
        if missing {
            return fail(Check::Required);
        }
    }
    check_area(kind, p, shop, ctx.cfg)?;
    if kind == Kind::Create {
        let leaf = get(p, "category_id")
            .and_then(category)
            .is_some_and(|c| c.leaf);
        if !leaf {
            return fail(Check::Category);
        }
    }
    if let Some(check) = audit_rules::failing_at(Stage::Sync, kind, p, ctx.cfg) {
        return fail(check);
    }
    check_formats(kind, p, ctx.now)?;
    if kind == Kind::Create && ctx.cfg.rules.licence_required == Stage::Sync && !has_licence(p) {
        return fail(Check::LicenceRequired);
    }
    for (name, v) in values_of(p, |f| matches!(f, Format::Image | Format::Images)) {
        if let Some(id) = list(v).find(|id| !image_known(ctx, id)) {
            return Err(Refusal::with_msg(
                Check::UnknownImage.code(kind),
                format!("参数不合法：{name} 中的图片 {id} 不存在，请先调用图片上传接口"),
            ));
        }
    }
    if let Some(v) = get(p, "implement_id") {
        let own = shop.map(|s| s.shop_id.as_str());
        let mine: BTreeSet<&str> = list(v).collect();
        let used = mine
            .iter()
            .any(|d| ctx.state.shops_with_device(d).any(|id| Some(id) != own));
        if used {
            return fail(Check::ImplementIdTaken);
        }
    }
    for name in rules::SCREENED {
        if let Some(v) = get(p, name) {
            let words = &ctx.cfg.forbidden_words;
            if words
                .iter()
                .any(|w| !w.is_empty() && v.contains(w.as_str()))
            {
                return fail(Check::ForbiddenWord);
            }
        }
    }
    Ok(())
}

/// An image id the merchant may name: issued to it by image.upload; any well-formed id
/// with `accept_image_ids`; the two official example ids with `preload_example_images`.
fn image_known(ctx: &Ctx<'_>, id: &str) -> bool {
    ctx.state.image_issued(ctx.merchant, id)
        || (ctx.cfg.accept_image_ids && ids::well_formed_image_id(id))
        || (ctx.cfg.preload_example_images && PRELOADED_IMAGES.contains(&id))
}

/// The modify checks on the target shop: it exists for this merchant, its status allows a
/// modify, no review is pending, and no immutable field changes.
fn modify_target<'a>(p: &BTreeMap<String, String>, ctx: &Ctx<'a>) -> Result<&'a SimShop, Refusal> {
    let id = p.get("shop_id").map(String::as_str).unwrap_or("");
    let kind = Kind::Modify;
    let Some(shop) = ctx.state.shop(id).filter(|s| s.merchant_id == ctx.merchant) else {
        return Err(refuse(Check::ShopUnknown, kind));
    };
    if shop.status == "FREEZE" || shop.status == "CLOSE" {
        return Err(refuse(Check::ShopStatus, kind));
    }
    if shop.pending_modify.is_some() {
        return Err(refuse(Check::ConcurrentModify, kind));
    }
    let differs = |name: &str| {
        p.get(name)
            .is_some_and(|v| Some(v) != shop.fields.get(name))
    };
    if differs("category_id") {
        return Err(refuse(Check::CategoryChange, kind));
    }
    let immutable = rules::FIELDS
        .iter()
        .filter(|r| matches!(r.on_modify, OnModify::Immutable(_)) && r.format == Format::Area);
    if immutable.into_iter().any(|r| differs(r.name)) {
        return Err(refuse(Check::ProvinceCityChange, kind));
    }
    Ok(shop)
}

fn store_id_taken(sid: &str, shop: Option<&SimShop>, ctx: &Ctx<'_>) -> bool {
    let own = shop.map(|s| s.shop_id.as_str());
    let by_shop = ctx
        .state
        .shops_with_store_id(ctx.merchant, sid)
        .any(|id| Some(id) != own);
    let by_pending =
        ctx.cfg.reserve_pending_store_ids && ctx.state.create_pending(ctx.merchant, sid);
    by_shop || by_pending
}

/// Area codes: all three present (a modify takes the shop's current values for the ones
/// it does not send), known to the fixture, the district in the city.
fn check_area(
    kind: Kind,
    p: &BTreeMap<String, String>,
    shop: Option<&SimShop>,
    cfg: &SimConfig,
) -> Result<(), Refusal> {
    if kind == Kind::Modify && get(p, "district_code").is_none() {
        return Ok(());
    }
    let area = |name: &str| {
        get(p, name).or_else(|| shop.and_then(|s| s.fields.get(name).map(String::as_str)))
    };
    let (Some(prov), Some(city), Some(dist)) = (
        area("province_code"),
        area("city_code"),
        area("district_code"),
    ) else {
        return Err(refuse(Check::AreaMissing, kind));
    };
    let known = AREAS
        .iter()
        .any(|(a, b, c, _)| *a == prov && *b == city && *c == dist)
        || cfg
            .extra_areas
            .iter()
            .any(|(a, b, c)| a == prov && b == city && c == dist);
    if !known {
        return Err(refuse(Check::AreaIllegal, kind));
    }
    Ok(())
}

/// The value formats, in §8.4 order: coordinates, phones, flags, `biz_version`, price,
/// `isv_uid`, licence code, expiry dates.
fn check_formats(
    kind: Kind,
    p: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    let fail = |check: Check| Err(refuse(check, kind));
    let coordinates = || values_of(p, |f| matches!(f, Format::Coordinate { .. }));
    for (_, v) in coordinates() {
        if chars(v) > 15 || !is_decimal(v) {
            return fail(Check::CoordinateFormat);
        }
    }
    for (name, v) in coordinates() {
        let Some(Format::Coordinate { lo, hi }) = rules::field(name).map(|r| r.format) else {
            continue;
        };
        if v.parse::<f64>().is_ok_and(|x| !(lo..=hi).contains(&x)) {
            return fail(Check::CoordinateRange);
        }
    }
    for (_, v) in values_of(p, |f| f == Format::Phones) {
        if !v.chars().all(|c| c.is_ascii_digit() || "+,-".contains(c)) {
            return fail(Check::PhoneChars);
        }
    }
    if values_of(p, |f| f == Format::Flag).any(|(_, v)| v != "T" && v != "F") {
        return fail(Check::Flag);
    }
    if p.get("biz_version")
        .is_some_and(|v| v != rules::BIZ_VERSION)
    {
        return fail(Check::BizVersion);
    }
    for (_, v) in values_of(p, |f| f == Format::Price) {
        let ok = v.chars().all(|c| c.is_ascii_digit())
            && v.parse::<u32>().is_ok_and(|n| (1..=99_999).contains(&n));
        if !ok {
            return fail(Check::Price);
        }
    }
    if kind == Kind::Create {
        for (_, v) in values_of(p, |f| f == Format::IsvUid) {
            if v.len() != 16 || !v.starts_with("2088") || !v.chars().all(|c| c.is_ascii_digit()) {
                return fail(Check::IsvUid);
            }
        }
    }
    for (_, v) in values_of(p, |f| f == Format::LicenceCode) {
        if !v.chars().all(char::is_alphanumeric) {
            return fail(Check::LicenceCode);
        }
    }
    let today = now.with_timezone(&china()).date_naive();
    for (_, v) in values_of(p, |f| f == Format::Expiry) {
        if v == "长期" {
            continue;
        }
        match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            Err(_) => return fail(Check::ExpiryFormat),
            Ok(d) if d < today => return fail(Check::Expired),
            Ok(_) => {}
        }
    }
    Ok(())
}

fn is_decimal(v: &str) -> bool {
    let v = v.strip_prefix('-').unwrap_or(v);
    let (int, frac) = match v.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (v, None),
    };
    !int.is_empty()
        && int.chars().all(|c| c.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_digit()))
}
