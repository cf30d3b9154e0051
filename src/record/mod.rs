//! The Store record: the shop fields shopsync manages, their Alipay rules, and one
//! validated, normalised store from the chain's export.

use crate::ids::StoreId;
use std::fmt;

mod build;
mod business_time;
pub mod image;
mod rules;
mod text;
mod values;

pub use build::{build_store, build_store_from, Problem};
pub use rules::{expires_before, normalise, normalise_store_id};
pub use values::FieldValues;

/// The value that clears one of the five clearable fields in a modify (`#EMPTY#`).
pub const CLEAR: &str = "#EMPTY#";

/// The two writes Alipay takes: `shop.create` and `shop.modify`. Their field rules differ
/// ([`Field::required_for_create`], [`Field::create_only`], [`Field::immutable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteKind {
    Create,
    Modify,
}

impl WriteKind {
    /// `create` or `modify`: the word in logs and the audit store.
    pub fn as_str(self) -> &'static str {
        match self {
            WriteKind::Create => "create",
            WriteKind::Modify => "modify",
        }
    }
}

impl fmt::Display for WriteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// A shop field that create/modify carry (docs/protocol.md §4.2). `store_id`, `shop_id`,
/// `request_id`, `op_role`, `biz_version` and `operate_notify_url` are bookkeeping and are
/// not fields here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    CategoryId,
    BrandName,
    BrandLogo,
    MainShopName,
    BranchShopName,
    ProvinceCode,
    CityCode,
    DistrictCode,
    Address,
    Longitude,
    Latitude,
    ContactNumber,
    NotifyMobile,
    MainImage,
    AuditImages,
    BusinessTime,
    Wifi,
    Parking,
    Box,
    NoSmoking,
    ValueAdded,
    AvgPrice,
    ImplementId,
    IsvUid,
    Licence,
    LicenceCode,
    LicenceName,
    LicenceExpires,
    BusinessCertificate,
    BusinessCertificateExpires,
    AuthLetter,
    OtherAuthorization,
    IsOperatingOnline,
    OnlineUrl,
}

impl Field {
    /// Every field, in the order create requests list them.
    pub const ALL: [Field; 34] = [
        Field::CategoryId,
        Field::BrandName,
        Field::BrandLogo,
        Field::MainShopName,
        Field::BranchShopName,
        Field::ProvinceCode,
        Field::CityCode,
        Field::DistrictCode,
        Field::Address,
        Field::Longitude,
        Field::Latitude,
        Field::ContactNumber,
        Field::NotifyMobile,
        Field::MainImage,
        Field::AuditImages,
        Field::BusinessTime,
        Field::Wifi,
        Field::Parking,
        Field::Box,
        Field::NoSmoking,
        Field::ValueAdded,
        Field::AvgPrice,
        Field::ImplementId,
        Field::IsvUid,
        Field::Licence,
        Field::LicenceCode,
        Field::LicenceName,
        Field::LicenceExpires,
        Field::BusinessCertificate,
        Field::BusinessCertificateExpires,
        Field::AuthLetter,
        Field::OtherAuthorization,
        Field::IsOperatingOnline,
        Field::OnlineUrl,
    ];

