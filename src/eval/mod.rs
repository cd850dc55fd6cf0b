//! Scoring detected events against labels.
