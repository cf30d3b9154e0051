//! `shopsync simulate`: the built-in Alipay simulator as a standalone server.

use crate::exit::Exit;
use crate::sim::cli::SimulateArgs;
use crate::sync::RunError;

pub async fn run(args: SimulateArgs) -> Result<Exit, RunError> {
    match crate::sim::cli::run(args).await {
        Ok(()) => Ok(Exit::Ok),
        Err(e) => {
            crate::tell!("error: {e:#}");
            Ok(Exit::Failed)
        }
    }
}
