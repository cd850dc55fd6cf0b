//! Training the event classifier on labelled (simulated) recordings: the detector's own
//! feature vectors, matched to the labels, fit by a CART decision tree, and exported as a
//! constant table that the `no_std` detector walks ([`crate::detect::tree`]).
//!
//! Why a single tree: it is evaluated in a few comparisons with no heap and fits the 16 KiB
//! parameter budget with room to spare (16 bytes a node); it can be read and reviewed, which a
//! regulatory file needs; and the features are few and physically meaningful, where ensembles
//! bring little.
//!
//! Why its own CART beside `linfa-trees`: a device's model must be reproducible from its data,
//! and linfa-trees' fit is not reproducible across processes (its class tallies live in a
//! `HashMap` whose order changes per process, and near-tie splits flip). The fit here is
//! the textbook algorithm in a fixed order; linfa-trees is fit on the same rows with the same
//! settings every time, and its training accuracy is printed beside ours as the reference.

use std::fmt::Write as _;

use linfa::prelude::*;
use linfa_trees::{DecisionTree, SplitQuality};
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
    /// Training accuracy of linfa-trees' CART with the same settings: the reference the
    /// deterministic fit is checked against.
    pub linfa_training_accuracy: f64,
}

/// Fits a tree to `rows` and exports it.
pub fn fit(rows: &[Row], options: &TrainOptions) -> Result<Trained, String> {
    if rows.is_empty() {
        return Err("no training events: is the data set labelled?".into());
    }
    let prepared: Vec<FeatureVector> = rows.iter().map(|r| tree::prepare(&r.input)).collect();
    let targets: Vec<usize> = rows.iter().map(|r| r.target).collect();
    let mut nodes = Vec::new();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    grow(&prepared, &targets, &mut order, 0, options, &mut nodes);
    if nodes.len() > u16::MAX as usize {
        return Err(format!("tree too large to export: {} nodes", nodes.len()));
    }

    // The same settings in linfa-trees, as an outside reference for the fit's quality.
    let mut flat = Vec::with_capacity(rows.len() * N_FEATURES);
    for v in &prepared {
        flat.extend(v.iter().map(|&x| x as f64));
    }
    let x = Array2::from_shape_vec((rows.len(), N_FEATURES), flat).map_err(|e| e.to_string())?;
    let y = Array1::from_iter(targets.iter().copied());
    let dataset = Dataset::new(x, y).with_feature_names(FEATURE_NAMES.to_vec());
    let model = DecisionTree::params()
        .split_quality(SplitQuality::Gini)
        .max_depth(Some(options.max_depth))
        .min_weight_leaf(options.min_leaf)
        .fit(&dataset)
        .map_err(|e| e.to_string())?;

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
    let (mut right, mut linfa_right) = (0usize, 0usize);
    let mut counts = [0usize; 3];
    for (i, r) in rows.iter().enumerate() {
        counts[r.target] += 1;
        let ours = nodes[leaf_of(&nodes, &r.input)].class as usize;
        right += (ours == r.target) as usize;
        linfa_right += (predicted[i] == r.target) as usize;
    }
    Ok(Trained {
        nodes,
        counts,
        training_accuracy: right as f64 / rows.len() as f64,
        linfa_training_accuracy: linfa_right as f64 / rows.len() as f64,
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

/// Gini impurity of class counts, times the count (so that children add up).
fn weighted_gini(c: &[usize; 3]) -> f64 {
    let n = (c[0] + c[1] + c[2]) as f64;
    if n == 0.0 {
        return 0.0;
    }
    let sum_sq: f64 = c.iter().map(|&k| (k as f64) * (k as f64)).sum();
    n - sum_sq / n
}

/// Grows the subtree over the rows `idx` (pre-order into `out`); returns its root's index.
///
/// Classic CART: at each node the split (feature, threshold at a midpoint between distinct
/// values) that most lowers the Gini impurity, with at least `min_leaf` rows each side, up
/// to `max_depth`. Every choice is made in a fixed order (features in order, thresholds
/// ascending, first best kept; class counts in a fixed array), so the same rows always give
/// the same tree — which linfa-trees does not guarantee (its class tallies live in a
/// HashMap, whose order changes from process to process, and near-tie splits flip: 129 vs
/// 131 nodes measured on the same data).
// `f` indexes the feature columns of every row, not one slice: a range loop says it best.
#[allow(clippy::needless_range_loop)]
fn grow(
    x: &[FeatureVector],
    y: &[usize],
    idx: &mut [usize],
    depth: usize,
    options: &TrainOptions,
    out: &mut Vec<Node>,
) -> usize {
    let mut counts = [0usize; 3];
    for &i in idx.iter() {
        counts[y[i]] += 1;
    }
    let at = out.len();
    let majority = (0..3).fold(0, |b, k| if counts[k] > counts[b] { k } else { b });
    out.push(Node {
        feature: LEAF,
        threshold: 0.0,
        left: 0,
        right: 0,
        class: majority as u8,
        confidence: 0.0,
    });
    let n = idx.len();
    let min_leaf = options.min_leaf.max(1.0) as usize;
    let parent = weighted_gini(&counts);
    if depth >= options.max_depth || n < 2 * min_leaf || parent <= 0.0 {
        return at;
    }
    let mut best: Option<(f64, usize, f32)> = None;
    for f in 0..N_FEATURES {
        idx.sort_by(|&a, &b| x[a][f].total_cmp(&x[b][f]).then(a.cmp(&b)));
        let mut left = [0usize; 3];
        for split in 1..n {
            left[y[idx[split - 1]]] += 1;
            let (lo, hi) = (x[idx[split - 1]][f], x[idx[split]][f]);
            if lo == hi || split < min_leaf || n - split < min_leaf {
                continue;
            }
            let right = [
                counts[0] - left[0],
                counts[1] - left[1],
                counts[2] - left[2],
            ];
            let impurity = weighted_gini(&left) + weighted_gini(&right);
            if best.is_none_or(|(b, _, _)| impurity < b) {
                let mid = ((f64::from(lo) + f64::from(hi)) * 0.5) as f32;
                // The threshold must send `lo` left and `hi` right: `x <= threshold`.
                let threshold = if mid >= hi { lo } else { mid };
                best = Some((impurity, f, threshold));
            }
        }
    }
    let Some((impurity, feature, threshold)) = best else {
        return at;
    };
    if impurity >= parent - 1e-9 {
        return at;
    }
    idx.sort_by(|&a, &b| {
        (x[a][feature] > threshold)
            .cmp(&(x[b][feature] > threshold))
            .then(a.cmp(&b))
    });
    let n_left = idx.iter().filter(|&&i| x[i][feature] <= threshold).count();
    let (l_idx, r_idx) = idx.split_at_mut(n_left);
    let l = grow(x, y, l_idx, depth + 1, options, out);
    let r = grow(x, y, r_idx, depth + 1, options, out);
    out[at] = Node {
        feature: feature as u8,
        threshold,
        left: l as u16,
        right: r as u16,
        class: majority as u8,
        confidence: 0.0,
    };
    at
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
