//! Training the event classifier on labelled (simulated) recordings: the detector's own
//! feature vectors, matched to the labels, fit by a CART decision tree (`linfa-trees`), and
//! exported as a constant table that the `no_std` detector walks ([`crate::detect::tree`]).
//!
//! Why a single tree: it is evaluated in a few comparisons with no heap and fits the 16 KiB
//! parameter budget with room to spare (16 bytes a node); it can be read and reviewed, which a
//! regulatory file needs; and the features are few and physically meaningful, where ensembles
//! bring little. `linfa-trees` exposes the fitted nodes (split feature, value, children), which
//! is what an export needs.

use std::fmt::Write as _;

use linfa::prelude::*;
use linfa_trees::{DecisionTree, SplitQuality, TreeNode};
use ndarray::{Array1, Array2};

use crate::detect::classify::{FeatureVector, FEATURE_NAMES, N_FEATURES};
use crate::detect::tree::{self, Node, LEAF};
use crate::eval::TOLERANCE_S;
use crate::event::{Class, Event};
use crate::io::Label;

/// Index of a class in the exported tree ([`tree::CLASSES`]).
fn class_index(c: Class) -> usize {
    match c {
        Class::Air => 0,
        Class::Clot => 1,
        _ => 2,
    }
}

/// One training example: what the classifier saw, and what it was.
#[derive(Clone, Copy, Debug)]
pub struct Row {
    /// The event's classifier input.
    pub input: FeatureVector,
    /// 0 air, 1 clot, 2 artifact (anything that is no embolus).
    pub target: usize,
}

/// Matches each classified event of one recording to its labels: an event overlapping an
/// embolus (within the spec's 50 ms) is that embolus's class, anything else an artifact.
/// Faults and events decided without the classifier (simultaneous at both sensors) are left out.
pub fn rows(events: &[Event], labels: &[Label]) -> Vec<Row> {
    events
        .iter()
        .filter(|e| e.class != Class::Fault && !e.classifier_input[0].is_nan())
        .filter(|e| e.sensor != crate::event::Sensor::Both)
        .map(|e| {
            let (s, t) = (e.start_us as f64 * 1e-6, e.end_us as f64 * 1e-6);
            let target = labels
                .iter()
                .filter(|l| l.class.is_alarm())
                .find(|l| s <= l.end_s + TOLERANCE_S && t >= l.start_s - TOLERANCE_S)
                .map_or(2, |l| class_index(l.class));
            Row {
                input: e.classifier_input,
                target,
            }
        })
        .collect()
}

/// Training settings.
#[derive(Clone, Copy, Debug)]
pub struct TrainOptions {
    /// Deepest split.
    pub max_depth: usize,
    /// Fewest training events in a leaf.
    pub min_leaf: f32,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            max_depth: 8,
            min_leaf: 4.0,
        }
    }
}

/// A trained and exported tree with its training figures.
#[derive(Clone, Debug)]
pub struct Trained {
    /// The exported table.
    pub nodes: Vec<Node>,
    /// Examples per class (air, clot, artifact).
    pub counts: [usize; 3],
    /// Fraction of training rows the exported table classifies right.
    pub training_accuracy: f64,
    /// Fraction of training rows on which the exported table agrees with linfa's own predict.
    pub agreement_with_linfa: f64,
}

