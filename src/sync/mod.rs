//! The sync engine, in the order data flows through one run:
//!
//! 1. [`context`]: everything a run needs (config, client or built-in simulator, audit store).
//! 2. [`followup`]: refresh pending applications; [`confirm`]: settle writes whose outcome
//!    is unknown (after adoption, step 3, has mapped the shops that appeared).
//! 3. [`remote`]: Alipay's shops (summary pages → remote shops; adoption via querydetail).
//! 4. [`categories`]: every row's category checked with category.query (cached a day);
//!    [`photos`]: photo files and URLs read, checked and hashed, known ones resolved to
//!    their image ids (the upload itself is step 7).
//! 5. [`plan`]: the pure planner (stores × remote shops × what was sent before).
//! 6. [`guard`]: the safety guards that stop a run before any write.
//! 7. [`photos`] again: the photos the writes need, uploaded once each; then [`apply`]:
//!    the writes, under the rate limiter, intent before and outcome after.
//! 8. [`run`]: one run of `plan` or `sync`, tying the steps together.
//! 9. [`report`]: the plan and the run summary as text, JSON or CSV.
//! 10. [`saved_plan`]: a plan saved to a file (`plan --out`), applied exactly
//!     (`sync --plan`): fingerprints, format, and the restriction of a fresh plan.
//!
//! [`alerts`] tells the `[[alert]]` destinations how runs and audits ended;
//! [`error`] holds [`RunError`], which knows its exit code.
pub mod alerts;
pub mod apply;
pub mod categories;
pub mod confirm;
pub mod context;
pub mod error;
pub mod followup;
pub mod guard;
pub mod photos;
pub mod plan;
pub mod remote;
pub mod report;
pub mod run;
pub mod saved_plan;

pub use context::Context;
pub use error::RunError;
pub use run::{RunOptions, RunResult};
