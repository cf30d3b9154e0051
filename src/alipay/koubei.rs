//! Typed Koubei shop methods over the classic gateway (reference §4).

use std::collections::BTreeMap;

use futures::stream::{self, Stream};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::error::AlipayError;
use super::gateway::{Gateway, Part};
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

/// One shop of summary.batchquery (no `store_id`; see §4.1).
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

#[derive(Debug, Clone, Deserialize)]
struct OrderPage {
    #[serde(default, deserialize_with = "lenient_u64")]
    total_page_no: u64,
    #[serde(default)]
    biz_order_infos: Vec<BizOrder>,
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
struct CategoryAnswer {
    #[serde(default)]
    shop_category_config_infos: Vec<Category>,
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

fn put(map: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(v) = value {
        map.insert(key.into(), Value::String(v.clone()));
    }
}

impl Gateway {
    /// One page of summary.batchquery.
    pub async fn summary_page(
        &self,
        query: &SummaryQuery,
        page_no: u64,
        page_size: u32,
    ) -> Result<SummaryPage, AlipayError> {
        let mut map = Map::new();
        put(&mut map, "op_role", &query.op_role);
        put(&mut map, "query_type", &query.query_type);
        put(&mut map, "related_partner_id", &query.related_partner_id);
        put(&mut map, "shop_id", &query.shop_id);
        put(&mut map, "shop_status", &query.shop_status);
        map.insert("page_no".into(), Value::from(page_no));
        map.insert(
            "page_size".into(),
            Value::from(page_size.min(MAX_PAGE_SIZE)),
        );
        self.call(SUMMARY_BATCHQUERY, &Value::Object(map).to_string(), false)
            .await?
            .parse()
    }

    /// Every page of summary.batchquery with page_size 100, as a stream of pages. The
    /// stream ends after `total_page_no` pages (or at the first empty page).
    pub fn summary_pages<'a>(
        &'a self,
        query: &'a SummaryQuery,
    ) -> impl Stream<Item = Result<SummaryPage, AlipayError>> + 'a {
        stream::try_unfold(Some(1u64), move |next| async move {
            let Some(page_no) = next else {
                return Ok(None);
            };
            let page = self.summary_page(query, page_no, MAX_PAGE_SIZE).await?;
            let more = page_no < page.total_page_no && !page.shop_summary_infos.is_empty();
            Ok(Some((page, more.then_some(page_no + 1))))
        })
    }

    /// Submit a new shop. `write` semantics: see [`Gateway::call`].
    pub async fn shop_create(&self, shop: &ShopWrite) -> Result<WriteResult, AlipayError> {
        self.call(SHOP_CREATE, &shop.biz_content(), true)
            .await?
            .parse()
    }

    /// Partial update of one shop.
    pub async fn shop_modify(&self, shop: &ShopWrite) -> Result<WriteResult, AlipayError> {
        self.call(SHOP_MODIFY, &shop.biz_content(), true)
            .await?
            .parse()
    }

    /// Full record of one shop, including `store_id`.
    pub async fn shop_querydetail(
        &self,
        shop_id: &ShopId,
        op_role: Option<&str>,
    ) -> Result<ShopDetail, AlipayError> {
        let mut map = Map::new();
        map.insert("shop_id".into(), Value::String(shop_id.to_string()));
        if let Some(role) = op_role {
            map.insert("op_role".into(), Value::String(role.into()));
        }
        let verified = self
            .call(SHOP_QUERYDETAIL, &Value::Object(map).to_string(), false)
            .await?;
        let node: Map<String, Value> = verified.parse()?;
        let mut fields = BTreeMap::new();
        for (k, v) in node {
            if k == "code" || k == "msg" {
                continue;
            }
            match v {
                Value::String(s) => {
                    fields.insert(k, s);
                }
                Value::Number(n) => {
                    fields.insert(k, n.to_string());
                }
                _ => {}
            }
        }
        Ok(ShopDetail {
            shop_id: fields
                .get("shop_id")
                .map(ShopId::new)
                .unwrap_or_else(|| shop_id.clone()),
            store_id: fields
                .get("store_id")
                .filter(|s| !s.is_empty())
                .map(StoreId::new),
            audit_status: fields.get("audit_status").cloned(),
            audit_desc: fields.get("audit_desc").cloned(),
            fields,
        })
    }

