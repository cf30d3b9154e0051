//! Every clap type of the command line. `commands/` runs them, one file per subcommand.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

mod audit;
pub mod simulate;

pub use audit::{AuditArgs, AuditCommand, OutputFormat};

/// Keep a POS chain's store list in sync with its Koubei shops on Alipay.
///
/// With no configuration, everything runs against the built-in Alipay simulator on the
/// samples in samples/ (config/shopsync.toml), so `shopsync sync` shows the whole job.
#[derive(Debug, Parser)]
#[command(name = "shopsync", version, about, long_about)]
pub struct Cli {
    /// Configuration file. Default: ./config/shopsync.toml, else
    /// /etc/shopsync/shopsync.toml (the path the systemd units use).
    #[arg(long, short, global = true, env = "SHOPSYNC_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log format: pretty for a terminal, json for journald or files.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
    /// Log level (error, warn, info, debug, trace); overrides RUST_LOG.
    #[arg(long, global = true)]
    pub log_level: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what a sync would change, without writing to Alipay.
    ///
    /// Exit 0 when already in sync, 2 when changes are pending.
    Plan(PlanArgs),
    /// Apply the difference: create and modify shops on Alipay, record everything.
    ///
    /// Exit 0 on success, 3 when some stores failed, 4 when a safety guard stopped the run
    /// before any write, 1 when the run failed, 78 on configuration errors.
    Sync(SyncArgs),
    /// Check configuration, keys, and the export without writing anything (exit 78 on
    /// failure, listing every problem). Offline unless `--online`.
    Validate(ValidateArgs),
    /// Refresh pending applications through Alipay's audit once (applyorder.batchquery).
    FollowUp(FollowUpArgs),
    /// Read the audit store: runs, one run's writes, a store's history, pending audits.
    Audit(AuditArgs),
    /// Run unattended: sync on the configured cron schedule, follow pending applications
    /// between runs, receive audit notifications, serve health and metrics.
    Daemon(DaemonArgs),
    /// Start the built-in Alipay simulator as a server any Alipay client can use.
    Simulate(Box<simulate::SimulateArgs>),
    /// Write the HTML report of one run, from the audit store: header, counts, every
    /// write with its per-field old → new, failures with Alipay's codes, pending
    /// applications with their age, rejected rows. One self-contained page.
    Report(ReportArgs),
    /// Read back a plan saved by `shopsync plan --out FILE` (its digest checked), as a
    /// table, JSON or CSV. Needs no configuration.
    ShowPlan(ShowPlanArgs),
}

/// How long `plan`, `sync` and `follow-up` wait for another shopsync's run to finish.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct LockArgs {
    /// Wait up to this long (e.g. "10m", "0s") when another shopsync (a manual run, or the
    /// daemon in the middle of a job) holds the lock; then exit 1. The daemon holds the
    /// lock only while a job runs, and skips a tick that finds it taken.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10m")]
    pub lock_timeout: Duration,
}

/// `shopsync validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Also ask Alipay: one signed read call (keys, app id, app_auth_token and gateway
    /// work) and the export's categories looked up with category.query (unknown or
    /// non-leaf ids are problems). Without it, validate sends nothing.
    #[arg(long)]
    pub online: bool,
}

/// Which merchant of an ISV config (`[[merchant]]` tables) a command is about.
#[derive(Debug, Clone, clap::Args)]
pub struct MerchantArgs {
    /// Only this merchant (its `name` in the config). Default: every merchant.
    #[arg(long)]
    pub merchant: Option<String>,
}

/// `shopsync follow-up`.
#[derive(Debug, clap::Args)]
pub struct FollowUpArgs {
    #[command(flatten)]
    pub lock: LockArgs,
    #[command(flatten)]
    pub merchant: MerchantArgs,
}

/// `shopsync plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub lock: LockArgs,
    #[command(flatten)]
    pub merchant: MerchantArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Table)]
    pub format: PlanFormat,
    /// List unchanged stores too.
    #[arg(long)]
    pub all: bool,
    /// Also save the plan to FILE, with what it was computed from (app, merchant, gateway,
    /// time, a fingerprint of every store), for `shopsync sync --plan FILE`
    /// (docs/saved-plans.md). With several merchants, one file each: FILE with the
    /// merchant's name before the extension (plan.acme.json).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `shopsync report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The run (`shopsync audit runs` lists them).
    pub run: i64,
    /// Write the page to this file.
    #[arg(long, value_name = "FILE")]
    pub html: PathBuf,
}

/// `shopsync show-plan`.
#[derive(Debug, clap::Args)]
pub struct ShowPlanArgs {
    /// The plan file (`shopsync plan --out FILE`).
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Table)]
    pub format: PlanFormat,
    /// List unchanged stores too.
    #[arg(long)]
    pub all: bool,
}

/// `shopsync sync`.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub lock: LockArgs,
    #[command(flatten)]
    pub merchant: MerchantArgs,
    /// Skip the safety guards (max_creates, max_modifies, shrunken export).
    #[arg(long)]
    pub force: bool,
    /// After applying, follow Alipay's audit of the new applications for up to this
    /// long (e.g. "30s"), recording approvals and rejections.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub wait: Option<Duration>,
    /// Also print the plan that was applied.
    #[arg(long, value_enum)]
    pub show_plan: Option<PlanFormat>,
    /// Apply exactly the writes of this saved plan (`shopsync plan --out FILE`), and only
    /// for stores whose export row and shop did not change since it was made; the others
    /// are skipped and reported stale (exit 3). A plan for another app, merchant or
    /// gateway, older than --max-age, or changed since it was written is refused (exit 1).
    /// Only the plan's merchant runs.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// At the end, write the run's HTML report to FILE (as `shopsync report RUN --html
    /// FILE`, with the blocked stores and remote-only shops of this run's plan). With
    /// several merchants, one page each (report.acme.html).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// With --plan: refuse a plan older than this.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "24h", requires = "plan")]
    pub max_age: Duration,
}

/// `shopsync daemon`.
#[derive(Debug, clap::Args)]
pub struct DaemonArgs {
    /// Print the next 5 run times in the configured time zone and exit.
    #[arg(long)]
    pub print_schedule: bool,
    #[command(flatten)]
    pub merchant: MerchantArgs,
}

/// Output format of `plan` and `sync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum PlanFormat {
    #[default]
    Table,
    Json,
    Csv,
}

/// Output format of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (for a terminal).
    #[default]
    Pretty,
    /// One JSON object per line (for journald or files).
    Json,
}
