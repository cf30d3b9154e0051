//! One file per subcommand. Each returns `Result<Exit, RunError>`; [`dispatch`] prints a
//! failure once, with its error chain, and turns it into the exit code it names.

use crate::cli::{Cli, Command};
use crate::exit::Exit;
use crate::output::{self, Kind};
use crate::sync::run::error_chain;
use crate::sync::RunError;

mod audit;
mod daemon;
mod follow_up;
mod one_run;
mod plan;
mod plan_file;
mod report;
mod show_plan;
mod simulate;
mod simulate_cert;
mod sync;
mod validate;
mod validate_online;

pub use one_run::select_merchants;
pub use validate::{validate, validate_online};

/// Run the parsed command line.
pub async fn dispatch(cli: Cli) -> Exit {
    let located = match &cli.command {
        // The simulator and show-plan need no configuration.
        Command::Simulate(_) | Command::ShowPlan(_) => Ok(std::path::PathBuf::new()),
        _ => crate::config::locate(cli.config.as_deref()),
    };
    let config_path = match located {
        Ok(p) => p,
        Err(e) => {
            output::error_line(&e.to_string());
            return Exit::Config;
        }
    };
    let config = config_path.as_path();
    let kind = match &cli.command {
        Command::Audit(_) | Command::ShowPlan(_) => Kind::Query,
        Command::Daemon(args) if args.print_schedule => Kind::Query,
        _ => Kind::Work,
    };
    let result = match cli.command {
        Command::Plan(args) => plan::run(config, args).await,
        Command::Sync(args) => sync::run(config, args).await,
        Command::Validate(args) if args.online => Ok(validate::validate_online(config).await),
        Command::Validate(_) => Ok(validate::validate(config)),
        Command::FollowUp(args) => follow_up::run(config, args).await,
        Command::Audit(args) => audit::run(config, args),
        Command::Daemon(args) => daemon::run(config, args).await,
        Command::Simulate(args) => simulate::run(*args).await,
        Command::ShowPlan(args) => show_plan::run(args),
        Command::Report(args) => report::run(config, args),
    };
    let exit = match result {
        Ok(exit) => exit,
        Err(e) => {
            output::error_line(&error_chain(&e));
            e.exit()
        }
    };
    output::final_exit(exit, kind)
}

/// The configuration, checked.
fn load_config(path: &std::path::Path) -> Result<crate::config::Config, RunError> {
    Ok(crate::config::Config::load(path)?)
}
