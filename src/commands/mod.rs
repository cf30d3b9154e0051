//! One file per subcommand. Each returns `Result<Exit, RunError>`; [`dispatch`] prints a
//! failure once, with its error chain, and turns it into the exit code it names.

use crate::cli::{Cli, Command};
use crate::exit::Exit;
use crate::sync::run::error_chain;
use crate::sync::RunError;

mod audit;
mod daemon;
mod follow_up;
mod one_run;
mod plan;
mod simulate;
mod sync;
mod validate;

pub use validate::validate;

/// Run the parsed command line.
pub async fn dispatch(cli: Cli) -> Exit {
    let config = cli.config.as_path();
    let result = match cli.command {
        Command::Plan(args) => plan::run(config, args).await,
        Command::Sync(args) => sync::run(config, args).await,
        Command::Validate => Ok(validate::validate(config)),
        Command::FollowUp => follow_up::run(config).await,
        Command::Audit(args) => audit::run(config, args),
        Command::Daemon(args) => daemon::run(config, args).await,
        Command::Simulate(args) => simulate::run(*args).await,
    };
    match result {
        Ok(exit) => exit,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            e.exit()
        }
    }
}

/// The configuration, checked.
fn load_config(path: &std::path::Path) -> Result<crate::config::Config, RunError> {
    Ok(crate::config::Config::load(path)?)
}
