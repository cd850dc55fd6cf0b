//! Butterworth filter design, as `scipy.signal.butter(N, Wn, btype, fs=fs, output='sos')`.
//!
//! The analog prototype, the frequency transformation, the bilinear transform with
//! pre-warping and the pairing of poles and zeros into sections follow scipy 1.14
//! (`buttap`, `lp2*_zpk`, `bilinear_zpk`, `zpk2sos` with `pairing='nearest'`), all in `f64`;
//! only the final coefficients are rounded to `f32`. The sections therefore come out in
//! scipy's order (poles nearest the unit circle last) with the whole gain in the first
//! section, and `tests/filters.rs` compares them coefficient by coefficient.
//!
//! No allocation: poles and zeros live in fixed arrays (at most 2 × 8 + 1).

use core::f64::consts::PI;
use core::fmt;

use num_complex::Complex64;

use crate::dsp::biquad::{Biquad, Sos, MAX_SECTIONS};

/// Why a filter could not be designed: each variant names the bad parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DesignError {
    /// Filter order outside `1..=8`.
    Order,
    /// Sample rate not finite or not positive.
    SampleRate,
    /// A cut-off frequency not finite or not strictly between 0 and the Nyquist frequency
    /// (or, for the DC blocker, too high for its one-pole form).
    Cutoff,
    /// Band edges not ordered: the low edge must be below the high edge.
    BandEdges,
    /// Time constant not finite, not positive, or so long that the coefficient rounds to 0.
    TimeConstant,
    /// A given coefficient is not finite or outside its allowed range.
    Coefficient,
    /// Decimation factor zero or too large for a stable anti-aliasing filter.
    Factor,
    /// More than [`MAX_SECTIONS`] sections.
    TooManySections,
    /// A section has a pole on or outside the unit circle (after rounding to `f32`).
    Unstable,
    /// Valid parameters, but the `f32` coefficients miss the designed response by more than
    /// [`MAX_RESPONSE_ERROR`]: a cut-off too close to DC or Nyquist for the sample rate
    /// (decimate first).
    Precision,
}

impl fmt::Display for DesignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let msg = match self {
            DesignError::Order => "filter order must be 1..=8",
            DesignError::SampleRate => "sample rate must be finite and positive",
            DesignError::Cutoff => "cut-off frequency must be finite and in (0, fs/2)",
            DesignError::BandEdges => "band edges must satisfy low < high",
            DesignError::TimeConstant => "time constant must be finite and positive",
            DesignError::Coefficient => "coefficient not finite or out of range",
            DesignError::Factor => "decimation factor out of range",
            DesignError::TooManySections => "too many second-order sections",
            DesignError::Unstable => "filter has a pole on or outside the unit circle",
            DesignError::Precision => "f32 coefficients cannot realise this response accurately",
        };
        f.write_str(msg)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for DesignError {}

/// Band type and cut-off frequencies in Hz (the -3 dB points, as in scipy).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Band {
    /// Passes below the cut-off.
    LowPass(f32),
    /// Passes above the cut-off.
    HighPass(f32),
    /// Passes between the low and high edge.
    BandPass(f32, f32),
    /// Rejects between the low and high edge.
    BandStop(f32, f32),
}

/// Largest relative error of `|H|` that [`butter`] accepts, at the reference points of the band
/// (unity gain in the pass band, 1/√2 at each cut-off), from rounding the coefficients to `f32`.
/// 1 % is 0.09 dB. Every design with band edges at `1e-3 fs` or more passes (tested over a
/// grid); between about `1e-4 fs` and `5e-4 fs` it depends on order and band type; below that
/// the f32 response falls apart and the design is refused.
pub const MAX_RESPONSE_ERROR: f64 = 0.01;

/// Highest order [`butter`] designs (a band-pass of this order fills [`MAX_SECTIONS`]).
pub const MAX_ORDER: usize = MAX_SECTIONS;

