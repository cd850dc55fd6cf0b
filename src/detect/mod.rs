//! The streaming detector: from samples to air, clot, artifact and fault events.
