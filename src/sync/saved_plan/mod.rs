//! Saved plans: `shopsync plan --out FILE` writes what it would do with what it was
//! computed from; `shopsync sync --plan FILE` applies exactly those writes, or not at all
//! for the stores whose state moved since (docs/design.md invariant 9); `shopsync
//! show-plan FILE` reads one back. The format and its guarantees: docs/saved-plans.md.
//!
//! - [`fingerprint`]: per store, what the plan saw of its export row and of its shop.
//! - [`schema`]: the body (header, counts, items), schema version 1.
//! - [`format`]: the envelope and the digest checked at load.
//!
//! A sync of a saved plan is a normal sync (pending applications refreshed, unknown
//! outcomes confirmed, the plan computed afresh, guards) whose fresh plan is then
//! [`SavedPlan::restrict`]ed: a store's write is sent only if the saved plan has it, the
//! store's fingerprints are unchanged, and the fresh plan would make the very same write.

pub mod fingerprint;
pub mod format;
pub mod schema;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use fingerprint::{fingerprints, Fingerprints, StoreFingerprint};
pub use format::{digest_of, seal, unseal, FORMAT, VERSION};
pub use schema::PlanHeader;

use crate::config::Config;
use crate::ids::StoreId;
use crate::sync::plan::{Action, Change, Plan, PlanItem};

/// Plans made this far in the future of this host's clock are refused (clock skew
/// between hosts is allowed this much).
pub const FUTURE_SKEW: Duration = Duration::from_secs(300);
/// `sync --plan` refuses plans older than this unless `--max-age` says otherwise.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// Why a saved plan cannot be used. Each is exit 1, and names the file.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    #[error("cannot read the saved plan {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the plan to {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a saved plan: {why}", path.display())]
    NotAPlan { path: PathBuf, why: String },
    #[error("{} is a saved plan of schema version {found}; this shopsync reads version {VERSION}", path.display())]
    Version { path: PathBuf, found: u64 },
    #[error("the saved plan {} was changed or damaged after it was written: its digest does not match its content; make a new one with `shopsync plan --out`", path.display())]
    Digest { path: PathBuf },
    #[error("the saved plan {}: {problem}", path.display())]
    Body { path: PathBuf, problem: String },
    #[error("the saved plan {} is for {what} {planned:?}, not {configured:?} as configured; refused", path.display())]
    OtherTarget {
        path: PathBuf,
        what: &'static str,
        planned: String,
        configured: String,
    },
    #[error("the saved plan {} was made {age} ago ({made_at}), more than --max-age {max_age}; make a new one with `shopsync plan --out`", path.display())]
    TooOld {
        path: PathBuf,
        made_at: String,
        age: String,
        max_age: String,
    },
    #[error("the saved plan {} was made in the future ({made_at}); check this host's clock", path.display())]
    Future { path: PathBuf, made_at: String },
}

/// What a plan must have been made for: the configured app, merchant and gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanTarget {
    pub app_id: String,
    pub merchant: String,
    pub gateway: String,
}

impl PlanTarget {
    /// The target `cfg` configures: `cfg` is one merchant's effective configuration
    /// ([`Config::for_merchant`]; `""` names the implicit merchant of a config without
    /// `[[merchant]]` tables).
    pub fn of(cfg: &Config) -> Self {
        PlanTarget {
            app_id: cfg.alipay.app_id.clone(),
            merchant: cfg.merchant_name.clone(),
            gateway: if cfg.is_simulator() {
                "simulator".into()
            } else {
                cfg.gateway_url().unwrap_or_default()
            },
        }
    }
}

/// The header of a plan computed now for `target`.
pub fn header(
    target: &PlanTarget,
    source: &str,
    plan_run: i64,
    made_at: DateTime<Utc>,
) -> PlanHeader {
    PlanHeader {
        made_at,
        shopsync_version: env!("CARGO_PKG_VERSION").to_string(),
        app_id: target.app_id.clone(),
        merchant: target.merchant.clone(),
        gateway: target.gateway.clone(),
        source: source.to_string(),
        plan_run,
    }
}

/// A store of a saved plan whose write was not sent, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleStore {
    pub store_id: StoreId,
    pub reason: String,
}

