//! The `shopsync` binary: parse the command line, set up logging, run, exit with a code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = shopsync::cli::Cli::parse();
    if let Err(e) = shopsync::logging::init(cli.log_format, cli.log_level.as_deref()) {
        eprintln!("error: cannot set up logging: {e:#}");
        return ExitCode::from(78);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(shopsync::commands::dispatch(cli)).into()
}
