//! TODO(owner: dsp helper): smoother
