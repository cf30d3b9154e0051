//! The configuration's sections (`[alipay]`, `[sync]`, `[rate_limit]`, ...) and their
//! defaults. Every table denies unknown keys, so a typo is an error, not a default.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::alipay::ratelimit::RateSpec;

/// Where the client sends its calls.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "String")]
pub enum GatewayChoice {
    /// The built-in simulator, started in-process on a free loopback port.
    #[default]
    Simulator,
    /// Alipay's production gateway.
    Production,
    /// Alipay's sandbox gateway.
    Sandbox,
    /// A gateway URL (`http(s)://…/gateway.do`).
    Url(String),
}

impl TryFrom<String> for GatewayChoice {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        match value.as_str() {
            "simulator" => Ok(GatewayChoice::Simulator),
            "production" => Ok(GatewayChoice::Production),
            "sandbox" => Ok(GatewayChoice::Sandbox),
            g if g.starts_with("http://") || g.starts_with("https://") => {
                Ok(GatewayChoice::Url(value))
            }
            _ => Err(format!(
                "gateway {value:?} is not \"simulator\", \"production\", \"sandbox\" or an http(s) URL"
            )),
        }
    }
}

impl GatewayChoice {
    /// A plain-`http` URL whose host is not loopback: the app_auth_token and every store's
    /// data would cross the network in clear.
    pub fn is_insecure(&self) -> bool {
        let GatewayChoice::Url(url) = self else {
            return false;
        };
        let Some(rest) = url.strip_prefix("http://") else {
            return false;
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let authority = authority.rsplit('@').next().unwrap_or(authority);
        let host = if let Some(v6) = authority.strip_prefix('[') {
            v6.split(']').next().unwrap_or("")
        } else {
            authority.split(':').next().unwrap_or("")
        };
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        !loopback
    }

    /// The gateway URL, for a real gateway.
    pub fn url(&self) -> Option<&str> {
        match self {
            GatewayChoice::Simulator => None,
            GatewayChoice::Production => Some(crate::alipay::gateway::PRODUCTION_URL),
            GatewayChoice::Sandbox => Some(crate::alipay::gateway::SANDBOX_URL),
            GatewayChoice::Url(u) => Some(u),
        }
    }
}

pub(super) fn de_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s)
        .map_err(|e| serde::de::Error::custom(format!("{s:?} is not a duration like \"30s\": {e}")))
}

fn de_opt_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    de_duration(d).map(Some)
}

/// A number or flag written natively in TOML or as text (environment overrides are always
/// text: `SHOPSYNC_RATE_LIMIT_QPS=5`).
#[derive(Deserialize)]
#[serde(untagged)]
enum NativeOrText<T> {
    Native(T),
    Text(String),
}

pub(crate) fn lenient<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + std::str::FromStr,
    T::Err: std::fmt::Display,
{
    match NativeOrText::<T>::deserialize(d)? {
        NativeOrText::Native(v) => Ok(v),
        NativeOrText::Text(s) => s
            .trim()
            .parse()
            .map_err(|e| serde::de::Error::custom(format!("{s:?}: {e}"))),
    }
}

