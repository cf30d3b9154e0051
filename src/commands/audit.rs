//! `shopsync audit`: read the audit store (read-only; works while a run holds the lock).

use std::path::Path;

use crate::audit::AuditDb;
use crate::cli::AuditArgs;
use crate::config::Config;
use crate::exit::Exit;
use crate::sync::RunError;

pub fn run(config: &Path, args: AuditArgs) -> Result<Exit, RunError> {
    let cfg = Config::load_unchecked(config)?;
    let db = AuditDb::open_read_only(&cfg.audit.database)?;
    let db = match &args.merchant {
        Some(name) => db.for_merchant(name),
        None => db,
    };
    let mut out = crate::output::stdout();
    crate::audit::run_command(&db, &args.command, args.format, &mut out)?;
    Ok(Exit::Ok)
}