/// Designs a digital Butterworth filter of `order` (1..=8) for sample rate `fs_hz` as a
/// cascade of second-order sections, like
/// `scipy.signal.butter(order, Wn, btype, fs=fs_hz, output='sos')`.
///
/// Low- and high-pass filters of order N have N poles (⌈N/2⌉ sections); band-pass and
/// band-stop filters of order N have 2N poles (N sections).
///
/// ```
/// use clotair::dsp::butterworth::{butter, Band};
///
/// let sos = butter(4, Band::HighPass(50.0), 1000.0).unwrap();
/// assert_eq!(sos.sections().len(), 2);
/// // -3 dB at the cut-off, as scipy
/// let g = sos.magnitude_at(50.0, 1000.0);
/// assert!((g - core::f32::consts::FRAC_1_SQRT_2).abs() < 1e-4);
/// ```
///
/// # Errors
/// [`DesignError::Order`], [`DesignError::SampleRate`], [`DesignError::Cutoff`] (not finite or
/// not in `(0, fs/2)`), [`DesignError::BandEdges`] (low ≥ high), checked in that order; then
/// for extreme cut-offs (well below `1e-3 fs`): [`DesignError::Unstable`] if rounding the
/// coefficients to `f32` puts a pole on or outside the unit circle, [`DesignError::Precision`]
/// if it moves `|H|` at the band's reference points by more than [`MAX_RESPONSE_ERROR`].
pub fn butter(order: usize, band: Band, fs_hz: f32) -> Result<Sos, DesignError> {
    if !(1..=MAX_ORDER).contains(&order) {
        return Err(DesignError::Order);
    }
    if !(fs_hz.is_finite() && fs_hz > 0.0) {
        return Err(DesignError::SampleRate);
    }
    let fs = f64::from(fs_hz);
    let check = |f: f32| -> Result<f64, DesignError> {
        let f = f64::from(f);
        if f.is_finite() && f > 0.0 && f < fs / 2.0 {
            Ok(f)
        } else {
            Err(DesignError::Cutoff)
        }
    };
    // scipy: Wn = f / (fs/2); then fs = 2 and warped = 2 fs tan(π Wn / fs) = 4 tan(π Wn / 2).
    let warp = |f: f64| 4.0 * libm::tan(PI * (f / (fs / 2.0)) / 2.0);
    // Reference points of the ideal response as (frequency in Hz, |H|); unused slots are NaN.
    let mut reference = [(f64::NAN, 0.0); 4];
    let half_power = core::f64::consts::FRAC_1_SQRT_2;
    let mut zpk = buttap(order);
    match band {
        Band::LowPass(f) => {
            let f = check(f)?;
            zpk.lp2lp(warp(f));
            reference[..2].copy_from_slice(&[(0.0, 1.0), (f, half_power)]);
        }
        Band::HighPass(f) => {
            let f = check(f)?;
            zpk.lp2hp(warp(f));
            reference[..2].copy_from_slice(&[(fs / 2.0, 1.0), (f, half_power)]);
        }
        Band::BandPass(lo, hi) | Band::BandStop(lo, hi) => {
            let (lo, hi) = (check(lo)?, check(hi)?);
            if lo >= hi {
                return Err(DesignError::BandEdges);
            }
            let (wl, wh) = (warp(lo), warp(hi));
            let (bw, wo) = (wh - wl, libm::sqrt(wl * wh));
            reference[..2].copy_from_slice(&[(lo, half_power), (hi, half_power)]);
            if matches!(band, Band::BandPass(..)) {
                zpk.lp2bp(wo, bw);
                // the centre frequency: where the pre-warped analog centre maps back to
                let centre = fs / PI * libm::atan(wo / 4.0);
                reference[2] = (centre, 1.0);
            } else {
                zpk.lp2bs(wo, bw);
                reference[2..].copy_from_slice(&[(0.0, 1.0), (fs / 2.0, 1.0)]);
            }
        }
    }
    zpk.bilinear(2.0);
    let sos = zpk2sos(zpk)?;
    for &(f, want) in reference.iter().filter(|(f, _)| !f.is_nan()) {
        let got = sos.magnitude_at_f64(f / fs);
        if libm::fabs(got - want) > MAX_RESPONSE_ERROR * want {
            return Err(DesignError::Precision);
        }
    }
    Ok(sos)
}

