//! The classifier trained by `clotair train` (generated file: do not edit by hand).
//!
//! Empty: no model has been trained yet, and [`super::classify::classify`] uses the rules.

use super::tree::Node;

/// The tree, root first.
pub const NODES: &[Node] = &[];
