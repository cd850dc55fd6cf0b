//! Training the event classifier on labelled (simulated) recordings: the detector's own
//! feature vectors, matched to the labels, fit by CART decision trees on bootstrap draws
//! (bagging), and exported as constant tables that the `no_std` detector walks
//! ([`crate::detect::tree`]).
//!
//! Why a few bagged trees: a tree is evaluated in a few comparisons with no heap and can be
//! read and reviewed, which a regulatory file needs; but one tree is a high-variance model
//! (refits on other draws of the simulator moved the detector's false alarms by up to 2×).
//! Ten trees of depth 7 with at least 10 events a leaf, fit on bootstrap draws and voting by
//! their leaves' shares, keep the trees' readability and cut that variance (five of depth 8
//! with leaves of 4 moved the 24-h tuning suite's false alarms between 11 and 29 over
//! training seeds; ten of these, 17–21); 6 bytes a node, they take about 9.5 KiB of the
//! 16 KiB parameter budget ([`tree::PARAMETER_BUDGET_BYTES`], enforced by [`fit`]). The root
//! of every tree splits by sensor (see `split_by_sensor`).
//!
//! Why its own CART beside `linfa-trees`: a device's model must be reproducible from its data,
//! and linfa-trees' fit is not reproducible across processes (its class tallies live in a
//! `HashMap` whose order changes per process, and near-tie splits flip). The fit here is
//! the textbook algorithm in a fixed order, with seeded bootstrap draws; linfa-trees is fit on
//! the same rows with the same settings every time, and its training accuracy is printed
//! beside that of one of our trees grown on all rows, as the reference.

use std::fmt::Write as _;

use linfa::prelude::*;
use linfa_trees::{DecisionTree, SplitQuality};
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::detect::air::{self, AirSizing};
use crate::detect::classify::{self, FeatureVector, FEATURE_NAMES, N_FEATURES};
use crate::detect::tree::{self, Node};
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
    /// The labelled diameter when the detector called the event air and it is a bubble
    /// smaller than the lumen (simulator kinds `micro` and `bubble`), else NaN: what
    /// [`fit_air_sizing`] learns from.
    pub bubble_um: f32,
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
            let label = labels
                .iter()
                .filter(|l| l.class.is_alarm())
                .find(|l| s <= l.end_s + TOLERANCE_S && t >= l.start_s - TOLERANCE_S);
            let bubble = label.filter(|l| {
                e.class == Class::Air
                    && l.class == Class::Air
                    && matches!(l.kind.as_deref(), Some("micro" | "bubble"))
            });
            Row {
                input: e.classifier_input,
                target: label.map_or(2, |l| class_index(l.class)),
                bubble_um: bubble
                    .and_then(|l| l.size_um)
                    .map_or(f32::NAN, |d| d as f32),
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
    /// Trees in the bag.
    pub trees: usize,
    /// Seed of the bootstrap draws.
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            max_depth: 7,
            min_leaf: 10.0,
            trees: 10,
            seed: 2026,
        }
    }
}

/// The trained and exported trees with their training figures.
#[derive(Clone, Debug)]
pub struct Trained {
    /// The exported tables, one per tree.
    pub trees: Vec<Vec<Node>>,
    /// Examples per class (air, clot, artifact).
    pub counts: [usize; 3],
    /// Fraction of training rows the bag of trees classifies right, by the detector's rule
    /// ([`classify::decide`]).
    pub training_accuracy: f64,
    /// The same for one tree of this fit grown on all rows (not exported): the CART fit
    /// alone, to hold against linfa-trees'.
    pub single_training_accuracy: f64,
    /// Training accuracy of linfa-trees' CART with the same depth and leaf size, one tree on
    /// all rows: the outside reference for the fit.
    pub linfa_training_accuracy: f64,
    /// How air is sized from the labelled bubbles ([`fit_air_sizing`]).
    pub sizing: SizingFit,
}

/// The air sizing with the figures of its fit.
#[derive(Clone, Copy, Debug)]
pub struct SizingFit {
    /// The exported lines.
    pub sizing: AirSizing,
    /// Bubbles each line was fit on (ultrasound, optical).
    pub rows: [usize; 2],
    /// Standard deviation of log10 of the diameter around each line.
    pub residual_sd: [f64; 2],
}

