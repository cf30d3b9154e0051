//! The pure planner: [`model`] holds its inputs and output, [`reconcile`] the function
//! [`plan`] that compares the export with Alipay. No I/O: the run reads everything first.

mod model;
mod reconcile;

pub use model::*;
pub use reconcile::plan;
