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
pub mod trend;
pub mod window;

/// Low mantissa bits cleared by [`snap`]: 8 of 23, a relative step of 2⁻¹⁵ (−90 dB), the
/// size of one int16 step of a full-scale signal.
pub const SNAP_BITS: u32 = 8;

/// Rounds `x` toward zero to 15 significant bits.
///
/// A recursive state (an IIR filter, a running mean) forgets its start exponentially, but in
/// floating point two runs of the same input from different starts can keep differing in
/// their last bits forever. Snapping the state now and then, on a fixed grid of the stream,
/// maps two states that differ by a few units in the last place onto the same value (unless
/// a rounding step falls between them, 1 time in 2⁸ or less), and from then on the two runs
/// are identical. That is what lets a long recording be cut into segments that each give
/// the events of the whole stream; the cost is noise 90 dB below the state.
#[inline]
pub fn snap(x: f32) -> f32 {
    f32::from_bits(x.to_bits() & !((1u32 << SNAP_BITS) - 1))
}