/// Capacity of a root list: 2 × order + the pole/zero scipy adds at the origin for odd counts.
const ROOTS: usize = 2 * MAX_ORDER + 2;

/// A fixed-capacity list of complex roots (no allocation).
#[derive(Clone, Copy)]
struct Roots {
    v: [Complex64; ROOTS],
    n: usize,
}

impl Roots {
    const fn new() -> Self {
        Roots {
            v: [Complex64::new(0.0, 0.0); ROOTS],
            n: 0,
        }
    }
    fn push(&mut self, c: Complex64) {
        self.v[self.n] = c;
        self.n += 1;
    }
    fn as_slice(&self) -> &[Complex64] {
        &self.v[..self.n]
    }
    fn as_mut_slice(&mut self) -> &mut [Complex64] {
        &mut self.v[..self.n]
    }
    fn remove(&mut self, i: usize) -> Complex64 {
        let c = self.v[i];
        self.v.copy_within(i + 1..self.n, i);
        self.n -= 1;
        c
    }
    fn prod(&self, f: impl Fn(Complex64) -> Complex64) -> Complex64 {
        self.as_slice()
            .iter()
            .fold(Complex64::new(1.0, 0.0), |acc, &c| mul(acc, f(c)))
    }
}

/// Zeros, poles and gain of a filter (analog, then digital).
struct Zpk {
    z: Roots,
    p: Roots,
    k: f64,
}

// The design runs once, at construction, in software f64 on a Cortex-M4F. Out of line, its
// complex products and quotients are one copy each: inlined at every use, each soft-float
// operation's call sequence was repeated, 7.8 KiB of the firmware's flash (of 126).
#[inline(never)]
fn mul(a: Complex64, b: Complex64) -> Complex64 {
    a * b
}

#[inline(never)]
fn div(a: Complex64, b: Complex64) -> Complex64 {
    a / b
}

fn cabs(c: Complex64) -> f64 {
    libm::hypot(c.re, c.im)
}

/// Principal square root (branch cut on the negative real axis, sign of `im` kept), as numpy.
fn csqrt(c: Complex64) -> Complex64 {
    let r = cabs(c);
    let re = libm::sqrt((r + c.re).max(0.0) / 2.0);
    let im = libm::sqrt((r - c.re).max(0.0) / 2.0);
    Complex64::new(re, libm::copysign(im, c.im))
}

/// scipy `buttap`: poles `-exp(jπ m / 2N)` for `m = -N+1, -N+3, …, N-1`, no zeros, gain 1.
fn buttap(order: usize) -> Zpk {
    let mut p = Roots::new();
    let n = order as f64;
    for i in 0..order {
        let m = -n + 1.0 + 2.0 * i as f64;
        let theta = PI * m / (2.0 * n);
        p.push(Complex64::new(-libm::cos(theta), -libm::sin(theta)));
    }
    Zpk {
        z: Roots::new(),
        p,
        k: 1.0,
    }
}

impl Zpk {
    fn degree(&self) -> usize {
        self.p.n - self.z.n
    }

    /// Replaces every zero and pole `c` by `f(c)`.
    fn map_roots(&mut self, f: impl Fn(Complex64) -> Complex64) {
        let (z, p) = (self.z.as_mut_slice(), self.p.as_mut_slice());
        z.iter_mut().chain(p).for_each(|c| *c = f(*c));
    }

    fn lp2lp(&mut self, wo: f64) {
        let degree = self.degree();
        self.map_roots(|c| c * wo);
        self.k *= libm::pow(wo, degree as f64);
    }

    fn lp2hp(&mut self, wo: f64) {
        let degree = self.degree();
        let gain = div(self.z.prod(|c| -c), self.p.prod(|c| -c)).re;
        let w = Complex64::new(wo, 0.0);
        self.map_roots(|c| div(w, c));
        for _ in 0..degree {
            self.z.push(Complex64::new(0.0, 0.0));
        }
        self.k *= gain;
    }

