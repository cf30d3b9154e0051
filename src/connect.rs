//! Build the gateway client from the configuration: a real Alipay gateway, or the built-in
//! simulator started in-process on a free loopback port with keys generated in memory.

use std::sync::Arc;

use anyhow::Context as _;

use crate::alipay::gateway::CallObserver;
use crate::alipay::sign::{SignKey, VerifyKey};
use crate::alipay::{Gateway, GatewayConfig};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::ratelimit::RateLimiter;
use crate::sim::{self, SimConfig, SimHandle};

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
    Arc::new(RateLimiter::new(
        Some(cfg.rate_limit.app_spec()),
        &cfg.rate_limit.methods,
    ))
}

fn gateway_config(cfg: &Config, url: String) -> Result<GatewayConfig, ConnectError> {
    Ok(GatewayConfig {
        url,
        app_id: cfg.alipay.app_id.clone(),
        app_auth_token: cfg.app_auth_token().map_err(|e| ConnectError(e.into()))?,
        connect_timeout: cfg.alipay.connect_timeout,
        request_timeout: cfg.alipay.request_timeout,
    })
}

/// Load the configured keys (real gateway).
pub fn load_keys(cfg: &Config) -> Result<(SignKey, VerifyKey), ConnectError> {
    let private = cfg
        .alipay
        .app_private_key
        .as_ref()
        .context("[alipay] app_private_key is not set")
        .map_err(ConnectError)?;
    let public = cfg
        .alipay
        .alipay_public_key
        .as_ref()
        .context("[alipay] alipay_public_key is not set")
        .map_err(ConnectError)?;
    let sign_key = SignKey::from_file(private).map_err(|e| ConnectError(e.into()))?;
    let alipay_key = VerifyKey::from_file(public).map_err(|e| ConnectError(e.into()))?;
    crate::alipay::sign::ensure_distinct(&sign_key, &alipay_key)
        .map_err(|e| ConnectError(e.into()))?;
    Ok((sign_key, alipay_key))
}

/// Build the client (starting the simulator when configured).
pub async fn connect(
    cfg: &Config,
    clock: SharedClock,
    observer: Option<Arc<dyn CallObserver>>,
) -> Result<Connected, ConnectError> {
    let (gateway, sim) = if cfg.is_simulator() {
        let app_key = SignKey::generate().map_err(|e| ConnectError(e.into()))?;
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
        if let Some(token) = cfg.app_auth_token().map_err(|e| ConnectError(e.into()))? {
            sim_cfg.app_auth_tokens.push(token.expose().to_string());
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
        let (sign_key, alipay_key) = load_keys(cfg)?;
        let url = cfg
            .gateway_url()
            .context("[alipay] gateway is not a URL")
            .map_err(ConnectError)?;
        let gw = Gateway::new(
            gateway_config(cfg, url)?,
            sign_key,
            alipay_key,
            clock,
            limiter(cfg),
        )
        .map_err(|e| ConnectError(e.into()))?;
        (gw, None)
    };
    let gateway = match observer {
        Some(o) => gateway.with_observer(o),
        None => gateway,
    };
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
