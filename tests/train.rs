//! Training is reproducible: the same labelled events give the same exported trees, node for
//! node; one tree of the fit classifies its training events at least as well as linfa-trees'
//! CART with the same settings does (the outside reference), and the bag nearly as well.

use std::path::Path;

use clotair::detect::model::TREES;
use clotair::detect::tree::{Node, PARAMETER_BUDGET_BYTES};
use clotair::detect::DetectorConfig;
use clotair::io;
use clotair::run::{detect_recording, RunOptions};
use clotair::sim::{simulate_dataset, Preset};
use clotair::train::{fit, rows, Row, TrainOptions};

#[test]
fn the_same_events_give_the_same_tree() {
    // The regression set and 16 more minutes of the training preset (another seed): a bag of
    // bootstrap trees on the regression set's 57 events alone moved by 10 % between two
    // detector versions, too few events to hold a bag to anything.
    let sim = tempfile::tempdir().unwrap();
    simulate_dataset(sim.path(), &Preset::Dense.options(120.0), 77, 8, &|| ()).unwrap();
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data/regression"));
    let options = RunOptions {
        base: Some(DetectorConfig {
            rules_only: true,
            ..DetectorConfig::default()
        }),
        ..RunOptions::default()
    };
    let mut all = Vec::new();
    for rec in io::discover(&[dir.to_path_buf(), sim.path().to_path_buf()]).unwrap() {
        let o = detect_recording(&rec, &options).unwrap();
        let labels = io::read_labels(rec.labels.as_ref().unwrap(), Some(o.duration_s)).unwrap();
        all.extend(rows(&o.events, &labels));
    }
    assert!(all.len() > 300, "{} training events", all.len());
    let settings = TrainOptions::default();
    let a = fit(&all, &settings).unwrap();
    let b = fit(&all, &settings).unwrap();
    assert_eq!(a.trees, b.trees);
    assert_eq!(a.sizing.sizing, b.sizing.sizing);
    // Another seed draws another bag: the next seed shares none of its trees (a generator per
    // tree seeded `seed + t` once made seeds one apart share all trees but one, so refits
    // "over several seeds" were nearly the same fit).
    let next = fit(
        &all,
        &TrainOptions {
            seed: settings.seed + 1,
            ..settings
        },
    )
    .unwrap();
    for t in &next.trees {
        assert!(
            !a.trees.contains(t),
            "seed {} shares a tree",
            settings.seed + 1
        );
    }
    // A bag over the flash budget for parameters is refused, not exported.
    let huge = fit(
        &all,
        &TrainOptions {
            trees: 64,
            max_depth: 30,
            min_leaf: 1.0,
            ..settings
        },
    );
    assert!(
        huge.as_ref()
            .is_err_and(|e| e.contains("over the 16384 bytes of the parameter budget")),
        "{:?}",
        huge.map(|t| t.nodes())
    );
    // Air sizing: the size grows with the intensity, never faster than the physics allows.
    // Gas above resonance scatters in proportion to its cross-section (20 dB per decade of
    // size); a bubble in the light beam removes blood in proportion to its volume while it is
    // small against the beam (a third of a decade of size per decade of rise) and to its
    // length once wider (a decade per decade). A least-squares line of size on a noisy
    // intensity is shallower than the physics, not steeper.
    let z = a.sizing;
    eprintln!("air sizing {z:?}");
    let [_, per_db] = z.sizing.ultrasound;
    let [_, per_decade] = z.sizing.optical;
    assert!(per_db > 0.01 && per_db <= 0.05, "{per_db} decades per dB");
    assert!(
        per_decade > 0.1 && per_decade <= 1.0,
        "{per_decade} decades per decade"
    );
    assert!(z.rows[0] >= 30 && z.rows[1] >= 10, "{:?}", z.rows);
    eprintln!(
        "{} events: bag {:.4}, one tree {:.4}, linfa-trees {:.4}",
        all.len(),
        a.training_accuracy,
        a.single_training_accuracy,
        a.linfa_training_accuracy
    );
    // Our tree splits by sensor at its root, linfa's splits freely: the fits may differ by an
    // event or so (on the 5,208 of `data/train` ours fits better, 94.5 against 93.2 %).
    // Allowed: 1 %, or one and a half events.
    let slack = (0.01f64).max(1.5 / all.len() as f64);
    assert!(
        a.single_training_accuracy >= a.linfa_training_accuracy - slack,
        "ours {} linfa {}",
        a.single_training_accuracy,
        a.linfa_training_accuracy
    );
    // Bagging trades a little fit to the training events for less variance, not more.
    assert!(
        a.training_accuracy >= a.single_training_accuracy - 0.05,
        "bag {} one tree {}",
        a.training_accuracy,
        a.single_training_accuracy
    );
}

/// A split stores its left subtree's size in a byte: a tree whose left side is larger (grown
/// deeper than the trainer's depth 7) is refused with the options to change, not exported
/// wrong.
#[test]
fn a_tree_too_deep_to_store_is_refused() {
    use clotair::detect::classify::N_FEATURES;
    // 1,000 optical events whose class is a pseudo-random bit of their one feature: leaves of
    // one event take hundreds of splits.
    let mut state = 12345u32;
    let events: Vec<Row> = (0..1000)
        .map(|i| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let mut input = [f32::NAN; N_FEATURES];
            input[0] = 0.0; // no ultrasound
            input[1] = i as f32;
            Row {
                input,
                target: if state >> 31 == 0 { 0 } else { 2 },
                bubble_um: f32::NAN,
            }
        })
        .collect();
    let grown = |max_depth| {
        fit(
            &events,
            &TrainOptions {
                trees: 1,
                max_depth,
                min_leaf: 1.0,
                ..TrainOptions::default()
            },
        )
    };
    let deep = grown(30);
    assert!(
        deep.as_ref()
            .is_err_and(|e| e.contains("skips at most 255")),
        "{:?}",
        deep.map(|t| t.nodes())
    );
    // At the trainer's depth the same events grow a tree it stores: the fit goes on to size
    // air, which these events, without a bubble, cannot.
    let stored = grown(7);
    assert!(
        stored
            .as_ref()
            .is_err_and(|e| e.contains("too few labelled bubbles")),
        "{:?}",
        stored.map(|t| t.nodes())
    );
}

#[test]
fn the_committed_trees_fit_the_parameter_budget() {
    let nodes: usize = TREES.iter().map(|t| t.len()).sum();
    let bytes = nodes * std::mem::size_of::<Node>();
    assert_eq!(std::mem::size_of::<Node>(), 6);
    assert!(
        bytes <= PARAMETER_BUDGET_BYTES,
        "{nodes} nodes, {bytes} bytes"
    );
}
