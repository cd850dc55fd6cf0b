//! Second-order IIR sections ("biquads") and cascades of them, in direct form II transposed.
//!
//! Coefficients ([`Biquad`], [`Sos`]) are immutable configuration; the delay lines
//! ([`Df2t`], [`SosState`], [`SosStateIq`]) are the state, so one cascade can drive many
//! channels. The recursion is the one of `scipy.signal.sosfilt`:
//!
//! ```text
//! y     = b0 x + s0
//! s0   <- b1 x - a1 y + s1
//! s1   <- b2 x - a2 y
//! ```
//!
//! Accuracy: the kernels run in `f32`. Against `scipy.signal.sosfilt` in `f64` on the same
//! (f32-representable) coefficients the output error is a few ULPs of the signal for
//! well-conditioned sections; it grows as the poles approach `z = 1`, i.e. for cut-offs far
//! below the sample rate (below about `fs / 1000`: decimate first, see
//! [`crate::dsp::decimate`]). `tests/filters.rs` states the tolerances and the errors measured.

use num_complex::Complex32;

use crate::dsp::butterworth::DesignError;

/// Coefficients of one second-order section, `a0` normalised to 1.
///
/// `H(z) = (b0 + b1 z⁻¹ + b2 z⁻²) / (1 + a1 z⁻¹ + a2 z⁻²)` with `a = [a1, a2]`, i.e.
/// `y = b0 x + b1 x1 + b2 x2 - a1 y1 - a2 y2`. A first-order section has `b2 = a2 = 0`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Biquad {
    /// Numerator `[b0, b1, b2]`.
    pub b: [f32; 3],
    /// Denominator without the leading 1: `[a1, a2]`.
    pub a: [f32; 2],
}

impl Biquad {
    /// The section that passes its input through unchanged.
    pub const IDENTITY: Biquad = Biquad::new([1.0, 0.0, 0.0], [0.0, 0.0]);

    /// A section from its numerator `b` and denominator `a = [a1, a2]` (`a0` = 1).
    pub const fn new(b: [f32; 3], a: [f32; 2]) -> Self {
        Biquad { b, a }
    }

    /// Whether both poles lie strictly inside the unit circle and every coefficient is finite.
    ///
    /// Uses the stability triangle of `z² + a1 z + a2`: `|a2| < 1` and `|a1| < 1 + a2`
    /// (evaluated in `f64`, so the test itself does not round).
    pub fn is_stable(&self) -> bool {
        let finite = self.b.iter().chain(self.a.iter()).all(|c| c.is_finite());
        let a1 = f64::from(self.a[0]);
        let a2 = f64::from(self.a[1]);
        finite && a2.abs() < 1.0 && a1.abs() < 1.0 + a2
    }

    /// Complex frequency response `H(e^{jω})` at `ω = 2π f / fs`, evaluated in `f64`.
    fn response_f64(&self, w: f64) -> (f64, f64) {
        // e^{-jω} and e^{-2jω}
        let (c1, s1) = (libm::cos(w), -libm::sin(w));
        let (c2, s2) = (libm::cos(2.0 * w), -libm::sin(2.0 * w));
        let [b0, b1, b2] = self.b.map(f64::from);
        let [a1, a2] = self.a.map(f64::from);
        let (nr, ni) = (b0 + b1 * c1 + b2 * c2, b1 * s1 + b2 * s2);
        let (dr, di) = (1.0 + a1 * c1 + a2 * c2, a1 * s1 + a2 * s2);
        let d2 = dr * dr + di * di;
        ((nr * dr + ni * di) / d2, (ni * dr - nr * di) / d2)
    }
}

impl Default for Biquad {
    fn default() -> Self {
        Biquad::IDENTITY
    }
}

/// State of one section in direct form II transposed: two `f32` words.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Df2t {
    s: [f32; 2],
}

impl Df2t {
    /// Filters one sample through section `c`.
    #[inline]
    pub fn process(&mut self, c: &Biquad, x: f32) -> f32 {
        let y = c.b[0] * x + self.s[0];
        self.s[0] = c.b[1] * x - c.a[0] * y + self.s[1];
        self.s[1] = c.b[2] * x - c.a[1] * y;
        y
    }

    /// Clears the delay line (as if the input had been zero forever).
    pub fn reset(&mut self) {
        self.s = [0.0; 2];
    }

    /// Whether both state words are finite.
    pub fn is_finite(&self) -> bool {
        self.s[0].is_finite() && self.s[1].is_finite()
    }

