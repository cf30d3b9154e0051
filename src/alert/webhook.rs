//! The generic JSON webhook: shopsync's own documented body, for anything else (an
//! on-call tool, a chat bridge, a script).
//!
//! `POST URL`, `Content-Type: application/json`, `X-Shopsync-Event: <kind>`, body (schema 1):
//!
//! ```json
//! {
//!   "schema": 1,
//!   "source": "shopsync",
//!   "event": "run_failed",
//!   "title": "shopsync: run 42 failed",
//!   "run_id": 42,
//!   "merchant": "鲜果坊",
//!   "app_id": "2021000000000001",
//!   "reason": "The run failed.",
//!   "counts": {"stores": 50, "created": 0, "modified": 0, "unchanged": 0, "pending": 0,
//!              "blocked": 0, "remote_only": 0, "rejected": 0, "failed": 0, "unknown": 0},
//!   "details": ["S001 (A1): 营业执照不清晰"],
//!   "more_details": 0,
//!   "command": "shopsync audit show 42",
//!   "sent_at": "2026-12-01T18:30:00Z"
//! }
//! ```
//!
//! `run_id`, `merchant`, `app_id` and `counts` are `null` when unknown; `event` is one of
//! `run_failed`, `run_partial`, `guard_stop`, `audit_rejected`, `certificate_expiring`,
//! `token_rejected`. With a secret, `X-Shopsync-Signature: sha256=<hex>` is
//! HMAC-SHA256(key = secret, message = the exact body bytes), lowercase hex, as GitHub's
//! `X-Hub-Signature-256`; verify it over the raw body before parsing, in constant time.
//! Any 2xx answer is delivery.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use super::{sign, AlertEvent, Prepared};
use crate::secret::Secret;

/// The body's schema version.
pub const SCHEMA: u32 = 1;
/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-shopsync-signature";
/// The event header.
pub const EVENT_HEADER: &str = "x-shopsync-event";

/// The request for `event` at `now`, signed with `secret` when there is one.
pub fn prepare(
    url: &reqwest::Url,
    secret: Option<&Secret>,
    event: &AlertEvent,
    now: DateTime<Utc>,
) -> Prepared {
    let body = json!({
        "schema": SCHEMA,
        "source": "shopsync",
        "event": event.kind.as_str(),
        "title": event.title(),
        "run_id": event.run.map(|r| r.0),
        "merchant": event.merchant,
        "app_id": event.app_id,
        "reason": event.reason,
        "counts": event.counts,
        "details": event.details,
        "more_details": event.more_details,
        "command": event.command,
        "sent_at": now.to_rfc3339_opts(SecondsFormat::Secs, true),
    });
    let mut prepared = Prepared::json(url.clone(), &body);
    prepared
        .headers
        .push((EVENT_HEADER, event.kind.as_str().to_string()));
    if let Some(secret) = secret {
        let signature = sign::webhook(secret.expose(), &prepared.body);
        prepared.headers.push((SIGNATURE_HEADER, signature));
    }
    prepared
}

/// Delivered: any 2xx.
pub fn check_answer(status: u16, body: &[u8]) -> Result<(), String> {
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(super::http_error(status, body))
    }
}
