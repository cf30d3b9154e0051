//! Alipay's rules for shop create and modify, stated by the simulator from the reference
//! (§4.2 field table, §8.4 synchronous checks, §8.5 audit rules), independently of the
//! client's own field rules, so that client and simulator can disagree and a test catches
//! it. `validate` applies the §8.4 checks in [`Check`] order; `audit_rules` the §8.5 ones.

/// What a create needs of a field (§4.2 column C).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnCreate {
    /// "req": a create without it is refused.
    Required,
    Optional,
}

/// What a modify may do with a field (§4.2 column M).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnModify {
    /// Sent = changed (partial update).
    Change,
    /// Sending another value than the current one is refused with this code.
    Immutable(&'static str),
    /// Set on create only; a modify ignores it (`isv_uid`).
    CreateOnly,
}

/// The value rule of a field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Format {
    /// The caller's store code: ≤32 chars (`OUT_SHOP_ID_RULE_ERROR`).
    StoreCode,
    /// A leaf of the category tree (`SHOP_CREATE_CATOGORY_NOT_EXISTS`).
    Category,
    /// A GB/T 2260 code in the area fixture (`AREA_CAN_NOT_NULL` / `AREA_NOT_LEGALITY`).
    Area,
    /// Free text of `min..=max` chars (counted as chars). Names and address lengths are a
    /// stage rule (§8.5): checked at sync or audit stage, or not at all.
    Text { min: usize, max: usize },
    /// A decimal of at most 15 chars, inside `lo..=hi` (`*_LOCATION_VALIDATE_FAIL`).
    Coordinate { lo: f64, hi: f64 },
    /// Digits, `+`, `-`, comma-separated.
    Phones,
    /// `T` or `F`.
    Flag,
    /// The §4.2 `business_time` grammar (`BUSINESS_TIME_RULE_ERROR`).
    BusinessTime,
    /// An integer number of yuan, 1..=99999.
    Price,
    /// One image id issued by image.upload.
    Image,
    /// Comma-separated image ids issued by image.upload.
    Images,
    /// Comma-separated device ids, unique across shops.
    ImplementIds,
    /// 16 digits starting `2088`.
    IsvUid,
    /// Chinese, letters and digits only (`LICENSE_NO_RULE_ERROR`).
    LicenceCode,
    /// `yyyy-MM-dd` (not in the past) or `长期`.
    Expiry,
    /// Anything (URLs, free lists).
    Any,
}

/// One business field of create/modify.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldRule {
    pub name: &'static str,
    pub on_create: OnCreate,
    pub on_modify: OnModify,
    /// A changed value in a modify re-triggers the risk audit.
    pub review: bool,
    /// May be cleared with `#EMPTY#` in a modify.
    pub clearable: bool,
    pub format: Format,
}

const fn f(
    name: &'static str,
    on_create: OnCreate,
    on_modify: OnModify,
    review: bool,
    clearable: bool,
    format: Format,
) -> FieldRule {
    FieldRule {
        name,
        on_create,
        on_modify,
        review,
        clearable,
        format,
    }
}

use Format as F;
use OnCreate::{Optional as Opt, Required as Req};
use OnModify::{Change, CreateOnly, Immutable};

