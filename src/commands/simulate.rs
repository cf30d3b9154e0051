//! `shopsync simulate`: the built-in Alipay simulator as a standalone server: start it,
//! print what a client needs, run until Ctrl-C or SIGTERM.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;

use super::simulate_cert;
use crate::alipay::sign::{SignKey, VerifyKey};
use crate::cli::simulate::SimulateArgs;
use crate::exit::Exit;
use crate::sim::{start, FaultRule, RateSpec, SimConfig};
use crate::sync::RunError;

pub async fn run(args: SimulateArgs) -> Result<Exit, RunError> {
    match serve(args).await {
        Ok(()) => Ok(Exit::Ok),
        Err(e) => {
            crate::tell!("error: {e:#}");
            Ok(Exit::Failed)
        }
    }
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
async fn serve(args: SimulateArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.keys_dir)
        .with_context(|| format!("cannot create {}", args.keys_dir.display()))?;
    let mut key_files = Vec::new();
    let app_public = match (&args.app_public_key, &args.cert.app_cert) {
        (Some(p), _) => VerifyKey::from_file(p)?,
        (None, Some(cert)) => {
            let (_, certs) = crate::sim::cert::read_pem(cert)?;
            crate::sim::cert::public_key(&certs[0], &cert.display().to_string())?
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
    cfg.cert = simulate_cert::cert_mode(
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