pub(crate) fn lenient_opt<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + std::str::FromStr,
    T::Err: std::fmt::Display,
{
    lenient(d).map(Some)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlipaySection {
    /// `"simulator"` (built-in, in-process), `"production"`, `"sandbox"`, or a gateway URL.
    /// A plain `http://` URL is refused unless its host is loopback, or
    /// `allow_insecure_http = true` (a TLS-terminating proxy on a private network).
    #[serde(default)]
    pub gateway: GatewayChoice,
    /// Accept a plain-`http` gateway on a non-loopback host (logged loudly at every start).
    #[serde(default, deserialize_with = "lenient")]
    pub allow_insecure_http: bool,
    #[serde(default = "default_app_id")]
    pub app_id: String,
    /// Path of the app private key (PKCS#1/PKCS#8 PEM or bare base64). With the simulator
    /// it may be omitted: keys are then generated in memory.
    #[serde(default)]
    pub app_private_key: Option<PathBuf>,
    /// Path of Alipay's public key (PEM or bare base64). Key mode only: absent in
    /// certificate mode.
    #[serde(default)]
    pub alipay_public_key: Option<PathBuf>,
    /// Certificate mode (公钥证书模式, all three set): the app's certificate
    /// (`appCertPublicKey_<app_id>.crt`), holding the public half of `app_private_key`.
    #[serde(default)]
    pub app_cert: Option<PathBuf>,
    /// Certificate mode: Alipay's certificate (`alipayCertPublicKey_RSA2.crt`, leaf and
    /// issuing CA).
    #[serde(default)]
    pub alipay_cert: Option<PathBuf>,
    /// Certificate mode: Alipay's root bundle (`alipayRootCert.crt`).
    #[serde(default)]
    pub alipay_root_cert: Option<PathBuf>,
    /// `"classic"` (`gateway.do`, the default) or `"v3"` (REST paths under `/v3/` on the
    /// gateway's host).
    #[serde(default)]
    pub protocol: crate::alipay::Protocol,
    /// File holding the app_auth_token (when acting for a merchant). The token may also
    /// come from `SHOPSYNC_APP_AUTH_TOKEN` or the systemd credential `app-auth-token`.
    #[serde(default)]
    pub app_auth_token_file: Option<PathBuf>,
    #[serde(default = "default_op_role")]
    pub op_role: String,
    #[serde(default = "default_query_type")]
    pub query_type: String,
    #[serde(default)]
    pub related_partner_id: Option<String>,
    /// Where Alipay POSTs audit results (`operate_notify_url` of creates and modifies).
    #[serde(default)]
    pub operate_notify_url: Option<String>,
    #[serde(default = "default_connect_timeout", deserialize_with = "de_duration")]
    pub connect_timeout: Duration,
    #[serde(default = "default_request_timeout", deserialize_with = "de_duration")]
    pub request_timeout: Duration,
}

fn default_app_id() -> String {
    "2021000000000001".into()
}
fn default_op_role() -> String {
    "ISV".into()
}
fn default_query_type() -> String {
    "MERCHANT_SELF".into()
}
fn default_connect_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_request_timeout() -> Duration {
    Duration::from_secs(15)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSection {
    /// Managed fields (Alipay names). Default: every field the export provides.
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    #[serde(default = "yes", deserialize_with = "lenient")]
    pub create: bool,
    #[serde(default = "yes", deserialize_with = "lenient")]
    pub modify: bool,
    /// Writes in flight at once.
    #[serde(default = "default_concurrency", deserialize_with = "lenient")]
    pub concurrency: usize,
    /// Guard: stop before any write when the plan has more creates than this.
    #[serde(default = "default_max_writes", deserialize_with = "lenient")]
    pub max_creates: u64,
    /// Guard: stop before any write when the plan has more modifies than this.
    #[serde(default = "default_max_writes", deserialize_with = "lenient")]
    pub max_modifies: u64,
    /// Guard: stop when the export has fewer than this fraction of the stores of the last
    /// completed sync (a truncated export).
    #[serde(default = "default_min_export_ratio", deserialize_with = "lenient")]
    pub min_export_ratio: f64,
    /// A create Alipay accepted (`SHOP_CREATE_REPEAT_REQUEST` on its resend) whose
    /// application could not be identified and whose shop did not appear within this long
    /// is recorded as presumably rejected by the audit (docs/design.md invariant 8).
    #[serde(
        default = "default_unidentified_after",
        deserialize_with = "de_duration"
    )]
    pub unidentified_after: Duration,
    /// Attempts of one call on a transient error. Throttled calls retry for up to
    /// `retry::THROTTLE_BUDGET` without using attempts.
    #[serde(default = "default_attempts", deserialize_with = "lenient")]
    pub max_attempts: u32,
    /// A row with fewer distinct `audit_images` than this is rejected before any call
    /// (the integration guide: one storefront and two interior photos). 0 turns it off.
    #[serde(default = "default_min_audit_images", deserialize_with = "lenient")]
    pub min_audit_images: usize,
}

fn yes() -> bool {
    true
}
fn default_concurrency() -> usize {
    8
}
fn default_max_writes() -> u64 {
    1000
}
fn default_min_export_ratio() -> f64 {
    0.5
}
fn default_unidentified_after() -> Duration {
    Duration::from_secs(7 * 24 * 3600)
}
fn default_attempts() -> u32 {
    8
}
fn default_min_audit_images() -> usize {
    3
}

