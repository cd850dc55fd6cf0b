//! TODO(owner: dsp helper): window
