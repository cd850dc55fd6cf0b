//! `clotair demo`: the README's main command. Simulates a small labelled set with a fixed
//! seed, evaluates the detector on it, prints the table and plots a few detections.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::run::RunOptions;
use crate::sim::{simulate_dataset, Preset};

use super::detect::report_failures;

/// Recordings in the demo set.
const DEMO_RECORDINGS: u64 = 8;
/// Length of each, minutes: with the dense preset, about a hundred emboli in all.
const DEMO_MINUTES: f64 = 1.0;
use super::eval::evaluate;

/// Arguments of `demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Where to write the simulated recordings, events, report and plots.
    #[arg(long, default_value = "out/demo")]
    pub out: PathBuf,
    /// Seed of the simulated set.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// Runs `demo`.
pub fn run(args: DemoArgs) -> ExitCode {
    let data = args.out.join("recordings");
    let results = args.out.join("results");
    println!("simulating a labelled demo set into {}", data.display());
    let options = Preset::Dense.options(DEMO_MINUTES * 60.0);
    match simulate_dataset(&data, &options, args.seed, DEMO_RECORDINGS, &|| {}) {
        Ok(s) => println!(
            "{} recordings, {:.1} min of signal, {} emboli ({} detectable), {} artifacts",
            s.recordings,
            s.duration_s / 60.0,
            s.emboli,
            s.detectable,
            s.artifacts
        ),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    println!("evaluating the detector on it");
    let evaluation = evaluate(&data, Some(&results), false, &RunOptions::default());
    print!("{}", evaluation.report.table());
    println!("events and eval.json in {}", results.display());
    report_failures(&evaluation.failures)
}
