//! Evaluating a decision tree exported as constants by `clotair train`: no heap, a few
//! comparisons per event.

use crate::event::Class;

use super::classify::{Decision, FeatureVector};

/// Marks a leaf in [`Node::feature`].
pub const LEAF: u8 = u8::MAX;

/// Missing features (a sensor that did not see the event) are replaced by this value before
/// training and before evaluation, so that the tree can split on "missing".
pub const MISSING: f32 = -1.0e9;

/// One node of an exported tree.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Node {
    /// Feature index tested, or [`LEAF`].
    pub feature: u8,
    /// Go left when `feature <= threshold`.
    pub threshold: f32,
    /// Index of the left child.
    pub left: u16,
    /// Index of the right child.
    pub right: u16,
    /// For leaves: 0 air, 1 clot, 2 artifact.
    pub class: u8,
    /// For leaves: the fraction of training events of that class in the leaf.
    pub confidence: f32,
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

/// Walks `nodes` (root first) for `v`; `None` for an empty or malformed tree.
pub fn predict(nodes: &[Node], v: &FeatureVector) -> Option<Decision> {
    let v = prepare(v);
    let mut i = 0usize;
    // A tree of n nodes is at most n deep: the bound keeps a malformed table from looping.
    for _ in 0..nodes.len() {
        let n = nodes.get(i)?;
        if n.feature == LEAF {
            return Some(Decision {
                class: *CLASSES.get(n.class as usize)?,
                confidence: n.confidence,
            });
        }
        let x = *v.get(n.feature as usize)?;
        i = if x <= n.threshold {
            n.left as usize
        } else {
            n.right as usize
        };
    }
    None
}
