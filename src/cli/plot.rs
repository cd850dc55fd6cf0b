//! `clotair plot`: a picture of a recording.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

/// Arguments of `clotair plot`.
#[derive(Args, Debug)]
pub struct PlotArgs {
    /// The recording: base path DIR/NAME or any one of its files.
    pub recording: PathBuf,
    /// PNG file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Start of the window, seconds.
    #[arg(long)]
    pub from: Option<f64>,
    /// End of the window, seconds.
    #[arg(long)]
    pub to: Option<f64>,
    /// Detected events to overlay (NAME.events.csv).
    #[arg(long)]
    pub events: Option<PathBuf>,
}

/// Runs `clotair plot`.
pub fn run(_args: PlotArgs) -> ExitCode {
    eprintln!("error: plot is not implemented yet");
    ExitCode::FAILURE
}
