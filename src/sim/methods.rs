//! The read methods: summary.batchquery (§4.1), querydetail (§4.4), shop.batchquery (§4.5),
//! applyorder.batchquery (§4.6), category.query (§4.7), and image.upload (§4.8).

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Map, Value};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use super::api::{Outcome, Refusal};
use super::cert::CertMode;
use super::fixtures::{self, category_path, CATEGORIES};
use super::ids;
use super::records::{SimOrder, SimShop};
use super::state::State;
use super::times;
use crate::alipay::timestamp;

fn text(biz: &Map<String, Value>, key: &str) -> Option<String> {
    match biz.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A paging number sent as a JSON number or a string. `Err` when present but not an integer.
fn number(biz: &Map<String, Value>, key: &str, default: i64) -> Result<i64, ()> {
    match text(biz, key) {
        None => Ok(default),
        Some(s) => s.trim().parse().map_err(|_| ()),
    }
}

fn pages(total: usize, size: usize) -> usize {
    total.div_ceil(size)
}

fn pic_coll(shop: &SimShop) -> String {
    let mut m = Map::new();
    for key in ["main_image", "audit_images"] {
        if let Some(v) = shop.fields.get(key) {
            for id in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                m.insert(id.to_string(), json!(fixtures::image_url(id)));
            }
        }
    }
    Value::Object(m).to_string()
}

fn status_filter(s: &str) -> Option<&'static str> {
    match s.trim() {
        "OPEN" => Some("OPEN"),
        "PAUSED" => Some("PAUSE"),
        "CLOSED" => Some("CLOSE"),
        "FREEZE" => Some("FREEZE"),
        _ => None,
    }
}

pub fn summary(st: &State, merchant: &str, biz: &Map<String, Value>) -> Outcome {
    let bad = || Refusal::new("INVALID_PARAMETER");
    let page_no = number(biz, "page_no", 1).map_err(|_| bad())?;
    let page_size = number(biz, "page_size", 20).map_err(|_| bad())?;
    if !(1..=100).contains(&page_size) || page_no < 1 {
        return Err(bad());
    }
    let query_type = text(biz, "query_type").unwrap_or_else(|| "MERCHANT_SELF".into());
    let statuses: Option<Vec<Option<&str>>> =
        text(biz, "shop_status").map(|s| s.split(',').map(status_filter).collect());
    // Filters read once, not per shop (a 20k-shop account is paged 200 times).
    let wanted: Vec<(&str, String)> = ["province_code", "city_code", "district_code", "brand_name"]
        .into_iter()
        .filter_map(|k| text(biz, k).map(|v| (k, v)))
        .collect();
    let shop_filter = text(biz, "shop_id");
    let size = page_size as usize;
    let skip = (page_no as usize - 1) * size;
    let listed =
        query_type == "MERCHANT_SELF" && text(biz, "biz_channel").as_deref() != Some("POS");
    let (total, page): (usize, Vec<&SimShop>) = if !listed {
        (0, Vec::new())
    } else if shop_filter.is_none() && statuses.is_none() && wanted.is_empty() {
        st.merchant_page(merchant, skip, size)
    } else {
        let shops: Vec<&SimShop> = st
            .merchant_shops(merchant)
            .into_iter()
            .filter(|s| shop_filter.as_ref().is_none_or(|id| *id == s.shop_id))
            .filter(|s| {
                statuses
                    .as_ref()
                    .is_none_or(|v| v.contains(&Some(s.status.as_str())))
            })
            .filter(|s| wanted.iter().all(|(k, v)| s.fields.get(*k) == Some(v)))
            .collect();
        let page = shops.iter().skip(skip).take(size).copied().collect();
        (shops.len(), page)
    };
    let infos: Vec<Value> = page.iter().map(|s| summary_info(s)).collect();
    let mut m = Map::new();
    m.insert("current_page_no".into(), json!(page_no.to_string()));
    m.insert("page_size".into(), json!(page_size.to_string()));
    m.insert("total_items".into(), json!(total.to_string()));
    m.insert(
        "total_page_no".into(),
        json!(pages(total, size).to_string()),
    );
    m.insert("shop_summary_infos".into(), Value::Array(infos));
    Ok(m)
}

