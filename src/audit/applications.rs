//! Applications: creates and modifies Alipay accepted, followed until their audit ends.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use super::actions::ActionId;
use super::sql::{fields_from_json, fields_to_json, opt_ts, ser, text_enum, ts, Ts};
use super::{scrub_fields, AuditDb, AuditError};
use crate::ids::{ApplyId, RequestId, ShopId, StoreId};
use crate::record::WriteKind;

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppStatus {
    /// Under audit (applyorder `INIT`/`PROCESS`, or `WAIT_MERCHANT_CONFIRM`).
    Pending,
    /// Audit passed (applyorder `SUCCESS`).
    Success,
    /// Audit failed or the order was cancelled (applyorder `FAIL`).
    Failed,
}
text_enum!(AppStatus { Pending => "pending", Success => "success", Failed => "failed" });

/// An application Alipay accepted.
#[derive(Debug, Clone)]
pub struct NewApplication<'a> {
    pub apply_id: &'a ApplyId,
    pub store_id: &'a StoreId,
    /// The shop of a modify; `None` for a create.
    pub shop_id: Option<&'a ShopId>,
    pub kind: WriteKind,
    pub request_id: &'a RequestId,
    /// The action that sent it, when known.
    pub action_id: Option<ActionId>,
    pub fields: &'a BTreeMap<String, String>,
}

/// An application as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Application {
    pub apply_id: ApplyId,
    /// The merchant (`""`: the implicit one).
    pub merchant: String,
    pub store_id: StoreId,
    /// For a create: set once the audit succeeded.
    pub shop_id: Option<ShopId>,
    pub kind: WriteKind,
    pub request_id: RequestId,
    pub action_id: Option<ActionId>,
    pub fields: BTreeMap<String, String>,
    pub status: AppStatus,
    #[serde(serialize_with = "ser::time")]
    pub submitted_at: DateTime<Utc>,
    #[serde(serialize_with = "ser::opt_time")]
    pub finished_at: Option<DateTime<Utc>>,
    pub result_code: Option<String>,
    pub result_desc: Option<String>,
}

const APP_COLUMNS: &str = "apply_id, store_id, shop_id, kind, request_id, action_id, fields_json, \
     status, submitted_at, finished_at, result_code, result_desc, merchant";

fn app_from_row(r: &Row<'_>) -> rusqlite::Result<(Application, String)> {
    Ok((
        Application {
            apply_id: r.get(0)?,
            store_id: r.get(1)?,
            shop_id: r.get(2)?,
            kind: r.get(3)?,
            request_id: r.get(4)?,
            action_id: r.get::<_, Option<i64>>(5)?.map(ActionId),
            fields: BTreeMap::new(),
            status: r.get(7)?,
            submitted_at: r.get::<_, Ts>(8)?.0,
            finished_at: opt_ts(r.get(9)?),
            result_code: r.get(10)?,
            result_desc: r.get(11)?,
            merchant: r.get(12)?,
        },
        r.get(6)?,
    ))
}

fn finish_app((mut app, fields): (Application, String)) -> Result<Application, AuditError> {
    app.fields = fields_from_json(&fields, "applications.fields_json")?;
    Ok(app)
}

impl AuditDb {
    /// Records an accepted application (status pending). Recording the same `apply_id`
    /// for the same store and request again is a no-op; for anything else, an error.
    pub fn add_application(
        &self,
        app: &NewApplication<'_>,
        at: DateTime<Utc>,
    ) -> Result<(), AuditError> {
        let fields = fields_to_json(&scrub_fields(app.fields), "applications.fields_json")?;
        self.write(|tx| {
            let existing: Option<(String, String)> = tx
                .query_row(
                    "SELECT store_id, request_id FROM applications WHERE apply_id = ?1",
                    [app.apply_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            match existing {
                Some((s, r)) if s == *app.store_id.as_str() && r == *app.request_id.as_str() => {
                    return Ok(())
                }
                Some((s, r)) => {
                    return Err(AuditError::Conflict {
                        what: "application",
                        key: app.apply_id.to_string(),
                        problem: format!("already recorded for store {s} (request {r})"),
                    })
                }
                None => {}
            }
            tx.execute(
                "INSERT INTO applications (apply_id, store_id, shop_id, kind, request_id, action_id,
                     fields_json, status, submitted_at, merchant)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?9)",
                params![
                    app.apply_id,
                    app.store_id,
                    app.shop_id,
                    app.kind,
                    app.request_id,
                    app.action_id.map(|a| a.0),
                    fields,
                    ts(at),
                    self.merchant()
                ],
            )?;
            Ok(())
        })
    }

    /// Applications still under audit, oldest first.
    pub fn pending_applications(&self) -> Result<Vec<Application>, AuditError> {
        self.apps_where("status = 'pending' ORDER BY submitted_at, apply_id", &[])
    }

