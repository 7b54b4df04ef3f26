//! The binary: parse flags, run, print an error as one line, exit 0/1/2.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cloudkeur::cli::Cli::parse();
    match cloudkeur::app::run(cli) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(err) => {
            eprintln!("cloudkeur: error: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}
