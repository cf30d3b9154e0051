//! The Koubei shop methods' names, requests and answers, as Rust types (docs/protocol.md §4).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::ids::{ApplyId, RequestId, ShopId, StoreId};
use crate::record::WriteKind;

pub const SUMMARY_BATCHQUERY: &str = "alipay.offline.market.shop.summary.batchquery";
pub const SHOP_CREATE: &str = "alipay.offline.market.shop.create";
pub const SHOP_MODIFY: &str = "alipay.offline.market.shop.modify";
pub const SHOP_QUERYDETAIL: &str = "alipay.offline.market.shop.querydetail";
pub const SHOP_BATCHQUERY: &str = "alipay.offline.market.shop.batchquery";
pub const APPLYORDER_BATCHQUERY: &str = "alipay.offline.market.applyorder.batchquery";
pub const CATEGORY_QUERY: &str = "alipay.offline.market.shop.category.query";
pub const IMAGE_UPLOAD: &str = "alipay.offline.material.image.upload";

/// Page size limit of summary.batchquery and applyorder.batchquery.
pub const MAX_PAGE_SIZE: u32 = 100;

/// A number that may arrive as a JSON string or a JSON number.
fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| serde::de::Error::custom(format!("not a count: {n}"))),
        Value::String(s) if s.trim().is_empty() => Ok(0),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("not a count: {s:?}"))),
        Value::Null => Ok(0),
        other => Err(serde::de::Error::custom(format!("not a count: {other}"))),
    }
}

/// Any scalar rendered as text (`biz_id` has been seen as `0`).
fn lenient_opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

/// Filters of summary.batchquery.
#[derive(Debug, Clone, Default)]
pub struct SummaryQuery {
    pub op_role: Option<String>,
    pub query_type: Option<String>,
    pub related_partner_id: Option<String>,
    pub shop_id: Option<String>,
    pub shop_status: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CategoryInfo {
    #[serde(default)]
    pub category_id: String,
    #[serde(default)]
    pub category_level: Option<String>,
    #[serde(default)]
    pub category_name: Option<String>,
}

/// One shop of summary.batchquery (no `store_id`; docs/protocol.md §4.1).
#[derive(Debug, Clone, Deserialize)]
pub struct ShopSummary {
    pub shop_id: ShopId,
    #[serde(default)]
    pub main_shop_name: Option<String>,
    #[serde(default)]
    pub branch_shop_name: Option<String>,
    #[serde(default)]
    pub brand_name: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub province_code: Option<String>,
    #[serde(default)]
    pub city_code: Option<String>,
    #[serde(default)]
    pub district_code: Option<String>,
    #[serde(default)]
    pub business_time: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub shop_type: Option<String>,
    #[serde(default)]
    pub is_show: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub per_pay: Option<String>,
    #[serde(default)]
    pub main_image: Option<String>,
    #[serde(default)]
    pub pic_coll: Option<String>,
    #[serde(default)]
    pub ext_info: Option<String>,
    #[serde(default)]
    pub category_infos: Vec<CategoryInfo>,
    #[serde(default)]
    pub gmt_create: Option<String>,
    #[serde(default)]
    pub latitude: Option<String>,
    #[serde(default)]
    pub longitude: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SummaryPage {
    #[serde(default, deserialize_with = "lenient_u64")]
    pub current_page_no: u64,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub page_size: u64,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub total_items: u64,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub total_page_no: u64,
    #[serde(default)]
    pub shop_summary_infos: Vec<ShopSummary>,
}

/// The answer to create and modify.
#[derive(Debug, Clone, Deserialize)]
pub struct WriteResult {
    #[serde(default)]
    pub apply_id: Option<ApplyId>,
    #[serde(default)]
    pub audit_status: Option<String>,
    /// `WAIT_MERCHANT_CONFIRM`: pending merchant confirmation.
    #[serde(default)]
    pub result_code: Option<String>,
    /// The answer's v3 `alipay-trace-id` (not in the body; `None` on classic).
    #[serde(skip)]
    pub trace_id: Option<String>,
}

/// querydetail: `store_id`, audit state and every other field as text.
#[derive(Debug, Clone)]
pub struct ShopDetail {
    pub shop_id: ShopId,
    pub store_id: Option<StoreId>,
    pub audit_status: Option<String>,
    pub audit_desc: Option<String>,
    /// Every scalar field of the answer (except code/msg), as text.
    pub fields: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ShopIdPage {
    #[serde(default)]
    pub shop_ids: Vec<ShopId>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub current_pageno: u64,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub total_pageno: u64,
}

/// One application ("business flow order") of applyorder.batchquery.
#[derive(Debug, Clone, Deserialize)]
pub struct BizOrder {
    pub apply_id: ApplyId,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub biz_type: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub biz_id: Option<String>,
    #[serde(default)]
    pub biz_context_info: Option<String>,
    #[serde(default)]
    pub status: Option<OrderStatus>,
    #[serde(default)]
    pub sub_status: Option<String>,
    #[serde(default)]
    pub result_code: Option<String>,
    #[serde(default)]
    pub result_desc: Option<String>,
    #[serde(default)]
    pub create_time: Option<String>,
    #[serde(default)]
    pub update_time: Option<String>,
}

/// The state of an application (`status` of applyorder.batchquery).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Init,
    Process,
    /// Approved: a create's shop exists (`biz_id`), a modify's values are live.
    Success,
    /// Rejected by the audit (`result_code`, `result_desc` say why).
    Fail,
    /// A value this build does not know: treated as still in progress.
    #[serde(other)]
    Other,
}

impl OrderStatus {
    /// The wire word (`SUCCESS`, `FAIL`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Init => "INIT",
            OrderStatus::Process => "PROCESS",
            OrderStatus::Success => "SUCCESS",
            OrderStatus::Fail => "FAIL",
            OrderStatus::Other => "OTHER",
        }
    }
}

