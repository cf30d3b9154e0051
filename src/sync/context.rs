//! Everything a run needs ([`Context`]): the configuration, the gateway client (a real
//! Alipay gateway, or the built-in simulator started in-process on a free loopback port),
//! the audit store under the run lock, the clock, and the stop flag.
//!
//! One [`App`] per process: the app's keys, HTTP client and its one rate limiter (the
//! quota belongs to the app), the audit database and the stop flag. [`App::context`]
//! gives one merchant's [`Context`] on it: its effective config, a gateway acting with
//! its `app_auth_token`, and the audit database seen as that merchant.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::Context as _;

use crate::alipay::cert::CertSet;
use crate::alipay::gateway::CallObserver;
use crate::alipay::ratelimit::RateLimiter;
use crate::alipay::sign::{SignKey, VerifyKey};
use crate::alipay::{CertStore, Gateway, GatewayConfig};
use crate::audit::AuditDb;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::daemon::lock::InstanceLock;
use crate::sim::{self, SimConfig, SimHandle};
use crate::sync::RunError;

/// Everything a run needs.
pub struct Context {
    pub cfg: Config,
    pub gateway: Gateway,
    pub db: Arc<AuditDb>,
    pub clock: SharedClock,
    /// Set to stop starting new writes (shutdown).
    pub stop: Arc<AtomicBool>,
}

impl Context {
    /// A context for `cfg` (the implicit merchant, or the merchant `cfg` was made for by
    /// [`Config::for_merchant`]) over the audit store `db`: the gateway connected (or the
    /// built-in simulator started, returned alongside), not stopped.
    pub async fn connect(
        cfg: Config,
        db: Arc<AuditDb>,
        clock: SharedClock,
        observer: Option<Arc<dyn CallObserver>>,
    ) -> Result<(Context, Option<SimHandle>), ConnectError> {
        let name = cfg.merchant_name.clone();
        let app = App::connect(cfg, db, clock, observer).await?;
        let ctx = app.context(&name)?;
        Ok((ctx, app.sim))
    }

    /// The merchant this context runs for (`""`: the implicit one).
    pub fn merchant(&self) -> &str {
        &self.cfg.merchant_name
    }
}

/// What every merchant of the app shares in one process.
pub struct App {
    /// The app's configuration (with its `[[merchant]]` tables).
    pub cfg: Config,
    /// The app's client; [`Gateway::for_merchant`] gives a merchant's.
    pub gateway: Gateway,
    pub db: Arc<AuditDb>,
    pub clock: SharedClock,
    /// Set to stop starting new writes (shutdown), for every merchant.
    pub stop: Arc<AtomicBool>,
    /// The built-in simulator, when `gateway = "simulator"`.
    pub sim: Option<SimHandle>,
}

impl App {
    /// Connect the app: keys (or certificates, with those kept in `db` after a rotation),
    /// the gateway (or the built-in simulator), the rate limiter.
    pub async fn connect(
        cfg: Config,
        db: Arc<AuditDb>,
        clock: SharedClock,
        observer: Option<Arc<dyn CallObserver>>,
    ) -> Result<App, ConnectError> {
        let store: Arc<dyn CertStore> = db.clone();
        let connected = connect(&cfg, clock.clone(), observer, Some(store)).await?;
        Ok(App {
            cfg,
            gateway: connected.gateway,
            db,
            clock,
            stop: Arc::new(AtomicBool::new(false)),
            sim: connected.sim,
        })
    }

    /// One merchant's context (`""`: the implicit merchant of a config without
    /// `[[merchant]]`).
    pub fn context(&self, merchant: &str) -> Result<Context, ConnectError> {
        let cfg = self.cfg.for_merchant(merchant).ok_or_else(|| {
            ConnectError(anyhow::anyhow!(
                "no [[merchant]] named {merchant:?} in {}",
                self.cfg.path.display()
            ))
        })?;
        let gateway = if self.cfg.is_multi_merchant() {
            let token = cfg.app_auth_token().map_err(|e| ConnectError(e.into()))?;
            self.gateway.for_merchant(token)
        } else {
            self.gateway.clone()
        };
        Ok(Context {
            gateway,
            db: Arc::new(self.db.for_merchant(merchant)),
            clock: self.clock.clone(),
            stop: self.stop.clone(),
            cfg,
        })
    }
}