/// Least-squares line through `(x, y)`: `[intercept, slope]` and the residuals' standard
/// deviation; `None` with fewer than 10 points or no spread in `x`.
fn line_fit(points: &[(f64, f64)]) -> Option<([f64; 2], f64)> {
    let n = points.len() as f64;
    if points.len() < 10 {
        return None;
    }
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), &(x, y)| (a + x / n, b + y / n));
    let (sxx, sxy) = points.iter().fold((0.0, 0.0), |(a, b), &(x, y)| {
        (a + (x - mx) * (x - mx), b + (x - mx) * (y - my))
    });
    if sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let var = points
        .iter()
        .map(|&(x, y)| (y - intercept - slope * x).powi(2))
        .sum::<f64>()
        / n;
    Some(([intercept, slope], var.sqrt()))
}

/// Fits how air smaller than the lumen is sized ([`AirSizing`]): log10 of the labelled
/// diameter against the peak EBR of single-sensor ultrasound sightings, and against log10 of
/// the rise of single-sensor optical ones, over the rows of labelled bubbles
/// ([`Row::bubble_um`]). Sightings the detector takes as filling the lumen are left out: they
/// are not sized by these lines.
///
/// The least-squares line predicts the size from the intensity, so its slope is shallower than
/// the physics' (20 dB per decade of size for gas above resonance) where the intensity
/// scatters with the bubble's path through the beam: it is the best guess of the size given
/// the intensity, over the training set's sizes.
pub fn fit_air_sizing(rows: &[Row]) -> Result<SizingFit, String> {
    let (mut us, mut opt) = (Vec::new(), Vec::new());
    for r in rows.iter().filter(|r| r.bubble_um > 0.0) {
        let v = &r.input;
        if air::fills_lumen(v) {
            continue;
        }
        let y = f64::from(r.bubble_um).log10();
        let (has_us, has_opt) = (v[0] > 0.5, v[11] > 0.5);
        if has_us && !has_opt && v[1].is_finite() {
            us.push((f64::from(v[1]), y));
        } else if has_opt && !has_us && v[12] > 0.0 {
            opt.push((f64::from(v[12]).log10(), y));
        }
    }
    let missing = |what: &str| {
        format!("too few labelled bubbles (kind micro or bubble, with size_um) seen by the {what} sensor alone to size air by")
    };
    let (u, u_sd) = line_fit(&us).ok_or_else(|| missing("ultrasound"))?;
    let (o, o_sd) = line_fit(&opt).ok_or_else(|| missing("optical"))?;
    Ok(SizingFit {
        sizing: AirSizing {
            ultrasound: [u[0] as f32, u[1] as f32],
            optical: [o[0] as f32, o[1] as f32],
        },
        rows: [us.len(), opt.len()],
        residual_sd: [u_sd, o_sd],
    })
}

impl Trained {
    /// Nodes over all trees.
    pub fn nodes(&self) -> usize {
        self.trees.iter().map(Vec::len).sum()
    }
}

