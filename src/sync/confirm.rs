//! Confirming writes whose outcome is unknown, using only channels Alipay really has
//! (docs/protocol.md §6.4 and §8.5; docs/design.md invariant 8). An apply order's
//! `request_id` is Alipay's own and its `biz_context_info` holds only `category_id` and
//! `main_shop_name`, so an order can never be matched to our write by our ids. What does
//! identify a write:
//!
//! 1. the audit notification: it echoes our `request_id` (and names the apply id);
//! 2. for a create, the shop itself once approved (summary + querydetail give its
//!    `store_id`: the store is mapped by adoption before this step runs);
//! 3. a time-window listing of applications (applyorder.batchquery by action and time):
//!    an order is taken only when it is the one candidate of exactly one open write and
//!    no write of ours claims it (action, time ±10 min, category and name, or the shop of
//!    a modify). "Not found there" never means "absent";
//! 4. for a modify, querydetail: the values it shows, and `audit_status`;
//! 5. for a create nothing else confirmed, a resend with the same `request_id`
//!    (sync::apply): Alipay then either creates it (so it had not arrived) or answers
//!    `SHOP_CREATE_REPEAT_REQUEST` (it had: accepted, never sent again).
//!
//! A write accepted but whose application is not identified yet is followed as a
//! placeholder application ([`ApplyId::unidentified`]): pending, so its store is never
//! written again, until a channel identifies it, its shop appears, or
//! `[sync] unidentified_after` (default 7 days) passes with no shop, when it is recorded
//! as presumably rejected by the audit ("accepted but its application could not be
//! identified and no shop appeared within N days"): the planner then blocks the same data,
//! as for any rejected audit, and the operator checks the merchant portal.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use tracing::{info, warn};

use crate::alipay::koubei::{BizOrder, OrderQuery, OrderStatus, ShopDetail};
use crate::alipay::retry::read_with_retries;
use crate::alipay::{timestamp, ShopApi};
use crate::audit::{
    ActionRow, AppStatus, Application, AuditDb, NewApplication, NotificationRecord, Outcome,
};
use crate::clock::SharedClock;
use crate::ids::{ApplyId, RequestId, ShopId, StoreId};
use crate::record::{normalise, Field, WriteKind, CLEAR};
use crate::sync::followup::{all_orders, record_order, record_result, AuditResult};
use crate::sync::RunError;

/// How far an application's `create_time` may be from our send (clock skew, queueing).
const MATCH_WINDOW_MINUTES: i64 = 10;

/// applyorder.batchquery answers only for the last 3 months.
const LISTING_DAYS: i64 = 89;

/// Settings of one confirmation pass.
#[derive(Debug, Clone)]
pub struct ConfirmSettings {
    pub max_attempts: u32,
    /// A create accepted but never identified, with no shop after this long, is recorded
    /// as presumably rejected by the audit.
    pub unidentified_after: ChronoDuration,
    /// `op_role` for querydetail (`None` for ISVs).
    pub op_role: Option<String>,
}

/// What one pass decided.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Confirmed {
    /// Unknown writes found applied (their application tracked from now on).
    pub applied: u64,
    /// Creates to be resent once with the same request_id (no channel confirmed them).
    pub to_resend: u64,
    /// Modifies querydetail shows were not applied (planned again).
    pub absent: u64,
    /// Writes no channel could settle this run (e.g. querydetail failed): still unknown.
    pub still_unknown: u64,
    /// Placeholder applications identified or settled.
    pub settled: u64,
}

/// The channels' evidence gathered once per pass.
struct Evidence {
    map: HashMap<StoreId, ShopId>,
    /// Orders no write of ours claims, from the time-window listing (`None`: the listing
    /// could not be read this run; no narrowing then).
    unclaimed: Option<Vec<BizOrder>>,
}

/// One write to settle: an unknown action, or a placeholder application.
struct Open<'a> {
    kind: WriteKind,
    store_id: &'a StoreId,
    shop_id: Option<&'a ShopId>,
    request_id: &'a RequestId,
    fields: &'a BTreeMap<String, String>,
    /// When the first attempt with this request id was sent.
    sent_at: DateTime<Utc>,
}

