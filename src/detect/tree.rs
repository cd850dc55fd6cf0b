//! Evaluating the bagged decision trees exported as constants by `clotair train`: no heap, a
//! few comparisons per tree and event.

use crate::event::Class;

use super::classify::{Decision, FeatureVector};

/// The feature byte of a leaf [`Node`]: no feature has this index.
pub const LEAF: u8 = u8::MAX;

/// Bytes the exported trees may take in the firmware's flash (the budget for the
/// classifier's parameters): `clotair train` refuses a bag larger than this.
pub const PARAMETER_BUDGET_BYTES: usize = 16 * 1024;

/// Missing features (a sensor that did not see the event) are replaced by this value before
/// training and before evaluation, so that the tree can split on "missing".
pub const MISSING: f32 = -1.0e9;

/// One node of an exported tree, 6 bytes (1,626 nodes were 12.7 KiB at 8 bytes, 9.5 KiB now, in
/// a firmware image at 125 of 128 KiB). Nodes are stored root first, in pre-order, so the left
/// child of node `i` is node `i + 1` and its right child follows the left subtree: a split
/// stores the left subtree's size in a byte, which holds any tree `clotair train` grows to
/// depth 7 under its sensor split (`train` refuses a deeper one it cannot store).
///
/// A split sends `v[feature] <= threshold` left. A leaf holds its class and the share of its
/// training events of that class.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C, packed(2))]
pub struct Node {
    /// Split threshold, or a leaf's share.
    threshold: f32,
    /// Feature index tested, or [`LEAF`].
    feature: u8,
    /// A split's left subtree's node count; a leaf's class (0 air, 1 clot, 2 artifact).
    skip_or_class: u8,
}

impl Node {
    /// A split on `feature` at `threshold` whose left subtree holds `left_nodes` nodes.
    pub const fn split(feature: u8, threshold: f32, left_nodes: u8) -> Self {
        Self {
            threshold,
            feature,
            skip_or_class: left_nodes,
        }
    }

    /// A leaf of class `class` (0 air, 1 clot, 2 artifact) holding `share` of its training
    /// events in it.
    pub const fn leaf(class: u8, share: f32) -> Self {
        Self {
            threshold: share,
            feature: LEAF,
            skip_or_class: class,
        }
    }

    /// Whether the node is a leaf.
    pub const fn is_leaf(&self) -> bool {
        self.feature == LEAF
    }

    /// A split's feature index and threshold; `None` for a leaf.
    pub const fn test(&self) -> Option<(u8, f32)> {
        if self.is_leaf() {
            None
        } else {
            Some((self.feature, self.threshold))
        }
    }

    /// A leaf's class index and share; `None` for a split.
    pub const fn class_share(&self) -> Option<(u8, f32)> {
        if self.is_leaf() {
            Some((self.skip_or_class, self.threshold))
        } else {
            None
        }
    }

    /// A split's left subtree's node count (0 for a leaf).
    pub const fn left_nodes(&self) -> u8 {
        if self.is_leaf() {
            0
        } else {
            self.skip_or_class
        }
    }
}

/// Class of a leaf's class index.
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
        let Some((feature, threshold)) = nodes.get(i)?.test() else {
            return Some(i);
        };
        let x = *v.get(feature as usize)?;
        i = if x <= threshold {
            i + 1
        } else {
            i + 1 + nodes[i].left_nodes() as usize
        };
    }
    None
}

/// Walks one tree for `v`; `None` for an empty or malformed tree.
pub fn predict(nodes: &[Node], v: &FeatureVector) -> Option<Decision> {
    let (class, share) = nodes[leaf(nodes, &prepare(v))?].class_share()?;
    Some(Decision {
        class: *CLASSES.get(class as usize)?,
        confidence: share,
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
        let (class, confidence) = nodes[leaf(nodes, &v)?].class_share()?;
        let class = class as usize;
        if class >= CLASSES.len() {
            return None;
        }
        let rest = (1.0 - confidence) * 0.5;
        for (k, s) in share.iter_mut().enumerate() {
            *s += if k == class { confidence } else { rest };
        }
    }
    for s in share.iter_mut() {
        *s /= trees.len() as f32;
    }
    Some(share)
}