/// Fits a bag of trees to `rows`, each on a bootstrap draw of them, and exports it.
///
/// One tree is a high-variance model: refits on another draw of the same simulator moved the
/// false-alarm rate of the detector by up to 2×. The mean vote of trees fit on bootstrap
/// draws of the rows (bagging, Breiman 1996) keeps the trees' bias and averages away much of
/// that variance; the draws come from a seeded ChaCha8 generator, so the bag is the same
/// every run.
pub fn fit(rows: &[Row], options: &TrainOptions) -> Result<Trained, String> {
    if rows.is_empty() {
        return Err("no training events: is the data set labelled?".into());
    }
    if options.trees == 0 {
        return Err("the bag needs at least one tree".into());
    }
    let prepared: Vec<FeatureVector> = rows.iter().map(|r| tree::prepare(&r.input)).collect();
    let targets: Vec<usize> = rows.iter().map(|r| r.target).collect();
    let mut trees = Vec::with_capacity(options.trees);
    // One stream for all the bag's draws: seeds one apart give unrelated bags (a generator per
    // tree seeded `seed + t` made `--seed 1` and `--seed 2` share all but one tree).
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    for _ in 0..options.trees {
        let mut draw: Vec<usize> = (0..rows.len())
            .map(|_| rng.random_range(0..rows.len()))
            .collect();
        trees.push(grow_tree(&prepared, &targets, &mut draw, options)?);
    }
    let bytes = trees.iter().map(Vec::len).sum::<usize>() * core::mem::size_of::<Node>();
    if bytes > tree::PARAMETER_BUDGET_BYTES {
        return Err(format!(
            "{} trees take {bytes} bytes, over the {} bytes of the parameter budget: fewer \
             trees (--trees), shallower ones (--max-depth) or larger leaves (--min-leaf)",
            options.trees,
            tree::PARAMETER_BUDGET_BYTES
        ));
    }
    // One tree on all rows: what the CART fit reaches alone, beside linfa-trees' below.
    let single = grow_tree(
        &prepared,
        &targets,
        &mut (0..rows.len()).collect::<Vec<_>>(),
        options,
    )?;

    // One tree with the same settings in linfa-trees, as an outside reference for the fit.
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
    let predicted = model.predict(dataset.records());

    let tables: Vec<&[Node]> = trees.iter().map(Vec::as_slice).collect();
    let (mut right, mut single_right, mut linfa_right) = (0usize, 0usize, 0usize);
    let mut counts = [0usize; 3];
    for (i, r) in rows.iter().enumerate() {
        counts[r.target] += 1;
        let shares = tree::forest_shares(&tables, &r.input).expect("trees just grown");
        let ours = classify::decide(shares);
        right += (class_index(ours.class) == r.target) as usize;
        let one = tree::predict(&single, &r.input).expect("a tree just grown");
        single_right += (class_index(one.class) == r.target) as usize;
        linfa_right += (predicted[i] == r.target) as usize;
    }
    let n = rows.len() as f64;
    Ok(Trained {
        trees,
        counts,
        training_accuracy: right as f64 / n,
        single_training_accuracy: single_right as f64 / n,
        linfa_training_accuracy: linfa_right as f64 / n,
        sizing: fit_air_sizing(rows)?,
    })
}

/// Grows one tree on the rows `draw` (indices into `x`, repeats allowed) and sets its leaves'
/// confidence: the share of the leaf's training events in its class, with a Laplace prior so
/// that a small pure leaf does not claim certainty.
fn grow_tree(
    x: &[FeatureVector],
    y: &[usize],
    draw: &mut [usize],
    options: &TrainOptions,
) -> Result<Vec<Node>, String> {
    let mut nodes = Vec::new();
    split_by_sensor(x, y, draw, options, &mut nodes)?;
    let mut leaf_counts = vec![[0usize; 3]; nodes.len()];
    for &i in draw.iter() {
        let leaf = tree::leaf(&nodes, &x[i]).expect("a tree just grown");
        leaf_counts[leaf][y[i]] += 1;
    }
    for (i, n) in nodes.iter_mut().enumerate() {
        if let Some((class, _)) = n.class_share() {
            let c = leaf_counts[i];
            let total: usize = c.iter().sum();
            *n = Node::leaf(
                class,
                (c[class as usize] as f32 + 1.0) / (total as f32 + 3.0),
            );
        }
    }
    Ok(nodes)
}

/// The root splits the sightings by sensor (`has_us`), and each side grows its own subtree to
/// the full depth: the two sensors' features never meet in one sighting, and a shared tree
/// spent its first splits sorting sensors, not classes (the first split, on the ultrasound
/// duration, sent every optical sighting, whose duration is missing, down with the short
/// ultrasound ones: 17 of 44 clear optical bubbles of the training set came out artifacts).
fn split_by_sensor(
    x: &[FeatureVector],
    y: &[usize],
    idx: &mut [usize],
    options: &TrainOptions,
    out: &mut Vec<Node>,
) -> Result<(), String> {
    const HAS_US: usize = 0;
    out.push(Node::leaf(2, 0.0));
    idx.sort_by(|&a, &b| {
        (x[a][HAS_US] > 0.5)
            .cmp(&(x[b][HAS_US] > 0.5))
            .then(a.cmp(&b))
    });
    let n_optical = idx.iter().filter(|&&i| x[i][HAS_US] <= 0.5).count();
    let (optical, ultrasound) = idx.split_at_mut(n_optical);
    grow(x, y, optical, 0, options, out)?;
    let right = grow(x, y, ultrasound, 0, options, out)?;
    out[0] = Node::split(HAS_US as u8, 0.5, left_nodes(right - 1)?);
    Ok(())
}