/// A saved plan, read back and checked against its digest.
#[derive(Debug, Clone)]
pub struct SavedPlan {
    pub path: PathBuf,
    pub header: PlanHeader,
    /// The digest of its body (hex SHA-256).
    pub digest: String,
    pub plan: Plan,
    pub fingerprints: Fingerprints,
}

/// What a saved plan leaves of a fresh plan.
#[derive(Debug, Clone, Default)]
pub struct Restricted {
    /// The fresh plan, every write it may not make turned into `blocked` (with the reason).
    pub plan: Plan,
    /// The saved plan's writes that were not kept.
    pub stale: Vec<StaleStore>,
    /// Writes the fresh plan would make that the saved plan does not have (left blocked).
    pub not_in_plan: u64,
}

fn is_write(action: &Action) -> bool {
    matches!(action, Action::Create { .. } | Action::Modify { .. })
}

fn changes_of(action: &Action) -> Vec<Change> {
    match action {
        Action::Modify { changes, .. } | Action::Blocked { changes, .. } => changes.clone(),
        _ => Vec::new(),
    }
}

fn shop_of(action: &Action) -> Option<crate::ids::ShopId> {
    match action {
        Action::Modify { shop_id, .. }
        | Action::Unchanged { shop_id }
        | Action::RemoteOnly { shop_id, .. } => Some(shop_id.clone()),
        Action::Pending { shop_id, .. } | Action::Blocked { shop_id, .. } => shop_id.clone(),
        Action::Create { .. } | Action::Rejected { .. } => None,
    }
}

fn blocked(item: &PlanItem, reason: String) -> PlanItem {
    PlanItem {
        store_id: item.store_id.clone(),
        action: Action::Blocked {
            shop_id: shop_of(&item.action),
            reason,
            changes: changes_of(&item.action),
        },
    }
}

/// What moved in a store's fingerprints, if anything.
fn moved(saved: &StoreFingerprint, now: Option<&StoreFingerprint>) -> Option<&'static str> {
    let Some(now) = now else {
        return Some("its export row is gone or no longer valid");
    };
    match (saved.export != now.export, saved.remote != now.remote) {
        (false, false) => None,
        (true, false) => Some("its export row changed"),
        (false, true) => Some("its shop on Alipay changed"),
        (true, true) => Some("its export row and its shop on Alipay changed"),
    }
}

/// What the fresh plan would do instead, in words.
fn now_doing(action: &Action) -> String {
    match action {
        Action::Pending { reason, .. } | Action::Blocked { reason, .. } => {
            format!("it is now {}: {reason}", action.label())
        }
        Action::Rejected { reason, .. } => format!("its row is now rejected: {reason}"),
        Action::Create { .. } | Action::Modify { .. } => {
            format!("a {} with other values is due now", action.label())
        }
        _ => format!("it is now {}", action.label()),
    }
}

impl SavedPlan {
    /// Read and check the file: envelope, digest, schema (streamed: memory holds the
    /// plan, not the file).
    pub fn load(path: &Path) -> Result<Self, SavedPlanError> {
        let (body, digest) = format::read(path)?;
        Ok(Self::of(path, body, digest))
    }

