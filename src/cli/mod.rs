//! The `clotair` command line: one subcommand per file.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod demo;
pub mod detect;
pub mod eval;
pub mod plot;
pub mod simulate;
pub mod train;

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
    /// Simulate a small labelled set, evaluate the detector on it, plot a few detections.
    Demo(demo::DemoArgs),
    /// Stream recordings through the detector; write NAME.events.csv per recording.
    Detect(detect::DetectArgs),
    /// Detect, then score against the labels: sensitivity, PPV, false alarms, latency.
    Eval(eval::EvalArgs),
    /// Write labelled simulated recordings.
    Simulate(simulate::SimulateArgs),
    /// Draw a recording: spectrogram, |I/Q|, optical channels, labels and events.
    Plot(plot::PlotArgs),
    /// Fit the event classifier on a labelled set; writes src/detect/model.rs.
    Train(train::TrainArgs),
}

/// Parses the arguments and runs the subcommand; the process exit code.
pub fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Demo(args) => demo::run(args),
        Command::Detect(args) => detect::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Plot(args) => plot::run(args),
        Command::Train(args) => train::run(args),
    }
}