/// A left subtree's size as a node stores it (see [`Node`]).
fn left_nodes(n: usize) -> Result<u8, String> {
    u8::try_from(n).map_err(|_| {
        format!(
            "a left subtree of {n} nodes: an exported split skips at most 255 \
             (--max-depth 7 or less, or larger leaves with --min-leaf)"
        )
    })
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
) -> Result<usize, String> {
    let mut counts = [0usize; 3];
    for &i in idx.iter() {
        counts[y[i]] += 1;
    }
    let at = out.len();
    // No rows at all (a training set without one of the sensors): nothing is an embolus.
    let majority = if idx.is_empty() {
        2
    } else {
        (0..3).fold(0, |b, k| if counts[k] > counts[b] { k } else { b })
    };
    out.push(Node::leaf(majority as u8, 0.0));
    let n = idx.len();
    let min_leaf = options.min_leaf.max(1.0) as usize;
    let parent = weighted_gini(&counts);
    if depth >= options.max_depth || n < 2 * min_leaf || parent <= 0.0 {
        return Ok(at);
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
        return Ok(at);
    };
    if impurity >= parent - 1e-9 {
        return Ok(at);
    }
    idx.sort_by(|&a, &b| {
        (x[a][feature] > threshold)
            .cmp(&(x[b][feature] > threshold))
            .then(a.cmp(&b))
    });
    let n_left = idx.iter().filter(|&&i| x[i][feature] <= threshold).count();
    let (l_idx, r_idx) = idx.split_at_mut(n_left);
    // Pre-order: the left subtree starts right after this node.
    grow(x, y, l_idx, depth + 1, options, out)?;
    let r = grow(x, y, r_idx, depth + 1, options, out)?;
    out[at] = Node::split(feature as u8, threshold, left_nodes(r - at - 1)?);
    Ok(at)
}

/// The generated `src/detect/model.rs`.
pub fn render(trained: &Trained, provenance: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "//! The classifier trained by `clotair train` (generated file: do not edit by hand).\n//!\n//! {provenance}\n//!\n//! Training events: {} air, {} clot, {} artifact; accuracy on them {:.4}; {} trees, {} nodes\n//! ({} bytes). Features: see `classify::FEATURE_NAMES`; classes: 0 air, 1 clot, 2 artifact.\n",
        trained.counts[0],
        trained.counts[1],
        trained.counts[2],
        trained.training_accuracy,
        trained.trees.len(),
        trained.nodes(),
        trained.nodes() * core::mem::size_of::<Node>()
    );
    let _ = writeln!(s, "use super::air::AirSizing;\nuse super::tree::Node;\n");
    let z = &trained.sizing;
    let _ = writeln!(
        s,
        "/// How air smaller than the lumen is sized: log10 of the diameter (µm) against the peak EBR\n/// ({} bubbles seen by ultrasound alone, residual {:.3} decades) and against log10 of the optical\n/// rise ({} seen by the optical sensor alone, residual {:.3} decades).",
        z.rows[0], z.residual_sd[0], z.rows[1], z.residual_sd[1]
    );
    let _ = writeln!(
        s,
        "#[rustfmt::skip]\npub const AIR_SIZING: AirSizing = AirSizing {{ ultrasound: {:?}, optical: {:?} }};\n",
        z.sizing.ultrasound, z.sizing.optical
    );
    let _ = writeln!(s, "/// The bag of trees, each root first in pre-order.");
    let _ = writeln!(s, "#[rustfmt::skip]");
    let _ = writeln!(s, "pub const TREES: [&[Node]; {}] = [", trained.trees.len());
    for t in 0..trained.trees.len() {
        let _ = writeln!(s, "    &TREE_{t},");
    }
    let _ = writeln!(s, "];");
    for (t, nodes) in trained.trees.iter().enumerate() {
        let _ = writeln!(s, "\n#[rustfmt::skip]");
        let _ = writeln!(s, "const TREE_{t}: [Node; {}] = [", nodes.len());
        for n in nodes {
            if let Some((feature, threshold)) = n.test() {
                let left = n.left_nodes();
                let _ = writeln!(s, "    Node::split({feature}, {threshold:?}, {left}),");
            } else if let Some((class, share)) = n.class_share() {
                let _ = writeln!(s, "    Node::leaf({class}, {share:?}),");
            }
        }
        let _ = writeln!(s, "];");
    }
    s
}