/// `action` of an application order, for the two shop writes.
pub const CREATE_SHOP: &str = "CREATE_SHOP";
pub const MODIFY_SHOP: &str = "MODIFY_SHOP";

impl BizOrder {
    /// The shop id of a successful order (`biz_id`), ignoring empty and `0`.
    pub fn shop_id(&self) -> Option<ShopId> {
        self.biz_id
            .as_deref()
            .filter(|s| !s.is_empty() && *s != "0")
            .map(ShopId::new)
    }

    /// Which write this order is (`CREATE_SHOP` / `MODIFY_SHOP`), if a shop write.
    pub fn kind(&self) -> Option<WriteKind> {
        match self.action.as_deref() {
            Some(CREATE_SHOP) => Some(WriteKind::Create),
            Some(MODIFY_SHOP) => Some(WriteKind::Modify),
            _ => None,
        }
    }
}

/// The action word of a write kind in applyorder queries.
pub fn action_of(kind: WriteKind) -> &'static str {
    match kind {
        WriteKind::Create => CREATE_SHOP,
        WriteKind::Modify => MODIFY_SHOP,
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct OrderPage {
    #[serde(default, deserialize_with = "lenient_u64")]
    pub total_page_no: u64,
    #[serde(default)]
    pub biz_order_infos: Vec<BizOrder>,
}

/// What an applyorder.batchquery asks for.
#[derive(Debug, Clone, Copy)]
pub enum OrderQuery<'a> {
    /// These applications (≤100 ids).
    Ids(&'a [ApplyId]),
    /// The applications of one write kind submitted in a window (`yyyy-MM-dd HH:mm:ss`,
    /// UTC+8; only the last 3 months can be queried).
    Window {
        kind: WriteKind,
        start: &'a str,
        end: &'a str,
    },
}

#[derive(Debug, Clone, Deserialize)]
pub struct Category {
    pub id: String,
    #[serde(default)]
    pub is_leaf: Option<String>,
    #[serde(default)]
    pub level: Option<String>,
    #[serde(default)]
    pub link: Option<String>,
    #[serde(default)]
    pub nm: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct CategoryAnswer {
    #[serde(default)]
    pub(super) shop_category_config_infos: Vec<Category>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UploadedImage {
    pub image_id: String,
    #[serde(default)]
    pub image_url: Option<String>,
}

/// Fields of a create or modify, in the order they are sent. Values are sent as given;
/// `#EMPTY#` clears a clearable field in a modify.
#[derive(Debug, Clone, Default)]
pub struct ShopWrite {
    pub shop_id: Option<ShopId>,
    pub store_id: Option<StoreId>,
    pub fields: Vec<(String, String)>,
    pub request_id: RequestId,
    pub operate_notify_url: Option<String>,
}

impl ShopWrite {
    /// The `biz_content` JSON text, serialised once.
    pub fn biz_content(&self) -> String {
        let mut map = Map::new();
        if let Some(shop_id) = &self.shop_id {
            map.insert("shop_id".into(), Value::String(shop_id.to_string()));
        }
        if let Some(store_id) = &self.store_id {
            map.insert("store_id".into(), Value::String(store_id.to_string()));
        }
        for (k, v) in &self.fields {
            map.insert(k.clone(), Value::String(v.clone()));
        }
        map.insert(
            "request_id".into(),
            Value::String(self.request_id.to_string()),
        );
        map.insert("op_role".into(), Value::String("ISV".into()));
        map.insert("biz_version".into(), Value::String("2.0".into()));
        if let Some(url) = &self.operate_notify_url {
            map.insert("operate_notify_url".into(), Value::String(url.clone()));
        }
        Value::Object(map).to_string()
    }
}

pub(super) fn put(map: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(v) = value {
        map.insert(key.into(), Value::String(v.clone()));
    }
}