/// The §4.2 table: every shop field a create or modify sets, in the reference's order.
/// `licence_expires` counts as review-triggering (the simulator's reading of "licence-
/// related fields"); `online_image` is deprecated but still a field.
pub const FIELDS: &[FieldRule] = &[
    f("store_id", Req, Change, false, false, F::StoreCode),
    f(
        "category_id",
        Req,
        Immutable("CATEGORY_CANOT_MODIFY"),
        false,
        false,
        F::Category,
    ),
    f("brand_name", Opt, Change, true, false, F::Any),
    f("brand_logo", Opt, Change, true, false, F::Image),
    f(
        "main_shop_name",
        Req,
        Change,
        true,
        false,
        F::Text { min: 1, max: 20 },
    ),
    f(
        "branch_shop_name",
        Opt,
        Change,
        true,
        true,
        F::Text { min: 2, max: 20 },
    ),
    f(
        "province_code",
        Req,
        Immutable("PROVINCE_CITY_CANOT_MODIFY"),
        false,
        false,
        F::Area,
    ),
    f(
        "city_code",
        Req,
        Immutable("PROVINCE_CITY_CANOT_MODIFY"),
        false,
        false,
        F::Area,
    ),
    f("district_code", Req, Change, false, false, F::Area),
    f(
        "address",
        Req,
        Change,
        false,
        false,
        F::Text { min: 4, max: 50 },
    ),
    f(
        "longitude",
        Req,
        Change,
        false,
        false,
        F::Coordinate {
            lo: 73.0,
            hi: 136.0,
        },
    ),
    f(
        "latitude",
        Req,
        Change,
        false,
        false,
        F::Coordinate { lo: 3.0, hi: 54.0 },
    ),
    f("contact_number", Req, Change, false, false, F::Phones),
    f("notify_mobile", Opt, Change, false, true, F::Phones),
    f("main_image", Req, Change, true, false, F::Image),
    f("audit_images", Req, Change, true, false, F::Images),
    f("business_time", Opt, Change, false, false, F::BusinessTime),
    f("wifi", Opt, Change, false, false, F::Flag),
    f("parking", Opt, Change, false, false, F::Flag),
    f("box", Opt, Change, false, false, F::Flag),
    f("no_smoking", Opt, Change, false, false, F::Flag),
    f("value_added", Opt, Change, false, true, F::Any),
    f("avg_price", Opt, Change, false, true, F::Price),
    f("implement_id", Opt, Change, false, true, F::ImplementIds),
    f("isv_uid", Opt, CreateOnly, false, false, F::IsvUid),
    f("licence", Opt, Change, true, false, F::Image),
    f("licence_code", Opt, Change, true, false, F::LicenceCode),
    f("licence_name", Opt, Change, true, false, F::Any),
    f("licence_expires", Opt, Change, true, false, F::Expiry),
    f("business_certificate", Opt, Change, true, false, F::Image),
    f(
        "business_certificate_expires",
        Opt,
        Change,
        true,
        false,
        F::Expiry,
    ),
    f("auth_letter", Opt, Change, true, false, F::Image),
    f("other_authorization", Opt, Change, false, false, F::Images),
    f("is_operating_online", Opt, Change, true, false, F::Flag),
    f("online_url", Opt, Change, true, false, F::Any),
    f("online_image", Opt, Change, true, false, F::Any),
];

/// Request bookkeeping in a create/modify `biz_content`: not shop data.
pub const BOOKKEEPING: [&str; 5] = [
    "shop_id",
    "request_id",
    "op_role",
    "biz_version",
    "operate_notify_url",
];

/// The only accepted `biz_version`.
pub const BIZ_VERSION: &str = "2.0";

/// The literal that clears a clearable field in a modify.
pub const EMPTY: &str = "#EMPTY#";

/// Any value containing it fails the audit (a §8.5 rule; stage configurable).
pub const REJECT_MARKER: &str = "#REJECT#";

/// Names and address screened against the forbidden-word list (`EXIST_FORBIDDEN_WORD`).
pub const SCREENED: [&str; 3] = ["main_shop_name", "branch_shop_name", "address"];

/// The rule of a field by wire name.
pub fn field(name: &str) -> Option<&'static FieldRule> {
    FIELDS.iter().find(|r| r.name == name)
}

/// A present value of `name` in a request or a shop's data, unless it is `#EMPTY#`.
pub fn get<'a>(p: &'a std::collections::BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    p.get(name).map(String::as_str).filter(|v| *v != EMPTY)
}

