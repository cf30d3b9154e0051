//! `shopsync simulate` in certificate mode (docs/protocol.md §2.9): the three certificate
//! files (or a test PKI generated into `--keys-dir`) and an optional rotation after N calls.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::alipay::sign::SignKey;
use crate::cli::simulate::CertArgs;
use crate::sim::cert::CertMode;
use crate::sim::{pki, SimConfig};

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