/// Fits a tree to `rows` and exports it.
pub fn fit(rows: &[Row], options: &TrainOptions) -> Result<Trained, String> {
    if rows.is_empty() {
        return Err("no training events: is the data set labelled?".into());
    }
    let mut flat = Vec::with_capacity(rows.len() * N_FEATURES);
    for r in rows {
        flat.extend(tree::prepare(&r.input).iter().map(|&x| x as f64));
    }
    let x = Array2::from_shape_vec((rows.len(), N_FEATURES), flat).map_err(|e| e.to_string())?;
    let y = Array1::from_iter(rows.iter().map(|r| r.target));
    let dataset = Dataset::new(x, y).with_feature_names(FEATURE_NAMES.to_vec());
    let model = DecisionTree::params()
        .split_quality(SplitQuality::Gini)
        .max_depth(Some(options.max_depth))
        .min_weight_leaf(options.min_leaf)
        .fit(&dataset)
        .map_err(|e| e.to_string())?;

    let mut nodes = Vec::new();
    export(model.root_node(), &mut nodes)?;
    if nodes.len() > u16::MAX as usize {
        return Err(format!("tree too large to export: {} nodes", nodes.len()));
    }

    // Leaf confidence: the share of the leaf's training events in its class, with a
    // Laplace prior so that a small pure leaf does not claim certainty.
    let mut leaf_counts = vec![[0usize; 3]; nodes.len()];
    for r in rows {
        let leaf = leaf_of(&nodes, &r.input);
        leaf_counts[leaf][r.target] += 1;
    }
    for (i, n) in nodes.iter_mut().enumerate() {
        if n.feature == LEAF {
            let c = leaf_counts[i];
            let total: usize = c.iter().sum();
            n.confidence = (c[n.class as usize] as f32 + 1.0) / (total as f32 + 3.0);
        }
    }

    let predicted = model.predict(dataset.records());
    let (mut right, mut agree) = (0usize, 0usize);
    let mut counts = [0usize; 3];
    for (i, r) in rows.iter().enumerate() {
        counts[r.target] += 1;
        let ours = nodes[leaf_of(&nodes, &r.input)].class as usize;
        right += (ours == r.target) as usize;
        agree += (ours == predicted[i]) as usize;
    }
    Ok(Trained {
        nodes,
        counts,
        training_accuracy: right as f64 / rows.len() as f64,
        agreement_with_linfa: agree as f64 / rows.len() as f64,
    })
}

fn leaf_of(nodes: &[Node], v: &FeatureVector) -> usize {
    let v = tree::prepare(v);
    let mut i = 0;
    while nodes[i].feature != LEAF {
        let n = &nodes[i];
        i = if v[n.feature as usize] <= n.threshold {
            n.left as usize
        } else {
            n.right as usize
        };
    }
    i
}

/// Appends `node` and its subtree in pre-order; returns its index.
fn export(node: &TreeNode<f64, usize>, out: &mut Vec<Node>) -> Result<usize, String> {
    let index = out.len();
    if let Some(class) = node.prediction().filter(|_| node.is_leaf()) {
        out.push(Node {
            feature: LEAF,
            threshold: 0.0,
            left: 0,
            right: 0,
            class: class as u8,
            confidence: 0.0,
        });
        return Ok(index);
    }
    let (feature, value, _) = node.split();
    out.push(Node {
        feature: feature as u8,
        threshold: value as f32,
        left: 0,
        right: 0,
        class: 0,
        confidence: 0.0,
    });
    let children = node.children();
    let (Some(Some(left)), Some(Some(right))) = (children.first(), children.get(1)) else {
        return Err("internal tree node without two children".into());
    };
    let l = export(left, out)?;
    let r = export(right, out)?;
    out[index].left = l as u16;
    out[index].right = r as u16;
    Ok(index)
}

/// The generated `src/detect/model.rs`.
pub fn render(trained: &Trained, provenance: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "//! The classifier trained by `clotair train` (generated file: do not edit by hand).\n//!\n//! {provenance}\n//!\n//! Training events: {} air, {} clot, {} artifact; accuracy on them {:.4}; {} nodes\n//! ({} bytes). Features: see `classify::FEATURE_NAMES`; classes: 0 air, 1 clot, 2 artifact.\n",
        trained.counts[0],
        trained.counts[1],
        trained.counts[2],
        trained.training_accuracy,
        trained.nodes.len(),
        trained.nodes.len() * core::mem::size_of::<Node>()
    );
    let _ = writeln!(s, "use super::tree::Node;\n");
    let _ = writeln!(s, "/// The tree, root first.");
    let _ = writeln!(s, "#[rustfmt::skip]");
    let _ = writeln!(s, "pub const NODES: &[Node] = &[");
    for n in &trained.nodes {
        let _ = writeln!(
            s,
            "    Node {{ feature: {}, threshold: {:?}, left: {}, right: {}, class: {}, confidence: {:?} }},",
            n.feature, n.threshold, n.left, n.right, n.class, n.confidence
        );
    }
    let _ = writeln!(s, "];");
    s
}
