//! Synchronous validation of create/modify (§8.4, in table order) and the rejection rules
//! that may run at sync or audit stage (§8.5).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};

use super::fixtures::{category, AREAS};
use super::state::State;
use super::{SimConfig, Stage};
use crate::alipay::timestamp::china;
use crate::record::Field;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Create,
    Modify,
}

impl Kind {
    fn p(self, code: &str) -> String {
        match self {
            Kind::Create => format!("SHOP_CREATE_{code}"),
            Kind::Modify => format!("SHOP_MODIFY_{code}"),
        }
    }
}

pub const EMPTY: &str = "#EMPTY#";

/// Fields whose values are image ids.
const IMAGE_FIELDS: [Field; 7] = [
    Field::BrandLogo,
    Field::MainImage,
    Field::AuditImages,
    Field::Licence,
    Field::BusinessCertificate,
    Field::AuthLetter,
    Field::OtherAuthorization,
];

const FLAG_FIELDS: [Field; 5] = [
    Field::Wifi,
    Field::Parking,
    Field::Box,
    Field::NoSmoking,
    Field::IsOperatingOnline,
];

/// The string business parameters of a `biz_content`: strings as they are, numbers as
/// their text, empty strings dropped (they count as absent). `None` for other JSON types.
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
                if Field::from_name(k).is_some() || k == "store_id" || k == "request_id" {
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

pub struct Ctx<'a> {
    pub cfg: &'a SimConfig,
    pub state: &'a State,
    pub merchant: &'a str,
    pub now: DateTime<Utc>,
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn get(p: &BTreeMap<String, String>, f: Field) -> Option<&str> {
    p.get(f.name()).map(String::as_str).filter(|v| *v != EMPTY)
}

/// Validate a create or modify. `Err` is the `sub_code` of the `40004` answer.
pub fn validate(kind: Kind, p: &BTreeMap<String, String>, ctx: &Ctx<'_>) -> Result<(), String> {
    let cfg = ctx.cfg;
    // request_id
    let request_id = p.get("request_id").map(String::as_str).unwrap_or("");
    if request_id.is_empty() || !request_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(kind.p("INVALID_PARAM"));
    }
    if ctx.state.request_ids.contains(request_id) {
        return Err(match kind {
            Kind::Create => "SHOP_CREATE_REPEAT_REQUEST".into(),
            Kind::Modify => "SHOP_MODIFY_INVALID_PARAM".into(),
        });
    }
    // modify: the shop
    let shop = if kind == Kind::Modify {
        let id = p.get("shop_id").map(String::as_str).unwrap_or("");
        let Some(shop) = ctx
            .state
            .shops
            .get(id)
            .filter(|s| s.merchant_id == ctx.merchant)
        else {
            return Err("SHOP_MODIFY_SHOP_NOT_EXISTS".into());
        };
        if shop.status == "FREEZE" || shop.status == "CLOSE" {
            return Err("SHOP_STATUS_CANOT_MODIFY".into());
        }
        if shop.pending_modify.is_some() {
            return Err("NOT_ALLOWED_CONCURRENT_MODIFY".into());
        }
        let differs = |f: Field| {
            p.get(f.name())
                .is_some_and(|v| Some(v) != shop.fields.get(f.name()))
        };
        if differs(Field::CategoryId) {
            return Err("CATEGORY_CANOT_MODIFY".into());
        }
        if differs(Field::ProvinceCode) || differs(Field::CityCode) {
            return Err("PROVINCE_CITY_CANOT_MODIFY".into());
        }
        Some(shop)
    } else {
        None
    };
    // #EMPTY#
    for (k, v) in p {
        if v == EMPTY {
            let clearable = Field::from_name(k).is_some_and(Field::clearable);
            if kind == Kind::Create || !clearable {
                return Err(kind.p("INVALID_PARAM"));
            }
        }
    }
    // store_id
    let store_id = p.get("store_id").map(String::as_str);
    match store_id {
        None if kind == Kind::Create => return Err("OUT_SHOP_ID_RULE_ERROR".into()),
        Some(s) if chars(s) > 32 => return Err("OUT_SHOP_ID_RULE_ERROR".into()),
        _ => {}
    }
    if let Some(sid) = store_id {
        let own_shop = shop.map(|s| s.shop_id.as_str());
        let taken_by_shop = ctx.state.shops.values().any(|s| {
            s.merchant_id == ctx.merchant
                && s.store_id == sid
                && Some(s.shop_id.as_str()) != own_shop
        });
        let taken_by_pending = cfg.reserve_pending_store_ids
            && ctx.state.orders.values().any(|o| {
                o.merchant_id == ctx.merchant
                    && o.action == "CREATE_SHOP"
                    && o.status == "PROCESS"
                    && o.store_id == sid
            });
        if taken_by_shop || taken_by_pending {
            return Err(kind.p("UNIQUE_CONSTRAINT_OUTSHOPID_ERROR"));
        }
    }
    // required fields
    if kind == Kind::Create {
        let missing = Field::ALL
            .iter()
            .filter(|f| f.required_for_create())
            .filter(|f| {
                !matches!(
                    f,
                    Field::ProvinceCode | Field::CityCode | Field::DistrictCode
                )
            })
            .any(|f| get(p, *f).is_none());
        if missing {
            return Err(kind.p("INVALID_PARAM"));
        }
    }
    // area codes
    let area = |f: Field| {
        get(p, f).or_else(|| shop.and_then(|s| s.fields.get(f.name()).map(String::as_str)))
    };
    if kind == Kind::Create || get(p, Field::DistrictCode).is_some() {
        let (Some(prov), Some(city), Some(dist)) = (
            area(Field::ProvinceCode),
            area(Field::CityCode),
            area(Field::DistrictCode),
        ) else {
            return Err("AREA_CAN_NOT_NULL".into());
        };
        let known = AREAS
            .iter()
            .any(|(a, b, c, _)| *a == prov && *b == city && *c == dist)
            || cfg
                .extra_areas
                .iter()
                .any(|(a, b, c)| a == prov && b == city && c == dist);
        if !known {
            return Err("AREA_NOT_LEGALITY".into());
        }
    }
    // category
    if kind == Kind::Create {
        let ok = get(p, Field::CategoryId)
            .and_then(category)
            .is_some_and(|c| c.leaf);
        if !ok {
            return Err("SHOP_CREATE_CATOGORY_NOT_EXISTS".into());
        }
    }
    // sync-stage rules
    if let Some(code) = sync_rules(kind, p, cfg) {
        return Err(code);
    }
    // coordinates
    for f in [Field::Longitude, Field::Latitude] {
        if let Some(v) = get(p, f) {
            if chars(v) > 15 || !is_decimal(v) {
                return Err(kind.p("INVALID_PARAM"));
            }
        }
    }
    let num = |f: Field| get(p, f).and_then(|v| v.parse::<f64>().ok());
    if let Some(lng) = num(Field::Longitude) {
        if !(73.0..=136.0).contains(&lng) {
            return Err(kind.p("LOCATION_VALIDATE_FAIL"));
        }
    }
    if let Some(lat) = num(Field::Latitude) {
        if !(3.0..=54.0).contains(&lat) {
            return Err(kind.p("LOCATION_VALIDATE_FAIL"));
        }
    }
    for f in [Field::ContactNumber, Field::NotifyMobile] {
        if let Some(v) = get(p, f) {
            if !v.chars().all(|c| c.is_ascii_digit() || "+,-".contains(c)) {
                return Err(kind.p("INVALID_PARAM"));
            }
        }
    }
    for f in FLAG_FIELDS {
        if get(p, f).is_some_and(|v| v != "T" && v != "F") {
            return Err(kind.p("INVALID_PARAM"));
        }
    }
    if p.get("biz_version").is_some_and(|v| v != "2.0") {
        return Err(kind.p("INVALID_PARAM"));
    }
    if let Some(v) = get(p, Field::AvgPrice) {
        let ok = v.chars().all(|c| c.is_ascii_digit())
            && v.parse::<u32>().is_ok_and(|n| (1..=99_999).contains(&n));
        if !ok {
            return Err(kind.p("INVALID_PARAM"));
        }
    }
    if kind == Kind::Create {
        if let Some(v) = get(p, Field::IsvUid) {
            if v.len() != 16 || !v.starts_with("2088") || !v.chars().all(|c| c.is_ascii_digit()) {
                return Err("SHOP_CREATE_INVALID_PARAM".into());
            }
        }
    }
    if let Some(v) = get(p, Field::LicenceCode) {
        if !v.chars().all(|c| c.is_alphanumeric()) {
            return Err("LICENSE_NO_RULE_ERROR".into());
        }
    }
    let today = ctx.now.with_timezone(&china()).date_naive();
    for f in [Field::LicenceExpires, Field::BusinessCertificateExpires] {
        if let Some(v) = get(p, f) {
            if v == "长期" {
                continue;
            }
            match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
                Err(_) => return Err("VALIDITYDATE_RULE_ERROR".into()),
                Ok(d) if d < today => return Err(kind.p("LICENSE_EXPIRES")),
                Ok(_) => {}
            }
        }
    }
    if kind == Kind::Create && cfg.rules.licence_required == Stage::Sync && !has_licence(p) {
        return Err("LICENSE_IS_REQUIRED".into());
    }
    for f in IMAGE_FIELDS {
        if let Some(v) = get(p, f) {
            if v.split(',').any(|id| !ctx.state.images.contains(id.trim())) {
                return Err(kind.p("INVALID_PARAM"));
            }
        }
    }
    if let Some(v) = get(p, Field::ImplementId) {
        let own_shop = shop.map(|s| s.shop_id.as_str());
        let mine: BTreeSet<&str> = v.split(',').map(str::trim).collect();
        let used = ctx.state.shops.values().any(|s| {
            Some(s.shop_id.as_str()) != own_shop
                && s.fields
                    .get("implement_id")
                    .is_some_and(|o| o.split(',').any(|x| mine.contains(x.trim())))
        });
        if used {
            return Err(kind.p("UNIQUE_CONSTRAINT_IMPLEMENTID_ERROR"));
        }
    }
    for f in [Field::MainShopName, Field::BranchShopName, Field::Address] {
        if let Some(v) = get(p, f) {
            if cfg
                .forbidden_words
                .iter()
                .any(|w| !w.is_empty() && v.contains(w))
            {
                return Err("EXIST_FORBIDDEN_WORD".into());
            }
        }
    }
    Ok(())
}

