//! Actions: every write to Alipay, its intent recorded before the request and its outcome
//! after (docs/design.md invariant 3).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row, Transaction};
use serde::{Deserialize, Serialize};

use super::runs::RunId;
use super::sql::{fields_from_json, fields_to_json, opt_ts, ser, ts, Ts};
use super::{scrub_fields, AuditDb, AuditError};
use crate::ids::{ApplyId, RequestId, ShopId, StoreId};
use crate::record::WriteKind;

/// An action's id (`actions.id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ActionId(pub i64);

impl std::fmt::Display for ActionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl rusqlite::ToSql for WriteKind {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::FromSql for WriteKind {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        match value.as_str()? {
            "create" => Ok(WriteKind::Create),
            "modify" => Ok(WriteKind::Modify),
            other => Err(rusqlite::types::FromSqlError::Other(
                format!("unknown write kind {other:?}").into(),
            )),
        }
    }
}

/// A write about to be sent.
#[derive(Debug, Clone)]
pub struct NewAction<'a> {
    pub run: RunId,
    pub store_id: &'a StoreId,
    pub kind: WriteKind,
    /// The target shop of a modify; `None` for a create.
    pub shop_id: Option<&'a ShopId>,
    /// Unique per request (the store rejects a repeat).
    pub request_id: &'a RequestId,
    /// The business fields sent (secret-looking keys are dropped, see `scrub_fields`).
    pub fields: &'a BTreeMap<String, String>,
}

/// What came of a write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Alipay accepted it and opened an application.
    Accepted {
        apply_id: ApplyId,
        audit_status: Option<String>,
    },
    /// Alipay answered with a business error.
    Business {
        code: String,
        sub_code: String,
        msg: String,
    },
    /// The request may or may not have reached Alipay (timeout, unverifiable response).
    Unknown { reason: String },
    /// Certainly not applied: throttled until the end of the run, failed before sending,
    /// configuration error.
    NotApplied { reason: String },
}

impl Outcome {
    /// The word stored in `actions.outcome`.
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Accepted { .. } => "accepted",
            Outcome::Business { .. } => "business",
            Outcome::Unknown { .. } => "unknown",
            Outcome::NotApplied { .. } => "not_applied",
        }
    }
}

/// An action as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionRow {
    pub id: ActionId,
    /// The merchant (`""`: the implicit one).
    pub merchant: String,
    pub run: RunId,
    pub store_id: StoreId,
    pub kind: WriteKind,
    pub shop_id: Option<ShopId>,
    pub request_id: RequestId,
    pub fields: BTreeMap<String, String>,
    #[serde(serialize_with = "ser::time")]
    pub intent_at: DateTime<Utc>,
    /// `None`: intent only (the process died before the outcome was recorded).
    pub outcome: Option<Outcome>,
    #[serde(serialize_with = "ser::opt_time")]
    pub outcome_at: Option<DateTime<Utc>>,
    /// Set when an unknown or missing outcome was resolved; `outcome` then holds the
    /// resolution and `original_outcome` what was recorded before (`None`: nothing).
    #[serde(serialize_with = "ser::opt_time")]
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution_note: Option<String>,
    pub original_outcome: Option<Outcome>,
    #[serde(serialize_with = "ser::opt_time")]
    pub original_outcome_at: Option<DateTime<Utc>>,
    /// The answer's v3 `alipay-trace-id` (what Alipay's support asks for).
    pub trace_id: Option<String>,
}

impl ActionRow {
    /// Intent without outcome, or outcome unknown, and not resolved.
    pub fn is_unresolved(&self) -> bool {
        self.resolved_at.is_none() && matches!(self.outcome, None | Some(Outcome::Unknown { .. }))
    }
}

/// What `original_outcome_json` holds.
#[derive(Serialize, Deserialize)]
struct Original {
    outcome: Option<Outcome>,
    at: Option<String>,
}

