//! What Alipay has: every summary page, and the store_id of shops not yet in the map
//! (querydetail, cached) so a first run adopts existing shops instead of duplicating them.

use std::collections::{BTreeMap, HashMap, HashSet};

use futures::{StreamExt, TryStreamExt};
use tracing::{info, warn};

use crate::alipay::koubei::{ShopSummary, SummaryPage, SummaryQuery};
use crate::alipay::retry::read_with_retries;
use crate::alipay::{AlipayError, ShopApi};
use crate::audit::AuditDb;
use crate::clock::SharedClock;
use crate::ids::{ShopId, StoreId};
use crate::record::{normalise, Field, FieldValues};
use crate::sync::plan::RemoteShop;
use crate::sync::RunError;

/// Read every shop through summary.batchquery (pages of 100, each page retried), each
/// page turned into [`RemoteShop`]s as it arrives (so the raw summaries of a large
/// account are never all in memory). Page 1
/// tells how many pages there are; the others are fetched `concurrency` at a time, in
/// order, so a large account is not latency-bound (the rate limiter still paces the
/// calls). Reading stops at the first empty page; if a page reports more pages than page
/// 1 did (shops added meanwhile), those are read too.
pub async fn read_shops(
    api: &dyn ShopApi,
    query: &SummaryQuery,
    max_attempts: u32,
    concurrency: usize,
) -> Result<Vec<RemoteShop>, AlipayError> {
    let fetch = |page_no: u64| {
        read_with_retries(max_attempts, move || {
            api.summary_page(query, page_no, crate::alipay::koubei::MAX_PAGE_SIZE)
        })
    };
    let mut shops = Vec::new();
    let mut seen = HashSet::new();
    // Adds a page; true when reading must stop (an empty page).
    let mut add = |page: SummaryPage, total: &mut u64| {
        *total = (*total).max(page.total_page_no);
        let empty = page.shop_summary_infos.is_empty();
        for shop in page.shop_summary_infos {
            if seen.insert(shop.shop_id.clone()) {
                shops.push(remote_shop(shop));
            }
        }
        empty
    };
    let mut total = 0u64;
    let mut done = add(fetch(1).await?, &mut total);
    let mut read = 1u64;
    while !done && read < total {
        let batch_end = total;
        let mut pages = futures::stream::iter(read + 1..=batch_end)
            .map(fetch)
            .buffered(concurrency.max(1));
        while let Some(page) = pages.try_next().await? {
            read += 1;
            if add(page, &mut total) {
                done = true;
                break;
            }
        }
    }
    Ok(shops)
}

