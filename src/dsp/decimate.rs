//! TODO(owner: dsp helper): decimate
