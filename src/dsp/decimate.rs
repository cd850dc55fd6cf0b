//! Integer-factor decimation with an anti-aliasing low-pass, for real and I/Q streams.
//!
//! The anti-aliasing filter is `butter(8, LowPass(0.8 × fs / (2 × factor)), fs)`: the cut-off
//! and order of `scipy.signal.decimate`'s default IIR filter, with a Butterworth instead of a
//! Chebyshev I response so the kept band is maximally flat (no 0.05 dB ripple) and the design
//! is the one [`butter`] already verifies against scipy. The price is a softer knee: the
//! response is -3 dB at 0.8 × the new Nyquist frequency, about -16 dB at the new Nyquist and
//! -28 dB at 1.2 × it (the lowest frequency that aliases back onto the -3 dB point); content
//! there folds into the output band attenuated by that much.
//!
//! The kept samples are input samples `0, factor, 2 factor, …` of the filtered stream (as
//! `sosfilt(sos, x)[::factor]`), counted across calls, so any chunking gives the same output.

use num_complex::Complex32;

use crate::dsp::biquad::{Sos, SosState, SosStateIq};
use crate::dsp::butterworth::{butter, Band, DesignError};

/// Order of the anti-aliasing Butterworth low-pass.
pub const ANTI_ALIAS_ORDER: usize = 8;

/// Cut-off of the anti-aliasing low-pass as a fraction of the output Nyquist frequency (the
/// value `scipy.signal.decimate` uses).
pub const ANTI_ALIAS_CUTOFF: f32 = 0.8;

/// Largest decimation factor: beyond it the order-8 low-pass sits so close to DC that `f32`
/// coefficients no longer reproduce its response well (decimate in stages instead).
pub const MAX_FACTOR: usize = 64;

/// Configuration of a decimator: the factor and the anti-aliasing cascade.
///
/// ```
/// use clotair::dsp::decimate::{Decimator, DecimatorState};
///
/// let d = Decimator::new(4, 8000.0).unwrap();
/// assert_eq!(d.output_rate_hz(), 2000.0);
/// let mut st = DecimatorState::default();
/// let x = [1.0_f32; 100];
/// let mut y = [0.0_f32; 25];
/// assert_eq!(st.block(&d, &x, &mut y), 25);
/// assert!((y[24] - 1.0).abs() < 1e-3); // unit DC gain once settled
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decimator {
    sos: Sos,
    factor: usize,
    fs_hz: f32,
}

impl Decimator {
    /// A decimator by `factor` (1..=[`MAX_FACTOR`]) for input sample rate `fs_hz`. Factor 1
    /// passes the input through unfiltered.
    ///
    /// # Errors
    /// [`DesignError::Factor`] if `factor` is 0 or above [`MAX_FACTOR`];
    /// [`DesignError::SampleRate`] if `fs_hz` is not finite and positive.
    pub fn new(factor: usize, fs_hz: f32) -> Result<Self, DesignError> {
        if !(1..=MAX_FACTOR).contains(&factor) {
            return Err(DesignError::Factor);
        }
        if !(fs_hz.is_finite() && fs_hz > 0.0) {
            return Err(DesignError::SampleRate);
        }
        let sos = if factor == 1 {
            Sos::default()
        } else {
            let cutoff_hz = ANTI_ALIAS_CUTOFF * fs_hz / (2.0 * factor as f32);
            // Cut-offs down to 0.4 fs / MAX_FACTOR always design; a refusal from f32 rounding
            // would mean the factor is too large, so name that parameter.
            butter(ANTI_ALIAS_ORDER, Band::LowPass(cutoff_hz), fs_hz).map_err(|e| match e {
                DesignError::Unstable | DesignError::Precision => DesignError::Factor,
                other => other,
            })?
        };
        Ok(Decimator { sos, factor, fs_hz })
    }

    /// A decimator by `factor` whose anti-aliasing cascade was designed elsewhere: a table,
    /// on a device that should not carry the design code (see `detect::front`).
    ///
    /// # Panics
    /// If `factor` is 0.
    pub fn with_sos(factor: usize, fs_hz: f32, sos: Sos) -> Self {
        assert!(factor > 0, "decimation factor 0");
        Decimator { sos, factor, fs_hz }
    }