fn summary_info(s: &SimShop) -> Value {
    let mut m = Map::new();
    let f = |k: &str| s.fields.get(k).cloned();
    m.insert("shop_id".into(), json!(s.shop_id));
    for k in ["main_shop_name", "branch_shop_name"] {
        if let Some(v) = f(k) {
            m.insert(k.into(), json!(v));
        }
    }
    m.insert(
        "brand_name".into(),
        json!(f("brand_name").unwrap_or_else(|| "其它品牌".into())),
    );
    for k in [
        "address",
        "province_code",
        "city_code",
        "district_code",
        "business_time",
    ] {
        if let Some(v) = f(k) {
            m.insert(k.into(), json!(v));
        }
    }
    m.insert("status".into(), json!(s.status));
    m.insert("shop_type".into(), json!("COMMON"));
    m.insert("is_show".into(), json!(s.is_show));
    if let Some(p) = f("avg_price").and_then(|p| p.parse::<u64>().ok()) {
        m.insert("per_pay".into(), json!((p * 100).to_string()));
    }
    if let Some(v) = f("main_image") {
        m.insert("main_image".into(), json!(v));
    }
    m.insert("pic_coll".into(), json!(pic_coll(s)));
    if let Some(c) = f("category_id") {
        let infos: Vec<Value> = category_path(&c)
            .iter()
            .map(|c| {
                json!({"category_id": c.id, "category_level": c.level.to_string(), "category_name": c.name})
            })
            .collect();
        m.insert("category_infos".into(), Value::Array(infos));
    }
    m.insert("gmt_create".into(), json!(times::millis(s.gmt_create)));
    Value::Object(m)
}

pub fn shop_batchquery(st: &State, merchant: &str, biz: &Map<String, Value>) -> Outcome {
    let page_no = number(biz, "page_no", 1).map_err(|_| "INVALID_PARAM".to_string())?;
    if page_no < 1 {
        return Err("INVALID_PARAM".into());
    }
    let (total, shops) = if text(biz, "biz_channel").as_deref() == Some("POS") {
        (0, Vec::new())
    } else {
        st.merchant_page(merchant, (page_no as usize - 1) * 500, 500)
    };
    let ids: Vec<Value> = shops.iter().map(|s| json!(s.shop_id)).collect();
    let mut m = Map::new();
    m.insert("shop_ids".into(), Value::Array(ids));
    m.insert("current_pageno".into(), json!(page_no.to_string()));
    m.insert("total_pageno".into(), json!(pages(total, 500).to_string()));
    Ok(m)
}

pub fn querydetail(st: &State, merchant: &str, biz: &Map<String, Value>) -> Outcome {
    let op_role = text(biz, "op_role").unwrap_or_default();
    if !["", "ISV", "MERCHANT", "PROVIDER"].contains(&op_role.as_str()) {
        return Err("INVALID_PARAM".into());
    }
    let Some(id) = text(biz, "shop_id") else {
        return Err("INVALID_PARAM".into());
    };
    let Some(s) = st.shop(&id).filter(|s| s.merchant_id == merchant) else {
        return Err("INVALID_SHOPID".into());
    };
    let mut m = Map::new();
    m.insert("shop_id".into(), json!(s.shop_id));
    m.insert("store_id".into(), json!(s.store_id));
    m.insert("audit_status".into(), json!(s.audit_status));
    if let Some(d) = &s.audit_desc {
        m.insert("audit_desc".into(), json!(d));
    }
    m.insert("is_online".into(), json!(s.is_online));
    m.insert("is_show".into(), json!(s.is_show));
    m.insert(
        "gmt_shop_create".into(),
        json!(times::seconds(s.gmt_create)),
    );
    m.insert(
        "gmt_shop_modified".into(),
        json!(times::seconds(s.gmt_modified)),
    );
    m.insert("partner_id".into(), json!(s.merchant_id));
    m.insert("create_channel".into(), json!("OPEN_API"));
    for (k, v) in &s.fields {
        m.insert(k.clone(), json!(v));
    }
    m.insert("pic_coll".into(), json!(pic_coll(s)));
    Ok(m)
}