/// Adopt remote shops that are not in the map: look up their store_id once (querydetail,
/// cached in the audit store) and map those whose store_id is in the export and not yet
/// mapped. The detail's values become the store's accepted values. Returns how many were
/// adopted.
#[allow(clippy::too_many_arguments)] // plain inputs of one step; a struct would only rename them
pub async fn adopt(
    api: &dyn ShopApi,
    db: &AuditDb,
    clock: &SharedClock,
    remote: &[RemoteShop],
    export_ids: &HashSet<StoreId>,
    op_role: Option<&str>,
    concurrency: usize,
    max_attempts: u32,
) -> Result<u64, RunError> {
    let map = db.shop_map()?;
    let mapped_shops: HashSet<&ShopId> = map.values().collect();
    let cache = db.detail_cache()?;
    let unknown: Vec<&RemoteShop> = remote
        .iter()
        .filter(|r| !mapped_shops.contains(&r.shop_id) && !cache.contains_key(&r.shop_id))
        .collect();
    let mut learned: HashMap<ShopId, Option<StoreId>> = HashMap::new();
    let mut details = futures::stream::iter(unknown.into_iter().map(|r| {
        let shop_id = r.shop_id.clone();
        async move {
            let detail =
                read_with_retries(max_attempts, || api.shop_detail(&shop_id, op_role)).await?;
            Ok::<_, AlipayError>(detail)
        }
    }))
    .buffer_unordered(concurrency.max(1));
    let mut accepted: HashMap<StoreId, BTreeMap<String, String>> = HashMap::new();
    while let Some(detail) = details.try_next().await? {
        db.cache_detail(&detail.shop_id, detail.store_id.as_ref(), clock.now())?;
        if let Some(store_id) = &detail.store_id {
            let values: BTreeMap<String, String> = detail
                .fields
                .iter()
                .filter_map(|(k, v)| {
                    let field = Field::from_name(k)?;
                    let v = normalise(field, v).ok().flatten()?;
                    Some((k.clone(), v))
                })
                .collect();
            accepted.insert(store_id.clone(), values);
        }
        learned.insert(detail.shop_id.clone(), detail.store_id.clone());
    }
    drop(details);
    let mut cache = cache;
    cache.extend(learned);
    let mut adopted = 0;
    for r in remote {
        if mapped_shops.contains(&r.shop_id) {
            continue;
        }
        let Some(Some(store_id)) = cache.get(&r.shop_id) else {
            continue;
        };
        if !export_ids.contains(store_id) || map.contains_key(store_id) {
            continue;
        }
        match db.set_mapping(store_id, &r.shop_id, "adopted", clock.now()) {
            Ok(()) => {
                if let Some(values) = accepted.get(store_id) {
                    db.set_accepted_values(store_id, values, clock.now())?;
                }
                info!(store_id = %store_id, shop_id = %r.shop_id, "Existing Alipay shop adopted.");
                adopted += 1;
            }
            Err(e) => {
                warn!(store_id = %store_id, shop_id = %r.shop_id, error = %e, "Cannot adopt shop.")
            }
        }
    }
    Ok(adopted)
}

/// Summaries → plan input, each summary dropped once converted.
pub fn to_remote(shops: impl IntoIterator<Item = ShopSummary>) -> Vec<RemoteShop> {
    shops.into_iter().map(remote_shop).collect()
}

/// The normalised value or, when it does not normalise, the raw text (so it compares as
/// different and the export's valid value wins).
fn norm_or_raw(field: Field, raw: &str) -> Option<String> {
    match normalise(field, raw) {
        Ok(v) => v,
        Err(_) => Some(raw.trim().to_string()).filter(|s| !s.is_empty()),
    }
}

/// `per_pay` is in fen; `avg_price` in yuan.
fn per_pay_to_avg_price(per_pay: &str) -> Option<String> {
    let fen: u64 = per_pay.trim().parse().ok()?;
    if fen == 0 {
        return None;
    }
    if fen.is_multiple_of(100) {
        Some((fen / 100).to_string())
    } else {
        Some(format!("{}.{:02}", fen / 100, fen % 100))
    }
}

/// A summary as the planner sees it: values normalised like the export's, `per_pay` (fen)
/// as `avg_price` (yuan). Taken by value: a large account's summaries are converted page by
/// page as they arrive and never all held at once.
pub fn remote_shop(s: ShopSummary) -> RemoteShop {
    let mut fields = Vec::with_capacity(10);
    let mut set = |field: Field, value: &Option<String>| {
        if let Some(v) = value.as_deref().and_then(|raw| norm_or_raw(field, raw)) {
            fields.push((field, v));
        }
    };
    set(Field::MainShopName, &s.main_shop_name);
    set(Field::BranchShopName, &s.branch_shop_name);
    set(Field::BrandName, &s.brand_name);
    set(Field::Address, &s.address);
    set(Field::ProvinceCode, &s.province_code);
    set(Field::CityCode, &s.city_code);
    set(Field::DistrictCode, &s.district_code);
    set(Field::BusinessTime, &s.business_time);
    set(Field::MainImage, &s.main_image);
    if let Some(price) = s.per_pay.as_deref().and_then(per_pay_to_avg_price) {
        fields.push((Field::AvgPrice, price));
    }
    let category_ids: Vec<String> = s
        .category_infos
        .into_iter()
        .map(|c| c.category_id)
        .filter(|c| !c.is_empty())
        .collect();
    RemoteShop {
        shop_id: s.shop_id,
        status: s.status,
        fields: FieldValues::from_pairs(fields),
        category_ids,
    }
}