    /// One page (500 ids) of shop.batchquery.
    pub async fn shop_batchquery(&self, page_no: u64) -> Result<ShopIdPage, AlipayError> {
        let biz = serde_json::json!({ "page_no": page_no.to_string() }).to_string();
        self.call(SHOP_BATCHQUERY, &biz, false).await?.parse()
    }

    /// Every page of applyorder.batchquery for one set of filters.
    async fn applyorder_pages(&self, filters: Value) -> Result<Vec<BizOrder>, AlipayError> {
        let mut out = Vec::new();
        let mut page_no = 1u64;
        loop {
            let mut biz = filters.clone();
            if let Value::Object(map) = &mut biz {
                map.insert("biz_type".into(), Value::String("SHOP".into()));
                map.insert("page_no".into(), Value::from(page_no));
                map.insert("page_size".into(), Value::from(MAX_PAGE_SIZE));
                map.insert("op_role".into(), Value::String("ISV".into()));
            }
            let page: OrderPage = self
                .call(APPLYORDER_BATCHQUERY, &biz.to_string(), false)
                .await?
                .parse()?;
            let empty = page.biz_order_infos.is_empty();
            out.extend(page.biz_order_infos);
            if empty || page_no >= page.total_page_no {
                return Ok(out);
            }
            page_no += 1;
        }
    }

    /// Status of applications, `apply_ids` sent in chunks of ≤100, every page read.
    pub async fn applyorder_batchquery(
        &self,
        apply_ids: &[ApplyId],
    ) -> Result<Vec<BizOrder>, AlipayError> {
        let mut out = Vec::new();
        for chunk in apply_ids.chunks(MAX_PAGE_SIZE as usize) {
            out.extend(
                self.applyorder_pages(serde_json::json!({ "apply_ids": chunk }))
                    .await?,
            );
        }
        Ok(out)
    }

    /// Recent applications filtered by action and time window (unknown-outcome writes).
    pub async fn applyorder_search(
        &self,
        action: &str,
        start_time: &str,
        end_time: &str,
    ) -> Result<Vec<BizOrder>, AlipayError> {
        self.applyorder_pages(serde_json::json!({
            "action": action,
            "start_time": start_time,
            "end_time": end_time,
        }))
        .await
    }

    /// The category tree (or the subtree under `category_id`).
    pub async fn category_query(
        &self,
        category_id: Option<&str>,
    ) -> Result<Vec<Category>, AlipayError> {
        let mut map = Map::new();
        if let Some(id) = category_id {
            map.insert("category_id".into(), Value::String(id.into()));
        }
        map.insert("op_role".into(), Value::String("ISV".into()));
        let answer: CategoryAnswer = self
            .call(CATEGORY_QUERY, &Value::Object(map).to_string(), false)
            .await?
            .parse()?;
        Ok(answer.shop_category_config_infos)
    }

    /// Upload one image (≤5 MB).
    pub async fn image_upload(
        &self,
        image_type: &str,
        image_name: &str,
        bytes: Vec<u8>,
    ) -> Result<UploadedImage, AlipayError> {
        let parts = vec![
            Part::Text("image_type".into(), image_type.into()),
            Part::Text("image_name".into(), image_name.into()),
            Part::File {
                name: "image_content".into(),
                file_name: format!("{image_name}.{image_type}"),
                bytes,
            },
        ];
        self.call_multipart(IMAGE_UPLOAD, parts).await?.parse()
    }
}