/// `biz_context_info` (§4.6, §8.5): a JSON string of a few submitted parameters, as in
/// the official `BizOrderQueryResponse` example: `category_id` and `main_shop_name` when
/// the write sent them. `rich` (a test opt-in) adds `store_id` and the caller's
/// `request_id`, which Alipay is not known to return.
fn biz_context_info(o: &SimOrder, rich: bool) -> String {
    let mut m = Map::new();
    for key in ["category_id", "main_shop_name"] {
        if let Some(v) = o.params.get(key).filter(|v| !v.is_null()) {
            m.insert(key.into(), v.clone());
        }
    }
    if rich {
        m.insert("store_id".into(), json!(o.store_id));
        m.insert("request_id".into(), json!(o.request_id));
    }
    Value::Object(m).to_string()
}

pub fn applyorder(
    st: &State,
    merchant: &str,
    now: DateTime<Utc>,
    biz: &Map<String, Value>,
    rich: bool,
) -> Outcome {
    let bad = || Refusal::new("INVALID_PARAMETER");
    let biz_type = text(biz, "biz_type").ok_or_else(bad)?;
    if biz_type != "SHOP" && biz_type != "ITEM" {
        return Err(bad());
    }
    let apply_ids: Option<Vec<String>> = match biz.get("apply_ids") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => Some(
            a.iter()
                .map(|v| v.as_str().map(str::to_string).ok_or_else(bad))
                .collect::<Result<_, _>>()?,
        ),
        Some(Value::String(s)) => Some(s.split(',').map(|x| x.trim().to_string()).collect()),
        Some(_) => return Err(bad()),
    };
    if apply_ids.as_ref().is_some_and(|a| a.len() > 100) {
        return Err(bad());
    }
    let horizon = now - Duration::days(90);
    let parse_time = |k: &str| -> Result<Option<DateTime<Utc>>, Refusal> {
        match text(biz, k) {
            None => Ok(None),
            Some(s) => timestamp::parse(&s).map(Some).ok_or_else(bad),
        }
    };
    let start = parse_time("start_time")?;
    let end = parse_time("end_time")?;
    if start.is_some_and(|s| s < horizon) {
        return Err(bad());
    }
    let page_no = number(biz, "page_no", 1).map_err(|_| bad())?;
    let page_size = number(biz, "page_size", 20).map_err(|_| bad())?;
    if page_no < 1 || !(1..=100).contains(&page_size) {
        return Err(bad());
    }
    let orders: Vec<_> = if biz_type == "ITEM" {
        Vec::new()
    } else {
        let (biz_id, action, status) = (
            text(biz, "biz_id"),
            text(biz, "action"),
            text(biz, "status"),
        );
        // Named applications are looked up, not searched for.
        let candidates: Vec<&SimOrder> = match &apply_ids {
            Some(ids) => {
                let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
                unique.into_iter().filter_map(|id| st.order(id)).collect()
            }
            None => st.orders().collect(),
        };
        let mut v: Vec<_> = candidates
            .into_iter()
            .filter(|o| o.merchant_id == merchant && o.created >= horizon)
            .filter(|o| biz_id.as_ref().is_none_or(|b| o.biz_id.as_ref() == Some(b)))
            .filter(|o| action.as_ref().is_none_or(|a| *a == o.action))
            .filter(|o| status.as_ref().is_none_or(|s| *s == o.status))
            .filter(|o| start.is_none_or(|s| o.created >= s) && end.is_none_or(|e| o.created <= e))
            .collect();
        v.sort_by(|a, b| a.created.cmp(&b.created).then(a.apply_id.cmp(&b.apply_id)));
        v
    };
    let size = page_size as usize;
    let infos: Vec<Value> = orders
        .iter()
        .skip((page_no as usize - 1) * size)
        .take(size)
        .map(|o| {
            let mut m = Map::new();
            m.insert("apply_id".into(), json!(o.apply_id));
            m.insert("action".into(), json!(o.action));
            m.insert("action_mode".into(), json!("NORMAL"));
            m.insert("biz_type".into(), json!("SHOP"));
            if let Some(b) = &o.biz_id {
                m.insert("biz_id".into(), json!(b));
            }
            m.insert("status".into(), json!(o.status));
            m.insert("sub_status".into(), json!(o.sub_status));
            if let Some(c) = &o.result_code {
                m.insert("result_code".into(), json!(c));
            }
            if let Some(d) = &o.result_desc {
                m.insert("result_desc".into(), json!(d));
            }
            m.insert("request_id".into(), json!(o.internal_request_id));
            m.insert("biz_context_info".into(), json!(biz_context_info(o, rich)));
            m.insert("create_time".into(), json!(times::seconds(o.created)));
            m.insert("update_time".into(), json!(times::seconds(o.modified)));
            Value::Object(m)
        })
        .collect();
    let mut m = Map::new();
    m.insert("current_page_no".into(), json!(page_no));
    m.insert("page_size".into(), json!(page_size));
    m.insert("total_items".into(), json!(orders.len()));
    m.insert("total_page_no".into(), json!(pages(orders.len(), size)));
    m.insert("biz_order_infos".into(), Value::Array(infos));
    Ok(m)
}

