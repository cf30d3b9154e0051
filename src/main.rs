//! The `shopsync` binary: parse the command line, set up logging, run, exit with a code.

use std::process::ExitCode;

use clap::Parser;
use shopsync::exit::Exit;
use shopsync::tell;

fn main() -> ExitCode {
    shopsync::output::install_panic_hook();
    let cli = match shopsync::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are answers, not errors; anything else is a usage error.
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    Exit::Ok.into()
                }
                _ => Exit::Usage.into(),
            };
        }
    };
    if let Err(e) = shopsync::logging::init(cli.log_format, cli.log_level.as_deref()) {
        tell!("error: cannot set up logging: {e:#}");
        return Exit::Config.into();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tell!("error: cannot start the async runtime: {e}");
            return Exit::Failed.into();
        }
    };
    runtime.block_on(shopsync::commands::dispatch(cli)).into()
}