pub(crate) const ACTION_COLUMNS: &str = "id, run_id, store_id, kind, shop_id, request_id, \
     fields_json, intent_at, outcome, outcome_at, apply_id, audit_status, code, sub_code, msg, \
     reason, original_outcome_json, resolved_at, resolution_note, merchant, trace_id";

/// Raw row: JSON columns are decoded after the statement (their errors are ours).
pub(crate) struct RawAction {
    row: ActionRow,
    fields_json: String,
    original_json: Option<String>,
}

pub(crate) fn action_from_row(r: &Row<'_>) -> rusqlite::Result<RawAction> {
    let word: Option<String> = r.get(8)?;
    let text = |i: usize| -> rusqlite::Result<String> {
        Ok(r.get::<_, Option<String>>(i)?.unwrap_or_default())
    };
    let outcome = match word.as_deref() {
        None => None,
        Some("accepted") => Some(Outcome::Accepted {
            apply_id: ApplyId::new(text(10)?),
            audit_status: r.get(11)?,
        }),
        Some("business") => Some(Outcome::Business {
            code: text(12)?,
            sub_code: text(13)?,
            msg: text(14)?,
        }),
        Some("unknown") => Some(Outcome::Unknown { reason: text(15)? }),
        Some(_) => Some(Outcome::NotApplied { reason: text(15)? }),
    };
    Ok(RawAction {
        row: ActionRow {
            id: ActionId(r.get(0)?),
            run: RunId(r.get(1)?),
            store_id: r.get(2)?,
            kind: r.get(3)?,
            shop_id: r.get(4)?,
            request_id: r.get(5)?,
            fields: BTreeMap::new(),
            intent_at: r.get::<_, Ts>(7)?.0,
            outcome,
            outcome_at: opt_ts(r.get(9)?),
            resolved_at: opt_ts(r.get(17)?),
            resolution_note: r.get(18)?,
            merchant: r.get(19)?,
            original_outcome: None,
            original_outcome_at: None,
            trace_id: r.get(20)?,
        },
        fields_json: r.get(6)?,
        original_json: r.get(16)?,
    })
}

pub(crate) fn finish_action(raw: RawAction) -> Result<ActionRow, AuditError> {
    let mut row = raw.row;
    row.fields = fields_from_json(&raw.fields_json, "actions.fields_json")?;
    if let Some(text) = raw.original_json {
        let original: Original =
            serde_json::from_str(&text).map_err(|source| AuditError::Json {
                column: "actions.original_outcome_json",
                source,
            })?;
        row.original_outcome = original.outcome;
        row.original_outcome_at = original
            .at
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc));
    }
    Ok(row)
}

fn set_outcome(
    tx: &Transaction<'_>,
    id: ActionId,
    outcome: &Outcome,
    at: DateTime<Utc>,
    only_if: &str,
) -> Result<usize, AuditError> {
    let (mut apply_id, mut audit_status, mut code, mut sub_code, mut msg, mut reason) =
        (None, None, None, None, None, None);
    match outcome {
        Outcome::Accepted {
            apply_id: a,
            audit_status: s,
        } => {
            apply_id = Some(a.as_str());
            audit_status = s.as_deref();
        }
        Outcome::Business {
            code: c,
            sub_code: s,
            msg: m,
        } => {
            code = Some(c.as_str());
            sub_code = Some(s.as_str());
            msg = Some(m.as_str());
        }
        Outcome::Unknown { reason: r } | Outcome::NotApplied { reason: r } => {
            reason = Some(r.as_str());
        }
    }
    // Free text from answers and errors: never a secret in the store.
    let msg = msg.map(crate::secret::redact);
    let reason = reason.map(crate::secret::redact);
    let n = tx.execute(
        &format!(
            "UPDATE actions SET outcome = ?2, outcome_at = ?3, apply_id = ?4, audit_status = ?5,
                 code = ?6, sub_code = ?7, msg = ?8, reason = ?9
             WHERE id = ?1 AND {only_if}"
        ),
        params![
            id.0,
            outcome.word(),
            ts(at),
            apply_id,
            audit_status,
            code,
            sub_code,
            msg,
            reason
        ],
    )?;
    Ok(n)
}