impl Default for SyncSection {
    fn default() -> Self {
        Self {
            fields: None,
            create: true,
            modify: true,
            concurrency: default_concurrency(),
            max_creates: default_max_writes(),
            max_modifies: default_max_writes(),
            min_export_ratio: default_min_export_ratio(),
            unidentified_after: default_unidentified_after(),
            max_attempts: default_attempts(),
            min_audit_images: default_min_audit_images(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSection {
    /// Calls per second for the whole app (every method).
    #[serde(default = "default_qps", deserialize_with = "lenient")]
    pub qps: u32,
    #[serde(default, deserialize_with = "lenient_opt")]
    pub burst: Option<u32>,
    /// Per-method limits, e.g. `"alipay.offline.market.shop.create" = { qps = 5, burst = 5 }`.
    #[serde(default)]
    pub methods: BTreeMap<String, RateSpec>,
    /// The file through which the app's processes on this host share `qps` (default: next
    /// to the audit database, `<database>.quota`). Point several configs of one app at
    /// one file to share its quota between them.
    #[serde(default)]
    pub quota_file: Option<PathBuf>,
}

fn default_qps() -> u32 {
    10
}

impl Default for RateLimitSection {
    fn default() -> Self {
        Self {
            qps: default_qps(),
            burst: None,
            methods: BTreeMap::new(),
            quota_file: None,
        }
    }
}

impl RateLimitSection {
    pub fn app_spec(&self) -> RateSpec {
        RateSpec {
            qps: self.qps,
            burst: self.burst.unwrap_or(self.qps),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSection {
    #[serde(default = "default_db")]
    pub database: PathBuf,
}

fn default_db() -> PathBuf {
    PathBuf::from("shopsync.db")
}

impl Default for AuditSection {
    fn default() -> Self {
        Self {
            database: default_db(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSection {
    #[serde(default = "default_cron")]
    pub cron: String,
    #[serde(default = "default_tz")]
    pub timezone: String,
    #[serde(default = "default_follow_up", deserialize_with = "de_duration")]
    pub follow_up: Duration,
    /// How long in-flight calls may finish after SIGTERM.
    #[serde(default = "default_grace", deserialize_with = "de_duration")]
    pub grace: Duration,
}

fn default_cron() -> String {
    "30 2 * * *".into()
}
fn default_tz() -> String {
    "Asia/Shanghai".into()
}
fn default_follow_up() -> Duration {
    Duration::from_secs(600)
}
fn default_grace() -> Duration {
    Duration::from_secs(30)
}

impl Default for ScheduleSection {
    fn default() -> Self {
        Self {
            cron: default_cron(),
            timezone: default_tz(),
            follow_up: default_follow_up(),
            grace: default_grace(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySection {
    pub listen: String,
    #[serde(default = "default_notify_path")]
    pub path: String,
}

fn default_notify_path() -> String {
    "/alipay/notify".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthSection {
    pub listen: String,
}

/// Settings of the built-in simulator (`gateway = "simulator"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatorSection {
    #[serde(default = "default_audit_delay", deserialize_with = "de_duration")]
    pub audit_delay: Duration,
    #[serde(default, deserialize_with = "lenient")]
    pub seed: u64,
    /// Optional CSV of shops that already exist on the simulated Alipay.
    #[serde(default)]
    pub seed_csv: Option<PathBuf>,
    /// Optional: the simulator's own call limit (to demonstrate throttling).
    #[serde(default, deserialize_with = "lenient_opt")]
    pub qps: Option<u32>,
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub latency: Option<Duration>,
    /// Where the simulated Alipay keeps its state between runs. Default: next to the audit
    /// database, `<database>.sim.json`. Set `keep_state = false` to start empty each run.
    #[serde(default)]
    pub snapshot: Option<PathBuf>,
    #[serde(default = "yes", deserialize_with = "lenient")]
    pub keep_state: bool,
    /// Apply orders also carry `store_id` and the caller's `request_id` in
    /// `biz_context_info` (a test opt-in; Alipay's hold only category and name).
    #[serde(default, deserialize_with = "lenient")]
    pub rich_biz_context: bool,
    /// Accept any well-formed image id, not only ids the simulator's upload issued.
    #[serde(default, deserialize_with = "lenient")]
    pub accept_image_ids: bool,
    /// Accept the two official example image ids as if uploaded.
    #[serde(default, deserialize_with = "lenient")]
    pub preload_example_images: bool,
}

fn default_audit_delay() -> Duration {
    Duration::from_secs(2)
}

impl Default for SimulatorSection {
    fn default() -> Self {
        Self {
            audit_delay: default_audit_delay(),
            seed: 0,
            seed_csv: None,
            qps: None,
            latency: None,
            snapshot: None,
            keep_state: true,
            rich_biz_context: false,
            accept_image_ids: false,
            preload_example_images: false,
        }
    }
}
