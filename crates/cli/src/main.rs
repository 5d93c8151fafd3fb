//! The `decant` binary: clap arguments ([`args`]), settings from flags and
//! environment, progress rendering ([`progress`]), error display and exit
//! codes. The only crate that prints.
//!
//! Architecture Invariant: depends on `engine` (and the vocabulary crates) for
//! everything it does; it holds no build logic of its own.

mod args;
mod build;
mod commands;
mod progress;
mod report;
mod transfer;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // The RUN helper is this same binary re-executed with a hidden first
    // argument; it must be dispatched before anything starts a thread.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == engine::helper::HELPER_ARG)
    {
        engine::helper::helper_main();
    }
    let cli = args::Cli::parse();
    match cli.command {
        args::Command::Build(build) => build::run(&cli.global, build),
        other => commands::run(&cli.global, other),
    }
}
