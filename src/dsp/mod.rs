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

/// The larger of `a` and `b`, as [`f32::max`]: if one is NaN, the other. (Equal values give
/// `a`; `f32::max` may give either, which only matters for +0 and −0.) On the Cortex-M4F,
/// whose FPU has no `VMAXNM`, `f32::max` is a call to `fmaxf`; this is two compares and a
/// select, for the per-bin and per-sample loops.
#[inline(always)]
pub fn max(a: f32, b: f32) -> f32 {
    if a.is_nan() || b > a {
        b
    } else {
        a
    }
}

/// `a / b` for `b > 0`. A 64-bit division is a library call on 32-bit cores (about a hundred
/// instructions on the M4F); while both fit in 32 bits, as any stream's sample counts do for
/// its first hours, it is the core's own division.
#[inline(always)]
pub fn div_u64(a: u64, b: u64) -> u64 {
    match (u32::try_from(a), u32::try_from(b)) {
        (Ok(a), Ok(b)) => u64::from(a / b),
        _ => a / b,
    }
}

/// Whether `a` is a multiple of `b > 0` (`a % b == 0`), with [`div_u64`]'s 32-bit path.
#[inline(always)]
pub fn is_multiple(a: u64, b: u64) -> bool {
    match (u32::try_from(a), u32::try_from(b)) {
        (Ok(a), Ok(b)) => a % b == 0,
        _ => a % b == 0,
    }
}
