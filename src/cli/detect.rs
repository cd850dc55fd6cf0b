//! `clotair detect RECORDING_OR_DIR... --out DIR`: writes `DIR/NAME.events.csv` per recording.
//!
//! Batch options (issue #5, `docs/batch.md`): `--manifest FILE` and `--shard I/N` to split a set
//! across independent jobs, `--resume` to skip finished recordings, `--json` for a
//! machine-readable summary, `--report DIR` for a static HTML page.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::batch::{events_path, read_manifest, Shard};
use crate::detect::MEMORY_S;
use crate::event::{AirLimit, Class, FaultKind};
use crate::io::{self, EventRow, Recording};
use crate::run::{detect_many, Cut, Outcome, RunError, RunOptions, Segments};

/// Arguments of `detect`.
#[derive(clap::Args, Debug)]
pub struct DetectArgs {
    /// Recordings: base paths (DIR/NAME), any one of their files, or directories.
    #[arg(required_unless_present = "manifest")]
    pub inputs: Vec<PathBuf>,
    /// Where to write NAME.events.csv.
    #[arg(long)]
    pub out: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print nothing but errors (with --json, the JSON still goes to stdout).
    #[arg(long)]
    pub quiet: bool,
    /// A text file of recording paths, one per line, `#` starts a comment line; relative paths
    /// are relative to the manifest's directory. Adds to the positional inputs.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Process only shard I of N (1-based): the recordings, sorted by path, whose index % N
    /// == I - 1. The N shards of a set cover it exactly once.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// Skip recordings whose OUT/NAME.events.csv exists (it is written atomically, so it
    /// exists only when complete).
    #[arg(long)]
    pub resume: bool,
    /// Print a machine-readable summary on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Write a static HTML report (DIR/index.html and one timeline PNG per recording).
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Detector thresholds.
    #[command(flatten)]
    pub tuning: Tuning,
}

/// `--warmup-s`: whole seconds, at least the detector's memory.
fn parse_warmup(text: &str) -> Result<u64, String> {
    let s: u64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a whole number of seconds"))?;
    if s < MEMORY_S {
        return Err(format!(
            "{s} s is shorter than the detector's memory: at least {MEMORY_S} s"
        ));
    }
    Ok(s)
}

/// Detector thresholds that can be changed from the command line (defaults: the tuned ones).
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct Tuning {
    /// Ultrasound: cell-to-background ratio that opens an event, dB.
    #[arg(long, allow_negative_numbers = true)]
    pub us_on_db: Option<f32>,
    /// Ultrasound: ratio below which an event closes, dB (at most the opening one).
    #[arg(long, allow_negative_numbers = true)]
    pub us_off_db: Option<f32>,
    /// Optical: change that opens an event, in noise standard deviations (at least the
    /// closing one).
    #[arg(long, allow_negative_numbers = true)]
    pub opt_on_sigma: Option<f32>,
    /// Classify with the physical rules instead of the trained tree.
    #[arg(long)]
    pub rules: bool,
    /// Cut recordings longer than this (s) into segments run in parallel, with the same
    /// events as one stream; 0 runs every recording as one stream.
    #[arg(long, value_name = "S", default_value_t = Segments::default().length_s)]
    pub segment_s: u64,
    /// Signal fed before each segment's own part, s (at least the detector's memory).
    #[arg(long, value_name = "S", default_value_t = Segments::default().warmup_s,
          value_parser = parse_warmup)]
    pub warmup_s: u64,
    /// Let NaN and infinite samples of float WAVs through to the detector, which reports them
    /// as `nan` faults while they last and recovers, instead of failing the recording.
    #[arg(long)]
    pub nan_as_fault: bool,
}

impl Tuning {
    /// Checks the thresholds before any recording is read, naming the flag: the detector
    /// refuses the same settings, but once per recording and without the flag's name.
    pub fn check(&self) -> Result<(), String> {
        let c = self.options().base.unwrap_or_default();
        let (us, opt) = (c.ultrasound, c.optical);
        // A flag and its value, marked when the user left it at its default.
        let flag = |name: &str, given: Option<f32>, value: f32| match given {
            Some(_) => format!("--{name} {value}"),
            None => format!("--{name} {value} (the default)"),
        };
        let (on, off) = (
            flag("us-on-db", self.us_on_db, us.on_db),
            flag("us-off-db", self.us_off_db, us.off_db),
        );
        if !(us.on_db.is_finite() && us.off_db.is_finite()) {
            return Err(format!(
                "{on}, {off}: the thresholds must be finite numbers of dB"
            ));
        }
        if us.off_db > us.on_db {
            return Err(format!(
                "{off} is above {on}: an event must close at or below the ratio that opens it"
            ));
        }
        if !(opt.on_sigma.is_finite() && opt.on_sigma >= opt.off_sigma) {
            return Err(format!(
                "--opt-on-sigma {}: must be a finite number of standard deviations, at least the closing threshold ({})",
                opt.on_sigma, opt.off_sigma
            ));
        }
        Ok(())
    }

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
            segments: (self.segment_s > 0).then_some(Segments {
                length_s: self.segment_s,
                warmup_s: self.warmup_s,
            }),
            nan_as_fault: self.nan_as_fault,
        }
    }
}

