//! The Koubei shop methods over the gateway: one function per method, each answer
//! verified before it is parsed (docs/protocol.md §4). Each describes its call once (a
//! [`Request`]); the configured protocol (classic or v3) carries it.

use std::collections::BTreeMap;

use futures::stream::{self, Stream};
use serde_json::{Map, Value};

use super::model::*;
use crate::alipay::error::AlipayError;
use crate::alipay::gateway::Gateway;
use crate::alipay::transport::{Params, Request, Verified};
use crate::ids::{ApplyId, ShopId, StoreId};

fn read(method: &str, params: Params) -> Request {
    Request {
        method: method.to_string(),
        write: false,
        params,
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
        let json = Value::Object(map).to_string();
        self.execute(&read(SUMMARY_BATCHQUERY, Params::Json(json)))
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

    /// Submit a new shop. A failure after sending is an unknown outcome.
    pub async fn shop_create(&self, shop: &ShopWrite) -> Result<WriteResult, AlipayError> {
        self.write(SHOP_CREATE, shop).await
    }

    /// Partial update of one shop.
    pub async fn shop_modify(&self, shop: &ShopWrite) -> Result<WriteResult, AlipayError> {
        self.write(SHOP_MODIFY, shop).await
    }

    async fn write(&self, method: &str, shop: &ShopWrite) -> Result<WriteResult, AlipayError> {
        let verified: Verified = self
            .execute(&Request {
                method: method.to_string(),
                write: true,
                params: Params::Json(shop.biz_content()),
            })
            .await?;
        let mut result: WriteResult = verified.parse()?;
        result.trace_id = verified.trace_id;
        Ok(result)
    }

    /// Full record of one shop, including `store_id`.
    pub async fn shop_querydetail(
        &self,
        shop_id: &ShopId,
        op_role: Option<&str>,
    ) -> Result<ShopDetail, AlipayError> {
        let mut query = vec![("shop_id".to_string(), shop_id.to_string())];
        if let Some(role) = op_role {
            query.push(("op_role".into(), role.into()));
        }
        let verified = self
            .execute(&read(SHOP_QUERYDETAIL, Params::Query(query)))
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
        self.execute(&read(SHOP_BATCHQUERY, Params::Json(biz)))
            .await?
            .parse()
    }

    /// One page (≤100 orders) of applyorder.batchquery. Callers page (and retry each page
    /// alone): `sync::followup::all_orders`.
    pub async fn applyorder_page(
        &self,
        query: OrderQuery<'_>,
        page_no: u64,
    ) -> Result<OrderPage, AlipayError> {
        let mut biz = match query {
            OrderQuery::Ids(ids) => serde_json::json!({ "apply_ids": ids }),
            OrderQuery::Window { kind, start, end } => serde_json::json!({
                "action": action_of(kind),
                "start_time": start,
                "end_time": end,
            }),
        };
        if let Value::Object(map) = &mut biz {
            map.insert("biz_type".into(), Value::String("SHOP".into()));
            map.insert("page_no".into(), Value::from(page_no));
            map.insert("page_size".into(), Value::from(MAX_PAGE_SIZE));
            map.insert("op_role".into(), Value::String("ISV".into()));
        }
        self.execute(&read(APPLYORDER_BATCHQUERY, Params::Json(biz.to_string())))
            .await?
            .parse()
    }

    /// Status of applications, `apply_ids` sent in chunks of ≤100, every page read (no
    /// retries: for tests and tools; the engine pages itself).
    pub async fn applyorder_batchquery(
        &self,
        apply_ids: &[ApplyId],
    ) -> Result<Vec<BizOrder>, AlipayError> {
        let mut out = Vec::new();
        for chunk in apply_ids.chunks(MAX_PAGE_SIZE as usize) {
            let mut page_no = 1;
            loop {
                let page = self
                    .applyorder_page(OrderQuery::Ids(chunk), page_no)
                    .await?;
                let done = page.biz_order_infos.is_empty() || page_no >= page.total_page_no;
                out.extend(page.biz_order_infos);
                if done {
                    break;
                }
                page_no += 1;
            }
        }
        Ok(out)
    }

    /// The category tree (or the subtree under `category_id`).
    pub async fn category_query(
        &self,
        category_id: Option<&str>,
    ) -> Result<Vec<Category>, AlipayError> {
        let mut query = Vec::new();
        if let Some(id) = category_id {
            query.push(("category_id".to_string(), id.to_string()));
        }
        query.push(("op_role".into(), "ISV".into()));
        let answer: CategoryAnswer = self
            .execute(&read(CATEGORY_QUERY, Params::Query(query)))
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
        let params = Params::Upload {
            image_type: image_type.into(),
            image_name: image_name.into(),
            file_name: format!("{image_name}.{image_type}"),
            bytes,
        };
        self.execute(&read(IMAGE_UPLOAD, params)).await?.parse()
    }
}