    /// [`SavedPlan::load`] of text already read (`path` names it in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Self, SavedPlanError> {
        let (body, digest) = unseal(path, text)?;
        let body = format::parse_body(body).map_err(|e| SavedPlanError::Body {
            path: path.to_path_buf(),
            problem: e.to_string(),
        })?;
        Ok(Self::of(path, body, digest))
    }

    fn of(path: &Path, body: schema::Body, digest: String) -> Self {
        SavedPlan {
            path: path.to_path_buf(),
            header: body.header,
            digest,
            plan: body.plan,
            fingerprints: body.fingerprints,
        }
    }

    /// Refuse a plan made for another app, merchant or gateway, older than `max_age`, or
    /// made in the future.
    pub fn check(
        &self,
        target: &PlanTarget,
        now: DateTime<Utc>,
        max_age: Duration,
    ) -> Result<(), SavedPlanError> {
        let h = &self.header;
        for (what, planned, configured) in [
            ("app id", &h.app_id, &target.app_id),
            ("merchant", &h.merchant, &target.merchant),
            ("gateway", &h.gateway, &target.gateway),
        ] {
            if planned != configured {
                return Err(SavedPlanError::OtherTarget {
                    path: self.path.clone(),
                    what,
                    planned: planned.clone(),
                    configured: configured.clone(),
                });
            }
        }
        let made_at = h.made_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let age = now - h.made_at;
        if age < -chrono::Duration::from_std(FUTURE_SKEW).unwrap_or_default() {
            return Err(SavedPlanError::Future {
                path: self.path.clone(),
                made_at,
            });
        }
        let age = age.to_std().unwrap_or_default();
        if age > max_age {
            return Err(SavedPlanError::TooOld {
                path: self.path.clone(),
                made_at,
                age: humantime::format_duration(Duration::from_secs(age.as_secs())).to_string(),
                max_age: humantime::format_duration(max_age).to_string(),
            });
        }
        Ok(())
    }

    /// The writes of the saved plan, by store.
    fn writes(&self) -> HashMap<&StoreId, &PlanItem> {
        self.plan
            .items
            .iter()
            .filter(|i| is_write(&i.action))
            .filter_map(|i| Some((i.store_id.as_ref()?, i)))
            .collect()
    }

    /// Keep of `fresh` (the plan a sync just computed, with the fingerprints `now` of what
    /// it read) only the writes this plan has, for stores whose fingerprints did not move
    /// and whose fresh write is the same; every other fresh write becomes `blocked`.
    pub fn restrict(&self, fresh: Plan, now: &Fingerprints) -> Restricted {
        let saved = self.writes();
        let mut seen: HashSet<&StoreId> = HashSet::new();
        let mut out = Restricted::default();
        out.plan.items.reserve(fresh.items.len());
        for item in fresh.items {
            let Some(id) = item.store_id.as_ref() else {
                out.plan.items.push(item);
                continue;
            };
            let Some((&key, &planned)) = saved.get_key_value(id) else {
                if is_write(&item.action) {
                    out.not_in_plan += 1;
                    let reason = format!(
                        "a {} not in the saved plan (review it with `shopsync plan`)",
                        item.action.label()
                    );
                    out.plan.items.push(blocked(&item, reason));
                } else {
                    out.plan.items.push(item);
                }
                continue;
            };
            seen.insert(key);
            let fp = self.fingerprints.get(id);
            let stale = match fp.and_then(|fp| moved(fp, now.get(id))) {
                Some(why) => Some(why.to_string()),
                None if fp.is_none() => Some("the saved plan has no fingerprint of it".into()),
                None if item.action != planned.action => Some(now_doing(&item.action)),
                None => None,
            };
            match stale {
                None => out.plan.items.push(item),
                Some(reason) => {
                    out.stale.push(StaleStore {
                        store_id: id.clone(),
                        reason: reason.clone(),
                    });
                    if is_write(&item.action) {
                        let why = format!(
                            "stale: the saved plan's {} was not sent, {reason}",
                            planned.action.label()
                        );
                        out.plan.items.push(blocked(&item, why));
                    } else {
                        out.plan.items.push(item);
                    }
                }
            }
        }
        let mut gone: Vec<StaleStore> = saved
            .keys()
            .filter(|id| !seen.contains(*id))
            .map(|id| StaleStore {
                store_id: (*id).clone(),
                reason: "it is no longer in the export".into(),
            })
            .collect();
        gone.sort_by(|a, b| a.store_id.cmp(&b.store_id));
        out.stale.extend(gone);
        out
    }
}

/// One line for the operator: which stores were stale, the first few by name.
pub fn stale_message(stale: &[StaleStore]) -> String {
    const SHOWN: usize = 5;
    let mut names: Vec<String> = stale
        .iter()
        .take(SHOWN)
        .map(|s| format!("{} ({})", s.store_id, s.reason))
        .collect();
    if stale.len() > SHOWN {
        names.push(format!("and {} more", stale.len() - SHOWN));
    }
    format!(
        "{} stores of the saved plan were skipped because their state moved since it was made (stale): {}",
        stale.len(),
        names.join("; ")
    )
}

#[cfg(test)]
mod tests;
