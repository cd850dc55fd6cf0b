//! One-pole smoothers: the exponential moving average ([`OnePole`]) and the DC blocker
//! ([`DcBlocker`]).
//!
//! Coefficients are immutable configuration; the state is a bare `f32` (one-pole) or a
//! [`DcBlockerState`], so one smoother can drive many channels.

use crate::dsp::butterworth::DesignError;

/// Smallest one-pole coefficient: below `f32::EPSILON` the update `a (x - y)` rounds away
/// against `y` and the smoother stalls instead of converging (time constants up to about
/// 8.4 million samples, 87 s at 96 kHz).
pub const MIN_COEFFICIENT: f32 = f32::EPSILON;

/// Exponential smoother `y += a (x - y)`, i.e. `y[n] = a x[n] + (1 - a) y[n-1]`
/// (`scipy.signal.lfilter([a], [1, a - 1], x)`).
///
/// ```
/// use clotair::dsp::smoother::OnePole;
///
/// // 10 ms time constant at 1 kHz: after one time constant a step reaches 1 - 1/e
/// let ema = OnePole::from_time_constant(0.010, 1000.0).unwrap();
/// let mut y = 0.0_f32;
/// for _ in 0..10 {
///     ema.process(&mut y, 1.0);
/// }
/// assert!((y - (1.0 - (-1.0_f32).exp())).abs() < 1e-5);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OnePole {
    a: f32,
}

impl OnePole {
    /// The smoother whose step response reaches `1 - 1/e` after `tau_s` seconds at sample rate
    /// `fs_hz`: `a = 1 - exp(-1 / (tau_s fs_hz))`.
    ///
    /// # Errors
    /// [`DesignError::TimeConstant`] if `tau_s` is not finite and positive or so long that
    /// `a` is below [`MIN_COEFFICIENT`]; [`DesignError::SampleRate`] if `fs_hz` is not finite and
    /// positive (checked first).
    pub fn from_time_constant(tau_s: f32, fs_hz: f32) -> Result<Self, DesignError> {
        if !(fs_hz.is_finite() && fs_hz > 0.0) {
            return Err(DesignError::SampleRate);
        }
        if !(tau_s.is_finite() && tau_s > 0.0) {
            return Err(DesignError::TimeConstant);
        }
        let samples = f64::from(tau_s) * f64::from(fs_hz);
        // expm1 keeps the precision of a tiny `a` for long time constants
        let a = -libm::expm1(-1.0 / samples) as f32;
        if a >= MIN_COEFFICIENT {
            Ok(OnePole { a })
        } else {
            Err(DesignError::TimeConstant)
        }
    }

    /// The smoother with coefficient `a` in `[MIN_COEFFICIENT, 1]` (`a = 1` passes the input
    /// through).
    ///
    /// # Errors
    /// [`DesignError::Coefficient`] if `a` is not finite or not in `[MIN_COEFFICIENT, 1]`.
    pub fn from_coefficient(a: f32) -> Result<Self, DesignError> {
        if a.is_finite() && (MIN_COEFFICIENT..=1.0).contains(&a) {
            Ok(OnePole { a })
        } else {
            Err(DesignError::Coefficient)
        }
    }

    /// Smooths one sample: updates `state` (the previous output) and returns the new output.
    #[inline]
    pub fn process(&self, state: &mut f32, x: f32) -> f32 {
        *state += self.a * (x - *state);
        *state
    }

    /// Smooths `x` into `y`, same result as [`OnePole::process`] per sample.
    ///
    /// # Panics
    /// If `x.len() != y.len()`.
    pub fn block(&self, state: &mut f32, x: &[f32], y: &mut [f32]) {
        assert_eq!(x.len(), y.len(), "OnePole::block: x and y lengths differ");
        for (yo, &xi) in y.iter_mut().zip(x) {
            *yo = self.process(state, xi);
        }
    }

    /// Smooths `xy` in place.
    pub fn inplace(&self, state: &mut f32, xy: &mut [f32]) {
        for v in xy.iter_mut() {
            *v = self.process(state, *v);
        }
    }