/// Finds the recordings behind every input, sorted by base path, each once; inputs that hold
/// none are failures, reported.
pub fn discover_all(inputs: &[PathBuf]) -> (Vec<Recording>, Vec<String>) {
    let (recordings, failures) = discover_inputs(inputs);
    (recordings, failures.into_iter().map(|(_, e)| e).collect())
}

/// [`discover_all`] with each failure paired with the input it is about.
pub fn discover_inputs(inputs: &[PathBuf]) -> (Vec<Recording>, Vec<(PathBuf, String)>) {
    let mut recordings = Vec::new();
    let mut failures = Vec::new();
    for input in inputs {
        match io::discover(std::slice::from_ref(input)) {
            Ok(found) => recordings.extend(found),
            Err(e) => failures.push((input.clone(), e.to_string())),
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
    let on_signal = |done_s: f64| {
        let mut s = signal_s.lock().expect("progress lock");
        *s += done_s;
        let speed = *s / started.elapsed().as_secs_f64().max(1e-9);
        bar.set_message(format!(
            "{:.2} h signal, {speed:.0}× real time",
            *s / 3600.0
        ));
    };
    let on_done = |rec: &Recording, r: &Result<Outcome, RunError>| {
        if let (Ok(o), false) = (r, quiet) {
            bar.suspend(|| o.notes.iter().for_each(|n| eprintln!("note: {n}")));
        }
        if let Ok(Outcome {
            cut: Cut::Rerun(n), ..
        }) = r
        {
            bar.suspend(|| {
                eprintln!(
                    "warning: {}: two of its {n} segments disagreed where they overlap; it was \
                     run again as one stream (its events are those of the one stream)",
                    rec.base.display()
                )
            });
        }
        bar.inc(1);
    };
    let results = detect_many(recordings, options, &on_done, &on_signal);
    bar.finish_and_clear();
    results
}

/// Writes a recording's events into `out`.
pub fn write_outcome(out: &Path, o: &Outcome) -> Result<PathBuf, io::Error> {
    let path = events_path(out, &o.recording.name);
    io::write_events(&path, &o.events)?;
    Ok(path)
}

/// How one recording ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Detected and written.
    Ok,
    /// Could not be read, detected or written; `reason` says why.
    Failed,
    /// `--resume`: its events file existed; the counts are read from it.
    Skipped,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        }
    }
}

/// Events per class.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ClassCounts {
    /// Air alarms.
    pub air: usize,
    /// Clot alarms.
    pub clot: usize,
    /// Artifacts (not alarms).
    pub artifact: usize,
    /// Sensor faults.
    pub fault: usize,
    /// Slugs' passage rows: `air` rows that follow an air alarm with the slug's whole volume,
    /// not counted in `air`.
    pub passages: usize,
    /// Sensor faults by kind (the events CSV's `fault` column: `reversed_flow`, `nan`, ...).
    pub faults: BTreeMap<String, usize>,
}

impl ClassCounts {
    fn add(&mut self, e: &EventRow) {
        // A fault's end is counted with its start.
        if e.cleared {
            return;
        }
        if e.passage {
            self.passages += 1;
            return;
        }
        match e.class {
            Class::Air => self.air += 1,
            Class::Clot => self.clot += 1,
            Class::Artifact => self.artifact += 1,
            Class::Fault => {
                self.fault += 1;
                *self.faults.entry(e.fault.clone()).or_default() += 1;
            }
        }
    }

    fn sum(&mut self, other: &ClassCounts) {
        self.air += other.air;
        self.clot += other.clot;
        self.artifact += other.artifact;
        self.fault += other.fault;
        self.passages += other.passages;
        for (kind, n) in &other.faults {
            *self.faults.entry(kind.clone()).or_default() += n;
        }
    }
}