/// Settle every write whose outcome is unknown, and every accepted write whose
/// application is not identified yet. Call after the shop map is up to date (adoption).
pub async fn confirm(
    api: &dyn ShopApi,
    db: &AuditDb,
    clock: &SharedClock,
    settings: &ConfirmSettings,
) -> Result<Confirmed, RunError> {
    let unresolved = db.unresolved_actions()?;
    let placeholders: Vec<Application> = db
        .pending_applications()?
        .into_iter()
        .filter(|a| !a.apply_id.is_identified())
        .collect();
    let mut out = Confirmed::default();
    if unresolved.is_empty() && placeholders.is_empty() {
        return Ok(out);
    }
    let mut sent_at: HashMap<RequestId, DateTime<Utc>> = HashMap::new();
    for p in &placeholders {
        let first = db
            .actions_for_request(&p.request_id)?
            .iter()
            .map(|a| a.intent_at)
            .min()
            .unwrap_or(p.submitted_at);
        sent_at.insert(p.request_id.clone(), first);
    }
    let opens: Vec<Open<'_>> = unresolved
        .iter()
        .map(|a| Open {
            kind: a.kind,
            store_id: &a.store_id,
            shop_id: a.shop_id.as_ref(),
            request_id: &a.request_id,
            fields: &a.fields,
            sent_at: a.intent_at,
        })
        .chain(placeholders.iter().map(|p| Open {
            kind: p.kind,
            store_id: &p.store_id,
            shop_id: p.shop_id.as_ref(),
            request_id: &p.request_id,
            fields: &p.fields,
            sent_at: sent_at[&p.request_id],
        }))
        .collect();
    let evidence = Evidence {
        map: db.shop_map()?,
        unclaimed: listing(api, db, clock, &opens, settings.max_attempts).await?,
    };
    let matches = unique_matches(&opens, evidence.unclaimed.as_deref());

    for (i, action) in unresolved.iter().enumerate() {
        match settle_unknown(api, db, clock, settings, action, matches.get(&i), &evidence).await? {
            Settled::Applied => out.applied += 1,
            Settled::Resend => out.to_resend += 1,
            Settled::Absent => out.absent += 1,
            Settled::Unknown => out.still_unknown += 1,
        }
    }
    let offset = unresolved.len();
    for (j, app) in placeholders.iter().enumerate() {
        if settle_placeholder(
            api,
            db,
            clock,
            settings,
            app,
            matches.get(&(offset + j)),
            &evidence,
        )
        .await?
        {
            out.settled += 1;
        }
    }
    Ok(out)
}

enum Settled {
    Applied,
    Resend,
    Absent,
    Unknown,
}