fn is_decimal(v: &str) -> bool {
    let v = v.strip_prefix('-').unwrap_or(v);
    let mut parts = v.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    !int.is_empty()
        && int.chars().all(|c| c.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_digit()))
}

fn has_licence(p: &BTreeMap<String, String>) -> bool {
    let l = get(p, Field::Licence).is_some() || get(p, Field::LicenceCode).is_some();
    let online =
        get(p, Field::IsOperatingOnline) == Some("T") && get(p, Field::OnlineUrl).is_some();
    l || online
}

/// `main_shop_name` carries a branch part: `…店`, `(…店)`, `（…店）`, `【…店】`, `[…店]`, `<…店>`.
fn has_branch_part(name: &str) -> bool {
    name.ends_with('店')
        || ["店)", "店）", "店】", "店]", "店>"]
            .iter()
            .any(|s| name.contains(s))
}

/// `business_time` grammar (§4.2): one or two segments `<day>[-<day>] HH:mm-HH:mm`, or a bare
/// range meaning every day.
pub fn business_time_ok(v: &str) -> bool {
    const DAYS: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
    let segs: Vec<&str> = v.split(',').collect();
    if segs.is_empty() || segs.len() > 2 {
        return false;
    }
    let hm = |s: &str| {
        let b = s.as_bytes();
        b.len() == 5
            && b[2] == b':'
            && s[..2].parse::<u32>().is_ok_and(|h| h < 24)
            && s[3..].parse::<u32>().is_ok_and(|m| m < 60)
            && b[..2].iter().chain(&b[3..]).all(u8::is_ascii_digit)
    };
    let range = |s: &str| {
        let mut it = s.split('-');
        matches!((it.next(), it.next(), it.next()), (Some(a), Some(b), None) if hm(a) && hm(b))
    };
    let mut covered = [false; 7];
    for seg in segs {
        let (days, times) = match seg.split_once(' ') {
            Some((d, t)) => (Some(d), t),
            None => (None, seg),
        };
        if !range(times) {
            return false;
        }
        let (from, to) = match days {
            None => (0, 6),
            Some(d) => {
                let idx = |x: &str| DAYS.iter().position(|y| *y == x);
                match d.split_once('-') {
                    Some((a, b)) => match (idx(a), idx(b)) {
                        (Some(a), Some(b)) if a <= b => (a, b),
                        _ => return false,
                    },
                    None => match idx(d) {
                        Some(a) => (a, a),
                        None => return false,
                    },
                }
            }
        };
        for c in covered.iter_mut().take(to + 1).skip(from) {
            if *c {
                return false;
            }
            *c = true;
        }
    }
    true
}