/// One line of the summary: a recording, or an input that named none.
#[derive(Clone, Debug, Serialize)]
pub struct RecordingSummary {
    /// `NAME`, or the input as given when it named no recording.
    pub name: String,
    /// Base path `DIR/NAME` (or the input).
    pub path: PathBuf,
    /// ok, failed or skipped.
    pub status: Status,
    /// Why it failed (names the file).
    pub reason: Option<String>,
    /// Signal length, s (0 when failed).
    pub signal_s: f64,
    /// Events per class.
    pub events: ClassCounts,
    /// Segments it was cut into and run in parallel (0: one stream; see docs/batch.md).
    pub segments: usize,
    /// Its segments disagreed where they overlap and it was run again as one stream.
    pub rerun: bool,
    /// What to know about how it was read (a WAV header without a data length).
    pub notes: Vec<String>,
}

/// Totals over the recordings.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Totals {
    /// Lines in `recordings`.
    pub recordings: usize,
    /// Detected in this run.
    pub ok: usize,
    /// Failed.
    pub failed: usize,
    /// Skipped by `--resume`.
    pub skipped: usize,
    /// Signal detected in this run, s (skipped recordings not included).
    pub signal_s: f64,
    /// Events per class over ok and skipped recordings.
    pub events: ClassCounts,
}

/// What `detect --json` prints.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// `I/N` of `--shard`, `1/1` without it.
    pub shard: String,
    /// The output directory.
    pub out: PathBuf,
    /// Per recording, sorted by path; inputs that named no recording first.
    pub recordings: Vec<RecordingSummary>,
    /// Totals.
    pub totals: Totals,
    /// Wall-clock time of the run, s.
    pub wall_s: f64,
    /// Signal time detected per wall-clock time.
    pub x_real_time: f64,
}

/// Recordings from different directories with the same `NAME` would write the same
/// `OUT/NAME.events.csv` (and `--resume` would take one's output for the other's): the first by
/// path is kept, each later one is a failure naming both. Done before sharding so that every
/// shard agrees.
fn split_name_clashes(
    recordings: Vec<Recording>,
    out: &Path,
) -> (Vec<Recording>, Vec<(PathBuf, String)>) {
    let mut first: std::collections::HashMap<String, PathBuf> = Default::default();
    let mut kept = Vec::new();
    let mut clashes = Vec::new();
    for rec in recordings {
        match first.get(&rec.name) {
            Some(other) => clashes.push((
                rec.base.clone(),
                format!(
                    "{}: same name as {}: both would write {}; rename one or run them into different --out directories",
                    rec.base.display(),
                    other.display(),
                    events_path(out, &rec.name).display()
                ),
            )),
            None => {
                first.insert(rec.name.clone(), rec.base.clone());
                kept.push(rec);
            }
        }
    }
    (kept, clashes)
}

/// The inputs of a run: the positional ones, then the manifest's.
fn gather_inputs(args: &DetectArgs) -> Result<Vec<PathBuf>, String> {
    let mut inputs = args.inputs.clone();
    if let Some(m) = &args.manifest {
        inputs.extend(read_manifest(m).map_err(|e| e.to_string())?);
    }
    Ok(inputs)
}

/// The events already written for a recording skipped by `--resume`, and its length from the
/// WAV headers.
fn read_finished(rec: &Recording, out: &Path) -> Result<(Vec<EventRow>, f64), io::Error> {
    let events = io::read_events(&events_path(out, &rec.name))?;
    let mut duration_s: f64 = 0.0;
    for p in rec.ultrasound.iter().chain(&rec.optical) {
        duration_s = duration_s.max(io::WavStream::open(p)?.info().duration_s());
    }
    Ok((events, duration_s))
}

/// An event as the events CSV reads back.
fn row(e: &crate::event::Event) -> EventRow {
    EventRow {
        class: e.class,
        start_s: e.start_us as f64 * 1e-6,
        end_s: e.end_us as f64 * 1e-6,
        detected_s: e.detected_us as f64 * 1e-6,
        confidence: f64::from(e.confidence),
        sensor: e.sensor.as_str().to_owned(),
        volume_ul: f64::from(e.features.volume_ul),
        single_limit: e.air_limit.is_some_and(AirLimit::single),
        passage: e.passage,
        fault: e.fault.map(|k| k.as_str()).unwrap_or("").to_owned(),
        cleared: e.cleared,
    }
}

fn failed(rec: &Recording, reason: String) -> RecordingSummary {
    failed_input(rec.name.clone(), rec.base.clone(), reason)
}

