//! `clotair eval DATASET_DIR [--out DIR]`: detect, then score against the labels.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::eval::{score, Detection, Report, Scored};
use crate::io;
use crate::run::{Outcome, RunOptions};

use super::detect::{
    discover_all, report_failures, run_with_progress, set_threads, write_outcome, Tuning,
};

/// Arguments of `eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// A directory of labelled recordings.
    pub dataset: PathBuf,
    /// Where to write the events of every recording and `eval.json`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print only the table.
    #[arg(long)]
    pub quiet: bool,
    /// Detector thresholds.
    #[command(flatten)]
    pub tuning: Tuning,
}

/// The parameters the 1998 consensus asks every report to state (Ringelstein et al.).
#[derive(serde::Serialize)]
struct Consensus {
    detection_threshold_db: f32,
    hysteresis_off_db: f32,
    fft_size: usize,
    fft_length_ms_at_8khz: f32,
    fft_length_ms_at_16khz: f32,
    /// Faster streams are decimated into this range first (`detect::front`).
    ultrasound_working_rate_hz: (u32, u32),
    overlap_percent: f32,
    window: &'static str,
    high_pass_hz: f32,
    high_pass_order: usize,
    max_duration_ms: f32,
}

fn consensus() -> Consensus {
    use crate::detect::ultrasound::{UsThresholds, FRAME, HOP, WALL_HZ, WALL_ORDER};
    let th = UsThresholds::default();
    Consensus {
        detection_threshold_db: th.on_db,
        hysteresis_off_db: th.off_db,
        fft_size: FRAME,
        fft_length_ms_at_8khz: FRAME as f32 / 8.0,
        fft_length_ms_at_16khz: FRAME as f32 / 16.0,
        ultrasound_working_rate_hz: crate::detect::front::ULTRASOUND_WORKING_HZ,
        overlap_percent: 100.0 * (1.0 - HOP as f32 / FRAME as f32),
        window: "Hann",
        high_pass_hz: WALL_HZ,
        high_pass_order: WALL_ORDER,
        max_duration_ms: 300.0,
    }
}

/// Scores outcomes that have labels; failures to read labels are returned as messages.
pub fn score_outcomes(outcomes: &[Outcome]) -> (Report, Vec<String>) {
    let mut scored = Vec::new();
    let mut failures = Vec::new();
    for o in outcomes {
        let Some(labels_path) = &o.recording.labels else {
            continue;
        };
        match io::read_labels(labels_path, Some(o.duration_s)) {
            Ok(labels) => scored.push(Scored {
                name: o.recording.name.clone(),
                duration_s: o.duration_s,
                labels,
                detections: o.events.iter().map(Detection::from).collect(),
            }),
            Err(e) => failures.push(e.to_string()),
        }
    }
    (score(&scored), failures)
}

/// What an evaluation produced: the score, the outcomes it is based on, and every input that
/// failed (named, with the reason).
pub struct Evaluation {
    /// The score over the recordings that worked.
    pub report: Report,
    /// Per recording.
    pub outcomes: Vec<Outcome>,
    /// Failed inputs.
    pub failures: Vec<String>,
}

/// Detects and scores `dataset`; writes the events and `eval.json` into `out`.
pub fn evaluate(
    dataset: &Path,
    out: Option<&Path>,
    quiet: bool,
    options: &RunOptions,
) -> Evaluation {
    let (recordings, mut failures) = discover_all(&[dataset.to_path_buf()]);
    if let Some(out) = out {
        if let Err(e) = std::fs::create_dir_all(out) {
            failures.push(format!("cannot create {}: {e}", out.display()));
        }
    }
    let mut outcomes = Vec::new();
    for r in run_with_progress(&recordings, options, quiet) {
        match r {
            Ok(o) => {
                if let Some(out) = out {
                    if let Err(e) = write_outcome(out, &o) {
                        failures.push(e.to_string());
                    }
                }
                outcomes.push(o);
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    let (report, label_failures) = score_outcomes(&outcomes);
    failures.extend(label_failures);
    if let Some(out) = out {
        let json = serde_json::json!({ "report": &report, "consensus": consensus() });
        let path = out.join("eval.json");
        let written = io::write_atomic(&path, |w| {
            serde_json::to_writer_pretty(&mut *w, &json).map_err(std::io::Error::other)?;
            writeln!(w)
        });
        if let Err(e) = written {
            failures.push(e.to_string());
        }
    }
    Evaluation {
        report,
        outcomes,
        failures,
    }
}

/// Runs `eval`.
pub fn run(args: EvalArgs) -> ExitCode {
    if let Err(e) = args.tuning.check() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    set_threads(args.threads);
    let evaluation = evaluate(
        &args.dataset,
        args.out.as_deref(),
        args.quiet,
        &args.tuning.options(),
    );
    // With nothing scored the table would be all n/a: the failures say why.
    if evaluation.report.recordings > 0 {
        print!("{}", evaluation.report.table());
        if let Some(out) = &args.out {
            println!("report: {}", out.join("eval.json").display());
        }
    } else if evaluation.failures.is_empty() {
        eprintln!(
            "error: {}: no labelled recording to score (labels are NAME.labels.csv)",
            args.dataset.display()
        );
        return ExitCode::FAILURE;
    }
    report_failures(&evaluation.failures)
}
