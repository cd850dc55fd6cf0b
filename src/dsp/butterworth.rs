//! TODO(owner: dsp helper): butterworth