fn load(tx: &Transaction<'_>, id: ActionId) -> Result<ActionRow, AuditError> {
    let raw = tx
        .query_row(
            &format!("SELECT {ACTION_COLUMNS} FROM actions WHERE id = ?1"),
            [id.0],
            action_from_row,
        )
        .optional()?
        .ok_or_else(|| AuditError::NotFound {
            what: "action",
            key: id.to_string(),
        })?;
    finish_action(raw)
}

/// Inserts a write's intent (in the caller's transaction): see [`AuditDb::record_intent`].
pub(super) fn insert_intent(
    tx: &Transaction<'_>,
    a: &NewAction<'_>,
    fields: &str,
    at: DateTime<Utc>,
    merchant: &str,
) -> Result<ActionId, AuditError> {
    let conflicting: i64 = tx.query_row(
        "SELECT count(*) FROM actions WHERE request_id = ?1
           AND NOT (store_id = ?2 AND kind = ?3 AND kind = 'create'
                    AND outcome = 'not_applied' AND resolved_at IS NOT NULL)",
        params![a.request_id, a.store_id, a.kind],
        |r| r.get(0),
    )?;
    if conflicting > 0 {
        return Err(AuditError::Conflict {
            what: "request_id",
            key: a.request_id.to_string(),
            problem: "already used by another action".into(),
        });
    }
    tx.execute(
        "INSERT INTO actions (run_id, store_id, kind, shop_id, request_id, fields_json, intent_at, merchant)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            a.run.0,
            a.store_id,
            a.kind,
            a.shop_id,
            a.request_id,
            fields,
            ts(at),
            merchant
        ],
    )?;
    Ok(ActionId(tx.last_insert_rowid()))
}

impl AuditDb {
    /// Records a write before it is sent. Fails if the `request_id` was used before,
    /// except for the deliberate resend of a create: the same store and kind, every earlier
    /// use resolved as not applied (docs/protocol.md §6.4: reuse the request_id so that a late
    /// arrival shows up as `SHOP_CREATE_REPEAT_REQUEST`, not as a second shop).
    pub fn record_intent(
        &self,
        a: &NewAction<'_>,
        at: DateTime<Utc>,
    ) -> Result<ActionId, AuditError> {
        let fields = fields_to_json(&scrub_fields(a.fields), "actions.fields_json")?;
        self.write(|tx| insert_intent(tx, a, &fields, at, self.merchant()))
    }

    /// Records what came of a write. An error if the action is unknown or already has an
    /// outcome (use [`AuditDb::resolve_action`] to settle an unknown one).
    pub fn record_outcome(
        &self,
        id: ActionId,
        outcome: &Outcome,
        at: DateTime<Utc>,
    ) -> Result<(), AuditError> {
        self.record_traced_outcome(id, outcome, None, at)
    }

    /// [`AuditDb::record_outcome`] with the answer's v3 `alipay-trace-id`.
    pub fn record_traced_outcome(
        &self,
        id: ActionId,
        outcome: &Outcome,
        trace_id: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), AuditError> {
        self.write(|tx| {
            if set_outcome(tx, id, outcome, at, "outcome IS NULL")? == 1 {
                if trace_id.is_some() {
                    tx.execute(
                        "UPDATE actions SET trace_id = ?2 WHERE id = ?1",
                        params![id.0, trace_id],
                    )?;
                }
                return Ok(());
            }
            let row = load(tx, id)?;
            Err(AuditError::Conflict {
                what: "action",
                key: id.to_string(),
                problem: format!(
                    "outcome already recorded ({})",
                    row.outcome.map(|o| o.word()).unwrap_or("none")
                ),
            })
        })
    }

