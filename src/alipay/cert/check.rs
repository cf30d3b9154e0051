//! `shopsync validate` for certificate mode: each of the three files checked on its own, so
//! every problem is listed at once (each naming its file): it parses, it is valid now,
//! `app_cert` holds the public half of `app_private_key`, `alipay_cert` chains to a root of
//! `alipay_root_cert` (real signature checks) and is not the app's own certificate. A
//! certificate expiring within [`super::EXPIRY_WARNING_DAYS`] days is a warning.

use chrono::{DateTime, Duration, Utc};

use super::certificate::Cert;
use super::chain::verify_chain;
use super::error::{CertError, CertWarning};
use super::set::{root_cert_sn, CertFiles, EXPIRY_WARNING_DAYS};
use crate::alipay::sign::SignKey;

/// What `validate` found in the three files.
#[derive(Debug, Default)]
pub struct FileCheck {
    /// Each problem, naming its config key and file.
    pub problems: Vec<String>,
    pub warnings: Vec<CertWarning>,
    /// `(app_cert_sn, alipay_cert_sn, alipay_root_cert_sn)` when every file parsed.
    pub sns: Option<(String, String, String)>,
}

/// The expiry warnings of `certs` at `now` (expiring within
/// [`EXPIRY_WARNING_DAYS`] days, or expired), each certificate once, in a stable order.
pub fn expiry_warnings<'a>(
    certs: impl IntoIterator<Item = &'a Cert>,
    now: DateTime<Utc>,
) -> Vec<CertWarning> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for c in certs {
        if !seen.insert(c.der().to_vec()) {
            continue;
        }
        let left = c.not_after() - now;
        if left < Duration::zero() {
            out.push(CertWarning::Expired {
                source_name: c.source().to_string(),
                subject: c.subject().to_string(),
                not_after: c.not_after(),
            });
        } else if left <= Duration::days(EXPIRY_WARNING_DAYS) {
            out.push(CertWarning::ExpiresSoon {
                source_name: c.source().to_string(),
                subject: c.subject().to_string(),
                not_after: c.not_after(),
                days_left: left.num_days(),
            });
        }
    }
    out.sort_by_key(ToString::to_string);
    out
}

fn problem(key: &str, e: &CertError) -> String {
    format!("[alipay] {key}: {e}")
}

/// Check the three files at `now`; `app_key` is the loaded `app_private_key` (`None` when
/// it could not be loaded: that problem is reported by the caller).
pub fn check_files(
    files: &CertFiles<'_>,
    app_key: Option<&SignKey>,
    now: DateTime<Utc>,
) -> FileCheck {
    let mut out = FileCheck::default();
    let mut load = |key: &str, path: &std::path::Path| match Cert::load_file(path) {
        Ok(certs) => Some(certs),
        Err(e) => {
            out.problems.push(problem(key, &e));
            None
        }
    };
    let app = load("app_cert", files.app_cert);
    let alipay = load("alipay_cert", files.alipay_cert);
    let roots = load("alipay_root_cert", files.alipay_root_cert);
    let roots_file = files.alipay_root_cert.display().to_string();
    let mut in_use: Vec<&Cert> = Vec::new();

    if let Some(app) = app.as_deref().and_then(<[Cert]>::first) {
        in_use.push(app);
        if let Err(e) = app.check_dates(now) {
            out.problems.push(problem("app_cert", &e));
        }
        match (app.verify_key(), app_key) {
            (Err(e), _) => out.problems.push(problem("app_cert", &e)),
            (Ok(public), Some(key)) if !public.same_key(&key.verify_key()) => {
                out.problems.push(problem(
                    "app_cert",
                    &CertError::NotAppKey {
                        file: files.app_cert.display().to_string(),
                    },
                ));
            }
            _ => {}
        }
    }
    let root_sn = roots.as_deref().map(|r| root_cert_sn(r, &roots_file));
    if let Some(Err(e)) = &root_sn {
        out.problems.push(problem("alipay_root_cert", e));
    }
    if let (Some(alipay), Some(roots)) = (alipay.as_deref(), roots.as_deref()) {
        match verify_chain(alipay, roots, &roots_file, now) {
            Ok(path) => {
                in_use.extend(path.through.iter().map(|&i| &alipay[i]));
                in_use.push(&roots[path.root]);
            }
            Err(e) => {
                in_use.extend(alipay.iter());
                out.problems.push(problem("alipay_cert", &e));
            }
        }
        let leaf_key = alipay[0].verify_key();
        match (&leaf_key, app_key) {
            (Err(e), _) => out.problems.push(problem("alipay_cert", e)),
            (Ok(k), Some(app)) if k.same_key(&app.verify_key()) => out.problems.push(problem(
                "alipay_cert",
                &CertError::AppCertAsAlipayCert {
                    file: files.alipay_cert.display().to_string(),
                },
            )),
            _ => {}
        }
    }
    if let (Some(app), Some(alipay), Some(Ok(root_sn))) = (&app, &alipay, root_sn) {
        out.sns = Some((app[0].sn().to_string(), alipay[0].sn().to_string(), root_sn));
    }
    out.warnings = expiry_warnings(in_use, now)
        .into_iter()
        // An expired certificate is already a problem.
        .filter(|w| matches!(w, CertWarning::ExpiresSoon { .. }))
        .collect();
    out
}
