//! Evaluating the bagged decision trees exported as constants by `clotair train`: no heap, a
//! few comparisons per tree and event.

use crate::event::Class;

use super::classify::{Decision, FeatureVector};

/// Marks a leaf in [`Node::feature`].
pub const LEAF: u8 = u8::MAX;

/// Bytes the exported trees may take in the firmware's flash (the budget for the
/// classifier's parameters): `clotair train` refuses a bag larger than this.
pub const PARAMETER_BUDGET_BYTES: usize = 16 * 1024;

/// Missing features (a sensor that did not see the event) are replaced by this value before
/// training and before evaluation, so that the tree can split on "missing".
pub const MISSING: f32 = -1.0e9;

/// One node of an exported tree, 8 bytes. Nodes are stored root first, in pre-order, so the
/// left child of node `i` is node `i + 1` and only the right one is stored.
///
/// A split sends `v[feature] <= threshold` left. A leaf (`feature == LEAF`) holds its class
/// in `class` and in `threshold` the share of its training events of that class.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Node {
    /// Split threshold, or a leaf's confidence.
    pub threshold: f32,
    /// Index of the right child (splits).
    pub right: u16,
    /// Feature index tested, or [`LEAF`].
    pub feature: u8,
    /// The majority class of the node's training events: 0 air, 1 clot, 2 artifact.
    pub class: u8,
}

/// Class index of a [`Node::class`].
pub const CLASSES: [Class; 3] = [Class::Air, Class::Clot, Class::Artifact];

/// Replaces NaN by [`MISSING`].
pub fn prepare(v: &FeatureVector) -> FeatureVector {
    let mut out = *v;
    for x in out.iter_mut() {
        if x.is_nan() {
            *x = MISSING;
        }
    }
    out
}

/// The leaf `v` (already [`prepare`]d) reaches in `nodes`: its index; `None` for an empty or
/// malformed tree.
pub fn leaf(nodes: &[Node], v: &FeatureVector) -> Option<usize> {
    let mut i = 0usize;
    // A tree of n nodes is at most n deep: the bound keeps a malformed table from looping.
    for _ in 0..nodes.len() {
        let n = nodes.get(i)?;
        if n.feature == LEAF {
            return Some(i);
        }
        let x = *v.get(n.feature as usize)?;
        i = if x <= n.threshold {
            i + 1
        } else {
            n.right as usize
        };
    }
    None
}

/// Walks one tree for `v`; `None` for an empty or malformed tree.
pub fn predict(nodes: &[Node], v: &FeatureVector) -> Option<Decision> {
    let n = nodes[leaf(nodes, &prepare(v))?];
    Some(Decision {
        class: *CLASSES.get(n.class as usize)?,
        confidence: n.threshold,
    })
}

/// The mean class shares of the trees' leaves for `v`: each leaf gives its class its
/// confidence and splits the rest evenly between the other two (air, clot, artifact; they
/// sum to 1). `None` if there is no tree or one is malformed.
pub fn forest_shares(trees: &[&[Node]], v: &FeatureVector) -> Option<[f32; 3]> {
    if trees.is_empty() {
        return None;
    }
    let v = prepare(v);
    let mut share = [0.0f32; 3];
    for nodes in trees {
        let n = nodes[leaf(nodes, &v)?];
        let class = n.class as usize;
        if class >= CLASSES.len() {
            return None;
        }
        let rest = (1.0 - n.threshold) * 0.5;
        for (k, s) in share.iter_mut().enumerate() {
            *s += if k == class { n.threshold } else { rest };
        }
    }
    for s in share.iter_mut() {
        *s /= trees.len() as f32;
    }
    Some(share)
}
