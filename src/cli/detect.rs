//! `clotair detect RECORDING_OR_DIR... --out DIR`: writes `DIR/NAME.events.csv` per recording.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use crate::event::Class;
use crate::io::{self, Recording};
use crate::run::{detect_many, Outcome, RunError, RunOptions};

/// Arguments of `detect`.
#[derive(clap::Args, Debug)]
pub struct DetectArgs {
    /// Recordings: base paths (DIR/NAME), any one of their files, or directories.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Where to write NAME.events.csv.
    #[arg(long)]
    pub out: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bar and no summary.
    #[arg(long)]
    pub quiet: bool,
    /// Detector thresholds.
    #[command(flatten)]
    pub tuning: Tuning,
}

/// Detector thresholds that can be changed from the command line (defaults: the tuned ones).
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct Tuning {
    /// Ultrasound: cell-to-background ratio that opens an event, dB.
    #[arg(long)]
    pub us_on_db: Option<f32>,
    /// Ultrasound: ratio below which an event closes, dB.
    #[arg(long)]
    pub us_off_db: Option<f32>,
    /// Optical: change that opens an event, in noise standard deviations.
    #[arg(long)]
    pub opt_on_sigma: Option<f32>,
    /// Classify with the physical rules instead of the trained tree.
    #[arg(long)]
    pub rules: bool,
}

impl Tuning {
    /// The run options these settings give.
    pub fn options(&self) -> RunOptions {
        let mut c = crate::detect::DetectorConfig::default();
        if let Some(x) = self.us_on_db {
            c.ultrasound.on_db = x;
        }
        if let Some(x) = self.us_off_db {
            c.ultrasound.off_db = x;
        }
        if let Some(x) = self.opt_on_sigma {
            c.optical.on_sigma = x;
        }
        c.rules_only = self.rules;
        RunOptions {
            base: Some(c),
            chunk_s: None,
        }
    }
}

/// Finds the recordings behind every input; inputs that hold none are failures, reported.
pub fn discover_all(inputs: &[PathBuf]) -> (Vec<Recording>, Vec<String>) {
    let mut recordings = Vec::new();
    let mut failures = Vec::new();
    for input in inputs {
        match io::discover(std::slice::from_ref(input)) {
            Ok(found) => recordings.extend(found),
            Err(e) => failures.push(e.to_string()),
        }
    }
    recordings.sort_by(|a, b| a.base.cmp(&b.base));
    recordings.dedup_by(|a, b| a.base == b.base);
    (recordings, failures)
}

/// Sets the worker count of rayon's global pool, once.
pub fn set_threads(threads: Option<usize>) {
    if let Some(n) = threads {
        // Fails only if the pool already exists (a second call in tests): keep that one.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global();
    }
}

/// Runs the detector over `recordings` with a progress bar; returns the outcomes in order.
pub fn run_with_progress(
    recordings: &[Recording],
    options: &RunOptions,
    quiet: bool,
) -> Vec<Result<Outcome, RunError>> {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(recordings.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} recordings  {msg}  [{elapsed_precise}]")
            .expect("static template"),
    );
    let started = Instant::now();
    let signal_s = std::sync::Mutex::new(0.0f64);
    let results = detect_many(recordings, options, &|_, r| {
        if let Ok(o) = r {
            let mut s = signal_s.lock().expect("progress lock");
            *s += o.duration_s;
            let speed = *s / started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!(
                "{:.2} h signal, {speed:.0}× real time",
                *s / 3600.0
            ));
        }
        bar.inc(1);
    });
    bar.finish_and_clear();
    results
}

/// Writes a recording's events into `out`.
pub fn write_outcome(out: &Path, o: &Outcome) -> Result<PathBuf, io::Error> {
    let path = out.join(format!("{}.events.csv", o.recording.name));
    io::write_events(&path, &o.events)?;
    Ok(path)
}

/// Runs `detect`.
pub fn run(args: DetectArgs) -> ExitCode {
    set_threads(args.threads);
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("error: cannot create {}: {e}", args.out.display());
        return ExitCode::FAILURE;
    }
    let (recordings, mut failures) = discover_all(&args.inputs);
    let started = Instant::now();
    let results = run_with_progress(&recordings, &args.tuning.options(), args.quiet);
    let mut signal_s = 0.0;
    let mut ok = 0usize;
    let mut counts = [0usize; 4];
    for r in results {
        match r {
            Ok(o) => match write_outcome(&args.out, &o) {
                Ok(_) => {
                    ok += 1;
                    signal_s += o.duration_s;
                    for e in &o.events {
                        counts[e.class as usize] += 1;
                    }
                }
                Err(e) => failures.push(e.to_string()),
            },
            Err(e) => failures.push(e.to_string()),
        }
    }
    if !args.quiet {
        let wall = started.elapsed().as_secs_f64();
        println!(
            "{} recordings, {:.2} h of signal in {wall:.1} s ({:.0}× real time): {} air, {} clot, {} artifact, {} fault events → {}",
            ok,
            signal_s / 3600.0,
            signal_s / wall.max(1e-9),
            counts[Class::Air as usize],
            counts[Class::Clot as usize],
            counts[Class::Artifact as usize],
            counts[Class::Fault as usize],
            args.out.display()
        );
    }
    report_failures(&failures)
}

/// Prints every failure; the exit code.
pub fn report_failures(failures: &[String]) -> ExitCode {
    if failures.is_empty() {
        return ExitCode::SUCCESS;
    }
    eprintln!("{} input(s) failed:", failures.len());
    for f in failures {
        eprintln!("  error: {f}");
    }
    ExitCode::FAILURE
}
