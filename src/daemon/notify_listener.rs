//! HTTP receiver for Alipay's shop audit notifications (docs/protocol.md §5).
//!
//! A POSTed form is decoded (UTF-8, or GBK when it is not valid UTF-8), verified with the
//! Alipay public key by the V1 rule, checked for the fields we need, and handed to a
//! [`NotificationSink`]. Answers: 200 `success` once recorded; 400 `fail` for a forged,
//! malformed or incomplete form (never passed on); 500 `fail` when the sink fails, so
//! Alipay retries. The sink must be idempotent (keyed by `notify_id`, then `apply_id`).

use crate::ids::{ApplyId, RequestId, ShopId};
use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use chrono::{DateTime, Utc};
use tracing::{error, info, warn};

use crate::alipay::sign::{verify_notification, VerifyKey};
use crate::alipay::timestamp;
use crate::alipay::NotificationKeys;

/// The only `notify_type` this endpoint accepts.
pub const NOTIFY_TYPE: &str = "shop_audit_result";

/// The audit verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditStatus {
    Success,
    Failed,
}

impl AuditStatus {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "AUDIT_SUCCESS" => Some(AuditStatus::Success),
            "AUDIT_FAILED" => Some(AuditStatus::Failed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AuditStatus::Success => "AUDIT_SUCCESS",
            AuditStatus::Failed => "AUDIT_FAILED",
        }
    }
}

/// A verified shop audit notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditNotification {
    pub notify_id: String,
    /// `notify_time` (sent in UTC+8) as an instant.
    pub notify_time: DateTime<Utc>,
    pub notify_type: String,
    /// `CREATE_SHOP_AUDIT`, or (per the simulator) `MODIFY_SHOP_AUDIT`; kept as sent.
    pub biz_type: String,
    pub apply_id: ApplyId,
    /// The caller's `request_id` from the create/modify.
    pub request_id: RequestId,
    /// Absent or empty on a failed create.
    pub shop_id: Option<ShopId>,
    pub audit_status: AuditStatus,
    /// `T`/`F`; `None` when absent.
    pub is_online: Option<bool>,
    pub is_show: Option<bool>,
    pub result_code: Option<String>,
    pub result_desc: Option<String>,
}

/// Where verified notifications go (the audit store in production).
pub trait NotificationSink: Send + Sync {
    fn record(&self, n: &AuditNotification) -> anyhow::Result<()>;
}

/// Why a form was refused (logged; the sender only sees `fail`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NotificationError {
    #[error("Notification body is not valid form data: {0}")]
    Malformed(String),
    #[error("Notification signature does not verify with the Alipay public key.")]
    BadSignature,
    #[error("Notification field {0:?} is missing or empty.")]
    Missing(&'static str),
    #[error("Notification field {field:?} has an unexpected value {value:?}.")]
    BadValue { field: &'static str, value: String },
    #[error("Notification field {0:?} appears more than once.")]
    Duplicate(String),
}

/// Decode an `application/x-www-form-urlencoded` body into pairs: UTF-8 if the decoded
/// bytes are valid UTF-8, else GBK. With `prefer_gbk` (the request said `charset=GBK`),
/// GBK is tried first.
pub fn decode_form(
    body: &[u8],
    prefer_gbk: bool,
) -> Result<Vec<(String, String)>, NotificationError> {
    let mut raw: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for part in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (k, v) = match part.iter().position(|b| *b == b'=') {
            Some(i) => (&part[..i], &part[i + 1..]),
            None => (part, &[][..]),
        };
        raw.push((unescape(k), unescape(v)));
    }
    let utf8 = |b: &[u8]| String::from_utf8(b.to_vec()).ok();
    let gbk = |b: &[u8]| {
        encoding_rs::GBK
            .decode_without_bom_handling_and_without_replacement(b)
            .map(|s| s.into_owned())
    };
    let decode_all = |f: &dyn Fn(&[u8]) -> Option<String>| {
        raw.iter()
            .map(|(k, v)| Some((f(k)?, f(v)?)))
            .collect::<Option<Vec<_>>>()
    };
    let decoded = if prefer_gbk {
        decode_all(&gbk).or_else(|| decode_all(&utf8))
    } else {
        decode_all(&utf8).or_else(|| decode_all(&gbk))
    };
    decoded.ok_or_else(|| NotificationError::Malformed("neither UTF-8 nor GBK".to_string()))
}

/// Whether a `Content-Type` names a GBK-family charset.
fn says_gbk(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        ct.split(';').skip(1).any(|param| {
            let param = param.trim().to_ascii_lowercase();
            matches!(
                param.strip_prefix("charset=").map(|c| c.trim_matches('"')),
                Some("gbk" | "gb2312" | "gb18030")
            )
        })
    })
}

