//! Periodic (DFT-even) analysis windows for the short-time Fourier transform.
//!
//! The tables equal `scipy.signal.get_window(name, len)` (whose default `fftbins=True` gives
//! the periodic form: the symmetric window of length `len + 1` with its last point dropped).
//! The periodic form is the right one for spectral analysis: its DFT is exactly a few bins
//! wide, and with hop `len / 2` (Hann) its shifted copies sum to a constant.
//!
//! Values are computed in `f64` and rounded once to `f32`, so a table is within half an `f32`
//! ulp of scipy's; this is construction-time work, never in the hot path.

use core::f64::consts::PI;

/// A periodic window shape, as named by `scipy.signal.get_window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// Hann: `0.5 - 0.5 cos(2πn/len)`. Side lobes −31 dB, falling 18 dB/octave.
    Hann,
    /// Hamming: `0.54 - 0.46 cos(2πn/len)`. First side lobe −43 dB, slow fall-off.
    Hamming,
    /// Blackman: `0.42 - 0.5 cos(2πn/len) + 0.08 cos(4πn/len)`. Side lobes −58 dB, wider
    /// main lobe.
    Blackman,
}

impl Window {
    /// The value of point `n` of the periodic window of length `len`.
    ///
    /// A window of length 1 is `[1.0]`, as in scipy.
    ///
    /// # Panics
    ///
    /// If `n >= len`.
    ///
    /// ```
    /// use clotair::dsp::window::Window;
    /// assert_eq!(Window::Hann.value(0, 8), 0.0);
    /// assert_eq!(Window::Hann.value(4, 8), 1.0);
    /// ```
    pub fn value(self, n: usize, len: usize) -> f32 {
        assert!(n < len, "window point {n} out of range for length {len}");
        if len == 1 {
            return 1.0;
        }
        let phase = 2.0 * PI * n as f64 / len as f64;
        let w = match self {
            Window::Hann => 0.5 - 0.5 * libm::cos(phase),
            Window::Hamming => 0.54 - 0.46 * libm::cos(phase),
            Window::Blackman => 0.42 - 0.5 * libm::cos(phase) + 0.08 * libm::cos(2.0 * phase),
        };
        w as f32
    }

    /// Fills `out` with the periodic window of length `out.len()` (nothing for an empty slice).
    ///
    /// ```
    /// use clotair::dsp::window::Window;
    /// let mut w = [0.0f32; 4];
    /// Window::Hann.fill(&mut w);
    /// assert_eq!(w, [0.0, 0.5, 1.0, 0.5]);
    /// ```
    pub fn fill(self, out: &mut [f32]) {
        let len = out.len();
        for (n, w) in out.iter_mut().enumerate() {
            *w = self.value(n, len);
        }
    }
}