/// The items of a comma-separated list (image ids, device ids), trimmed, empties dropped.
pub fn list(v: &str) -> impl Iterator<Item = &str> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// The length bounds of a text field of the table.
pub fn text_bounds(name: &str) -> (usize, usize) {
    match field(name).map(|r| r.format) {
        Some(Format::Text { min, max }) => (min, max),
        _ => (0, usize::MAX),
    }
}

/// Create or modify: which prefix a `*_` code takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Create,
    Modify,
}

impl Kind {
    /// `SHOP_CREATE_<code>` or `SHOP_MODIFY_<code>`.
    pub fn code(self, code: &str) -> String {
        match self {
            Kind::Create => format!("SHOP_CREATE_{code}"),
            Kind::Modify => format!("SHOP_MODIFY_{code}"),
        }
    }
}

/// The §8.4 checks, in the order they run; the first failure answers `40004` with
/// [`Check::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// `request_id` missing or not `[A-Za-z0-9]+`.
    RequestIdFormat,
    /// `request_id` already used by this app (create or modify).
    RequestIdRepeat,
    /// modify: `shop_id` unknown for this merchant.
    ShopUnknown,
    /// modify: the shop's `status` is `FREEZE` or `CLOSE`.
    ShopStatus,
    /// modify: a review-triggering modify of the shop is pending.
    ConcurrentModify,
    /// modify: `category_id` differs from the current one.
    CategoryChange,
    /// modify: `province_code` / `city_code` differs from the current one.
    ProvinceCityChange,
    /// `#EMPTY#` outside the clearable fields, or in a create.
    EmptyMarker,
    /// `store_id` empty (create) or longer than 32 chars.
    StoreIdRule,
    /// `store_id` held by another shop or a pending create of this merchant.
    StoreIdTaken,
    /// create: a required field missing.
    Required,
    /// area codes missing.
    AreaMissing,
    /// area codes not in the fixture, or the district not in the city.
    AreaIllegal,
    /// `category_id` unknown or not a leaf.
    Category,
    /// name lengths (stage rule).
    NameLength,
    /// address length (stage rule).
    AddressLength,
    /// `business_time` grammar (stage rule).
    BusinessTime,
    /// `main_shop_name` carrying a branch part (stage rule, default audit).
    BranchInMainName,
    /// fewer distinct `audit_images` than required (stage rule, default audit).
    AuditImages,
    /// a value carrying `#REJECT#` (stage rule, default audit).
    RejectMarker,
    /// `longitude`/`latitude` not a decimal or longer than 15 chars.
    CoordinateFormat,
    /// coordinates outside lng 73–136 / lat 3–54.
    CoordinateRange,
    /// `contact_number`/`notify_mobile` chars outside `[0-9+,-]`.
    PhoneChars,
    /// a `T`/`F` field with another value.
    Flag,
    /// `biz_version` other than `2.0`.
    BizVersion,
    /// `avg_price` not an integer 1..99999.
    Price,
    /// `isv_uid` not 16 digits starting `2088` (create).
    IsvUid,
    /// `licence_code` outside Chinese/letters/digits.
    LicenceCode,
    /// `*_expires` neither `yyyy-MM-dd` nor `长期`.
    ExpiryFormat,
    /// `*_expires` a date in the past.
    Expired,
    /// neither licence data nor `is_operating_online=T` + `online_url` (stage rule, off).
    LicenceRequired,
    /// an image id the simulator never issued.
    UnknownImage,
    /// `implement_id` already used by another shop.
    ImplementIdTaken,
    /// a name or address containing a forbidden word.
    ForbiddenWord,
}