    /// The wire name (`biz_content` key).
    pub fn name(self) -> &'static str {
        match self {
            Field::CategoryId => "category_id",
            Field::BrandName => "brand_name",
            Field::BrandLogo => "brand_logo",
            Field::MainShopName => "main_shop_name",
            Field::BranchShopName => "branch_shop_name",
            Field::ProvinceCode => "province_code",
            Field::CityCode => "city_code",
            Field::DistrictCode => "district_code",
            Field::Address => "address",
            Field::Longitude => "longitude",
            Field::Latitude => "latitude",
            Field::ContactNumber => "contact_number",
            Field::NotifyMobile => "notify_mobile",
            Field::MainImage => "main_image",
            Field::AuditImages => "audit_images",
            Field::BusinessTime => "business_time",
            Field::Wifi => "wifi",
            Field::Parking => "parking",
            Field::Box => "box",
            Field::NoSmoking => "no_smoking",
            Field::ValueAdded => "value_added",
            Field::AvgPrice => "avg_price",
            Field::ImplementId => "implement_id",
            Field::IsvUid => "isv_uid",
            Field::Licence => "licence",
            Field::LicenceCode => "licence_code",
            Field::LicenceName => "licence_name",
            Field::LicenceExpires => "licence_expires",
            Field::BusinessCertificate => "business_certificate",
            Field::BusinessCertificateExpires => "business_certificate_expires",
            Field::AuthLetter => "auth_letter",
            Field::OtherAuthorization => "other_authorization",
            Field::IsOperatingOnline => "is_operating_online",
            Field::OnlineUrl => "online_url",
        }
    }

    /// Look a field up by its wire name.
    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.iter().copied().find(|f| f.name() == name)
    }

    /// Needed by a create in practice (docs/protocol.md §4.2: inferred, nothing is formally
    /// required).
    pub fn required_for_create(self) -> bool {
        matches!(
            self,
            Field::CategoryId
                | Field::MainShopName
                | Field::ProvinceCode
                | Field::CityCode
                | Field::DistrictCode
                | Field::Address
                | Field::Longitude
                | Field::Latitude
                | Field::ContactNumber
                | Field::MainImage
                | Field::AuditImages
        )
    }

    /// A changed value in a modify re-triggers Alipay's risk audit (docs/protocol.md §4.2;
    /// `licence_expires` counted in, as the simulator does).
    pub fn triggers_review(self) -> bool {
        matches!(
            self,
            Field::MainShopName
                | Field::BranchShopName
                | Field::BrandName
                | Field::BrandLogo
                | Field::MainImage
                | Field::AuditImages
                | Field::Licence
                | Field::LicenceCode
                | Field::LicenceName
                | Field::LicenceExpires
                | Field::BusinessCertificate
                | Field::BusinessCertificateExpires
                | Field::AuthLetter
                | Field::IsOperatingOnline
                | Field::OnlineUrl
        )
    }

    /// May be cleared with `#EMPTY#` in a modify.
    pub fn clearable(self) -> bool {
        matches!(
            self,
            Field::NotifyMobile
                | Field::ImplementId
                | Field::BranchShopName
                | Field::ValueAdded
                | Field::AvgPrice
        )
    }

    /// Can never change after create (`CATEGORY_CANOT_MODIFY`, `PROVINCE_CITY_CANOT_MODIFY`).
    pub fn immutable(self) -> bool {
        matches!(
            self,
            Field::CategoryId | Field::ProvinceCode | Field::CityCode
        )
    }

    /// Holds image ids (or, in the export, photo files and URLs: [`image`]).
    pub fn holds_images(self) -> bool {
        image::IMAGE_FIELDS.contains(&self)
    }

    /// Set on create only; a modify ignores it.
    pub fn create_only(self) -> bool {
        matches!(self, Field::IsvUid)
    }

    /// Compared against the value Alipay last accepted (kept in the audit store) rather
    /// than a live one: every field summary does not return, and the category when the
    /// summary lists none.
    pub fn compared_with_accepted(self) -> bool {
        !self.in_summary() || self == Field::CategoryId
    }

    /// Returned by `shop.summary.batchquery` (so the live value is compared with Alipay).
    /// `avg_price` comes back as `per_pay` in fen; `category_id` inside `category_infos`.
    pub fn in_summary(self) -> bool {
        matches!(
            self,
            Field::MainShopName
                | Field::BranchShopName
                | Field::BrandName
                | Field::Address
                | Field::ProvinceCode
                | Field::CityCode
                | Field::DistrictCode
                | Field::BusinessTime
                | Field::AvgPrice
                | Field::MainImage
                | Field::CategoryId
        )
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One store from the export, validated and normalised: every value in `fields` obeys
/// Alipay's rules for that field. Absent fields are not in the map (never empty strings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    /// The chain's store code (Alipay `store_id`), 1..=32 chars.
    pub store_id: StoreId,
    /// Where it came from: 1-based line of the record's start (CSV) or row number (SQL).
    pub line: u64,
    pub fields: FieldValues,
}

impl Store {
    pub fn get(&self, field: Field) -> Option<&str> {
        self.fields.get(field)
    }
}