/// The time-window listing of the kinds the open writes have, minus the orders our
/// writes already claim. A listing that cannot be read is logged and skipped: the other
/// channels still work, and "not listed" never decides anything.
async fn listing(
    api: &dyn ShopApi,
    db: &AuditDb,
    clock: &SharedClock,
    opens: &[Open<'_>],
    max_attempts: u32,
) -> Result<Option<Vec<BizOrder>>, RunError> {
    let now = clock.now();
    let earliest = opens.iter().map(|o| o.sent_at).min().unwrap_or(now);
    let start = (earliest - ChronoDuration::minutes(MATCH_WINDOW_MINUTES))
        .max(now - ChronoDuration::days(LISTING_DAYS));
    let start = timestamp::format(start);
    let end = timestamp::format(now + ChronoDuration::minutes(MATCH_WINDOW_MINUTES));
    let kinds: HashSet<WriteKind> = opens.iter().map(|o| o.kind).collect();
    let mut orders = Vec::new();
    for kind in [WriteKind::Create, WriteKind::Modify] {
        if !kinds.contains(&kind) {
            continue;
        }
        let query = OrderQuery::Window {
            kind,
            start: &start,
            end: &end,
        };
        match all_orders(api, query, max_attempts).await {
            Ok(found) => orders.extend(found),
            Err(e) => {
                warn!(error = %e, "Cannot list recent applications; confirming unknown writes by the other channels.");
                return Ok(None);
            }
        }
    }
    let known = db.known_apply_ids()?;
    Ok(Some(
        orders
            .into_iter()
            .filter(|o| !known.contains(&o.apply_id))
            .collect(),
    ))
}

/// Does this order fit this write (kind, time, and what `biz_context_info` or `biz_id`
/// say)? Keys an order does not carry are not held against it; a key it carries must agree.
fn fits(order: &BizOrder, open: &Open<'_>) -> bool {
    if order.kind() != Some(open.kind) {
        return false;
    }
    let Some(created) = order.create_time.as_deref().and_then(timestamp::parse) else {
        return false;
    };
    if (created - open.sent_at).num_minutes().abs() > MATCH_WINDOW_MINUTES {
        return false;
    }
    if open.kind == WriteKind::Modify {
        return match (order.shop_id(), open.shop_id) {
            (Some(listed), Some(ours)) => &listed == ours,
            _ => false,
        };
    }
    let ctx: serde_json::Map<String, serde_json::Value> = order
        .biz_context_info
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_default();
    ctx.iter().all(|(k, v)| {
        let Some(v) = v.as_str() else { return true };
        match k.as_str() {
            "store_id" => v == open.store_id.as_str(),
            "request_id" => v == open.request_id.as_str(),
            _ => match open.fields.get(k) {
                Some(ours) => ours == v,
                None => true,
            },
        }
    })
}

/// Open write index → its order, only where the pairing is one-to-one.
fn unique_matches<'o>(
    opens: &[Open<'_>],
    orders: Option<&'o [BizOrder]>,
) -> HashMap<usize, &'o BizOrder> {
    let Some(orders) = orders else {
        return HashMap::new();
    };
    let fits_of: Vec<Vec<usize>> = opens
        .iter()
        .map(|o| {
            orders
                .iter()
                .enumerate()
                .filter(|(_, order)| fits(order, o))
                .map(|(j, _)| j)
                .collect()
        })
        .collect();
    let mut claims: HashMap<usize, usize> = HashMap::new();
    for f in &fits_of {
        for &j in f {
            *claims.entry(j).or_default() += 1;
        }
    }
    fits_of
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match f.as_slice() {
            [j] if claims[j] == 1 => Some((i, &orders[*j])),
            _ => None,
        })
        .collect()
}

/// The newest notification that echoes this request id and names an application.
fn notified(db: &AuditDb, request_id: &RequestId) -> Result<Option<NotificationRecord>, RunError> {
    Ok(db
        .notifications_for_request(request_id)?
        .into_iter()
        .rev()
        .find(|n| n.apply_id.is_some()))
}

/// A notification's result, as a poll would give it.
fn result_of(n: &NotificationRecord) -> AuditResult<'_> {
    AuditResult {
        apply_id: n.apply_id.as_ref().expect("filtered on apply_id"),
        status: match n.audit_status.as_deref() {
            Some("AUDIT_SUCCESS") => Some(OrderStatus::Success),
            Some("AUDIT_FAILED") => Some(OrderStatus::Fail),
            _ => None,
        },
        shop_id: n.shop_id.clone(),
        result_code: n.result_code.as_deref(),
        result_desc: n.result_desc.as_deref(),
    }
}

fn new_application<'a>(action: &'a ActionRow, apply_id: &'a ApplyId) -> NewApplication<'a> {
    NewApplication {
        apply_id,
        store_id: &action.store_id,
        shop_id: action.shop_id.as_ref(),
        kind: action.kind,
        request_id: &action.request_id,
        action_id: Some(action.id),
        fields: &action.fields,
    }
}

