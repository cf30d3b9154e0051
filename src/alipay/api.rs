//! The store-API interface the sync engine speaks: the Koubei shop methods
//! ([`super::koubei`], `alipay.offline.market.*`) implement it today. A second family
//! (Alipay's newer `ant.merchant.expand.shop.*`) would implement the same trait, mapping
//! its answers into these types, and the engine would not change.
//!
//! The protocol (classic `gateway.do` or v3) is a transport choice below this layer.

use futures::future::BoxFuture;

use super::error::AlipayError;
use super::koubei::{
    Category, OrderPage, OrderQuery, ShopDetail, ShopWrite, SummaryPage, SummaryQuery,
    UploadedImage, WriteResult,
};
use super::Gateway;
use crate::ids::ShopId;
use crate::record::WriteKind;

/// What the engine needs from Alipay's store API. Every answer has been verified.
pub trait ShopApi: Send + Sync {
    /// One page of shop summaries (no `store_id`).
    fn summary_page<'a>(
        &'a self,
        query: &'a SummaryQuery,
        page_no: u64,
        page_size: u32,
    ) -> BoxFuture<'a, Result<SummaryPage, AlipayError>>;

    /// Full record of one shop, `store_id` and audit state included.
    fn shop_detail<'a>(
        &'a self,
        shop_id: &'a ShopId,
        op_role: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ShopDetail, AlipayError>>;

    /// Submit a create or a modify (an application under audit).
    fn write<'a>(
        &'a self,
        kind: WriteKind,
        shop: &'a ShopWrite,
    ) -> BoxFuture<'a, Result<WriteResult, AlipayError>>;

    /// One page of applyorder.batchquery (the caller pages, retrying each page alone).
    fn application_page<'a>(
        &'a self,
        query: OrderQuery<'a>,
        page_no: u64,
    ) -> BoxFuture<'a, Result<OrderPage, AlipayError>>;

    /// The category tree (or the subtree under `category_id`).
    fn categories<'a>(
        &'a self,
        category_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<Category>, AlipayError>>;

    /// Upload one image; returns its image id.
    fn upload_image<'a>(
        &'a self,
        image_type: &'a str,
        image_name: &'a str,
        bytes: Vec<u8>,
    ) -> BoxFuture<'a, Result<UploadedImage, AlipayError>>;
}

impl ShopApi for Gateway {
    fn summary_page<'a>(
        &'a self,
        query: &'a SummaryQuery,
        page_no: u64,
        page_size: u32,
    ) -> BoxFuture<'a, Result<SummaryPage, AlipayError>> {
        Box::pin(Gateway::summary_page(self, query, page_no, page_size))
    }

    fn shop_detail<'a>(
        &'a self,
        shop_id: &'a ShopId,
        op_role: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ShopDetail, AlipayError>> {
        Box::pin(self.shop_querydetail(shop_id, op_role))
    }

    fn write<'a>(
        &'a self,
        kind: WriteKind,
        shop: &'a ShopWrite,
    ) -> BoxFuture<'a, Result<WriteResult, AlipayError>> {
        match kind {
            WriteKind::Create => Box::pin(self.shop_create(shop)),
            WriteKind::Modify => Box::pin(self.shop_modify(shop)),
        }
    }

    fn application_page<'a>(
        &'a self,
        query: OrderQuery<'a>,
        page_no: u64,
    ) -> BoxFuture<'a, Result<OrderPage, AlipayError>> {
        Box::pin(self.applyorder_page(query, page_no))
    }

    fn categories<'a>(
        &'a self,
        category_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<Category>, AlipayError>> {
        Box::pin(self.category_query(category_id))
    }

    fn upload_image<'a>(
        &'a self,
        image_type: &'a str,
        image_name: &'a str,
        bytes: Vec<u8>,
    ) -> BoxFuture<'a, Result<UploadedImage, AlipayError>> {
        Box::pin(self.image_upload(image_type, image_name, bytes))
    }
}
