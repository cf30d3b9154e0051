//! `shopsync simulate` in certificate mode (§2.9): the three certificate files (or a test
//! PKI generated into `--keys-dir`) and an optional rotation after N calls.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::cert::CertMode;
use super::config::SimConfig;
use super::pki;
use crate::alipay::sign::SignKey;

/// Certificate-mode options of `shopsync simulate`.
#[derive(clap::Args, Debug, Default)]
pub struct CertArgs {
    /// Certificate mode (公钥证书模式): requests must carry app_cert_sn and
    /// alipay_root_cert_sn (v3: in the auth string and the alipay-root-cert-sn header),
    /// answers carry alipay_cert_sn (v3: alipay-sn), alipay.open.app.alipaycert.download
    /// serves the certificates. Without --app-cert/--alipay-cert/--alipay-root-cert a test
    /// PKI of the simulator's own is generated into --keys-dir.
    #[arg(long)]
    pub cert_mode: bool,
    /// The app's certificate (appCertPublicKey_<app_id>.crt); its key verifies requests.
    /// With --alipay-cert and --alipay-root-cert: certificate mode with these files.
    #[arg(long, requires_all = ["alipay_cert", "alipay_root_cert"])]
    pub app_cert: Option<PathBuf>,
    /// Alipay's certificate (alipayCertPublicKey_RSA2.crt: leaf + issuing CA). Its key must
    /// be --alipay-private-key.
    #[arg(long, requires_all = ["app_cert", "alipay_root_cert", "alipay_private_key"])]
    pub alipay_cert: Option<PathBuf>,
    /// Alipay's root bundle (alipayRootCert.crt).
    #[arg(long, requires_all = ["app_cert", "alipay_cert"])]
    pub alipay_root_cert: Option<PathBuf>,
    /// Certificate mode: after N calls, answers name a second certificate and are signed
    /// with its key (a client must download and chain it). With certificate files, give
    /// --rotated-alipay-cert and --rotated-alipay-private-key; a generated PKI has its own.
    #[arg(long)]
    pub rotate_after: Option<u64>,
    /// The certificate a rotation moves to (leaf + issuing CA).
    #[arg(long, requires_all = ["rotate_after", "rotated_alipay_private_key"])]
    pub rotated_alipay_cert: Option<PathBuf>,
    /// The private key of --rotated-alipay-cert.
    #[arg(long, requires = "rotated_alipay_cert")]
    pub rotated_alipay_private_key: Option<PathBuf>,
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// The certificate mode the options ask for (`None`: key mode). A generated PKI's files
/// are written to `keys_dir` and listed in `files`.
pub fn cert_mode(
    args: &CertArgs,
    app_id: &str,
    cfg: &SimConfig,
    keys_dir: &Path,
    files: &mut Vec<(&'static str, PathBuf)>,
) -> anyhow::Result<Option<CertMode>> {
    let from_files = args.app_cert.is_some();
    if !args.cert_mode && !from_files {
        anyhow::ensure!(
            args.rotate_after.is_none(),
            "--rotate-after needs certificate mode (--cert-mode or the three certificate files)"
        );
        return Ok(None);
    }
    let mode = if let (Some(app), Some(alipay), Some(root)) =
        (&args.app_cert, &args.alipay_cert, &args.alipay_root_cert)
    {
        let mode = CertMode::from_pem(
            &read(app)?,
            &read(alipay)?,
            &read(root)?,
            cfg.alipay_key.clone(),
        )
        .context("certificate mode (is --alipay-private-key the key of --alipay-cert?)")?;
        match (&args.rotated_alipay_cert, &args.rotated_alipay_private_key, args.rotate_after) {
            (Some(c), Some(k), Some(after)) => {
                let key = SignKey::from_file(k)?;
                mode.with_rotation(&read(c)?, key, after)?
            }
            (None, None, Some(_)) => anyhow::bail!(
                "--rotate-after with certificate files needs --rotated-alipay-cert and --rotated-alipay-private-key"
            ),
            _ => mode,
        }
    } else {
        let generated = pki::generate(app_id, &cfg.app_public_key, cfg.alipay_key.clone())?;
        let out = [
            (
                "app certificate (app_cert)",
                format!("appCertPublicKey_{app_id}.crt"),
                &generated.app_cert_pem,
            ),
            (
                "Alipay certificate (alipay_cert)",
                "alipayCertPublicKey_RSA2.crt".to_string(),
                &generated.alipay_chain_pem,
            ),
            (
                "Alipay root certificate (alipay_root_cert)",
                "alipayRootCert.crt".to_string(),
                &generated.root_pem,
            ),
        ];
        for (what, name, text) in out {
            let path = keys_dir.join(name);
            write(&path, text)?;
            files.push((what, path));
        }
        let mode = CertMode::from_pem(
            &generated.app_cert_pem,
            &generated.alipay_chain_pem,
            &generated.root_pem,
            generated.alipay_key,
        )?;
        match args.rotate_after {
            Some(after) => {
                mode.with_rotation(&generated.rotated_chain_pem, generated.rotated_key, after)?
            }
            None => mode,
        }
    };
    Ok(Some(mode))
}