    /// Replaces each root `r` by the two roots `r ± sqrt(r² - wo²)`, in scipy's order
    /// (all `+` roots, then all `-` roots).
    fn split(roots: &Roots, wo: f64) -> Roots {
        let mut out = Roots::new();
        let wo2 = Complex64::new(wo * wo, 0.0);
        for &r in roots.as_slice() {
            out.push(r + csqrt(mul(r, r) - wo2));
        }
        for &r in roots.as_slice() {
            out.push(r - csqrt(mul(r, r) - wo2));
        }
        out
    }

    fn lp2bp(&mut self, wo: f64, bw: f64) {
        let degree = self.degree();
        self.map_roots(|c| c * (bw / 2.0));
        self.z = Self::split(&self.z, wo);
        self.p = Self::split(&self.p, wo);
        for _ in 0..degree {
            self.z.push(Complex64::new(0.0, 0.0));
        }
        self.k *= libm::pow(bw, degree as f64);
    }

    fn lp2bs(&mut self, wo: f64, bw: f64) {
        let degree = self.degree();
        let gain = div(self.z.prod(|c| -c), self.p.prod(|c| -c)).re;
        let half = Complex64::new(bw / 2.0, 0.0);
        self.map_roots(|c| div(half, c));
        self.z = Self::split(&self.z, wo);
        self.p = Self::split(&self.p, wo);
        for _ in 0..degree {
            self.z.push(Complex64::new(0.0, wo));
        }
        for _ in 0..degree {
            self.z.push(Complex64::new(0.0, -wo));
        }
        self.k *= gain;
    }

    fn bilinear(&mut self, fs: f64) {
        let degree = self.degree();
        let fs2 = Complex64::new(2.0 * fs, 0.0);
        let gain = div(self.z.prod(|c| fs2 - c), self.p.prod(|c| fs2 - c)).re;
        self.map_roots(|c| div(fs2 + c, fs2 - c));
        for _ in 0..degree {
            self.z.push(Complex64::new(-1.0, 0.0));
        }
        self.k *= gain;
    }
}

/// scipy `_cplxreal`: the roots with positive imaginary part (one per conjugate pair, sorted by
/// real part then |imag|) followed by the real roots (sorted, imaginary part set to exactly 0).
fn cplxreal(r: &Roots) -> Roots {
    let mut sorted = *r;
    sorted.as_mut_slice().sort_unstable_by(|a, b| {
        a.re.total_cmp(&b.re)
            .then(libm::fabs(a.im).total_cmp(&libm::fabs(b.im)))
    });
    let tol = 100.0 * f64::EPSILON;
    let is_real = |c: &Complex64| libm::fabs(c.im) <= tol * cabs(*c);
    let mut out = Roots::new();
    for c in sorted
        .as_slice()
        .iter()
        .filter(|c| !is_real(c) && c.im > 0.0)
    {
        out.push(*c);
    }
    for c in sorted.as_slice().iter().filter(|c| is_real(c)) {
        out.push(Complex64::new(c.re, 0.0));
    }
    out
}

/// Index of the first root minimising `key`, among those passing `filter`. One copy for
/// every caller (`dyn`, not inlined): 0.9 KiB less firmware flash than one per closure pair.
#[inline(never)]
fn argmin_by(
    r: &Roots,
    filter: &dyn Fn(&Complex64) -> bool,
    key: &dyn Fn(&Complex64) -> f64,
) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, c) in r.as_slice().iter().enumerate().filter(|(_, c)| filter(c)) {
        let k = key(c);
        if best.is_none_or(|(_, bk)| k < bk) {
            best = Some((i, k));
        }
    }
    best.map(|(i, _)| i)
}

fn is_real(c: &Complex64) -> bool {
    c.im == 0.0
}

/// Pole "closest to the unit circle" (scipy `idx_worst`, digital).
fn worst(p: &Roots, filter: &dyn Fn(&Complex64) -> bool) -> Option<usize> {
    argmin_by(p, filter, &|c| libm::fabs(1.0 - cabs(*c)))
}

