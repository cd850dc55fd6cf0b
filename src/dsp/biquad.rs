//! TODO(owner: dsp helper): biquad
