//! The simulated Alipay saved to a file and restored from it (docs/protocol.md §8.1 "optional
//! snapshot to a file"), so a simulator started per process (`gateway = "simulator"`)
//! shows the next process the same shops, applications, used request ids, reserved
//! store ids (held by pending creates), images and id counters.
//!
//! The file is JSON (`version` 2: issued images per merchant; version 1 files, with one
//! image list, are still read). Times are RFC 3339 with nanoseconds, so a restored
//! simulator orders and answers exactly as the one that saved it. The random generator
//! (notify and image ids) is reseeded from itself on save and the seed stored, so the
//! saving and the restored simulator draw the same ids afterwards. Pending notifications
//! are kept and re-signed on load with the loading simulator's Alipay key (the built-in
//! simulator generates its keys per process). Call counts, faults and rate-limit buckets
//! are per process and not saved.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::config::{ForcedOutcome, SimConfig, SimError};
use super::fixtures::PRELOADED_IMAGES;
use super::records::{SentNotification, SimOrder, SimShop};
use super::signing::notification_content;
use super::state::{State, OWN_MERCHANT, TOKEN_MERCHANT};

/// The snapshot format version written (1 is still read).
pub const SNAPSHOT_VERSION: u32 = 2;

mod time {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Nanos, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| serde::de::Error::custom(format!("time {s:?}: {e}")))
    }
}

mod opt_time {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::time::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        #[derive(Deserialize)]
        struct Wrap(#[serde(with = "super::time")] DateTime<Utc>);
        Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "SimShop")]
struct ShopDef {
    shop_id: String,
    store_id: String,
    merchant_id: String,
    status: String,
    audit_status: String,
    audit_desc: Option<String>,
    is_online: String,
    is_show: String,
    fields: BTreeMap<String, String>,
    pending_modify: Option<String>,
    #[serde(with = "time")]
    gmt_create: DateTime<Utc>,
    #[serde(with = "time")]
    gmt_modified: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "SimOrder")]
struct OrderDef {
    apply_id: String,
    action: String,
    merchant_id: String,
    status: String,
    sub_status: String,
    biz_id: Option<String>,
    request_id: String,
    internal_request_id: String,
    store_id: String,
    params: serde_json::Map<String, serde_json::Value>,
    changes: BTreeMap<String, Option<String>>,
    notify_url: Option<String>,
    result_code: Option<String>,
    result_desc: Option<String>,
    #[serde(with = "time")]
    created: DateTime<Utc>,
    #[serde(with = "time")]
    modified: DateTime<Utc>,
    #[serde(with = "opt_time")]
    audit_due: Option<DateTime<Utc>>,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "SentNotification")]
struct NotificationDef {
    notify_id: String,
    apply_id: String,
    url: String,
    form: Vec<(String, String)>,
    attempts: u32,
    delivered: bool,
    gave_up: bool,
    last_error: Option<String>,
    #[serde(with = "opt_time")]
    next_attempt: Option<DateTime<Utc>>,
    /// Never true in a file: a delivery in progress is retried by the loader.
    #[serde(skip)]
    in_flight: bool,
}