fn name_lengths_bad(p: &BTreeMap<String, String>) -> bool {
    get(p, Field::MainShopName).is_some_and(|v| chars(v) > 20)
        || get(p, Field::BranchShopName).is_some_and(|v| !(2..=20).contains(&chars(v)))
}

fn address_bad(p: &BTreeMap<String, String>) -> bool {
    get(p, Field::Address).is_some_and(|v| !(4..=50).contains(&chars(v)))
}

fn distinct_images(p: &BTreeMap<String, String>) -> usize {
    get(p, Field::AuditImages)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect::<BTreeSet<_>>()
                .len()
        })
        .unwrap_or(0)
}

fn sync_rules(kind: Kind, p: &BTreeMap<String, String>, cfg: &SimConfig) -> Option<String> {
    let r = &cfg.rules;
    if r.name_lengths == Stage::Sync && name_lengths_bad(p) {
        return Some(kind.p("INVALID_PARAM"));
    }
    if r.address_length == Stage::Sync && address_bad(p) {
        return Some(kind.p("INVALID_PARAM"));
    }
    if r.business_time == Stage::Sync
        && get(p, Field::BusinessTime).is_some_and(|v| !business_time_ok(v))
    {
        return Some("BUSINESS_TIME_RULE_ERROR".into());
    }
    if r.branch_in_main_name == Stage::Sync
        && get(p, Field::MainShopName).is_some_and(has_branch_part)
    {
        return Some(kind.p("INVALID_PARAM"));
    }
    if r.min_audit_images == Stage::Sync
        && (kind == Kind::Create || get(p, Field::AuditImages).is_some())
        && distinct_images(p) < cfg.min_audit_images
    {
        return Some(kind.p("INVALID_PARAM"));
    }
    if r.reject_marker == Stage::Sync && p.values().any(|v| v.contains("#REJECT#")) {
        return Some(kind.p("INVALID_PARAM"));
    }
    None
}

