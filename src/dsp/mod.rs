//! The streaming DSP core: filters, windows, spectra and running background estimates.
//!
//! Every primitive splits its configuration (coefficients, tables: immutable, `&self`) from its
//! state (delay lines, accumulators), works per sample and per block with the same answer for
//! any chunking, allocates nothing after construction and builds without `std`.

pub mod background;
pub mod biquad;
pub mod butterworth;
pub mod decimate;
pub mod fft;
pub mod multichannel;
pub mod smoother;
pub mod stft;
pub mod window;
