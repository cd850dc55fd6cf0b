//! Forward complex FFT of a fixed power-of-two size, behind one trait with two backends.
//!
//! The transform is numpy's `np.fft.fft`: in place, unscaled, bins in numpy order (DC, positive
//! frequencies, then negative frequencies from `-N/2`), with the sign convention
//! `X[k] = Σ x[n] e^{-2πikn/N}`.
//!
//! - [`MicroFft`] wraps the `microfft` crate: `no_std`, no allocation, tables in flash; always
//!   available.
//! - `RustFft` (feature `std`) wraps a planned `rustfft` transform and its scratch buffer,
//!   allocated once at construction; faster on desktop CPUs (SIMD).
//! - [`DefaultFft`] is `RustFft` under `std` and [`MicroFft`] without.
//!
//! Both backends support exactly the sizes `64, 128, 256, 512, 1024` ([`is_supported_size`]),
//! so code written against [`DefaultFft`] behaves the same with and without `std`. On seeded
//! random data every bin of either backend is within `3e-8` of the spectrum's L2 norm of a
//! naive `f64` DFT, for all sizes (measured in `tests/spectral.rs`, which bounds it at `2e-7`).

/// The complex sample type of the whole DSP core, re-exported so callers need not depend on
/// `num-complex` themselves.
pub use num_complex::Complex32;

/// Smallest supported transform size.
pub const MIN_SIZE: usize = 64;
/// Largest supported transform size (`microfft` is built with feature `size-1024` only).
pub const MAX_SIZE: usize = 1024;

/// Whether `n` is a supported transform size: a power of two in `MIN_SIZE..=MAX_SIZE`.
pub const fn is_supported_size(n: usize) -> bool {
    n.is_power_of_two() && n >= MIN_SIZE && n <= MAX_SIZE
}

/// Error building an FFT backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FftError {
    /// The size `N` is not a power of two in `64..=1024`.
    Size,
}

impl core::fmt::Display for FftError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FftError::Size => write!(
                f,
                "FFT size must be a power of two in {MIN_SIZE}..={MAX_SIZE}"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for FftError {}

/// A forward complex FFT of size `N`, computed in place.
pub trait FftBackend<const N: usize> {
    /// Replaces `buf` by its DFT `X[k] = Σ_n buf[n] e^{-2πikn/N}` in numpy bin order,
    /// unscaled. Allocates nothing.
    fn forward(&mut self, buf: &mut [Complex32; N]);
}

/// The `microfft` backend: `no_std`, no allocation, no state.
///
/// A unit struct, so `MicroFft` is also a value; prefer [`MicroFft::new`] or
/// [`MicroFft::try_new`], which check the size up front.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MicroFft<const N: usize>;

impl<const N: usize> MicroFft<N> {
    /// The backend for size `N`.
    ///
    /// # Panics
    ///
    /// If `N` is not supported ([`is_supported_size`]); in a `const` context this is a
    /// compile-time error.
    pub const fn new() -> Self {
        assert!(
            is_supported_size(N),
            "FFT size must be a power of two in 64..=1024"
        );
        MicroFft
    }

    /// The backend for size `N`, or [`FftError::Size`] if `N` is not supported.
    pub const fn try_new() -> Result<Self, FftError> {
        if is_supported_size(N) {
            Ok(MicroFft)
        } else {
            Err(FftError::Size)
        }
    }
}

/// Reinterprets a `[T; N]` as a `[T; M]` when the caller has matched `N == M`.
#[inline(always)]
fn as_size<const N: usize, const M: usize>(buf: &mut [Complex32; N]) -> &mut [Complex32; M] {
    // Only called in the match arm where N == M, so this never fails and the check folds away.
    <&mut [Complex32; M]>::try_from(buf.as_mut_slice()).expect("sizes matched by caller")
}

impl<const N: usize> FftBackend<N> for MicroFft<N> {
    /// # Panics
    ///
    /// If `N` is not supported ([`is_supported_size`]).
    #[inline]
    fn forward(&mut self, buf: &mut [Complex32; N]) {
        // microfft has one function per size; `N` is a constant, so the match folds away.
        match N {
            64 => {
                let _ = microfft::complex::cfft_64(as_size(buf));
            }
            128 => {
                let _ = microfft::complex::cfft_128(as_size(buf));
            }
            256 => {
                let _ = microfft::complex::cfft_256(as_size(buf));
            }
            512 => {
                let _ = microfft::complex::cfft_512(as_size(buf));
            }
            1024 => {
                let _ = microfft::complex::cfft_1024(as_size(buf));
            }
            _ => panic!("FFT size must be a power of two in 64..=1024"),
        }
    }
}

/// The `rustfft` backend (feature `std`): a planned transform and its in-place scratch,
/// allocated once at construction.
#[cfg(feature = "std")]
#[derive(Clone)]
pub struct RustFft<const N: usize> {
    fft: std::sync::Arc<dyn rustfft::Fft<f32>>,
    scratch: std::vec::Vec<Complex32>,
}

#[cfg(feature = "std")]
impl<const N: usize> RustFft<N> {
    /// Plans the transform for size `N` and allocates its scratch.
    ///
    /// # Panics
    ///
    /// If `N` is not supported ([`is_supported_size`]).
    pub fn new() -> Self {
        Self::try_new().expect("FFT size must be a power of two in 64..=1024")
    }

    /// Plans the transform for size `N`, or [`FftError::Size`] if `N` is not supported.
    pub fn try_new() -> Result<Self, FftError> {
        if !is_supported_size(N) {
            return Err(FftError::Size);
        }
        let fft = rustfft::FftPlanner::<f32>::new().plan_fft_forward(N);
        let scratch = vec![Complex32::new(0.0, 0.0); fft.get_inplace_scratch_len()];
        Ok(Self { fft, scratch })
    }
}

#[cfg(feature = "std")]
impl<const N: usize> Default for RustFft<N> {
    /// Same as [`RustFft::new`].
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "std")]
impl<const N: usize> core::fmt::Debug for RustFft<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RustFft")
            .field("len", &N)
            .field("scratch_len", &self.scratch.len())
            .finish()
    }
}

#[cfg(feature = "std")]
impl<const N: usize> FftBackend<N> for RustFft<N> {
    #[inline]
    fn forward(&mut self, buf: &mut [Complex32; N]) {
        self.fft.process_with_scratch(buf, &mut self.scratch);
    }
}

/// The default backend: [`RustFft`] under `std`, [`MicroFft`] without.
#[cfg(feature = "std")]
pub type DefaultFft<const N: usize> = RustFft<N>;

/// The default backend: `RustFft` under `std`, [`MicroFft`] without (this build).
#[cfg(not(feature = "std"))]
pub type DefaultFft<const N: usize> = MicroFft<N>;