impl Check {
    /// The `sub_code` of the `40004` answer.
    pub fn code(self, kind: Kind) -> String {
        let bare = |s: &str| s.to_string();
        match self {
            Check::RequestIdFormat
            | Check::EmptyMarker
            | Check::Required
            | Check::NameLength
            | Check::AddressLength
            | Check::BranchInMainName
            | Check::AuditImages
            | Check::RejectMarker
            | Check::CoordinateFormat
            | Check::PhoneChars
            | Check::Flag
            | Check::BizVersion
            | Check::Price
            | Check::UnknownImage => kind.code("INVALID_PARAM"),
            Check::RequestIdRepeat => match kind {
                Kind::Create => bare("SHOP_CREATE_REPEAT_REQUEST"),
                Kind::Modify => bare("SHOP_MODIFY_INVALID_PARAM"),
            },
            Check::ShopUnknown => bare("SHOP_MODIFY_SHOP_NOT_EXISTS"),
            Check::ShopStatus => bare("SHOP_STATUS_CANOT_MODIFY"),
            Check::ConcurrentModify => bare("NOT_ALLOWED_CONCURRENT_MODIFY"),
            Check::CategoryChange => bare("CATEGORY_CANOT_MODIFY"),
            Check::ProvinceCityChange => bare("PROVINCE_CITY_CANOT_MODIFY"),
            Check::StoreIdRule => bare("OUT_SHOP_ID_RULE_ERROR"),
            Check::StoreIdTaken => kind.code("UNIQUE_CONSTRAINT_OUTSHOPID_ERROR"),
            Check::AreaMissing => bare("AREA_CAN_NOT_NULL"),
            Check::AreaIllegal => bare("AREA_NOT_LEGALITY"),
            Check::Category => bare("SHOP_CREATE_CATOGORY_NOT_EXISTS"),
            Check::BusinessTime => bare("BUSINESS_TIME_RULE_ERROR"),
            Check::CoordinateRange => kind.code("LOCATION_VALIDATE_FAIL"),
            Check::IsvUid => bare("SHOP_CREATE_INVALID_PARAM"),
            Check::LicenceCode => bare("LICENSE_NO_RULE_ERROR"),
            Check::ExpiryFormat => bare("VALIDITYDATE_RULE_ERROR"),
            Check::Expired => kind.code("LICENSE_EXPIRES"),
            Check::LicenceRequired => bare("LICENSE_IS_REQUIRED"),
            Check::ImplementIdTaken => kind.code("UNIQUE_CONSTRAINT_IMPLEMENTID_ERROR"),
            Check::ForbiddenWord => bare("EXIST_FORBIDDEN_WORD"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(keep: impl Fn(&FieldRule) -> bool) -> Vec<&'static str> {
        FIELDS.iter().filter(|r| keep(r)).map(|r| r.name).collect()
    }

    /// The table against the lists §4.2 spells out in prose.
    #[test]
    fn the_table_says_what_the_reference_lists() {
        assert_eq!(
            names(|r| r.clearable),
            [
                "branch_shop_name",
                "notify_mobile",
                "value_added",
                "avg_price",
                "implement_id"
            ]
        );
        assert_eq!(
            names(|r| matches!(r.on_modify, OnModify::Immutable(_))),
            ["category_id", "province_code", "city_code"]
        );
        assert_eq!(names(|r| r.on_modify == OnModify::CreateOnly), ["isv_uid"]);
        let review = names(|r| r.review);
        for n in [
            "main_shop_name",
            "branch_shop_name",
            "brand_name",
            "brand_logo",
            "main_image",
            "audit_images",
            "licence",
            "licence_code",
            "licence_name",
            "licence_expires",
            "business_certificate",
            "business_certificate_expires",
            "auth_letter",
            "is_operating_online",
            "online_url",
            "online_image",
        ] {
            assert!(review.contains(&n), "{n} triggers review");
        }
        assert_eq!(review.len(), 16);
        assert_eq!(text_bounds("address"), (4, 50));
        assert_eq!(text_bounds("branch_shop_name"), (2, 20));
        assert_eq!(
            Check::StoreIdTaken.code(Kind::Modify),
            "SHOP_MODIFY_UNIQUE_CONSTRAINT_OUTSHOPID_ERROR"
        );
    }
}
