//! The built-in Alipay simulator (docs/protocol.md §8): a real HTTP server on loopback that
//! answers `POST /gateway.do` like the classic gateway and `/v3/...` like v3 REST, on one
//! state; runs the shop audit state machine; sends signed audit notifications; throttles
//! and injects faults. It models Alipay from the reference, never the client: its rules
//! are its own (`rules`), and so are the strings it signs and verifies (`signing`).
//!
//! Modules, leaves first (imports form a tree; `shared` is the state every task shares):
//! - `config` (what it is told), `api` (methods and outcomes), `rules` (Alipay's field
//!   rules and §8.4 codes), `signing`, `ids`, `fixtures`, `faults`, `ratelimit`, `stats`,
//!   `reply`
//! - `records` (shops, orders, notifications as shown), `state` (the world and its
//!   indexes), `shared` (the tasks' common state)
//! - `validate` + `audit_rules` (§8.4/§8.5 checks), `writes` (create/modify), `audit`
//!   (settling applications, queuing notifications), `methods` (the reads, image.upload)
//! - `dispatch` (the business step of both protocols), `keys` (which key signs),
//!   `gateway` (classic), `v3`, `control` (`/__sim/`), `ops` (what control and the handle
//!   do), `notify` (delivery), `server` (the listener), `snapshot`, `handle` (start, the
//!   handle tests drive); `shopsync simulate` is `commands/simulate.rs` (options in
//!   `cli/simulate.rs`)
//!
//! # Control endpoints (`/__sim/`, JSON in and out, never signed)
//! - `GET state`: shops, apply orders, issued images, the simulator's now.
//! - `GET stats`: `call_counts` per method, `throttled`, `max_calls_in_one_second` (the
//!   busiest sliding second, exact over arrival times), and `app`: `{calls,
//!   max_calls_in_one_second, max_calls_in_a_calendar_second, per_second: [{unix_second,
//!   calls}]}` for every wall-clock second that saw a call.
//! - `POST stats/reset`: forget the counts (e.g. between the phases of a test).
//! - `GET notifications`: the notification log with delivery state.
//! - `POST clock/advance` `{"seconds": 60}`: move the clock and run due audits.
//! - `POST process`: run due audits now.
//! - `POST force` `{"key": "<apply_id|store_id>", "outcome": "success"}` or
//!   `{"key": "…", "outcome": "fail", "reason": "…"}`: the next audit's outcome.
//! - `POST shop-status` `{"shop_id": "…", "status": "OPEN|PAUSE|FREEZE|CLOSE"}` (404 for
//!   an unknown shop).
//! - `POST edit` `{"shop_id": "…", "field": "address", "value": "…" | null}`: an edit made
//!   on Alipay's side (404 for an unknown shop).
//! - `POST faults` `{"spec": "drop_before:*:next=1"}`, `{"rule": {…FaultRule…}}` or
//!   `{"clear": true}`.
//! - `POST cert/rotate`: certificate mode: answers name the next certificate now
//!   (400 when there is none).

mod api;
mod audit;
mod audit_rules;
pub mod cert;
mod config;
mod control;
mod dispatch;
mod faults;
mod fixtures;
mod gateway;
mod handle;
mod ids;
mod keys;
mod merchants;
mod methods;
mod notify;
mod ops;
pub mod pki;
mod ratelimit;
mod records;
mod reply;
mod rules;
mod server;
mod shared;
pub mod signing;
mod snapshot;
mod state;
mod stats;
mod times;
mod v3;
mod validate;
mod writes;

pub use config::{ForcedOutcome, RateSpec, RuleStages, SimConfig, SimError, Stage};
pub use faults::{FaultKind, FaultRule, FaultSpecError, Trigger};
pub use handle::{start, SimHandle};
pub use records::{SentNotification, SimOrder, SimShop, SimState};
pub use snapshot::SNAPSHOT_VERSION;
pub use stats::{SecondCount, WindowSummary};

/// The classic methods the simulator serves.
pub const METHODS: [&str; 9] = [
    api::Api::Summary.name(),
    api::Api::Create.name(),
    api::Api::Modify.name(),
    api::Api::QueryDetail.name(),
    api::Api::ShopBatchQuery.name(),
    api::Api::ApplyOrder.name(),
    api::Api::Category.name(),
    api::Api::ImageUpload.name(),
    api::Api::CertDownload.name(),
];
