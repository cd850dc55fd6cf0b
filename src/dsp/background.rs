//! Running background estimates for adaptive thresholds: an exponentially weighted mean and
//! variance ([`ExpMeanVar`]) and a quantile over a sliding window ([`SlidingQuantile`]).
//!
//! A detector flags a sample (or a spectral feature) when it stands out of its background, e.g.
//! `x > mean + k·std_dev` or `x > quantile(0.99)`. The exponential estimate costs a few flops
//! per sample and forgets with a time constant; the sliding quantile costs `O(N)` per sample
//! and is robust to the outliers being detected (a bubble train does not drag a median up the
//! way it drags a mean up).

/// Error building a background estimator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackgroundError {
    /// The time constant is not finite and positive, or so long for the sample rate that the
    /// smoothing factor underflows `f32`.
    TimeConstant,
    /// The sample rate is not finite and positive.
    Rate,
    /// The smoothing factor is not in `(0, 1]`.
    Alpha,
}

impl core::fmt::Display for BackgroundError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            BackgroundError::TimeConstant => {
                write!(
                    f,
                    "time constant must be finite, positive and representable at the sample rate"
                )
            }
            BackgroundError::Rate => write!(f, "sample rate must be finite and positive"),
            BackgroundError::Alpha => write!(f, "smoothing factor alpha must be in (0, 1]"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for BackgroundError {}

/// Exponentially weighted mean and variance: the configuration (smoothing factor `alpha`).
///
/// One configuration drives any number of [`ExpMeanVarState`]s. Per finite sample `x`:
///
/// ```text
/// d     = x - mean
/// mean += alpha·d
/// var   = (1 - alpha)·(var + alpha·d²)
/// ```
///
/// which equals the variance of the exponentially weighted first and second moments,
/// `E[x²] − E[x]²` with both `E` the one-pole filter `y += alpha·(x − y)`, without its
/// cancellation. The first sample sets `mean = x`, `var = 0`. Non-finite samples (NaN, ±inf:
/// sensor dropouts) are ignored and not counted.
///
/// Accuracy: the state is `f32`. Against scipy's `lfilter` in `f64` (`tests/spectral.rs`) the
/// mean stays within 1e-6 of the signal's scale (alpha down to 0.002), and the variance within
/// 2e-4 relative even for a mean 500 standard deviations from zero, where `x − mean` loses
/// bits in `f32`. Subtract a known offset first if the variance must be finer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExpMeanVar {
    alpha: f32,
}

impl ExpMeanVar {
    /// A one-pole average with time constant `tau_s` seconds at `rate_hz` samples per second:
    /// `alpha = 1 − exp(−1 / (tau_s·rate_hz))`, so a step is followed to `1 − 1/e` after
    /// `tau_s`.
    ///
    /// Returns [`BackgroundError::TimeConstant`] unless `tau_s` is finite and positive (and the
    /// resulting `alpha` is non-zero in `f32`), [`BackgroundError::Rate`] unless `rate_hz` is
    /// finite and positive.
    pub fn from_time_constant(tau_s: f32, rate_hz: f32) -> Result<Self, BackgroundError> {
        if !(tau_s.is_finite() && tau_s > 0.0) {
            return Err(BackgroundError::TimeConstant);
        }
        if !(rate_hz.is_finite() && rate_hz > 0.0) {
            return Err(BackgroundError::Rate);
        }
        // f64 so that long time constants keep their digits (expm1 avoids 1 − (1 − ε)).
        let samples = tau_s as f64 * rate_hz as f64;
        let alpha = -libm::expm1(-1.0 / samples) as f32;
        if alpha > 0.0 {
            Ok(Self { alpha })
        } else {
            Err(BackgroundError::TimeConstant)
        }
    }

    /// A one-pole average with smoothing factor `alpha` (`1` follows the input exactly).
    ///
    /// Returns [`BackgroundError::Alpha`] unless `0 < alpha <= 1`.
    pub fn from_alpha(alpha: f32) -> Result<Self, BackgroundError> {
        if alpha > 0.0 && alpha <= 1.0 {
            Ok(Self { alpha })
        } else {
            Err(BackgroundError::Alpha)
        }
    }

    /// The smoothing factor.
    pub fn alpha(&self) -> f32 {
        self.alpha
    }

    /// Updates `st` with one sample; NaN and ±inf are ignored.
    #[inline]
    pub fn update(&self, st: &mut ExpMeanVarState, x: f32) {
        if !x.is_finite() {
            return;
        }
        if st.count == 0 {
            st.mean = x;
            st.var = 0.0;
        } else {
            let d = x - st.mean;
            let step = self.alpha * d;
            st.mean += step;
            st.var = (1.0 - self.alpha) * (st.var + d * step);
        }
        st.count = st.count.saturating_add(1);
    }

    /// Updates `st` with each sample of `x` in order; same as calling [`ExpMeanVar::update`]
    /// per sample.
    pub fn block(&self, st: &mut ExpMeanVarState, x: &[f32]) {
        for &s in x {
            self.update(st, s);
        }
    }
}

/// The state of an [`ExpMeanVar`]: mean, variance and number of samples seen.
///
/// `Default` is the empty state: mean and variance `0`, count `0`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExpMeanVarState {
    mean: f32,
    var: f32,
    count: u32,
}

impl ExpMeanVarState {
    /// The running mean (`0` before the first sample).
    pub fn mean(&self) -> f32 {
        self.mean
    }

    /// The running (biased, exponentially weighted) variance, never negative.
    pub fn variance(&self) -> f32 {
        self.var
    }

    /// The square root of [`ExpMeanVarState::variance`].
    pub fn std_dev(&self) -> f32 {
        libm::sqrtf(self.var)
    }