/// Open the audit store under the run lock of `cfg`'s merchant (held until the lock is
/// dropped), waiting up to `lock_timeout` for another run of that merchant to finish. The
/// database's directory is created when missing, as systemd's `StateDirectory=` would.
pub async fn open_locked(
    cfg: &Config,
    lock_timeout: std::time::Duration,
) -> Result<(InstanceLock, Arc<AuditDb>), RunError> {
    create_db_dir(&cfg.audit.database)?;
    let lock = lock_merchant(cfg, &cfg.merchant_name, lock_timeout).await?;
    let db = AuditDb::open(&cfg.audit.database)?;
    Ok((lock, Arc::new(db)))
}

/// Why the client could not be built. Always a configuration problem (exit 78).
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub struct ConnectError(pub anyhow::Error);

/// A ready client, and the simulator behind it when `gateway = "simulator"`.
pub struct Connected {
    pub gateway: Gateway,
    pub sim: Option<SimHandle>,
}

fn limiter(cfg: &Config) -> Arc<RateLimiter> {
    let limiter = RateLimiter::new(Some(cfg.rate_limit.app_spec()), &cfg.rate_limit.methods);
    Arc::new(match &cfg.rate_limit.quota_file {
        Some(path) => limiter.with_shared_quota(path),
        None => limiter,
    })
}

/// The app's client settings. With `[[merchant]]` tables the app's own gateway carries no
/// token: each merchant's is set by [`Gateway::for_merchant`].
fn gateway_config(cfg: &Config, url: String) -> Result<GatewayConfig, ConnectError> {
    let app_auth_token = if cfg.is_multi_merchant() {
        None
    } else {
        cfg.app_auth_token().map_err(|e| ConnectError(e.into()))?
    };
    Ok(GatewayConfig {
        url,
        app_id: cfg.alipay.app_id.clone(),
        app_auth_token,
        connect_timeout: cfg.alipay.connect_timeout,
        request_timeout: cfg.alipay.request_timeout,
    })
}

/// Take one merchant's run lock, waiting up to `lock_timeout`.
pub async fn lock_merchant(
    cfg: &Config,
    merchant: &str,
    lock_timeout: std::time::Duration,
) -> Result<InstanceLock, RunError> {
    let base = crate::daemon::lock::merchant_lock_base(&cfg.audit.database, merchant);
    Ok(InstanceLock::acquire_waiting(&base, lock_timeout).await?)
}

/// Create the directory of the audit database when it is missing.
pub fn create_db_dir(db: &std::path::Path) -> Result<(), RunError> {
    match db.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) if !dir.is_dir() => std::fs::create_dir_all(dir).map_err(|source| {
            RunError::Audit(crate::audit::AuditError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })
        }),
        _ => Ok(()),
    }
}

/// Load the app private key (registered for redaction first).
pub fn load_app_key(cfg: &Config) -> Result<SignKey, ConnectError> {
    let private = cfg
        .alipay
        .app_private_key
        .as_ref()
        .context("[alipay] app_private_key is not set")
        .map_err(ConnectError)?;
    if let Ok(text) = std::fs::read_to_string(private) {
        crate::secret::register_key_material(&text);
    }
    SignKey::from_file(private).map_err(|e| ConnectError(e.into()))
}

