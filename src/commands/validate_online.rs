//! `shopsync validate --online`: after the offline checks, one signed read call (so keys,
//! app id, app_auth_token and the gateway are known to work) and the export's categories
//! looked up with category.query (unknown or non-leaf ids listed with their rows). Nothing
//! is written: no audit store, no cache (the app's quota file excepted, which every call
//! shares).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::alipay::koubei::SummaryQuery;
use crate::alipay::retry::read_with_retries;
use crate::clock::{SharedClock, SystemClock};
use crate::config::Config;
use crate::record::Field;
use crate::sync::categories;

/// Rows listed per problem category.
const ROWS_LISTED: usize = 5;

/// The online problems (empty: all well), for every merchant of the config. Progress goes
/// to stdout.
pub async fn problems(cfg: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let clock: SharedClock = Arc::new(SystemClock);
    // No certificate store: validate writes nothing (a certificate Alipay rotated to is
    // downloaded for this process only).
    let connected = match crate::sync::context::connect(cfg, clock.clone(), None, None).await {
        Ok(c) => c,
        Err(e) => {
            out.push(format!("online: cannot build the client: {e}"));
            return out;
        }
    };
    for m in cfg.merchant_configs() {
        let who = if m.merchant_name.is_empty() {
            String::new()
        } else {
            format!("[[merchant]] {}: ", m.merchant_name)
        };
        // With [[merchant]] tables the app's client carries no token: each merchant's own.
        let gw = if cfg.is_multi_merchant() {
            match m.app_auth_token() {
                Ok(token) => connected.gateway.for_merchant(token),
                Err(e) => {
                    out.push(format!("{who}app_auth_token: {e}"));
                    continue;
                }
            }
        } else {
            connected.gateway.clone()
        };
        out.extend(
            merchant_problems(&m, &gw, clock.now())
                .await
                .into_iter()
                .map(|p| format!("{who}{p}")),
        );
    }
    if let Some(sim) = connected.sim {
        sim.shutdown().await;
    }
    out
}

/// One merchant: the signed read, then its export's categories.
async fn merchant_problems(
    cfg: &Config,
    gw: &crate::alipay::Gateway,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<String> {
    let attempts = cfg.sync.max_attempts.min(3);
    let query = SummaryQuery {
        op_role: Some(cfg.alipay.op_role.clone()),
        query_type: Some(cfg.alipay.query_type.clone()),
        related_partner_id: cfg
            .alipay
            .related_partner_id
            .clone()
            .filter(|s| !s.is_empty()),
        shop_id: None,
        shop_status: None,
    };
    match read_with_retries(attempts, || gw.summary_page(&query, 1, 1)).await {
        Ok(page) => crate::say!(
            "Alipay answered a signed read (summary.batchquery, app {}{}): {} shop(s) listed.",
            cfg.alipay.app_id,
            if cfg.merchant_name.is_empty() {
                String::new()
            } else {
                format!(", {}", cfg.merchant_label())
            },
            page.total_items
        ),
        Err(e) => {
            return vec![format!(
                "online: the signed read (summary.batchquery) failed: {e}"
            )]
        }
    }
    category_problems(cfg, gw, attempts, now).await
}

async fn category_problems(
    cfg: &Config,
    gw: &crate::alipay::Gateway,
    attempts: u32,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<String> {
    let Some(source) = cfg.source.clone() else {
        return Vec::new();
    };
    let loaded = match tokio::task::spawn_blocking(move || crate::source::load(&source)).await {
        Ok(Ok(l)) => l,
        // The offline checks already said why the export cannot be read.
        _ => return Vec::new(),
    };
    let ids = categories::used(&loaded);
    let known = match categories::query(gw, &ids, attempts, now).await {
        Ok(k) => k,
        Err(e) => return vec![format!("online: category.query failed: {e}")],
    };
    let mut rows: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for s in &loaded.stores {
        if let Some(id) = s.get(Field::CategoryId) {
            rows.entry(id)
                .or_default()
                .push(format!("line {} store {}", s.line, s.store_id));
        }
    }
    let mut out = Vec::new();
    for (id, lines) in rows {
        match categories::problem(id, &known) {
            None => {
                let name = known
                    .get(id)
                    .and_then(Option::as_ref)
                    .map(categories::display_name)
                    .unwrap_or_default();
                crate::say!(
                    "Category {id} ({name}): a leaf Alipay takes, used by {} row(s).",
                    lines.len()
                );
            }
            Some(reason) => {
                let more = lines.len().saturating_sub(ROWS_LISTED);
                out.push(format!(
                    "{}: {reason}; {} row(s): {}{}",
                    crate::source::file_name(cfg.source()),
                    lines.len(),
                    lines[..lines.len().min(ROWS_LISTED)].join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                ));
            }
        }
    }
    out
}