/// A failure line for `name` at `path` (a recording, or an input that named none).
fn failed_input(name: String, path: PathBuf, reason: String) -> RecordingSummary {
    RecordingSummary {
        name,
        path,
        status: Status::Failed,
        reason: Some(reason),
        signal_s: 0.0,
        events: ClassCounts::default(),
        segments: 0,
        rerun: false,
        notes: Vec::new(),
    }
}

fn succeeded(
    rec: &Recording,
    status: Status,
    events: &[EventRow],
    signal_s: f64,
) -> RecordingSummary {
    let mut counts = ClassCounts::default();
    for e in events {
        counts.add(e);
    }
    RecordingSummary {
        name: rec.name.clone(),
        path: rec.base.clone(),
        status,
        reason: None,
        signal_s,
        events: counts,
        segments: 0,
        rerun: false,
        notes: Vec::new(),
    }
}

/// The closing table for people: one line per recording, then the totals.
fn print_table(summary: &Summary) {
    let width = summary
        .recordings
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    println!(
        "{:<width$}  {:>8}  {:>6}  {:>6}  {:>8}  {:>6}  status",
        "name", "hours", "air", "clot", "artifact", "fault"
    );
    for r in &summary.recordings {
        let e = &r.events;
        let hours = match r.status {
            Status::Failed => "-".to_owned(),
            _ => format!("{:.3}", r.signal_s / 3600.0),
        };
        println!(
            "{:<width$}  {hours:>8}  {:>6}  {:>6}  {:>8}  {:>6}  {}",
            r.name,
            e.air,
            e.clot,
            e.artifact,
            e.fault,
            r.status.as_str()
        );
    }
    let t = &summary.totals;
    println!(
        "{} recordings ({} detected, {} skipped, {} failed), {:.2} h of signal in {:.1} s ({:.0}× real time): {} air, {} clot, {} artifact, {} fault events, {} slugs' passages → {}",
        t.recordings,
        t.ok,
        t.skipped,
        t.failed,
        t.signal_s / 3600.0,
        summary.wall_s,
        summary.x_real_time,
        t.events.air,
        t.events.clot,
        t.events.artifact,
        t.events.fault,
        t.events.passages,
        summary.out.display()
    );
    for line in fault_lines(summary) {
        println!("{line}");
    }
}

/// What a user should check when a recording reports a fault of this kind.
fn fault_advice(kind: FaultKind) -> &'static str {
    match kind {
        FaultKind::LossOfCoupling => {
            "the ultrasound echo faded far below its level: check the probe's coupling gel and clamp"
        }
        FaultKind::Saturation => {
            "samples stuck at full scale: the receiver's gain or the light reaching the optical sensor is too high"
        }
        FaultKind::FlatLine => "a channel did not vary at all: a dead or disconnected sensor",
        FaultKind::NotANumber => "NaN or infinite samples reached the detector",
        FaultKind::ReversedFlow => {
            "the blood's Doppler signal turns the reverse way: the probe is clamped on against the flow, I and Q are swapped, or the line ran backwards; air is not watched for until it is put right"
        }
        FaultKind::Overload => {
            "the ultrasound receiver clipped on something other than emboli (diathermy, or the blood's own echo after a haematocrit change or with too much gain): emboli under 30 dB were not told from it meanwhile"
        }
        FaultKind::StreamEnded => {
            "one sensor's file ends more than a second before the other's: only the other sensor watched the rest"
        }
        FaultKind::NegativeLight => {
            "the optical readings stand below zero, where no light can be: the chain's zero is not darkness (an offset-binary or bipolar converter?); rescale the optical WAV so that darkness reads 0. The optical sensor was not watched meanwhile"
        }
    }
}

/// One line per fault kind found: how many, in which recordings (the first few), and what to
/// check. Empty when no recording reported a fault.
fn fault_lines(summary: &Summary) -> Vec<String> {
    const NAMED: usize = 4;
    let mut lines = Vec::new();
    for (kind, n) in &summary.totals.events.faults {
        let names: Vec<&str> = summary
            .recordings
            .iter()
            .filter(|r| r.events.faults.contains_key(kind))
            .map(|r| r.name.as_str())
            .collect();
        let mut which = names[..names.len().min(NAMED)].join(", ");
        if names.len() > NAMED {
            which += &format!(" and {} more", names.len() - NAMED);
        }
        let advice = FaultKind::parse(kind).map_or("", fault_advice);
        let kind = if kind.is_empty() { "unnamed" } else { kind };
        let recordings = if names.len() == 1 {
            "recording"
        } else {
            "recordings"
        };
        let mut line = format!(
            "fault {kind}: {n} in {} {recordings} ({which})",
            names.len()
        );
        if !advice.is_empty() {
            line += &format!(": {advice}");
        }
        lines.push(line);
    }
    lines
}

