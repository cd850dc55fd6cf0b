//! `clotair train DATASET_DIR`: fit the event classifier on a labelled set and write it as
//! the constant table the detector is built with.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::detect::tree::Node;
use crate::io;
use crate::run::RunOptions;
use crate::train::{fit, render, rows, Row, TrainOptions, Trained};

use super::detect::{discover_all, report_failures, run_with_progress, set_threads, Tuning};

/// Arguments of `train`.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// A directory of labelled recordings (e.g. `data/train`, see data/README.md).
    pub dataset: PathBuf,
    /// The generated Rust file.
    #[arg(long, default_value = "src/detect/model.rs")]
    pub out: PathBuf,
    /// Deepest split of each tree (below the root's split by sensor).
    #[arg(long, default_value_t = TrainOptions::default().max_depth)]
    pub max_depth: usize,
    /// Fewest training events in a leaf.
    #[arg(long, default_value_t = TrainOptions::default().min_leaf)]
    pub min_leaf: f32,
    /// Trees in the bag, each fit on a bootstrap draw of the training events.
    #[arg(long, default_value_t = TrainOptions::default().trees as u64, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub trees: u64,
    /// Seed of the bootstrap draws: the same seed and data give the same model, another seed
    /// another draw of the same bag (to measure how much a refit alone moves the figures).
    #[arg(long, default_value_t = TrainOptions::default().seed)]
    pub seed: u64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Detector thresholds (the rules classify during training whatever `--rules` says).
    #[command(flatten)]
    pub tuning: Tuning,
}

/// Runs `train`.
pub fn run(args: TrainArgs) -> ExitCode {
    set_threads(args.threads);
    let (recordings, failures) = discover_all(std::slice::from_ref(&args.dataset));
    let settings = TrainOptions {
        max_depth: args.max_depth,
        min_leaf: args.min_leaf,
        trees: args.trees as usize,
        seed: args.seed,
    };
    // Two passes. The first classifies with the physical rules, so that what the trees learn
    // does not depend on the model built in. Under the rules an embolus's optical sighting
    // alarms by itself, and its downstream ultrasound sighting is never decided; the second
    // pass runs with the first pass's trees, which leave weak optical sightings to a joint
    // decision with the ultrasound one, and the exported trees are fit on its rows.
    let pass = |trees: Option<&Trained>| -> Result<(Vec<Row>, Trained), ExitCode> {
        let mut options = args.tuning.options();
        if let Some(c) = options.base.as_mut() {
            c.rules_only = trees.is_none();
            c.trees = trees.map(|t| leak(&t.trees));
        }
        let rows = match collect(&recordings, &options) {
            Ok(rows) if failures.is_empty() => rows,
            Ok(_) => return Err(report_failures(&failures)),
            Err(f) => return Err(report_failures(&[failures.as_slice(), &f].concat())),
        };
        match fit(&rows, &settings) {
            Ok(t) => Ok((rows, t)),
            Err(e) => {
                eprintln!("error: {}: {e}", args.dataset.display());
                Err(ExitCode::FAILURE)
            }
        }
    };
    let (all, trained) = match pass(None).and_then(|(_, first)| pass(Some(&first))) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let provenance = format!(
        "Trained on `{}` ({} recordings, two passes): {} trees on bootstrap draws (seed {}), max depth {}, min leaf {}.",
        args.dataset.display(),
        recordings.len(),
        args.trees,
        args.seed,
        args.max_depth,
        args.min_leaf
    );
    let source = render(&trained, &provenance);
    if let Err(e) = io::write_atomic(&args.out, |w| w.write_all(source.as_bytes())) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    println!(
        "{} training events ({} air, {} clot, {} artifact): {} trees, {} nodes, training accuracy {:.2} % (one tree on all events: ours {:.2} %, linfa-trees {:.2} %) → {}",
        all.len(),
        trained.counts[0],
        trained.counts[1],
        trained.counts[2],
        trained.trees.len(),
        trained.nodes(),
        100.0 * trained.training_accuracy,
        100.0 * trained.single_training_accuracy,
        100.0 * trained.linfa_training_accuracy,
        args.out.display()
    );
    ExitCode::SUCCESS
}

/// The training rows of every labelled recording under `options`, or the failures.
fn collect(recordings: &[io::Recording], options: &RunOptions) -> Result<Vec<Row>, Vec<String>> {
    let mut all = Vec::new();
    let mut failures = Vec::new();
    for result in run_with_progress(recordings, options, false) {
        match result {
            Ok(o) => {
                let Some(path) = &o.recording.labels else {
                    continue;
                };
                match io::read_labels(path, Some(o.duration_s)) {
                    Ok(labels) => all.extend(rows(&o.events, &labels)),
                    Err(e) => failures.push(e.to_string()),
                }
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    if failures.is_empty() {
        Ok(all)
    } else {
        Err(failures)
    }
}

/// The first pass's trees for the detector of the second, which keeps a `'static` model:
/// leaked once per `train` run (a few KiB).
fn leak(trees: &[Vec<Node>]) -> &'static [&'static [Node]] {
    let tables: Vec<&'static [Node]> = trees
        .iter()
        .map(|t| &*Box::leak(t.clone().into_boxed_slice()))
        .collect();
    Box::leak(tables.into_boxed_slice())
}