    /// The decimation factor.
    pub fn factor(&self) -> usize {
        self.factor
    }

    /// Input sample rate in Hz.
    pub fn input_rate_hz(&self) -> f32 {
        self.fs_hz
    }

    /// Output sample rate in Hz (`fs / factor`).
    pub fn output_rate_hz(&self) -> f32 {
        self.fs_hz / self.factor as f32
    }

    /// The anti-aliasing cascade (empty for factor 1).
    pub fn sos(&self) -> &Sos {
        &self.sos
    }
}

/// Number of kept samples among the next `n_in` inputs when `phase` inputs have passed since
/// the last kept one (`phase = 0`: the next input is kept).
fn outputs_for(phase: usize, factor: usize, n_in: usize) -> usize {
    let first = (factor - phase) % factor;
    if n_in > first {
        (n_in - first - 1) / factor + 1
    } else {
        0
    }
}

/// A cascade state that a decimator can run: the real one ([`SosState`]) or the I/Q one
/// ([`SosStateIq`]).
pub trait CascadeState: Copy + Default {
    /// The sample type: `f32` or `Complex32`.
    type Sample: Copy;
    /// Filters one sample.
    fn step(&mut self, sos: &Sos, x: Self::Sample) -> Self::Sample;
    /// Rounds the delay lines with [`crate::dsp::snap`].
    fn snap(&mut self);
}

impl CascadeState for SosState {
    type Sample = f32;
    #[inline]
    fn step(&mut self, sos: &Sos, x: f32) -> f32 {
        self.process(sos, x)
    }
    fn snap(&mut self) {
        SosState::snap(self);
    }
}

impl CascadeState for SosStateIq {
    type Sample = Complex32;
    #[inline]
    fn step(&mut self, sos: &Sos, x: Complex32) -> Complex32 {
        self.process(sos, x)
    }
    fn snap(&mut self) {
        SosStateIq::snap(self);
    }
}

/// State of a [`Decimator`] over samples of `F`'s kind: the filter's delay lines and the
/// position in the output grid. Use [`DecimatorState`] (real) or [`DecimatorStateIq`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DecimatorStateOf<F> {
    filter: F,
    phase: usize,
}

/// State of a real [`Decimator`].
pub type DecimatorState = DecimatorStateOf<SosState>;
/// State of a complex I/Q [`Decimator`]: the same real low-pass on I and Q.
pub type DecimatorStateIq = DecimatorStateOf<SosStateIq>;

impl<F: CascadeState> DecimatorStateOf<F> {
    /// Filters one input sample; returns the output sample when this input is a kept one.
    #[inline]
    pub fn process(&mut self, d: &Decimator, x: F::Sample) -> Option<F::Sample> {
        let y = self.filter.step(&d.sos, x);
        let keep = self.phase == 0;
        self.phase += 1;
        if self.phase == d.factor {
            self.phase = 0;
        }
        keep.then_some(y)
    }

    /// How many outputs the next [`DecimatorStateOf::block`] call with `n_in` inputs writes.
    pub fn outputs_for(&self, d: &Decimator, n_in: usize) -> usize {
        outputs_for(self.phase, d.factor, n_in)
    }

    /// Decimates `x`, writing the outputs to the start of `y`; returns how many were written
    /// (`⌈n/factor⌉` or `⌊n/factor⌋` depending on the position left by earlier calls).
    ///
    /// # Panics
    /// If `y` is shorter than [`DecimatorStateOf::outputs_for`]`(d, x.len())` (checked before
    /// any state changes).
    pub fn block(&mut self, d: &Decimator, x: &[F::Sample], y: &mut [F::Sample]) -> usize {
        let n_out = self.outputs_for(d, x.len());
        assert!(y.len() >= n_out, "DecimatorState::block: y too short");
        let mut k = 0;
        for &xi in x {
            if let Some(v) = self.process(d, xi) {
                y[k] = v;
                k += 1;
            }
        }
        k
    }

    /// Rounds the filter's delay lines with [`crate::dsp::snap`], so that two streams whose
    /// states differ only far below the signal become bit-identical (see `dsp::snap`).
    pub fn snap(&mut self) {
        self.filter.snap();
    }

    /// Clears the filter and restarts the output grid at the next input.
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}
