//! The binary: parse flags, run, print an error as one line, exit 0/1/2.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cloudkeur::cli::Cli::parse();
    cloudkeur::logging::init(cli.log_format);
    match cloudkeur::app::run(cli) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(err) => {
            cloudkeur::logging::error("failed", &err.to_string(), err.exit_code());
            ExitCode::from(err.exit_code())
        }
    }
}