    /// Rounds the state with [`super::snap`].
    pub fn snap(&mut self) {
        self.s = self.s.map(super::snap);
    }
}

/// Most sections a cascade holds: an order-8 band-pass or band-stop Butterworth filter.
pub const MAX_SECTIONS: usize = 8;

/// Coefficients of a cascade of up to [`MAX_SECTIONS`] sections, applied first to last.
///
/// Immutable once built; [`SosState`] (real) and [`SosStateIq`] (complex I/Q) hold the
/// delay lines. Usually made by [`crate::dsp::butterworth::butter`].
///
/// ```
/// use clotair::dsp::biquad::{Biquad, Sos, SosState};
///
/// // a one-pole low-pass y = 0.1 x + 0.9 y1 as a (first-order) section
/// let sos = Sos::new(&[Biquad::new([0.1, 0.0, 0.0], [-0.9, 0.0])]).unwrap();
/// let mut state = SosState::default();
/// let x = [1.0_f32; 64];
/// let mut y = [0.0_f32; 64];
/// state.block(&sos, &x, &mut y);
/// assert!((y[63] - 1.0).abs() < 0.01); // unit DC gain
/// assert!((sos.magnitude_at(0.0, 1000.0) - 1.0).abs() < 1e-6);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sos {
    sections: [Biquad; MAX_SECTIONS],
    len: usize,
}

impl Sos {
    /// A cascade of `sections` (applied in order). An empty slice gives the identity.
    ///
    /// # Errors
    /// [`DesignError::TooManySections`] for more than [`MAX_SECTIONS`],
    /// [`DesignError::Coefficient`] if a coefficient is not finite,
    /// [`DesignError::Unstable`] if a section has a pole on or outside the unit circle.
    pub fn new(sections: &[Biquad]) -> Result<Sos, DesignError> {
        if sections.len() > MAX_SECTIONS {
            return Err(DesignError::TooManySections);
        }
        let mut all = [Biquad::IDENTITY; MAX_SECTIONS];
        for (dst, src) in all.iter_mut().zip(sections) {
            if !src.b.iter().chain(src.a.iter()).all(|c| c.is_finite()) {
                return Err(DesignError::Coefficient);
            }
            if !src.is_stable() {
                return Err(DesignError::Unstable);
            }
            *dst = *src;
        }
        Ok(Sos {
            sections: all,
            len: sections.len(),
        })
    }

    /// The sections, first applied first.
    pub fn sections(&self) -> &[Biquad] {
        &self.sections[..self.len]
    }

    /// Magnitude `|H(e^{j 2π f/fs})|` of the whole cascade at `f_hz` for sample rate `fs_hz`,
    /// evaluated in `f64` from the stored `f32` coefficients (so it is the response of the
    /// filter that actually runs).
    pub fn magnitude_at(&self, f_hz: f32, fs_hz: f32) -> f32 {
        self.magnitude_at_f64(f64::from(f_hz) / f64::from(fs_hz)) as f32
    }

    /// `|H|` at `f_over_fs` cycles per sample, in `f64`.
    pub(crate) fn magnitude_at_f64(&self, f_over_fs: f64) -> f64 {
        let w = 2.0 * core::f64::consts::PI * f_over_fs;
        self.sections().iter().fold(1.0_f64, |acc, s| {
            let (re, im) = s.response_f64(w);
            acc * libm::hypot(re, im)
        })
    }
}

impl Default for Sos {
    /// The empty (identity) cascade.
    fn default() -> Self {
        Sos {
            sections: [Biquad::IDENTITY; MAX_SECTIONS],
            len: 0,
        }
    }
}

/// Delay lines for one real channel through a [`Sos`] cascade.
///
/// `process`, `block` and `inplace` compute exactly the same floating-point operations in the
/// same order per section, so any chunking of a stream gives bit-identical output.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SosState {
    s: [Df2t; MAX_SECTIONS],
}

impl SosState {
    /// Filters one sample.
    #[inline]
    pub fn process(&mut self, sos: &Sos, x: f32) -> f32 {
        self.s
            .iter_mut()
            .zip(sos.sections())
            .fold(x, |v, (st, c)| st.process(c, v))
    }

    /// Filters `x` into `y`.
    ///
    /// # Panics
    /// If `x.len() != y.len()`.
    pub fn block(&mut self, sos: &Sos, x: &[f32], y: &mut [f32]) {
        assert_eq!(x.len(), y.len(), "input and output lengths differ");
        let mut local = *self;
        for (o, &v) in y.iter_mut().zip(x) {
            *o = local.process(sos, v);
        }
        *self = local;
    }