/// Runs `detect`.
pub fn run(args: DetectArgs) -> ExitCode {
    if let Err(e) = args.tuning.check() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    set_threads(args.threads);
    let started = Instant::now();
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("error: cannot create {}: {e}", args.out.display());
        return ExitCode::FAILURE;
    }
    let settings = crate::batch::settings_text(&args.tuning.options());
    if let Err(e) = crate::batch::check_settings(&args.out, &settings, args.resume) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let inputs = match gather_inputs(&args) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let shard = args.shard.unwrap_or(Shard::ALL);
    let (recordings, mut bad_inputs) = discover_inputs(&inputs);
    let (recordings, clashes) = split_name_clashes(recordings, &args.out);
    bad_inputs.extend(clashes);
    let recordings = shard.select(recordings);
    let (done, todo): (Vec<Recording>, Vec<Recording>) = recordings
        .into_iter()
        .partition(|r| args.resume && events_path(&args.out, &r.name).is_file());

    let bad_inputs: Vec<RecordingSummary> = bad_inputs
        .into_iter()
        .map(|(input, reason)| failed_input(input.display().to_string(), input, reason))
        .collect();
    let mut lines: Vec<RecordingSummary> = Vec::new();
    // Per recording, its events for the report.
    let mut found: Vec<(Recording, Vec<EventRow>, f64)> = Vec::new();
    for rec in done {
        match read_finished(&rec, &args.out) {
            Ok((events, signal_s)) => {
                lines.push(succeeded(&rec, Status::Skipped, &events, signal_s));
                found.push((rec, events, signal_s));
            }
            Err(e) => lines.push(failed(&rec, e.to_string())),
        }
    }
    let results = run_with_progress(&todo, &args.tuning.options(), args.quiet);
    for (rec, r) in todo.iter().zip(results) {
        let written = r.map_err(|e| e.to_string()).and_then(|o| {
            write_outcome(&args.out, &o)
                .map(|_| o)
                .map_err(|e| e.to_string())
        });
        match written {
            Ok(o) => {
                let events: Vec<EventRow> = o.events.iter().map(row).collect();
                let mut line = succeeded(rec, Status::Ok, &events, o.duration_s);
                (line.segments, line.rerun) = match o.cut {
                    Cut::Whole => (0, false),
                    Cut::Segments(n) => (n, false),
                    Cut::Rerun(n) => (n, true),
                };
                line.notes = o.notes.clone();
                lines.push(line);
                found.push((o.recording, events, o.duration_s));
            }
            Err(reason) => lines.push(failed(rec, reason)),
        }
    }
    lines.sort_by(|a, b| a.path.cmp(&b.path));
    let lines: Vec<RecordingSummary> = bad_inputs.into_iter().chain(lines).collect();

    let mut failures: Vec<String> = lines.iter().filter_map(|l| l.reason.clone()).collect();
    if let Some(dir) = &args.report {
        found.sort_by(|a, b| a.0.base.cmp(&b.0.base));
        let entries: Vec<crate::report::Entry> = found
            .into_iter()
            .map(|(recording, events, duration_s)| crate::report::Entry {
                recording,
                events,
                duration_s,
            })
            .collect();
        let failed: Vec<(String, String)> = lines
            .iter()
            .filter_map(|l| Some((l.name.clone(), l.reason.clone()?)))
            .collect();
        match crate::report::write_report(dir, &entries, &failed) {
            Ok(path) => {
                if !args.quiet && !args.json {
                    eprintln!("report: {}", path.display());
                }
            }
            Err(errors) => failures.extend(errors),
        }
    }

    let mut totals = Totals {
        recordings: lines.len(),
        ..Totals::default()
    };
    for l in &lines {
        match l.status {
            Status::Ok => {
                totals.ok += 1;
                totals.signal_s += l.signal_s;
            }
            Status::Failed => totals.failed += 1,
            Status::Skipped => totals.skipped += 1,
        }
        totals.events.sum(&l.events);
    }
    let wall_s = started.elapsed().as_secs_f64();
    let summary = Summary {
        shard: shard.to_string(),
        out: args.out.clone(),
        x_real_time: totals.signal_s / wall_s.max(1e-9),
        recordings: lines,
        totals,
        wall_s,
    };
    if args.json {
        match serde_json::to_string_pretty(&summary) {
            Ok(text) => println!("{text}"),
            Err(e) => failures.push(format!("JSON summary: {e}")),
        }
    } else if !args.quiet {
        print_table(&summary);
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