#[derive(Serialize, Deserialize)]
struct Shop(#[serde(with = "ShopDef")] SimShop);

#[derive(Serialize, Deserialize)]
struct Order(#[serde(with = "OrderDef")] SimOrder);

#[derive(Serialize, Deserialize)]
struct Notification(#[serde(with = "NotificationDef")] SentNotification);

/// Issued image ids: per merchant (version 2), or one list (version 1, which also held
/// the two example ids whether issued or not).
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Images {
    PerMerchant(BTreeMap<String, Vec<String>>),
    Flat(Vec<String>),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Snapshot {
    version: u32,
    #[serde(with = "time")]
    saved_at: DateTime<Utc>,
    /// Added to the configured clock (`/__sim/clock/advance`), in nanoseconds.
    clock_offset_ns: i64,
    rng_seed: u64,
    serial_shop: u64,
    serial_apply: u64,
    serial_internal: u64,
    shops: Vec<Shop>,
    orders: Vec<Order>,
    request_ids: Vec<String>,
    images: Images,
    forced: BTreeMap<String, ForcedOutcome>,
    notifications: Vec<Notification>,
}

/// Serialise the state (reseeding its random generator, see the module doc).
pub(super) fn to_json(
    st: &mut State,
    now: DateTime<Utc>,
    offset: Duration,
) -> Result<String, String> {
    let rng_seed: u64 = st.rng.random();
    st.rng = StdRng::seed_from_u64(rng_seed);
    let mut request_ids: Vec<String> = st.request_ids.iter().cloned().collect();
    request_ids.sort();
    let snap = Snapshot {
        version: SNAPSHOT_VERSION,
        saved_at: now,
        clock_offset_ns: offset.num_nanoseconds().unwrap_or(0),
        rng_seed,
        serial_shop: st.serial_shop,
        serial_apply: st.serial_apply,
        serial_internal: st.serial_internal,
        shops: st.shops().cloned().map(Shop).collect(),
        orders: st.orders().cloned().map(Order).collect(),
        request_ids,
        images: Images::PerMerchant(
            st.images()
                .iter()
                .map(|(m, ids)| (m.clone(), ids.iter().cloned().collect()))
                .collect(),
        ),
        forced: st
            .forced
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        notifications: st
            .notifications()
            .iter()
            .cloned()
            .map(Notification)
            .collect(),
    };
    serde_json::to_string_pretty(&snap).map_err(|e| e.to_string())
}

/// Parse a snapshot into a fresh state and the clock offset it was saved with.
/// Undelivered notifications are re-signed with `cfg.alipay_key` and become due at `now`
/// if they had no next attempt.
pub(super) fn from_json(
    text: &str,
    cfg: &SimConfig,
    now: DateTime<Utc>,
) -> Result<(State, Duration), String> {
    let snap: Snapshot = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if !(1..=SNAPSHOT_VERSION).contains(&snap.version) {
        return Err(format!(
            "snapshot version {} is not supported (expected 1 to {SNAPSHOT_VERSION})",
            snap.version
        ));
    }
    let mut st = State::new(cfg.seed);
    st.rng = StdRng::seed_from_u64(snap.rng_seed);
    st.serial_shop = snap.serial_shop;
    st.serial_apply = snap.serial_apply;
    st.serial_internal = snap.serial_internal;
    st.replace_shops(snap.shops.into_iter().map(|Shop(s)| s));
    st.replace_orders(snap.orders.into_iter().map(|Order(o)| o));
    st.request_ids = snap.request_ids.into_iter().collect();
    match snap.images {
        Images::PerMerchant(m) => {
            for (merchant, ids) in m {
                for id in ids {
                    st.issue_image(&merchant, id);
                }
            }
        }
        // Version 1 kept one list for both merchants it knew.
        Images::Flat(ids) => {
            for id in ids
                .into_iter()
                .filter(|id| !PRELOADED_IMAGES.contains(&id.as_str()))
            {
                for merchant in [OWN_MERCHANT, TOKEN_MERCHANT] {
                    st.issue_image(merchant, id.clone());
                }
            }
        }
    }
    st.forced = snap.forced.into_iter().collect();
    let log = snap
        .notifications
        .into_iter()
        .map(|Notification(mut n)| {
            n.in_flight = false;
            if !n.delivered && !n.gave_up {
                resign(&mut n, cfg);
                n.next_attempt.get_or_insert(now);
            }
            n
        })
        .collect();
    st.replace_notifications(log);
    Ok((st, Duration::nanoseconds(snap.clock_offset_ns)))
}

/// Replace `sign`/`sign_type` with a signature by this simulator's key.
fn resign(n: &mut SentNotification, cfg: &SimConfig) {
    n.form.retain(|(k, _)| k != "sign" && k != "sign_type");
    let content = notification_content(&n.form);
    n.form.push(("sign_type".into(), "RSA2".into()));
    n.form
        .push(("sign".into(), cfg.first_alipay_key().sign(&content)));
}

/// Write `text` to `path` atomically: a temporary file in the same directory, flushed to
/// disk, then renamed over `path`.
pub(super) fn write_atomically(path: &Path, text: &str) -> Result<(), SimError> {
    let err = |source| SimError::SnapshotWrite {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "snapshot".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}

/// Read and parse a snapshot file.
pub(super) fn read(
    path: &Path,
    cfg: &SimConfig,
    now: DateTime<Utc>,
) -> Result<(State, Duration), SimError> {
    let text = std::fs::read_to_string(path).map_err(|source| SimError::SnapshotRead {
        path: path.to_path_buf(),
        source,
    })?;
    from_json(&text, cfg, now).map_err(|message| SimError::SnapshotInvalid {
        path: path.to_path_buf(),
        message,
    })
}
