//! `shopsync validate`: check configuration, keys, the export and the schedule; write
//! nothing; exit 78 listing every problem.

use std::path::Path;

use crate::config::Config;
use crate::exit::Exit;

/// Check configuration, keys and the export; write nothing. Every problem is listed.
pub fn validate(config: &Path) -> Exit {
    let cfg = match Config::load_unchecked(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Config;
        }
    };
    let mut problems = cfg.problems();
    if !cfg.is_simulator()
        && cfg.alipay.app_private_key.is_some()
        && cfg.alipay.alipay_public_key.is_some()
    {
        if let Err(e) = crate::sync::context::load_keys(&cfg) {
            problems.push(format!("keys: {e}"));
        }
    }
    if let Err(e) = cfg.app_auth_token() {
        problems.push(format!("app_auth_token: {e}"));
    }
    match crate::source::check(&cfg.source) {
        Ok(headers) => println!(
            "Source {}: readable, {} columns, mapping complete.",
            crate::source::describe(&cfg.source),
            headers.len()
        ),
        Err(e) => problems.push(format!("source: {e}")),
    }
    if let Err(e) =
        crate::daemon::schedule::Schedule::parse(&cfg.schedule.cron, &cfg.schedule.timezone)
    {
        problems.push(format!("[schedule]: {e}"));
    }
    if problems.is_empty() {
        println!("Configuration {} is valid.", config.display());
        Exit::Ok
    } else {
        eprintln!(
            "Configuration {} has {} problem(s):",
            config.display(),
            problems.len()
        );
        for p in &problems {
            eprintln!("  - {p}");
        }
        Exit::Config
    }
}