/// Nearest root of `z` to `to` among those passing `filter` (scipy `_nearest_real_complex_idx`).
fn nearest(z: &Roots, to: Complex64, filter: &dyn Fn(&Complex64) -> bool) -> Option<usize> {
    argmin_by(z, filter, &|c| cabs(*c - to))
}

/// `poly([r1, r2])` real part: `[1, -(r1 + r2), r1 r2]` (`r2 = None` gives a first-order).
fn poly2(r1: Complex64, r2: Option<Complex64>) -> [f64; 3] {
    match r2 {
        Some(r2) => [1.0, -(r1 + r2).re, mul(r1, r2).re],
        None => [0.0, 1.0, -r1.re],
    }
}

/// scipy `zpk2sos(z, p, k, pairing='nearest')` for a digital filter, rounded to `f32`.
fn zpk2sos(zpk: Zpk) -> Result<Sos, DesignError> {
    let Zpk { mut z, mut p, k } = zpk;
    let origin = Complex64::new(0.0, 0.0);
    while p.n < z.n {
        p.push(origin);
    }
    while z.n < p.n {
        z.push(origin);
    }
    let n_sections = p.n.div_ceil(2);
    if p.n % 2 == 1 {
        p.push(origin);
        z.push(origin);
    }
    if n_sections > MAX_SECTIONS {
        return Err(DesignError::TooManySections);
    }
    let mut z = cplxreal(&z);
    let mut p = cplxreal(&p);
    let mut sos = [[0.0_f64; 6]; MAX_SECTIONS];
    // scipy would raise where the pairing finds no suitable root; a Butterworth design never
    // gets there, so report it as a design failure rather than panic.
    let fail = DesignError::Unstable;
    for si in (0..n_sections).rev() {
        let p1 = p.remove(worst(&p, &|_| true).ok_or(fail)?);
        let reals_p = p.as_slice().iter().filter(|c| is_real(c)).count();
        let reals_z = z.as_slice().iter().filter(|c| is_real(c)).count();
        let (zb, pa);
        if is_real(&p1) && reals_p == 0 {
            let z1 = z.remove(nearest(&z, p1, &is_real).ok_or(fail)?);
            zb = poly2(z1, Some(origin));
            pa = poly2(p1, Some(origin));
        } else if p.n + 1 == z.n && !is_real(&p1) && reals_p == 1 && reals_z == 1 {
            let z1 = z.remove(nearest(&z, p1, &|c| !is_real(c)).ok_or(fail)?);
            zb = poly2(z1, Some(z1.conj()));
            pa = poly2(p1, Some(p1.conj()));
        } else {
            let p2 = if is_real(&p1) {
                p.remove(worst(&p, &is_real).ok_or(fail)?)
            } else {
                p1.conj()
            };
            pa = poly2(p1, Some(p2));
            zb = if z.n > 0 {
                let z1 = z.remove(nearest(&z, p1, &|_| true).ok_or(fail)?);
                if !is_real(&z1) {
                    poly2(z1, Some(z1.conj()))
                } else if z.n > 0 {
                    let z2 = z.remove(nearest(&z, p1, &is_real).ok_or(fail)?);
                    poly2(z1, Some(z2))
                } else {
                    poly2(z1, None)
                }
            } else {
                [0.0, 0.0, 1.0]
            };
        }
        sos[si] = [zb[0], zb[1], zb[2], pa[0], pa[1], pa[2]];
    }
    for c in sos[0].iter_mut().take(3) {
        *c *= k;
    }
    let mut sections = [Biquad::IDENTITY; MAX_SECTIONS];
    for (dst, s) in sections.iter_mut().zip(&sos[..n_sections]) {
        // a0 is 1 by construction (monic polynomials)
        *dst = Biquad::new(
            [s[0] as f32, s[1] as f32, s[2] as f32],
            [s[4] as f32, s[5] as f32],
        );
    }
    Sos::new(&sections[..n_sections])
}