/// Resolve `action` as applied with `apply_id` and start following its application.
fn applied(
    db: &AuditDb,
    clock: &SharedClock,
    action: &ActionRow,
    apply_id: &ApplyId,
    audit_status: Option<&str>,
    note: &str,
) -> Result<(), RunError> {
    db.resolve_action(
        action.id,
        &Outcome::Accepted {
            apply_id: apply_id.clone(),
            audit_status: audit_status.map(str::to_string),
        },
        note,
        clock.now(),
    )?;
    if db.application(apply_id)?.is_none() {
        db.add_application(&new_application(action, apply_id), action.intent_at)?;
    }
    info!(store_id = %action.store_id, request_id = %action.request_id, apply_id = %apply_id, note, "Unknown outcome resolved: the write was applied.");
    Ok(())
}

async fn settle_unknown(
    api: &dyn ShopApi,
    db: &AuditDb,
    clock: &SharedClock,
    settings: &ConfirmSettings,
    action: &ActionRow,
    listed: Option<&&BizOrder>,
    evidence: &Evidence,
) -> Result<Settled, RunError> {
    if let Some(n) = notified(db, &action.request_id)? {
        let apply_id = n.apply_id.clone().expect("filtered on apply_id");
        applied(
            db,
            clock,
            action,
            &apply_id,
            None,
            "identified by the audit notification (it echoes the request_id)",
        )?;
        record_result(db, clock, &result_of(&n))?;
        return Ok(Settled::Applied);
    }
    if let Some(order) = listed {
        applied(
            db,
            clock,
            action,
            &order.apply_id,
            order.status.map(|s| s.as_str()),
            "identified in applyorder.batchquery: the one unclaimed application of this kind, time and shop data",
        )?;
        record_order(db, clock, order)?;
        return Ok(Settled::Applied);
    }
    match action.kind {
        WriteKind::Create => {
            if let Some(shop) = evidence.map.get(&action.store_id) {
                let placeholder = ApplyId::unidentified(&action.request_id);
                applied(
                    db,
                    clock,
                    action,
                    &placeholder,
                    Some("AUDIT_SUCCESS"),
                    "applied: the store's shop exists on Alipay (summary + querydetail)",
                )?;
                finish_placeholder(
                    db,
                    clock,
                    &placeholder,
                    AppStatus::Success,
                    Some(shop),
                    None,
                    None,
                )?;
                return Ok(Settled::Applied);
            }
            db.resolve_action(
                action.id,
                &Outcome::NotApplied {
                    reason: "no channel confirmed it (no notification, no shop, no unique unclaimed application listed); \
                             resent once with the same request_id, so Alipay answers whether it arrived"
                        .into(),
                },
                "to confirm by a resend with the same request_id",
                clock.now(),
            )?;
            info!(store_id = %action.store_id, request_id = %action.request_id, "Unknown create not confirmed by any channel; it is resent with the same request_id.");
            Ok(Settled::Resend)
        }
        WriteKind::Modify => {
            let Some(shop) = action.shop_id.as_ref() else {
                return Ok(Settled::Unknown);
            };
            let detail = match read_with_retries(settings.max_attempts, || {
                api.shop_detail(shop, settings.op_role.as_deref())
            })
            .await
            {
                Ok(d) => d,
                Err(e) => {
                    warn!(store_id = %action.store_id, shop_id = %shop, error = %e, "Cannot read the shop to confirm a modify; it stays unknown.");
                    return Ok(Settled::Unknown);
                }
            };
            let placeholder = ApplyId::unidentified(&action.request_id);
            if shows_values(&detail, &action.fields) {
                applied(
                    db,
                    clock,
                    action,
                    &placeholder,
                    detail.audit_status.as_deref(),
                    "applied: querydetail shows the values sent",
                )?;
                finish_placeholder(
                    db,
                    clock,
                    &placeholder,
                    AppStatus::Success,
                    None,
                    None,
                    None,
                )?;
                Ok(Settled::Applied)
            } else if detail.audit_status.as_deref() == Some("AUDITING")
                && !other_modify_pending(db, &action.store_id, &action.request_id)?
            {
                applied(db, clock, action, &placeholder, Some("AUDITING"), "applied: querydetail shows the shop under audit and no other modify of ours is pending")?;
                Ok(Settled::Applied)
            } else {
                db.resolve_action(
                    action.id,
                    &Outcome::NotApplied {
                        reason:
                            "querydetail shows neither the values sent nor an audit in progress"
                                .into(),
                    },
                    "confirmed absent by querydetail",
                    clock.now(),
                )?;
                info!(store_id = %action.store_id, request_id = %action.request_id, "Unknown modify confirmed absent by querydetail; it is planned again.");
                Ok(Settled::Absent)
            }
        }
    }
}

