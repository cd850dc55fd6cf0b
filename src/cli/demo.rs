//! `clotair demo`: the README's main command. Simulates a small labelled set with a fixed
//! seed, evaluates the detector on it, prints the table and plots a few detections.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::run::RunOptions;
use crate::sim::{simulate_dataset, Preset};

use super::detect::report_failures;
use super::plot::{plot, PlotArgs};

/// Recordings in the demo set.
const DEMO_RECORDINGS: u64 = 8;
/// Length of each, minutes: with the dense preset, about a hundred emboli in all.
const DEMO_MINUTES: f64 = 1.0;
/// Detections plotted.
const DEMO_PLOTS: usize = 3;
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
    plot_detections(&evaluation.outcomes, &results, &args.out.join("plots"));
    report_failures(&evaluation.failures)
}

/// One-second plots around the first alarms of the first recordings, with the labels and the
/// detected events drawn over the signals.
fn plot_detections(outcomes: &[crate::run::Outcome], results: &Path, dir: &Path) {
    let alarms = outcomes.iter().flat_map(|o| {
        o.events
            .iter()
            .filter(|e| e.class.is_alarm())
            .take(1)
            .map(move |e| (o, e))
    });
    for (o, e) in alarms.take(DEMO_PLOTS) {
        let t = e.start_us as f64 * 1e-6;
        let out = dir.join(format!("{}_{:.1}s.png", o.recording.name, t));
        let args = PlotArgs {
            recording: o.recording.base.clone(),
            out: out.clone(),
            from: Some((t - 0.4).max(0.0)),
            to: Some(t + 0.6),
            events: Some(results.join(format!("{}.events.csv", o.recording.name))),
        };
        let made = std::fs::create_dir_all(dir)
            .map_err(|e| e.to_string())
            .and_then(|()| plot(&args).map_err(|e| e.to_string()));
        match made {
            Ok(()) => println!("plot of an alarm ({}): {}", e.class.as_str(), out.display()),
            Err(err) => eprintln!("error: {err}"),
        }
    }
}
