//! TODO(owner: dsp helper): fft
