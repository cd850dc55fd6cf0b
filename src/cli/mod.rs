//! The `clotair` command line: one subcommand per file.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod plot;
pub mod simulate;

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
pub enum Command {
    /// Write labelled simulated recordings.
    Simulate(simulate::SimulateArgs),
    /// Draw a recording: spectrogram, |I/Q|, optical channels, labels and events.
    Plot(plot::PlotArgs),
}

/// Parses the arguments and runs the subcommand; the process exit code.
pub fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Simulate(args) => simulate::run(args),
        Command::Plot(args) => plot::run(args),
    }
}