    /// Filters `xy` in place.
    pub fn inplace(&mut self, sos: &Sos, xy: &mut [f32]) {
        // Sample-major, the state in a local copy. A section's recurrence is latency-bound
        // (each output waits on the previous one), but section `k` of sample `n + 1` only
        // waits on section `k` of sample `n`, so the core overlaps the sections' recurrences:
        // 2.2x faster than running each section over the whole block in turn (measured,
        // `benches/stages.rs`, `biquad/1ch`). A loop unrolled over a constant section count
        // was slower: the compiler packs the sections into one vector and pays shuffles on
        // the critical path. The arithmetic is that of `process`, hence bit-identical.
        let mut local = *self;
        for v in xy.iter_mut() {
            *v = local.process(sos, *v);
        }
        *self = local;
    }

    /// Clears all delay lines.
    pub fn reset(&mut self) {
        self.s.iter_mut().for_each(Df2t::reset);
    }

    /// Whether every state word is finite (false after a NaN or infinity went in).
    pub fn is_finite(&self) -> bool {
        self.s.iter().all(Df2t::is_finite)
    }

    /// Rounds every state word with [`super::snap`].
    pub fn snap(&mut self) {
        self.s.iter_mut().for_each(Df2t::snap);
    }
}

/// Delay lines for one complex I/Q channel through a real [`Sos`] cascade: the same filter
/// applied to I and Q independently (bit-identical to two [`SosState`]s).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SosStateIq {
    re: SosState,
    im: SosState,
}

impl SosStateIq {
    /// Rounds every state word with [`super::snap`].
    pub fn snap(&mut self) {
        self.re.snap();
        self.im.snap();
    }

    /// Filters one complex sample.
    #[inline]
    pub fn process(&mut self, sos: &Sos, x: Complex32) -> Complex32 {
        Complex32::new(self.re.process(sos, x.re), self.im.process(sos, x.im))
    }

    /// Filters `x` into `y`.
    ///
    /// # Panics
    /// If `x.len() != y.len()`.
    pub fn block(&mut self, sos: &Sos, x: &[Complex32], y: &mut [Complex32]) {
        y.copy_from_slice(x);
        self.inplace(sos, y);
    }

    /// Filters `xy` in place.
    pub fn inplace(&mut self, sos: &Sos, xy: &mut [Complex32]) {
        match sos.len {
            0 => {}
            1 => self.run::<1>(sos, xy),
            2 => self.run::<2>(sos, xy),
            3 => self.run::<3>(sos, xy),
            4 => self.run::<4>(sos, xy),
            5 => self.run::<5>(sos, xy),
            6 => self.run::<6>(sos, xy),
            7 => self.run::<7>(sos, xy),
            _ => self.run::<MAX_SECTIONS>(sos, xy),
        }
    }

    /// Sample-major over `K` sections (see [`SosState::inplace`]), I and Q side by side as
    /// two lanes of one state array so that the pair can go through one vector register.
    /// Each lane's arithmetic is that of `process`, hence bit-identical results.
    #[inline(always)]
    fn run<const K: usize>(&mut self, sos: &Sos, xy: &mut [Complex32]) {
        let mut c = [Biquad::IDENTITY; K];
        c.copy_from_slice(&sos.sections[..K]);
        let mut st = [[[0.0f32; 2]; 2]; K];
        for (k, s) in st.iter_mut().enumerate() {
            *s = [
                [self.re.s[k].s[0], self.im.s[k].s[0]],
                [self.re.s[k].s[1], self.im.s[k].s[1]],
            ];
        }
        for v in xy.iter_mut() {
            let mut x = [v.re, v.im];
            for k in 0..K {
                let [b0, b1, b2] = c[k].b;
                let [a1, a2] = c[k].a;
                let [s0, s1] = &mut st[k];
                for l in 0..2 {
                    let y = b0 * x[l] + s0[l];
                    s0[l] = b1 * x[l] - a1 * y + s1[l];
                    s1[l] = b2 * x[l] - a2 * y;
                    x[l] = y;
                }
            }
            *v = Complex32::new(x[0], x[1]);
        }
        for (k, s) in st.iter().enumerate() {
            self.re.s[k].s = [s[0][0], s[1][0]];
            self.im.s[k].s = [s[0][1], s[1][1]];
        }
    }

    /// Clears all delay lines.
    pub fn reset(&mut self) {
        self.re.reset();
        self.im.reset();
    }

    /// Whether every state word is finite.
    pub fn is_finite(&self) -> bool {
        self.re.is_finite() && self.im.is_finite()
    }
}
