//! The methods the simulator serves (docs/protocol.md §1): classic names, v3 paths and verbs, the
//! classic response node of each, and what a method's business logic answers.

use serde_json::{Map, Value};

/// A business refusal: the `sub_code` of a `40004` (v3: the `code` of a 400), and a
/// `sub_msg` when the default text of the code is not enough (e.g. naming a field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub sub_code: String,
    pub sub_msg: Option<String>,
}

impl Refusal {
    pub fn new(sub_code: impl Into<String>) -> Self {
        Self {
            sub_code: sub_code.into(),
            sub_msg: None,
        }
    }

    pub fn with_msg(sub_code: impl Into<String>, sub_msg: impl Into<String>) -> Self {
        Self {
            sub_code: sub_code.into(),
            sub_msg: Some(sub_msg.into()),
        }
    }
}

impl From<&str> for Refusal {
    fn from(code: &str) -> Self {
        Refusal::new(code)
    }
}

impl From<String> for Refusal {
    fn from(code: String) -> Self {
        Refusal::new(code)
    }
}

/// A business answer: the fields of a `10000` node, or a refusal.
pub type Outcome = Result<Map<String, Value>, Refusal>;

/// One Alipay method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Api {
    Summary,
    Create,
    Modify,
    QueryDetail,
    ShopBatchQuery,
    ApplyOrder,
    Category,
    ImageUpload,
    /// `alipay.open.app.alipaycert.download` (certificate mode, §2.9).
    CertDownload,
}

impl Api {
    /// Every method, in §1 order.
    pub const ALL: [Api; 9] = [
        Api::Summary,
        Api::Create,
        Api::Modify,
        Api::QueryDetail,
        Api::ShopBatchQuery,
        Api::ApplyOrder,
        Api::Category,
        Api::ImageUpload,
        Api::CertDownload,
    ];

    /// The classic `method` name.
    pub const fn name(self) -> &'static str {
        match self {
            Api::Summary => "alipay.offline.market.shop.summary.batchquery",
            Api::Create => "alipay.offline.market.shop.create",
            Api::Modify => "alipay.offline.market.shop.modify",
            Api::QueryDetail => "alipay.offline.market.shop.querydetail",
            Api::ShopBatchQuery => "alipay.offline.market.shop.batchquery",
            Api::ApplyOrder => "alipay.offline.market.applyorder.batchquery",
            Api::Category => "alipay.offline.market.shop.category.query",
            Api::ImageUpload => "alipay.offline.material.image.upload",
            Api::CertDownload => "alipay.open.app.alipaycert.download",
        }
    }

    pub fn from_name(name: &str) -> Option<Api> {
        Api::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The v3 path: `/v3/` and the method name with `.` as `/`.
    pub fn v3_path(self) -> String {
        format!("/v3/{}", self.name().replace('.', "/"))
    }

    /// The method whose v3 path is `path` (no query).
    pub fn from_v3_path(path: &str) -> Option<Api> {
        Api::ALL.into_iter().find(|a| a.v3_path() == path)
    }

    /// The v3 verb: `GET` with a query for the two reads that take one, else `POST`.
    pub const fn v3_verb(self) -> &'static str {
        match self {
            Api::QueryDetail | Api::Category => "GET",
            _ => "POST",
        }
    }

    /// The classic response node: the method with `.` as `_`, plus `_response` (§2.5).
    pub fn node(self) -> String {
        format!("{}_response", self.name().replace('.', "_"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_paths_and_nodes() {
        assert_eq!(
            Api::Summary.v3_path(),
            "/v3/alipay/offline/market/shop/summary/batchquery"
        );
        assert_eq!(
            Api::Create.node(),
            "alipay_offline_market_shop_create_response"
        );
        for a in Api::ALL {
            assert_eq!(Api::from_name(a.name()), Some(a));
            assert_eq!(Api::from_v3_path(&a.v3_path()), Some(a));
        }
        assert_eq!(Api::from_name("alipay.nope"), None);
    }
}
