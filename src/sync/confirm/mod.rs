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

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use tracing::{info, warn};

use crate::alipay::koubei::{BizOrder, ShopDetail};
use crate::alipay::retry::read_with_retries;
use crate::alipay::ShopApi;
use crate::audit::{ActionRow, AppStatus, Application, AuditDb, NewApplication, Outcome};
use crate::clock::SharedClock;
use crate::ids::{ApplyId, RequestId, ShopId, StoreId};
use crate::record::{normalise, Field, WriteKind, CLEAR};
use crate::sync::followup::{record_order, record_result};
use crate::sync::RunError;

mod listing;
mod notification;
mod placeholder;

use listing::{listing, unique_matches};
pub use notification::{apply_notification, owner_of};
use notification::{notified, result_of};
use placeholder::{finish_placeholder, settle_placeholder};

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
pub(super) struct Evidence {
    pub(super) map: HashMap<StoreId, ShopId>,
    /// Orders no write of ours claims, from the time-window listing (`None`: the listing
    /// could not be read this run; no narrowing then).
    pub(super) unclaimed: Option<Vec<BizOrder>>,
}

/// One write to settle: an unknown action, or a placeholder application.
pub(super) struct Open<'a> {
    pub(super) kind: WriteKind,
    pub(super) store_id: &'a StoreId,
    pub(super) shop_id: Option<&'a ShopId>,
    pub(super) request_id: &'a RequestId,
    pub(super) fields: &'a BTreeMap<String, String>,
    /// When the first attempt with this request id was sent.
    pub(super) sent_at: DateTime<Utc>,
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

pub(super) enum Settled {
    Applied,
    Resend,
    Absent,
    Unknown,
}

/// `result_code` of an application settled without Alipay naming a result.
pub const UNIDENTIFIED_CODE: &str = "UNIDENTIFIED";

pub(super) fn new_application<'a>(
    action: &'a ActionRow,
    apply_id: &'a ApplyId,
) -> NewApplication<'a> {
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
pub(super) fn applied(
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
pub(super) fn other_modify_pending(
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
pub(super) fn shows_values(detail: &ShopDetail, sent: &BTreeMap<String, String>) -> bool {
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
