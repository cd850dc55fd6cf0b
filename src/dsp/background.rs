//! TODO(owner: dsp helper): background