/// Audit-stage rules over the data the shop would have after approval. `Some(reason)` fails
/// the application.
pub fn audit_rejection(
    cfg: &SimConfig,
    data: &BTreeMap<String, String>,
    create: bool,
) -> Option<String> {
    let r = &cfg.rules;
    if r.min_audit_images == Stage::Audit && distinct_images(data) < cfg.min_audit_images {
        return Some(format!(
            "门店照片不足：至少需要{}张不同的门店照片",
            cfg.min_audit_images
        ));
    }
    if r.branch_in_main_name == Stage::Audit
        && get(data, Field::MainShopName).is_some_and(has_branch_part)
    {
        return Some("主门店名中不能包含分店名".into());
    }
    if r.name_lengths == Stage::Audit && name_lengths_bad(data) {
        return Some("门店名称长度不符合要求".into());
    }
    if r.address_length == Stage::Audit && address_bad(data) {
        return Some("门店地址长度不符合要求".into());
    }
    if r.business_time == Stage::Audit
        && get(data, Field::BusinessTime).is_some_and(|v| !business_time_ok(v))
    {
        return Some("营业时间格式不正确".into());
    }
    if create && r.licence_required == Stage::Audit && !has_licence(data) {
        return Some("缺少营业执照或其他平台经营信息".into());
    }
    if r.reject_marker == Stage::Audit && data.values().any(|v| v.contains("#REJECT#")) {
        return Some("您提交的信息未通过风险审核（#REJECT#）".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_time_grammar() {
        assert!(business_time_ok("周一-周五 09:00-20:00"));
        assert!(business_time_ok(
            "周一-周五 09:00-20:00,周六-周日 10:00-22:00"
        ));
        assert!(business_time_ok("10:00-14:00"));
        assert!(!business_time_ok(
            "周一-周五 09:00-20:00,周五-周日 10:00-22:00"
        ));
        assert!(!business_time_ok("周一-周五 9:00-20:00"));
        assert!(!business_time_ok("Mon 09:00-20:00"));
    }

    #[test]
    fn branch_parts() {
        assert!(has_branch_part("海底捞南京西路店"));
        assert!(has_branch_part("海底捞（南京西路店）火锅"));
        assert!(!has_branch_part("海底捞火锅"));
    }
}