/// A pending application of this store other than `request_id`'s.
fn other_modify_pending(
    db: &AuditDb,
    store_id: &StoreId,
    request_id: &RequestId,
) -> Result<bool, RunError> {
    Ok(db
        .applications_for_store(store_id)?
        .iter()
        .any(|a| a.status == AppStatus::Pending && &a.request_id != request_id))
}

/// Does querydetail show every value sent (`#EMPTY#`: the field is absent)?
fn shows_values(detail: &ShopDetail, sent: &BTreeMap<String, String>) -> bool {
    sent.iter().all(|(name, value)| {
        let shown = detail
            .fields
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty());
        let shown = match (Field::from_name(name), shown) {
            (Some(field), Some(v)) => normalise(field, v).ok().flatten().or(Some(v.to_string())),
            (_, v) => v.map(str::to_string),
        };
        if value == CLEAR {
            shown.is_none()
        } else {
            shown.as_deref() == Some(value.as_str())
        }
    })
}

fn finish_placeholder(
    db: &AuditDb,
    clock: &SharedClock,
    placeholder: &ApplyId,
    status: AppStatus,
    shop_id: Option<&ShopId>,
    code: Option<&str>,
    desc: Option<&str>,
) -> Result<(), RunError> {
    let order_status = match status {
        AppStatus::Success => Some(OrderStatus::Success),
        AppStatus::Failed => Some(OrderStatus::Fail),
        AppStatus::Pending => None,
    };
    record_result(
        db,
        clock,
        &AuditResult {
            apply_id: placeholder,
            status: order_status,
            shop_id: shop_id.cloned(),
            result_code: code,
            result_desc: desc,
        },
    )?;
    Ok(())
}

