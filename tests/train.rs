//! Training is reproducible: the same labelled events give the same exported tree, node for
//! node, and the tree classifies its training events at least as well as linfa-trees' CART
//! with the same settings does (the outside reference).

use std::path::Path;

use clotair::detect::DetectorConfig;
use clotair::io;
use clotair::run::{detect_recording, RunOptions};
use clotair::train::{fit, rows, TrainOptions};

#[test]
fn the_same_events_give_the_same_tree() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data/regression"));
    let options = RunOptions {
        base: Some(DetectorConfig {
            rules_only: true,
            ..DetectorConfig::default()
        }),
        chunk_s: None,
        segments: None,
    };
    let mut all = Vec::new();
    for rec in io::discover(&[dir.to_path_buf()]).unwrap() {
        let o = detect_recording(&rec, &options).unwrap();
        let labels = io::read_labels(rec.labels.as_ref().unwrap(), Some(o.duration_s)).unwrap();
        all.extend(rows(&o.events, &labels));
    }
    assert!(all.len() > 50, "{} training events", all.len());
    let settings = TrainOptions::default();
    let a = fit(&all, &settings).unwrap();
    let b = fit(&all, &settings).unwrap();
    assert_eq!(a.nodes, b.nodes);
    assert!(
        a.training_accuracy >= a.linfa_training_accuracy - 0.01,
        "ours {} linfa {}",
        a.training_accuracy,
        a.linfa_training_accuracy
    );
}