    /// The coefficient `a`.
    pub fn coefficient(&self) -> f32 {
        self.a
    }
}

/// DC blocker `y[n] = x[n] - x[n-1] + r y[n-1]` (`scipy.signal.lfilter([1, -1], [1, -r], x)`):
/// a zero at DC and a pole at `r` just inside it.
///
/// ```
/// use clotair::dsp::smoother::{DcBlocker, DcBlockerState};
///
/// let dc = DcBlocker::new(1.0, 1000.0).unwrap();
/// let mut st = DcBlockerState::default();
/// let x = [5.0_f32; 5000]; // a constant offset...
/// let mut y = [0.0_f32; 5000];
/// dc.block(&mut st, &x, &mut y);
/// assert!(y[4999].abs() < 1e-6); // ...is removed
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DcBlocker {
    r: f32,
}

/// State of a [`DcBlocker`]: the previous input and output.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DcBlockerState {
    x1: f32,
    y1: f32,
}

impl DcBlockerState {
    /// Clears the state.
    pub fn reset(&mut self) {
        *self = DcBlockerState::default();
    }
}

impl DcBlocker {
    /// The DC blocker whose gain is exactly -3 dB (`|H| = 1/√2`) at `cutoff_hz`.
    ///
    /// Solving `|H(e^{jω})|² = 1/2` for the pole gives `r = cos ω - 2 sin(ω/2) √(1 + sin²(ω/2))`
    /// (≈ `1 - ω` for small ω). The form only reaches `r ≥ 0` for `ω ≤ acos(3/4)`, i.e.
    /// cut-offs up to about `0.115 fs`; above that use a Butterworth high-pass.
    ///
    /// # Errors
    /// [`DesignError::SampleRate`] if `fs_hz` is not finite and positive (checked first);
    /// [`DesignError::Cutoff`] if `cutoff_hz` is not finite, not positive, above
    /// `acos(3/4) fs / 2π`, or so low that `r` rounds to 1 in `f32`.
    pub fn new(cutoff_hz: f32, fs_hz: f32) -> Result<Self, DesignError> {
        if !(fs_hz.is_finite() && fs_hz > 0.0) {
            return Err(DesignError::SampleRate);
        }
        if !(cutoff_hz.is_finite() && cutoff_hz > 0.0) {
            return Err(DesignError::Cutoff);
        }
        let w = 2.0 * core::f64::consts::PI * f64::from(cutoff_hz) / f64::from(fs_hz);
        let s = libm::sin(w / 2.0);
        // cos ω - sqrt((1 - cos ω)(3 - cos ω)) with 1 - cos ω = 2 s² (no cancellation)
        let r = libm::cos(w) - 2.0 * s * libm::sqrt(1.0 + s * s);
        let r32 = r as f32;
        if w < core::f64::consts::PI && r >= 0.0 && r32 < 1.0 {
            Ok(DcBlocker { r: r32 })
        } else {
            Err(DesignError::Cutoff)
        }
    }

    /// The pole `r`.
    pub fn pole(&self) -> f32 {
        self.r
    }

    /// Filters one sample.
    #[inline]
    pub fn process(&self, st: &mut DcBlockerState, x: f32) -> f32 {
        let y = x - st.x1 + self.r * st.y1;
        st.x1 = x;
        st.y1 = y;
        y
    }

    /// Filters `x` into `y`, same result as [`DcBlocker::process`] per sample.
    ///
    /// # Panics
    /// If `x.len() != y.len()`.
    pub fn block(&self, st: &mut DcBlockerState, x: &[f32], y: &mut [f32]) {
        assert_eq!(x.len(), y.len(), "DcBlocker::block: x and y lengths differ");
        for (yo, &xi) in y.iter_mut().zip(x) {
            *yo = self.process(st, xi);
        }
    }

    /// Filters `xy` in place.
    pub fn inplace(&self, st: &mut DcBlockerState, xy: &mut [f32]) {
        for v in xy.iter_mut() {
            *v = self.process(st, *v);
        }
    }
}
