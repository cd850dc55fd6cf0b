//! A local straight-line predictor ([`LinePredictor`]): the least-squares line through a
//! window of past samples, extrapolated to the newest one across a guard gap.
//!
//! A short event on a slowly bending background (a bubble crossing an optical beam on top of
//! the pump's ripple) stands out of the line fitted to the samples just before it far more
//! clearly than out of a slow running median: the line follows the ripple's level and slope,
//! and what remains is second order in the window's length. The guard gap keeps an event's
//! rising edge out of the fit that is supposed to predict it.
//!
//! The fit costs `O(1)` per sample: running sums of `y` and `age·y` over the window, updated
//! as the window slides. Running sums in floating point would carry rounding from their whole
//! history (and the `age·y` sum integrates the error of the `y` sum: it grows without bound),
//! so the samples are held in fixed point ([`SCALE`] steps per unit) and the sums are exact
//! integers: the prediction depends on the last `window + guard` samples alone, so two streams
//! that agree over that span predict the same values, bit for bit.

/// Fixed-point steps per unit of the input: 2⁻²⁴ resolution (below f32's own step at 1),
/// inputs clamped to ±[`LIMIT`].
pub const SCALE: f32 = 16_777_216.0;
/// Largest input magnitude kept (a relative change of transmission: ±64 is far past any).
pub const LIMIT: f32 = 64.0;

/// Error building a [`LinePredictor`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrendError {
    /// The window holds fewer than 2 samples, the guard none, or both together do not fit
    /// the ring.
    Span,
}

impl core::fmt::Display for TrendError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "line predictor: window must be at least 2 samples, guard at least 1, and both fit the ring"
        )
    }
}

#[cfg(feature = "std")]
impl std::error::Error for TrendError {}

/// A fitted line: `level` at the newest sample (age 0), changing by `slope` per sample.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Line {
    /// Value at age 0 (the newest sample pushed).
    pub level: f32,
    /// Change per sample, forward in time.
    pub slope: f32,
}

impl Line {
    /// The line's value `steps` samples after age 0 (negative: before).
    #[inline]
    pub fn at(&self, steps: f32) -> f32 {
        self.level + self.slope * steps
    }
}

/// Least-squares line through the samples of ages `guard ..= guard + window − 1` (age 0 the
/// newest), extrapolated to age 0; a ring of `N` samples.
///
/// With `t = −age`, the fit minimises `Σ (y − a − b·t)²` over the window and the prediction
/// is `a` (`numpy.polyfit(t, y, 1)` evaluated at `t = 0`): tested against numpy in
/// `tests/filters.rs`.
///
/// ```
/// use clotair::dsp::trend::LinePredictor;
///
/// // A ramp is predicted exactly, whatever the guard.
/// let mut p = LinePredictor::<16>::new(8, 3).unwrap();
/// for n in 0..20 {
///     p.push(0.5 + 0.25 * n as f32);
/// }
/// let line = p.fit();
/// assert!((line.level - (0.5 + 0.25 * 19.0)).abs() < 1e-5);
/// assert!((line.slope - 0.25).abs() < 1e-6);
/// ```
#[derive(Clone, Debug)]
pub struct LinePredictor<const N: usize> {
    ring: [i32; N],
    /// Index of the newest sample.
    head: usize,
    window: usize,
    guard: usize,
    /// Mean age of the window (`guard + (window − 1) / 2`).
    mid: f32,
    /// `Σ (age − mid)²` over the window.
    sxx: f32,
    /// `Σ y` over the window, in fixed point.
    sy: i64,
    /// `Σ age·y` over the window, in fixed point.
    say: i64,
}

impl<const N: usize> LinePredictor<N> {
    /// A predictor fitting `window` samples that end `guard` samples before the newest.
    ///
    /// # Errors
    /// [`TrendError::Span`] unless `window ≥ 2`, `guard ≥ 1` and `window + guard ≤ N`.
    pub fn new(window: usize, guard: usize) -> Result<Self, TrendError> {
        if window < 2 || guard < 1 || window + guard > N {
            return Err(TrendError::Span);
        }
        let w = window as f32;
        Ok(Self {
            ring: [0; N],
            head: 0,
            window,
            guard,
            mid: guard as f32 + 0.5 * (w - 1.0),
            sxx: w * (w * w - 1.0) / 12.0,
            sy: 0,
            say: 0,
        })
    }

    /// Samples fitted.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Samples between the newest and the window.
    pub fn guard(&self) -> usize {
        self.guard
    }

    #[inline]
    fn index(&self, age: usize) -> usize {
        (self.head + N - age % N) % N
    }

    #[inline]
    fn fixed(x: f32) -> i32 {
        // NaN maps to 0 (`as` saturates and sends NaN to 0). Compares, not `clamp`: that is
        // two calls (`fmaxf`, `fminf`) on the M4F.
        #[allow(clippy::manual_clamp)]
        let x = if x > LIMIT {
            LIMIT
        } else if x < -LIMIT {
            -LIMIT
        } else {
            x
        };
        (x * SCALE) as i32
    }

    /// Appends the newest sample.
    #[inline]
    pub fn push(&mut self, x: f32) {
        let (g, w) = (self.guard, self.window);
        // Every age grows by one; the sample of age `guard` enters the window, the one of
        // age `guard + window` leaves it.
        let enter = i64::from(self.ring[self.index(g - 1)]);
        let leave = i64::from(self.ring[self.index(g + w - 1)]);
        self.say += self.sy + g as i64 * enter - (g + w) as i64 * leave;
        self.sy += enter - leave;
        self.head = if self.head + 1 == N { 0 } else { self.head + 1 };
        self.ring[self.head] = Self::fixed(x);
    }

    /// Replaces the sample of age `age` (0 the newest; `age < N`).
    #[inline]
    pub fn set(&mut self, age: usize, x: f32) {
        let i = self.index(age);
        let v = Self::fixed(x);
        if (self.guard..self.guard + self.window).contains(&age) {
            let d = i64::from(v) - i64::from(self.ring[i]);
            self.sy += d;
            self.say += age as i64 * d;
        }
        self.ring[i] = v;
    }

    /// The least-squares line through the window, as seen from age 0.
    #[inline]
    pub fn fit(&self) -> Line {
        // 2·Σ (age − mid)·y, exact.
        let sxy2 = 2 * self.say - (2 * self.guard + self.window - 1) as i64 * self.sy;
        let mean = to_f32(self.sy) / (self.window as f32 * SCALE);
        // Slope per unit of age; time runs the other way.
        let per_age = to_f32(sxy2) / (2.0 * self.sxx * SCALE);
        Line {
            level: mean - per_age * self.mid,
            slope: -per_age,
        }
    }
}

/// `v as f32`: through `i32` when it fits, which is the same rounding (to nearest) in the
/// FPU's own conversion; a 64-bit conversion is a library call on 32-bit cores.
#[inline(always)]
fn to_f32(v: i64) -> f32 {
    match i32::try_from(v) {
        Ok(v) => v as f32,
        Err(_) => v as f32,
    }
}