/// Identify or settle one placeholder application. `true` when something changed.
async fn settle_placeholder(
    api: &dyn ShopApi,
    db: &AuditDb,
    clock: &SharedClock,
    settings: &ConfirmSettings,
    app: &Application,
    listed: Option<&&BizOrder>,
    evidence: &Evidence,
) -> Result<bool, RunError> {
    if let Some(n) = notified(db, &app.request_id)? {
        let apply_id = n.apply_id.clone().expect("filtered on apply_id");
        db.identify_application(&app.apply_id, &apply_id)?;
        record_result(db, clock, &result_of(&n))?;
        info!(store_id = %app.store_id, apply_id = %apply_id, "Application identified by its audit notification.");
        return Ok(true);
    }
    if let Some(order) = listed {
        db.identify_application(&app.apply_id, &order.apply_id)?;
        record_order(db, clock, order)?;
        info!(store_id = %app.store_id, apply_id = %order.apply_id, "Application identified in applyorder.batchquery.");
        return Ok(true);
    }
    match app.kind {
        WriteKind::Create => {
            if let Some(shop) = evidence.map.get(&app.store_id) {
                finish_placeholder(
                    db,
                    clock,
                    &app.apply_id,
                    AppStatus::Success,
                    Some(shop),
                    None,
                    None,
                )?;
                return Ok(true);
            }
            if clock.now() - app.submitted_at >= settings.unidentified_after {
                let days = settings.unidentified_after.num_days();
                let desc = format!(
                    "Alipay accepted this create (SHOP_CREATE_REPEAT_REQUEST) but its application could not be identified and no shop appeared within {days} days; presumably rejected by the audit: check the shop in the merchant portal"
                );
                finish_placeholder(
                    db,
                    clock,
                    &app.apply_id,
                    AppStatus::Failed,
                    None,
                    Some(UNIDENTIFIED_CODE),
                    Some(&desc),
                )?;
                warn!(store_id = %app.store_id, request_id = %app.request_id, days, "A create accepted but never identified is presumed rejected by the audit.");
                return Ok(true);
            }
            Ok(false)
        }
        WriteKind::Modify => {
            let Some(shop) = app.shop_id.as_ref() else {
                return Ok(false);
            };
            let detail = match read_with_retries(settings.max_attempts, || {
                api.shop_detail(shop, settings.op_role.as_deref())
            })
            .await
            {
                Ok(d) => d,
                Err(e) => {
                    warn!(store_id = %app.store_id, error = %e, "Cannot read the shop to settle a modify.");
                    return Ok(false);
                }
            };
            match detail.audit_status.as_deref() {
                Some("AUDITING") => Ok(false),
                _ if shows_values(&detail, &app.fields) => {
                    finish_placeholder(
                        db,
                        clock,
                        &app.apply_id,
                        AppStatus::Success,
                        None,
                        None,
                        None,
                    )?;
                    Ok(true)
                }
                Some("AUDIT_FAILED") => {
                    let desc = detail
                        .audit_desc
                        .as_deref()
                        .unwrap_or("rejected by the audit");
                    finish_placeholder(
                        db,
                        clock,
                        &app.apply_id,
                        AppStatus::Failed,
                        None,
                        Some("AUDIT_FAILED"),
                        Some(desc),
                    )?;
                    Ok(true)
                }
                _ => {
                    finish_placeholder(
                        db,
                        clock,
                        &app.apply_id,
                        AppStatus::Failed,
                        None,
                        Some(UNIDENTIFIED_CODE),
                        Some("querydetail shows neither the values sent nor an audit in progress"),
                    )?;
                    Ok(true)
                }
            }
        }
    }
}

/// `result_code` of an application settled without Alipay naming a result.
pub const UNIDENTIFIED_CODE: &str = "UNIDENTIFIED";

/// The merchant a notification belongs to: the owner of the application it names, or of
/// the write that sent its `request_id`, or of the shop it names. `None`: none of ours.
/// `db` may see every merchant (the daemon's listener is the app's).
pub fn owner_of(db: &AuditDb, n: &NotificationRecord) -> Result<Option<String>, RunError> {
    if let Some(apply_id) = &n.apply_id {
        if let Some(app) = db.application(apply_id)? {
            return Ok(Some(app.merchant));
        }
    }
    if let Some(request_id) = &n.request_id {
        if let Some(app) = db.application_by_request_id(request_id)? {
            return Ok(Some(app.merchant));
        }
        if let Some(action) = db.action_by_request_id(request_id)? {
            return Ok(Some(action.merchant));
        }
    }
    Ok(None)
}

/// Apply a verified audit notification: to the application it names, or (its apply id
/// unknown to us) to the write that sent its `request_id`: a placeholder application is
/// identified, an unknown write is resolved as applied. `None` when no write of ours
/// sent this request. `db` sees the notification's merchant ([`owner_of`]).
pub fn apply_notification(
    db: &AuditDb,
    clock: &SharedClock,
    n: &NotificationRecord,
) -> Result<Option<AppStatus>, RunError> {
    let Some(apply_id) = n.apply_id.as_ref() else {
        return Ok(None);
    };
    if db.application(apply_id)?.is_none() {
        if let Some(request_id) = &n.request_id {
            if let Some(app) = db.application_by_request_id(request_id)? {
                if !app.apply_id.is_identified() {
                    db.identify_application(&app.apply_id, apply_id)?;
                }
            } else if let Some(action) = db
                .actions_for_request(request_id)?
                .into_iter()
                .rev()
                .find(ActionRow::is_unresolved)
            {
                applied(
                    db,
                    clock,
                    &action,
                    apply_id,
                    None,
                    "identified by the audit notification (it echoes the request_id)",
                )?;
            }
        }
    }
    record_result(db, clock, &result_of(n))
}
