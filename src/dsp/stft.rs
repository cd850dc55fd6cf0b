//! TODO(owner: dsp helper): stft
