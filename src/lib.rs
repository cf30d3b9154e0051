//! shopsync: keep a POS chain's store list in sync with its Koubei shops on Alipay.
//!
//! Data moves one way (docs/design.md):
//!
//! ```text
//! source ──► record ──┐
//!                     ├──► sync::plan ──► sync::apply ──► audit
//! alipay ──► sync::remote ┘        (sync::followup resolves what was sent before)
//! ```
//!
//! The map of the crate, in that order:
//!
//! - [`cli`] and [`commands`]: the command line; one file per subcommand.
//! - [`config`]: the TOML file, `SHOPSYNC_*` overrides, credentials, checks.
//! - [`ids`]: typed ids (`StoreId`, `ShopId`, `ApplyId`, `RequestId`).
//! - [`record`]: the store record, its fields and Alipay's field rules.
//! - [`source`]: exports (CSV, SQLite) → records + rejected rows.
//! - [`sync`]: the engine: context, remote shops, plan, guard, apply, follow-up, run, report,
//!   saved plans.
//! - [`alipay`]: the client: keys, signing, envelope, gateway, error classes, rate limit,
//!   retries, and the Koubei shop methods.
//! - [`audit`]: the SQLite audit store, the `shopsync audit` views, and the HTML run
//!   report (`audit::html`).
//! - [`alert`]: alert destinations (DingTalk, WeCom, Feishu/Lark, JSON webhook) and the
//!   dispatcher that sends events to them.
//! - [`daemon`]: unattended operation: schedule, lock, shutdown, systemd, listeners.
//! - [`sim`]: the built-in Alipay simulator (its own statement of Alipay's rules).
//! - Plumbing: [`exit`] codes, [`clock`], [`logging`], [`output`] (stdout/stderr that never
//!   panic), [`secret`] (and redaction), [`allocator`].

// `AlipayError` carries what an operator needs (method, class, code, sub_code, message);
// it is returned at most once per network call, where its size does not matter.
#![allow(clippy::result_large_err)]
pub mod alert;
pub mod alipay;
pub mod audit;
pub mod cli;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod ids;
pub mod record;
pub mod sim;
pub mod source;
pub mod sync;

pub mod allocator;
pub mod clock;
pub mod exit;
pub mod logging;
pub mod output;
pub mod secret;
