//! The `clotair` command line: one subcommand per file.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Streaming detection of air and clots in an autotransfusion blood line.
#[derive(Parser, Debug)]
#[command(name = "clotair", version, about)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {}

/// Parses the arguments and runs the subcommand; the process exit code.
pub fn main() -> ExitCode {
    #[allow(unreachable_code, clippy::diverging_sub_expression)]
    match Cli::parse().command {}
}
