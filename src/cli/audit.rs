//! `shopsync audit` and its subcommands.

/// `shopsync audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
    /// Output format (also accepted after the subcommand: `audit runs --format json`).
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Only this merchant of an ISV config (default: every merchant).
    #[arg(long, global = true)]
    pub merchant: Option<String>,
}

/// Queries over the audit store (read-only).
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum AuditCommand {
    /// List recent runs, newest first, with their status and counts.
    Runs {
        /// How many runs to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Show one run and every write it sent, with request ids, apply ids and outcomes.
    Show {
        /// The run id, as listed by `audit runs`.
        run: i64,
    },
    /// Show a store's whole history: mapping, writes, applications, notifications and
    /// the values Alipay last accepted.
    Store {
        /// The store_id from the chain's export.
        store_id: String,
    },
    /// List the applications still under audit, oldest first, with their age.
    Pending,
    /// List the rejected export rows (file, line, store, field, reason, value) of one run,
    /// or of every run.
    Rejects {
        /// Only this run's rows.
        #[arg(long)]
        run: Option<i64>,
    },
}

/// How `audit` prints its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// Aligned text for a terminal.
    #[default]
    Table,
    /// JSON for scripts.
    Json,
}