pub fn category(biz: &Map<String, Value>) -> Outcome {
    let wanted = text(biz, "category_id");
    if let Some(id) = &wanted {
        if fixtures::category(id).is_none() {
            return Err("INVALID_PARAMETER".into());
        }
    }
    let infos: Vec<Value> = CATEGORIES
        .iter()
        .filter(|c| {
            wanted
                .as_ref()
                .is_none_or(|w| category_path(c.id).iter().any(|a| a.id == w))
        })
        .map(|c| {
            let link: Vec<&str> = category_path(c.id).iter().map(|x| x.name).collect();
            json!({"id": c.id, "is_leaf": c.leaf.to_string(), "level": c.level.to_string(),
                   "link": link.join("-"), "nm": c.name})
        })
        .collect();
    let mut m = Map::new();
    m.insert("shop_category_config_infos".into(), Value::Array(infos));
    Ok(m)
}

/// `alipay.open.app.alipaycert.download` (§2.9): `alipay_cert_content` is the base64 of
/// the PEM chain of the certificate named by `alipay_cert_sn`. **The simulator answers**
/// `ALIPAY_CERT_NOT_EXIST` for a certificate it does not hold (and in key mode, where it
/// holds none); the live code is not documented.
pub fn cert_download(cert: Option<&CertMode>, biz: &Map<String, Value>) -> Outcome {
    let Some(sn) = text(biz, "alipay_cert_sn") else {
        return Err("INVALID_PARAMETER".into());
    };
    let Some(c) = cert.and_then(|c| c.by_sn(&sn)) else {
        return Err(Refusal::with_msg(
            "ALIPAY_CERT_NOT_EXIST",
            format!("支付宝公钥证书 {sn} 不存在"),
        ));
    };
    let mut m = Map::new();
    m.insert(
        "alipay_cert_content".into(),
        json!(B64.encode(&c.chain_pem)),
    );
    Ok(m)
}

/// The largest accepted image.
pub const MAX_IMAGE: usize = 5 * 1024 * 1024;

pub fn image_upload(
    st: &mut State,
    merchant: &str,
    image_type: &str,
    file: Option<&[u8]>,
) -> Outcome {
    let Some(bytes) = file.filter(|b| !b.is_empty()) else {
        return Err("isv.invalid-arguments".into());
    };
    if bytes.len() > MAX_IMAGE {
        return Err("isv.exceed-max-size".into());
    }
    let t = image_type.to_ascii_lowercase();
    if !["jpg", "jpeg", "png", "gif", "bmp"].contains(&t.as_str()) {
        return Err("isv.unknown-fomat".into());
    }
    let id = ids::image_id(&mut st.rng);
    st.issue_image(merchant, id.clone());
    let mut m = Map::new();
    m.insert("image_id".into(), json!(id));
    m.insert("image_url".into(), json!(fixtures::image_url(&id)));
    Ok(m)
}