fn unescape(bytes: &[u8]) -> Vec<u8> {
    let plus: Vec<u8> = bytes
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    percent_encoding::percent_decode(&plus).collect()
}

/// Verify and parse decoded form pairs.
pub fn parse_notification(
    key: &VerifyKey,
    pairs: &[(String, String)],
) -> Result<AuditNotification, NotificationError> {
    parse_notification_signed_by_any(std::slice::from_ref(key), pairs)
}

/// [`parse_notification`] accepting a signature by any of `keys` (certificate mode: every
/// trusted Alipay certificate's key).
pub fn parse_notification_signed_by_any(
    keys: &[VerifyKey],
    pairs: &[(String, String)],
) -> Result<AuditNotification, NotificationError> {
    let mut seen = std::collections::BTreeSet::new();
    for (k, _) in pairs {
        if !seen.insert(k.as_str()) {
            return Err(NotificationError::Duplicate(k.clone()));
        }
    }
    let refs = || pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    if !keys.iter().any(|key| verify_notification(key, refs())) {
        return Err(NotificationError::BadSignature);
    }
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let need = |name: &'static str| {
        get(name)
            .map(str::to_string)
            .ok_or(NotificationError::Missing(name))
    };
    let flag = |name: &'static str| -> Result<Option<bool>, NotificationError> {
        match get(name) {
            None => Ok(None),
            Some("T") => Ok(Some(true)),
            Some("F") => Ok(Some(false)),
            Some(other) => Err(NotificationError::BadValue {
                field: name,
                value: other.to_string(),
            }),
        }
    };
    let notify_type = need("notify_type")?;
    if notify_type != NOTIFY_TYPE {
        return Err(NotificationError::BadValue {
            field: "notify_type",
            value: notify_type,
        });
    }
    let time_text = need("notify_time")?;
    let notify_time = timestamp::parse(&time_text).ok_or(NotificationError::BadValue {
        field: "notify_time",
        value: time_text,
    })?;
    let status_text = need("audit_status")?;
    let audit_status = AuditStatus::parse(&status_text).ok_or(NotificationError::BadValue {
        field: "audit_status",
        value: status_text,
    })?;
    Ok(AuditNotification {
        notify_id: need("notify_id")?,
        notify_time,
        notify_type,
        biz_type: need("biz_type")?,
        apply_id: ApplyId::new(need("apply_id")?),
        request_id: RequestId::new(need("request_id")?),
        shop_id: get("shop_id").map(ShopId::new),
        audit_status,
        is_online: flag("is_online")?,
        is_show: flag("is_show")?,
        result_code: get("result_code").map(str::to_string),
        result_desc: get("result_desc").map(str::to_string),
    })
}

struct ListenerState {
    keys: NotificationKeys,
    sink: Arc<dyn NotificationSink>,
}

/// Serve notifications POSTed to `path` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    path: String,
    alipay_key: impl Into<NotificationKeys>,
    sink: Arc<dyn NotificationSink>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = Arc::new(ListenerState {
        keys: alipay_key.into(),
        sink,
    });
    let app = Router::new().route(&path, post(receive)).with_state(state);
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, path = %path, "Notification listener started.");
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn receive(
    State(state): State<Arc<ListenerState>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let gbk = says_gbk(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    );
    let keys = state.keys.keys();
    let parsed =
        decode_form(&body, gbk).and_then(|pairs| parse_notification_signed_by_any(&keys, &pairs));
    let n = match parsed {
        Ok(n) => n,
        Err(e) => {
            warn!(error = %e, "Audit notification refused.");
            return (StatusCode::BAD_REQUEST, "fail");
        }
    };
    let sink = Arc::clone(&state.sink);
    let recorded = {
        let n = n.clone();
        tokio::task::spawn_blocking(move || sink.record(&n)).await
    };
    match recorded {
        Ok(Ok(())) => {
            info!(
                notify_id = %n.notify_id,
                apply_id = %n.apply_id,
                audit_status = n.audit_status.as_str(),
                "Audit notification recorded."
            );
            (StatusCode::OK, "success")
        }
        Ok(Err(e)) => {
            error!(notify_id = %n.notify_id, apply_id = %n.apply_id, error = format!("{e:#}"), "Audit notification could not be recorded.");
            (StatusCode::INTERNAL_SERVER_ERROR, "fail")
        }
        Err(e) => {
            error!(notify_id = %n.notify_id, error = %e, "Audit notification recorder panicked.");
            (StatusCode::INTERNAL_SERVER_ERROR, "fail")
        }
    }
}