/// Certificate mode (the three files set): the app key and the certificates, checked at
/// `now` (dates, Alipay's certificate chained to the root bundle, the app certificate
/// holding the public half of the app key). `Ok(None)` in key mode.
pub fn load_certs(
    cfg: &Config,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<(SignKey, Arc<CertSet>)>, ConnectError> {
    let Some(files) = cfg.cert_files() else {
        return Ok(None);
    };
    let sign_key = load_app_key(cfg)?;
    let certs = CertSet::load(&files, now).map_err(|e| ConnectError(e.into()))?;
    certs
        .check_app_key(&sign_key)
        .map_err(|e| ConnectError(e.into()))?;
    Ok(Some((sign_key, Arc::new(certs))))
}

/// Load the configured keys (real gateway, key mode).
pub fn load_keys(cfg: &Config) -> Result<(SignKey, VerifyKey), ConnectError> {
    let sign_key = load_app_key(cfg)?;
    let public = cfg
        .alipay
        .alipay_public_key
        .as_ref()
        .context("[alipay] alipay_public_key is not set")
        .map_err(ConnectError)?;
    let alipay_key = VerifyKey::from_file(public).map_err(|e| ConnectError(e.into()))?;
    crate::alipay::sign::ensure_distinct(&sign_key, &alipay_key)
        .map_err(|e| ConnectError(e.into()))?;
    Ok((sign_key, alipay_key))
}

/// The app key the client signs with against the built-in simulator: the configured one
/// when given (so a production key setup can be rehearsed: the simulator verifies with its
/// public half, and a configured `alipay_public_key` is loaded and checked exactly as for a
/// real gateway, the app's own public key given as Alipay's included), else a key
/// generated in memory. The simulator cannot sign as the real Alipay, so its answers are
/// verified with its own key.
fn simulator_app_key(cfg: &Config) -> Result<SignKey, ConnectError> {
    match (&cfg.alipay.app_private_key, &cfg.alipay.alipay_public_key) {
        (Some(_), Some(_)) => {
            let (app, _alipay) = load_keys(cfg)?;
            tracing::info!("The built-in simulator checks requests against the configured app key; it answers with its own key.");
            Ok(app)
        }
        (Some(private), None) => {
            if let Ok(text) = std::fs::read_to_string(private) {
                crate::secret::register_key_material(&text);
            }
            SignKey::from_file(private).map_err(|e| ConnectError(e.into()))
        }
        (None, Some(public)) => {
            VerifyKey::from_file(public).map_err(|e| ConnectError(e.into()))?;
            SignKey::generate().map_err(|e| ConnectError(e.into()))
        }
        (None, None) => SignKey::generate().map_err(|e| ConnectError(e.into())),
    }
}

/// Build the client (starting the simulator when configured): key or certificate mode,
/// on the configured protocol. In certificate mode, the certificates Alipay rotated to
/// that earlier runs kept in `store` are trusted again (each re-checked), and the
/// certificates expiring within 30 days are logged.
pub async fn connect(
    cfg: &Config,
    clock: SharedClock,
    observer: Option<Arc<dyn CallObserver>>,
    store: Option<Arc<dyn CertStore>>,
) -> Result<Connected, ConnectError> {
    let (gateway, sim) = if cfg.is_simulator() {
        if cfg.cert_files().is_some() {
            return Err(ConnectError(anyhow::anyhow!(
                "[alipay] certificate mode is not available with gateway = \"simulator\"; \
                 start `shopsync simulate` in certificate mode and set gateway to its URL"
            )));
        }
        let app_key = simulator_app_key(cfg)?;
        let alipay_key = SignKey::generate().map_err(|e| ConnectError(e.into()))?;
        let mut sim_cfg = SimConfig::new(app_key.verify_key(), alipay_key);
        sim_cfg.app_id = cfg.alipay.app_id.clone();
        sim_cfg.seed = cfg.simulator.seed;
        sim_cfg.audit_delay = chrono::Duration::from_std(cfg.simulator.audit_delay)
            .map_err(|e| ConnectError(anyhow::anyhow!("[simulator] audit_delay: {e}")))?;
        sim_cfg.latency = cfg.simulator.latency;
        sim_cfg.rich_biz_context = cfg.simulator.rich_biz_context;
        sim_cfg.accept_image_ids = cfg.simulator.accept_image_ids;
        sim_cfg.preload_example_images = cfg.simulator.preload_example_images;
        sim_cfg.snapshot = cfg.simulator.snapshot.clone();
        let fresh = sim_cfg.snapshot.as_ref().is_none_or(|p| !p.exists());
        if let Some(qps) = cfg.simulator.qps {
            sim_cfg.rate = Some(sim::RateSpec { qps, burst: qps });
        }
        // Every merchant's token is one the simulator accepts.
        for m in cfg.merchant_configs() {
            if let Some(token) = m.app_auth_token().map_err(|e| ConnectError(e.into()))? {
                sim_cfg.app_auth_tokens.push(token.expose().to_string());
            }
        }
        let handle = sim::start(sim_cfg, "127.0.0.1:0".parse().expect("loopback address"))
            .await
            .map_err(|e| {
                ConnectError(anyhow::anyhow!("cannot start the built-in simulator: {e}"))
            })?;
        if let Some(csv) = cfg.simulator.seed_csv.as_ref().filter(|_| fresh) {
            seed_from_csv(&handle, csv).map_err(|e| {
                ConnectError(anyhow::anyhow!(
                    "[simulator] seed_csv {}: {e}",
                    csv.display()
                ))
            })?;
        }
        let gw = Gateway::new(
            gateway_config(cfg, handle.gateway_url())?,
            app_key,
            handle.alipay_public_key(),
            clock,
            limiter(cfg),
        )
        .map_err(|e| ConnectError(e.into()))?;
        (gw, Some(handle))
    } else {
        if cfg.alipay.gateway.is_insecure() {
            tracing::warn!(gateway = %cfg.gateway_url().unwrap_or_default(), "INSECURE: plain http to a non-loopback gateway (allow_insecure_http = true); the app_auth_token and store data cross the network unencrypted.");
        }
        let url = cfg
            .gateway_url()
            .context("[alipay] gateway is not a URL")
            .map_err(ConnectError)?;
        let gw = match load_certs(cfg, clock.now())? {
            Some((sign_key, certs)) => Gateway::with_certificates(
                gateway_config(cfg, url)?,
                sign_key,
                certs,
                clock,
                limiter(cfg),
            )
            .map_err(|e| ConnectError(e.into()))?,
            None => {
                let (sign_key, alipay_key) = load_keys(cfg)?;
                Gateway::new(
                    gateway_config(cfg, url)?,
                    sign_key,
                    alipay_key,
                    clock,
                    limiter(cfg),
                )
                .map_err(|e| ConnectError(e.into()))?
            }
        };
        (gw, None)
    };
    let mut gateway = gateway.with_protocol(cfg.alipay.protocol);
    if let Some(o) = observer {
        gateway = gateway.with_observer(o);
    }
    if gateway.certificates().is_some() {
        if let Some(store) = store {
            gateway = gateway.with_cert_store(store);
            let kept = gateway.load_kept_certificates();
            tracing::debug!(trusted = kept, "Kept Alipay certificates loaded.");
        }
        for w in gateway.certificate_warnings() {
            tracing::warn!(warning = %w, "Certificate expires soon.");
        }
    }
    Ok(Connected { gateway, sim })
}

/// Seed the simulator with pre-existing shops: a CSV whose header names Alipay fields,
/// `store_id` included.
fn seed_from_csv(handle: &SimHandle, path: &std::path::Path) -> anyhow::Result<usize> {
    let mut rdr = csv::Reader::from_path(path)?;
    let headers = rdr.headers()?.clone();
    let mut n = 0;
    for (i, record) in rdr.records().enumerate() {
        let record = record?;
        let mut fields = std::collections::BTreeMap::new();
        let mut store_id = None;
        for (h, v) in headers.iter().zip(record.iter()) {
            if v.trim().is_empty() {
                continue;
            }
            if h == "store_id" {
                store_id = Some(v.trim().to_string());
            } else {
                fields.insert(h.to_string(), v.trim().to_string());
            }
        }
        let store_id = store_id.ok_or_else(|| anyhow::anyhow!("line {}: no store_id", i + 2))?;
        handle.seed_shop(&store_id, fields);
        n += 1;
    }
    Ok(n)
}