    /// Records the end of an application's audit. Idempotent: finishing it again with the
    /// same status returns `false` (but fills a `shop_id` not known before, returning
    /// `true`). An error if the application is unknown, `status` is `Pending`, or it
    /// already ended with the other status.
    pub fn finish_application(
        &self,
        apply_id: &ApplyId,
        status: AppStatus,
        shop_id: Option<&ShopId>,
        result_code: Option<&str>,
        result_desc: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool, AuditError> {
        if status == AppStatus::Pending {
            return Err(AuditError::Conflict {
                what: "application",
                key: apply_id.to_string(),
                problem: "cannot finish with status pending".into(),
            });
        }
        let shop_id = shop_id.filter(|s| !s.is_empty() && *s != "0");
        self.write(|tx| {
            let current: Option<(AppStatus, Option<String>)> = tx
                .query_row(
                    "SELECT status, shop_id FROM applications WHERE apply_id = ?1",
                    [apply_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((current, known_shop)) = current else {
                return Err(AuditError::NotFound {
                    what: "application",
                    key: apply_id.to_string(),
                });
            };
            if current == AppStatus::Pending {
                tx.execute(
                    "UPDATE applications SET status = ?2, shop_id = coalesce(?3, shop_id),
                         result_code = ?4, result_desc = ?5, finished_at = ?6
                     WHERE apply_id = ?1",
                    params![apply_id, status, shop_id, result_code, result_desc, ts(at)],
                )?;
                return Ok(true);
            }
            if current != status {
                return Err(AuditError::Conflict {
                    what: "application",
                    key: apply_id.to_string(),
                    problem: format!("already finished as {current}, now reported {status}"),
                });
            }
            if let (None, Some(shop)) = (known_shop, shop_id) {
                tx.execute(
                    "UPDATE applications SET shop_id = ?2 WHERE apply_id = ?1",
                    params![apply_id, shop],
                )?;
                return Ok(true);
            }
            Ok(false)
        })
    }

    /// Give a placeholder application ([`ApplyId::unidentified`]) its real apply id, in
    /// the application and in the action that opened it. `false` if the placeholder is not
    /// pending (identified before, or finished).
    pub fn identify_application(
        &self,
        placeholder: &ApplyId,
        apply_id: &ApplyId,
    ) -> Result<bool, AuditError> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE applications SET apply_id = ?2 WHERE apply_id = ?1 AND status = 'pending'",
                params![placeholder, apply_id],
            )?;
            if n == 1 {
                tx.execute(
                    "UPDATE actions SET apply_id = ?2 WHERE apply_id = ?1",
                    params![placeholder, apply_id],
                )?;
            }
            Ok(n == 1)
        })
    }

    /// Every apply id our writes opened (placeholders included): an application in a
    /// listing that is not among them is not claimed by any write we know of.
    pub fn known_apply_ids(&self) -> Result<std::collections::HashSet<ApplyId>, AuditError> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT apply_id FROM applications")?;
        let ids = stmt
            .query_map([], |r| r.get::<_, ApplyId>(0))?
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }

    /// A store's applications, newest first.
    pub fn applications_for_store(
        &self,
        store_id: &StoreId,
    ) -> Result<Vec<Application>, AuditError> {
        self.apps_where(
            "store_id = ?1 ORDER BY submitted_at DESC, rowid DESC",
            &[store_id],
        )
    }

    /// The newest application of every store (one per store), for the planner.
    pub fn last_applications(&self) -> Result<Vec<Application>, AuditError> {
        self.apps_where(
            "a.rowid = (SELECT b.rowid FROM applications b \
               WHERE b.store_id = a.store_id AND b.merchant = a.merchant \
               ORDER BY b.submitted_at DESC, b.rowid DESC LIMIT 1)",
            &[],
        )
    }

    /// The application opened by this `request_id`.
    pub fn application_by_request_id(
        &self,
        request_id: &RequestId,
    ) -> Result<Option<Application>, AuditError> {
        Ok(self
            .apps_where("request_id = ?1 ORDER BY rowid DESC", &[request_id])?
            .into_iter()
            .next())
    }

    /// One application.
    pub fn application(&self, apply_id: &ApplyId) -> Result<Option<Application>, AuditError> {
        Ok(self
            .apps_where("apply_id = ?1", &[apply_id])?
            .into_iter()
            .next())
    }

    /// The applications Alipay's audit rejected at or after `since`, oldest first, each with
    /// the run whose write opened it (`None`: opened by no recorded action).
    pub fn rejected_applications_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(Option<super::runs::RunId>, Application)>, AuditError> {
        let apps = self.apps_where(
            "status = 'failed' AND finished_at >= ?1 ORDER BY finished_at, apply_id",
            &[&ts(since)],
        )?;
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT run_id FROM actions WHERE id = ?1")?;
        apps.into_iter()
            .map(|app| {
                let run = match app.action_id {
                    Some(id) => stmt
                        .query_row([id.0], |r| r.get::<_, i64>(0))
                        .optional()?
                        .map(super::runs::RunId),
                    None => None,
                };
                Ok((run, app))
            })
            .collect()
    }

    /// `SELECT … WHERE <this handle's merchant> AND <condition>`: the condition's own
    /// parameters are `?1..?n`; the merchant filter is bound after them.
    fn apps_where(
        &self,
        condition: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<Application>, AuditError> {
        let m = params.len() + 1;
        let only = self.only();
        let mut all: Vec<&dyn rusqlite::ToSql> = params.to_vec();
        all.push(&only);
        let raws = {
            let conn = self.lock();
            let mut stmt = conn.prepare(&format!(
                "SELECT {APP_COLUMNS} FROM applications a WHERE {} AND {condition}",
                self.merchant_sql("a.merchant", m)
            ))?;
            let rows = stmt
                .query_map(all.as_slice(), app_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            rows
        };
        raws.into_iter().map(finish_app).collect()
    }
}
