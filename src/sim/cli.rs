//! `shopsync simulate`: run the simulator as a standalone server.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::cli_cert::{self, CertArgs};
use super::config::{RateSpec, SimConfig};
use super::faults::FaultRule;
use super::handle::start;
use crate::alipay::sign::{SignKey, VerifyKey};

/// The `/__sim/` control endpoints, for `--help`.
const CONTROL_HELP: &str = "Control endpoints (JSON, never signed), under http://LISTEN/__sim/:
  GET  state                 shops, apply orders, issued images, the simulator's now
  GET  stats                 calls per method, throttled, calls per second (app-wide)
  POST stats/reset           forget the counts
  GET  notifications         the notification log with delivery state
  POST clock/advance         {\"seconds\": 60}: move the clock, run due audits
  POST process               run due audits now
  POST force                 {\"key\": APPLY_ID|STORE_ID, \"outcome\": \"success\"|\"fail\", \"reason\": ..}
  POST shop-status           {\"shop_id\": .., \"status\": \"OPEN\"|\"PAUSE\"|\"FREEZE\"|\"CLOSE\"}
  POST edit                  {\"shop_id\": .., \"field\": .., \"value\": ..|null}: an edit on Alipay's side
  POST faults                {\"spec\": \"KIND:METHOD:TRIGGER\"} | {\"rule\": {..}} | {\"clear\": true}
  POST cert/rotate           certificate mode: rotate to the next certificate now";

/// Run a local Alipay gateway simulator (classic `gateway.do` and v3 REST) with the Koubei
/// shop methods.
#[derive(clap::Args, Debug)]
#[command(after_long_help = CONTROL_HELP)]
pub struct SimulateArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
    /// The app id requests must carry.
    #[arg(long, default_value = "2021000000000001")]
    pub app_id: String,
    /// The app's public key (PEM or bare base64) that verifies request signatures. If absent,
    /// an app key pair is generated and written to --keys-dir as app_private_key.pem and
    /// app_public_key.pem.
    #[arg(long)]
    pub app_public_key: Option<PathBuf>,
    /// The private key the simulator signs responses and notifications with (plays Alipay's
    /// key). If absent, one is generated; its public half is written to --keys-dir as
    /// alipay_public_key.pem.
    #[arg(long)]
    pub alipay_private_key: Option<PathBuf>,
    /// Directory for generated key files.
    #[arg(long, default_value = "./sim-keys")]
    pub keys_dir: PathBuf,
    /// An accepted app_auth_token (repeatable). Requests without a token act on the app's
    /// own merchant.
    #[arg(long = "app-auth-token")]
    pub app_auth_tokens: Vec<String>,
    /// How long an audit takes on the simulator's clock, e.g. "2s", "5m".
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub audit_delay: std::time::Duration,
    /// Accepted clock skew of request timestamps.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    pub timestamp_skew: std::time::Duration,
    /// App-level rate limit in calls per second (unlimited when absent).
    #[arg(long)]
    pub qps: Option<u32>,
    /// Burst size of the app-level rate limit (defaults to --qps).
    #[arg(long)]
    pub burst: Option<u32>,
    /// Seed of probabilistic faults and generated ids.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Fewest distinct audit_images an approved shop needs.
    #[arg(long, default_value_t = 2)]
    pub min_audit_images: usize,
    /// CSV of pre-existing approved shops: a header row of field names including store_id.
    #[arg(long)]
    pub seed_csv: Option<PathBuf>,
    /// Apply orders' biz_context_info also carries store_id and the caller's request_id
    /// (Alipay's holds only category_id and main_shop_name). For testing a client's
    /// optional narrowing; a client must not rely on it.
    #[arg(long)]
    pub rich_biz_context: bool,
    /// Accept any well-formed image id (32 chars of [A-Za-z0-9_-]) in creates and modifies,
    /// to rehearse an export that already holds real Alipay image ids. Without it only
    /// ids this simulator's image.upload issued to the merchant are accepted.
    #[arg(long)]
    pub accept_image_ids: bool,
    /// Also accept the two image ids of the official examples
    /// (1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC, 4Q8Pp00AT7eo9NoAJkMR3AAAACMAAUYT).
    #[arg(long)]
    pub preload_example_images: bool,
    /// A fault rule KIND:METHOD|*:PROBABILITY|next=N (repeatable), e.g.
    /// `drop_before:alipay.offline.market.shop.create:0.1` or `unknown_error_applied:*:next=3`.
    /// Kinds: drop_before, drop_after, timeout_before, timeout_after, unknown_error_applied,
    /// unknown_error_not_applied, system_error, system_error_applied, bad_signature,
    /// unsigned_success, truncated_body[=BYTES], escaped_slashes, gateway_5xx, wrong_key.
    #[arg(long = "fault")]
    pub faults: Vec<String>,
    #[command(flatten)]
    pub cert: CertArgs,
}

fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn load_seed_csv(path: &Path) -> anyhow::Result<Vec<(String, BTreeMap<String, String>)>> {
    let mut rdr =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let headers = rdr.headers()?.clone();
    if !headers.iter().any(|h| h == "store_id") {
        anyhow::bail!("{}: the header has no store_id column", path.display());
    }
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.with_context(|| format!("{}: record {}", path.display(), i + 1))?;
        let mut fields: BTreeMap<String, String> = headers
            .iter()
            .zip(rec.iter())
            .map(|(h, v)| (h.to_string(), v.to_string()))
            .collect();
        let store_id = fields.remove("store_id").unwrap_or_default();
        out.push((store_id, fields));
    }
    Ok(out)
}

/// Start the simulator, print what a client needs, run until Ctrl-C or SIGTERM.
pub async fn run(args: SimulateArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.keys_dir)
        .with_context(|| format!("cannot create {}", args.keys_dir.display()))?;
    let mut key_files = Vec::new();
    let app_public = match (&args.app_public_key, &args.cert.app_cert) {
        (Some(p), _) => VerifyKey::from_file(p)?,
        (None, Some(cert)) => {
            let (_, certs) = super::cert::read_pem(cert)?;
            super::cert::public_key(&certs[0], &cert.display().to_string())?
        }
        (None, None) => {
            let k = SignKey::generate()?;
            let private = args.keys_dir.join("app_private_key.pem");
            let public = args.keys_dir.join("app_public_key.pem");
            write_file(&private, &k.to_pkcs8_pem())?;
            write_file(&public, &k.verify_key().to_pem())?;
            key_files.push(("app private key (signs requests)", private));
            key_files.push(("app public key", public));
            k.verify_key()
        }
    };
    let alipay_key = match &args.alipay_private_key {
        Some(p) => SignKey::from_file(p)?,
        None => SignKey::generate()?,
    };
    let cert_mode = args.cert.cert_mode || args.cert.app_cert.is_some();
    if !cert_mode {
        let alipay_public = args.keys_dir.join("alipay_public_key.pem");
        write_file(&alipay_public, &alipay_key.verify_key().to_pem())?;
        key_files.push(("Alipay public key (verifies responses)", alipay_public));
    }

    let mut cfg = SimConfig::new(app_public, alipay_key);
    cfg.app_id = args.app_id.clone();
    cfg.app_auth_tokens = args.app_auth_tokens.clone();
    cfg.audit_delay = chrono::Duration::from_std(args.audit_delay)?;
    cfg.timestamp_skew = chrono::Duration::from_std(args.timestamp_skew)?;
    cfg.rate = args.qps.map(|qps| RateSpec {
        qps,
        burst: args.burst.unwrap_or(qps),
    });
    cfg.seed = args.seed;
    cfg.min_audit_images = args.min_audit_images;
    cfg.rich_biz_context = args.rich_biz_context;
    cfg.accept_image_ids = args.accept_image_ids;
    cfg.preload_example_images = args.preload_example_images;
    cfg.cert = cli_cert::cert_mode(
        &args.cert,
        &args.app_id,
        &cfg,
        &args.keys_dir,
        &mut key_files,
    )?;
    let rules: Vec<FaultRule> = args
        .faults
        .iter()
        .map(|s| s.parse::<FaultRule>())
        .collect::<Result<_, _>>()?;
    let seeds = match &args.seed_csv {
        Some(p) => load_seed_csv(p)?,
        None => Vec::new(),
    };

    let handle = start(cfg, args.listen).await?;
    for r in rules {
        handle.add_fault(r);
    }
    for (store_id, fields) in seeds {
        handle.seed_shop(&store_id, fields);
    }
    println!("Simulator gateway: {}", handle.gateway_url());
    println!("app_id: {}", args.app_id);
    for (what, path) in &key_files {
        println!("{what}: {}", path.display());
    }
    if let Some(sn) = handle.alipay_cert_sn() {
        println!("Certificate mode: answers are signed under alipay_cert_sn {sn}");
    }
    println!("Control endpoints: http://{}/__sim/state", handle.addr());

    wait_for_signal().await;
    tracing::info!("Simulator stopping.");
    handle.shutdown().await;
    Ok(())
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: SimulateArgs,
    }

    #[test]
    fn parses_options_and_seed_csv() {
        let w = Wrapper::try_parse_from([
            "simulate",
            "--audit-delay",
            "5s",
            "--qps",
            "10",
            "--fault",
            "drop_before:alipay.offline.market.shop.create:0.1",
            "--fault",
            "unknown_error_applied:*:next=3",
        ])
        .unwrap();
        assert_eq!(w.args.audit_delay, std::time::Duration::from_secs(5));
        assert_eq!(w.args.listen.port(), 8090);
        assert_eq!(w.args.faults.len(), 2);
        for f in &w.args.faults {
            f.parse::<FaultRule>().unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seed.csv");
        std::fs::write(
            &path,
            "store_id,main_shop_name,address\nA1,老店,南京西路1号\n",
        )
        .unwrap();
        let rows = load_seed_csv(&path).unwrap();
        assert_eq!(rows[0].0, "A1");
        assert_eq!(rows[0].1["main_shop_name"], "老店");
        std::fs::write(&path, "main_shop_name\nx\n").unwrap();
        assert!(load_seed_csv(&path).is_err());
    }
}