    /// Actions whose outcome is missing (a crash between intent and outcome) or unknown,
    /// and not yet resolved; oldest first. Includes an action of the current process whose
    /// request is still in flight, so call it before sending.
    pub fn unresolved_actions(&self) -> Result<Vec<ActionRow>, AuditError> {
        self.actions_where(
            "resolved_at IS NULL AND (outcome IS NULL OR outcome = 'unknown') ORDER BY id",
            &[],
        )
    }

    /// Settles an unresolved action with a final outcome. The earlier outcome (or its
    /// absence) is kept in `original_outcome`, with `resolved_at` and `note`. An error if
    /// the action is not unresolved or `resolution` is itself `Unknown`.
    pub fn resolve_action(
        &self,
        id: ActionId,
        resolution: &Outcome,
        note: &str,
        at: DateTime<Utc>,
    ) -> Result<(), AuditError> {
        if matches!(resolution, Outcome::Unknown { .. }) {
            return Err(AuditError::Conflict {
                what: "action",
                key: id.to_string(),
                problem: "a resolution must be a final outcome, not unknown".into(),
            });
        }
        self.write(|tx| {
            let row = load(tx, id)?;
            if !row.is_unresolved() {
                return Err(AuditError::Conflict {
                    what: "action",
                    key: id.to_string(),
                    problem: "not unresolved (its outcome is final)".into(),
                });
            }
            let original = Original {
                outcome: row.outcome,
                at: row.outcome_at.map(ts),
            };
            let original =
                serde_json::to_string(&original).map_err(|source| AuditError::Json {
                    column: "actions.original_outcome_json",
                    source,
                })?;
            set_outcome(tx, id, resolution, at, "resolved_at IS NULL")?;
            tx.execute(
                "UPDATE actions SET original_outcome_json = ?2, resolved_at = ?3, resolution_note = ?4
                 WHERE id = ?1",
                params![id.0, original, ts(at), note],
            )?;
            Ok(())
        })
    }

    /// The actions of one run, in the order they were recorded.
    pub fn actions_for_run(&self, run: RunId) -> Result<Vec<ActionRow>, AuditError> {
        self.actions_where("run_id = ?1 ORDER BY id", &[&run.0])
    }

    /// The action that sent this `request_id`.
    pub fn action_by_request_id(
        &self,
        request_id: &RequestId,
    ) -> Result<Option<ActionRow>, AuditError> {
        Ok(self
            .actions_where("request_id = ?1 ORDER BY id DESC", &[request_id])?
            .into_iter()
            .next())
    }

    /// Every action that sent this `request_id` (a first attempt and its resends), oldest
    /// first.
    pub fn actions_for_request(
        &self,
        request_id: &RequestId,
    ) -> Result<Vec<ActionRow>, AuditError> {
        self.actions_where("request_id = ?1 ORDER BY id", &[request_id])
    }

    /// The actions of one store, oldest first.
    pub fn actions_for_store(&self, store_id: &StoreId) -> Result<Vec<ActionRow>, AuditError> {
        self.actions_where("store_id = ?1 ORDER BY id", &[store_id])
    }

    /// `SELECT … WHERE <this handle's merchant> AND <condition>`: the condition's own
    /// parameters are `?1..?n`; the merchant filter is bound after them.
    fn actions_where(
        &self,
        condition: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<ActionRow>, AuditError> {
        let m = params.len() + 1;
        let only = self.only();
        let mut all: Vec<&dyn rusqlite::ToSql> = params.to_vec();
        all.push(&only);
        let raws = {
            let conn = self.lock();
            let mut stmt = conn.prepare(&format!(
                "SELECT {ACTION_COLUMNS} FROM actions WHERE {} AND {condition}",
                self.merchant_sql("merchant", m)
            ))?;
            let rows = stmt
                .query_map(all.as_slice(), action_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            rows
        };
        raws.into_iter().map(finish_action).collect()
    }
}