    /// Finite samples seen so far, saturating at `u32::MAX`.
    pub fn count(&self) -> u32 {
        self.count
    }
}

/// Quantiles of the last `N` finite-or-infinite values pushed (NaN is ignored), with no heap.
///
/// Keeps the values twice: in arrival order (a ring, to know which one leaves) and sorted.
/// A push is one binary search and two `memmove`s of at most `N` floats; a quantile is `O(1)`.
/// Meant for `N` up to about 1024. `N = 0` is allowed and always empty.
///
/// # Example
///
/// ```
/// use clotair::dsp::background::SlidingQuantile;
///
/// let mut q = SlidingQuantile::<4>::new();
/// for x in [5.0, 1.0, 4.0, 2.0, 3.0] {
///     q.push(x);
/// }
/// // The last four values are 1, 4, 2, 3.
/// assert!(q.is_full());
/// assert_eq!(q.median(), 2.5);
/// assert_eq!(q.quantile(0.0), 1.0);
/// assert_eq!(q.quantile(1.0), 4.0);
/// // Linear interpolation, as numpy.quantile: 1 + 0.25·(4 − 1) = position 0.75 → 1.75.
/// assert_eq!(q.quantile(0.25), 1.75);
/// ```
#[derive(Clone, Debug)]
pub struct SlidingQuantile<const N: usize> {
    /// Values in arrival order; once full, `next` is the oldest.
    ring: [f32; N],
    /// The first `len` entries are the window's values in `f32::total_cmp` order.
    sorted: [f32; N],
    next: usize,
    len: usize,
}

impl<const N: usize> Default for SlidingQuantile<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> SlidingQuantile<N> {
    /// An empty window of capacity `N`.
    pub const fn new() -> Self {
        Self {
            ring: [0.0; N],
            sorted: [0.0; N],
            next: 0,
            len: 0,
        }
    }

    /// Adds `x`, dropping the oldest value once `N` are held. NaN is ignored; ±inf are kept.
    pub fn push(&mut self, x: f32) {
        if x.is_nan() || N == 0 {
            return;
        }
        if self.len == N {
            // The oldest value leaves and `x` enters: only the values between the two places
            // move, by one (two `memmove`s of the tails moved about N values a push).
            let oldest = self.ring[self.next];
            // total_cmp: NaN is excluded, and -0.0/0.0 are told apart, so the exact value
            // that arrived is the one that leaves.
            let out = self
                .sorted
                .partition_point(|v| v.total_cmp(&oldest).is_lt());
            let at = self.sorted.partition_point(|v| v.total_cmp(&x).is_lt());
            if at <= out {
                // `x` goes before the leaving value: shift [at, out) up over it.
                self.sorted.copy_within(at..out, at + 1);
                self.sorted[at] = x;
            } else {
                // `x` goes after it: shift (out, at) down over it.
                self.sorted.copy_within(out + 1..at, out);
                self.sorted[at - 1] = x;
            }
        } else {
            let at = self.sorted[..self.len].partition_point(|v| v.total_cmp(&x).is_lt());
            self.sorted.copy_within(at..self.len, at + 1);
            self.sorted[at] = x;
            self.len += 1;
        }
        self.ring[self.next] = x;
        self.next += 1;
        if self.next == N {
            self.next = 0;
        }
    }

    /// Number of values held (at most `N`).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no value is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `N` values are held, so that each push drops one.
    pub fn is_full(&self) -> bool {
        self.len == N
    }

    /// The `q`-quantile of the values held, interpolating linearly between order statistics
    /// (numpy's default `method="linear"`): position `h = (len − 1)·q`, value
    /// `s[⌊h⌋] + (h − ⌊h⌋)·(s[⌊h⌋+1] − s[⌊h⌋])`. NaN when empty; NaN too when interpolating
    /// between `-inf` and `+inf`, as in numpy.
    ///
    /// # Panics
    ///
    /// If `q` is not in `[0, 1]` (including NaN).
    pub fn quantile(&self, q: f32) -> f32 {
        assert!((0.0..=1.0).contains(&q), "quantile {q} outside [0, 1]");
        if self.len == 0 {
            return f32::NAN;
        }
        let last = self.len - 1;
        // The position in f64 is exact (a ≤ 24-bit q times a small integer), so the fraction is
        // rounded once; in f32 the product alone would be off by up to 6e-5 at len 1024.
        let h = last as f64 * q as f64;
        let lo = (libm::floor(h) as usize).min(last);
        let hi = (lo + 1).min(last);
        let t = (h - lo as f64) as f32;
        let (a, b) = (self.sorted[lo], self.sorted[hi]);
        if t == 0.0 {
            // Exact order statistic; also avoids 0·inf when a neighbour is infinite.
            a
        } else if t >= 0.5 {
            // numpy's two-sided lerp: exact at both ends, monotone in t.
            b - (b - a) * (1.0 - t)
        } else {
            a + (b - a) * t
        }
    }

    /// The median, `quantile(0.5)`.
    pub fn median(&self) -> f32 {
        // The same value as `quantile(0.5)`, bit for bit, without its f64 position: at q = ½
        // the position (len − 1)/2 is exact in integers and the fraction is 0 or ½. This is
        // the per-sample call of the optical baseline, and the M4F has no f64 unit.
        if self.len == 0 {
            return f32::NAN;
        }
        let last = self.len - 1;
        let lo = last / 2;
        let a = self.sorted[lo];
        if last % 2 == 0 {
            a
        } else {
            let b = self.sorted[lo + 1];
            b - (b - a) * 0.5
        }
    }

    /// Forgets all values.
    pub fn reset(&mut self) {
        self.next = 0;
        self.len = 0;
    }
}
