//! shopsync: keep a POS chain's store list in sync with its Koubei shops on Alipay.
//!
//! Data moves one way: source → plan → apply → audit (see DESIGN.md).

// `AlipayError` carries what an operator needs (method, class, code, sub_code, message);
// it is returned at most once per network call, where its size does not matter.
#![allow(clippy::result_large_err)]
pub mod alert;
pub mod alipay;
pub mod allocator;
pub mod apply;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod connect;
pub mod daemon;
pub mod exit;
pub mod followup;
pub mod logging;
pub mod plan;
pub mod ratelimit;
pub mod remote;
pub mod report;
pub mod retry;
pub mod run;
pub mod secret;
pub mod sim;
pub mod source;
pub mod store;
