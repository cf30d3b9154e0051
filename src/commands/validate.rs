//! `shopsync validate`: check configuration, keys, the export and the schedule; write
//! nothing; exit 78 listing every problem.

use std::path::Path;

use crate::config::Config;
use crate::exit::Exit;

/// Whether the audit database's directory exists or can be created (nothing is created
/// here: `validate` writes nothing).
fn db_dir_problem(db: &Path) -> Option<String> {
    let dir = db.parent().filter(|d| !d.as_os_str().is_empty())?;
    let mut existing = dir;
    while !existing.exists() {
        existing = existing.parent().filter(|d| !d.as_os_str().is_empty())?;
    }
    if !existing.is_dir() {
        return Some(format!(
            "[audit] database {}: {} is not a directory",
            db.display(),
            existing.display()
        ));
    }
    let writable = std::fs::metadata(existing)
        .map(|m| !m.permissions().readonly())
        .unwrap_or(false);
    if !writable {
        return Some(format!(
            "[audit] database {}: cannot create it, {} is not writable",
            db.display(),
            existing.display()
        ));
    }
    None
}

/// Certificate mode: each of the three files parses and is valid now, Alipay's
/// certificate chains to the root bundle, the app certificate holds the public half of
/// `app_private_key` (each problem names its file); a certificate expiring within 30 days
/// is a warning.
fn check_certificates(cfg: &Config, problems: &mut Vec<String>) {
    let Some(files) = cfg.cert_files() else {
        return;
    };
    let now = crate::clock::command_clock().now();
    let app_key = match crate::sync::context::load_app_key(cfg) {
        Ok(k) => Some(k),
        Err(e) => {
            problems.push(format!("keys: {e}"));
            None
        }
    };
    let check = crate::alipay::cert::check_files(&files, app_key.as_ref(), now);
    for w in &check.warnings {
        crate::tell!("warning: {w}");
    }
    if let (Some((app, alipay, root)), true) = (&check.sns, check.problems.is_empty()) {
        crate::say!(
            "Certificates: app_cert_sn {app}, alipay_cert_sn {alipay}, alipay_root_cert_sn {root}."
        );
    }
    problems.extend(check.problems);
}

/// Check configuration, keys and the export; write nothing. Every problem is listed.
pub fn validate(config: &Path) -> Exit {
    match offline(config) {
        Ok((_, problems)) => report(config, &problems),
        Err(exit) => exit,
    }
}

/// `validate --online`: the offline checks, then one signed read and the categories
/// (`validate_online`), when the offline checks found nothing.
pub async fn validate_online(config: &Path) -> Exit {
    let (cfg, mut problems) = match offline(config) {
        Ok(found) => found,
        Err(exit) => return exit,
    };
    if problems.is_empty() {
        problems = super::validate_online::problems(&cfg).await;
    } else {
        crate::tell!("Not contacting Alipay (--online) until the problems below are fixed.");
    }
    report(config, &problems)
}

fn report(config: &Path, problems: &[String]) -> Exit {
    if problems.is_empty() {
        crate::say!("Configuration {} is valid.", config.display());
        Exit::Ok
    } else {
        crate::tell!(
            "Configuration {} has {} problem(s):",
            config.display(),
            problems.len()
        );
        for p in problems {
            crate::tell!("  - {p}");
        }
        Exit::Config
    }
}

/// The offline checks: the configuration and its problems, or the exit when it cannot be
/// read at all.
fn offline(config: &Path) -> Result<(Config, Vec<String>), Exit> {
    let cfg = match Config::load_unchecked(config) {
        Ok(c) => c,
        Err(e) => {
            crate::tell!("error: {e}");
            return Err(Exit::Config);
        }
    };
    let mut problems = cfg.problems();
    // Keys are checked whenever they are configured, with the simulator too (a production
    // key setup can be rehearsed against it).
    if cfg.cert_files().is_some() {
        check_certificates(&cfg, &mut problems);
    } else if cfg.alipay.app_private_key.is_some() || cfg.alipay.alipay_public_key.is_some() {
        if let Err(e) = crate::sync::context::load_keys(&cfg) {
            problems.push(format!("keys: {e}"));
        }
    }
    if let Some(p) = db_dir_problem(&cfg.audit.database) {
        problems.push(p);
    }
    // Every alert secret is read (never shown): a missing one fails here, not at 02:30.
    let alerts_parse = cfg
        .alert
        .iter()
        .enumerate()
        .all(|(i, a)| a.problems(i + 1).is_empty());
    if alerts_parse {
        let clock = std::sync::Arc::new(crate::clock::SystemClock);
        if let Err(e) = crate::alert::Dispatcher::new(&cfg.alert, clock) {
            problems.push(e.to_string());
        }
    }
    // Every merchant: its token and its export (the implicit one of a config without
    // [[merchant]] tables included). A missing [source] is already in `problems`.
    for m in cfg.merchant_configs() {
        let who = if m.merchant_name.is_empty() {
            String::new()
        } else {
            format!("[[merchant]] {}: ", m.merchant_name)
        };
        if let Err(e) = m.app_auth_token() {
            problems.push(format!("{who}app_auth_token: {e}"));
        }
        let Some(source) = m.source.as_ref() else {
            continue;
        };
        match crate::source::check(source) {
            Ok(headers) => crate::say!(
                "{who}Source {}: readable, {} columns, mapping complete.",
                crate::source::describe(source),
                headers.len()
            ),
            Err(e) => problems.push(format!("{who}source: {e}")),
        }
    }
    if let Err(e) =
        crate::daemon::schedule::Schedule::parse(&cfg.schedule.cron, &cfg.schedule.timezone)
    {
        problems.push(format!("[schedule]: {e}"));
    }
    Ok((cfg, problems))
}
