//! 95 % confidence intervals for the scores: how far a figure measured on a finite labelled
//! set can be from what the detector would reach on the population the set was drawn from.
//!
//! - Proportions (sensitivity, PPV, discrimination): the Wilson score interval (Wilson 1927),
//!   the one CLSI EP12 recommends for a diagnostic test's sensitivity. Unlike the normal
//!   approximation it stays inside 0–1 and keeps its coverage near 0 % and 100 %, where a
//!   PPV of 99.7 % sits.
//! - Counts (false alarms): the exact (Garwood 1936) Poisson interval. The bounds solve
//!   P(X ≥ x; μ_lo) = α/2 and P(X ≤ x; μ_hi) = α/2, which are chi-square quantiles
//!   (χ²(α/2; 2x)/2 and χ²(1 − α/2; 2x + 2)/2); here they are found by bisection on the
//!   Poisson distribution function, so no incomplete-gamma inverse is needed. A rate per hour
//!   is the count's interval over the hours.
//! - Quantiles (latency median and p95): the order statistics that bound them whatever the
//!   distribution ([`quantile_ranks`]).
//!
//! The reference is scipy (`binomtest(k, n).proportion_ci(method="wilson")`,
//! `scipy.stats.chi2.ppf` and `quantile_test(...).confidence_interval()`):
//! `tests/data/intervals_scipy.json`, written by `scripts/reference/gen_intervals.py`.

use serde::Serialize;

/// Confidence level of every interval here.
pub const LEVEL: f64 = 0.95;
/// The standard normal quantile at 1 − (1 − [`LEVEL`]) / 2.
const Z95: f64 = 1.959_963_984_540_054;

/// A two-sided interval, `[lo, hi]`. The default is [`Interval::NONE`], not `0–0`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Interval {
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
}

impl Default for Interval {
    fn default() -> Self {
        Interval::NONE
    }
}

impl Interval {
    /// No interval: the figure has no events behind it.
    pub const NONE: Interval = Interval {
        lo: f64::NAN,
        hi: f64::NAN,
    };

    /// Both bounds times `k` (a count's interval as a rate).
    pub fn scaled(self, k: f64) -> Interval {
        Interval {
            lo: self.lo * k,
            hi: self.hi * k,
        }
    }

    /// A proportion's interval as `lo–hi %`, or `n/a`.
    pub fn percent(&self) -> String {
        if self.lo.is_nan() {
            "n/a".into()
        } else {
            format!("{:.1}–{:.1} %", 100.0 * self.lo, 100.0 * self.hi)
        }
    }

    /// An interval of times in seconds as `lo–hi ms`; a side the data cannot bound is `?`,
    /// both `n/a`.
    pub fn millis(&self) -> String {
        let side = |x: f64| {
            if x.is_nan() {
                "?".to_string()
            } else {
                format!("{:.0}", 1e3 * x)
            }
        };
        if self.lo.is_nan() && self.hi.is_nan() {
            "n/a".into()
        } else {
            format!("{}–{} ms", side(self.lo), side(self.hi))
        }
    }

    /// A rate's interval as `lo–hi`, or `n/a`.
    pub fn rate(&self) -> String {
        if self.lo.is_nan() {
            "n/a".into()
        } else {
            format!("{:.2}–{:.2}", self.lo, self.hi)
        }
    }
}

/// The 95 % Wilson score interval of `k` successes in `n` trials; [`Interval::NONE`] when
/// `n` is 0 or `k > n`.
pub fn wilson(k: usize, n: usize) -> Interval {
    if n == 0 || k > n {
        return Interval::NONE;
    }
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    // At k = 0 or k = n the bound is exactly 0 or 1; rounding must not move it across.
    Interval {
        lo: if k == 0.0 {
            0.0
        } else {
            (centre - half).max(0.0)
        },
        hi: if k == n {
            1.0
        } else {
            (centre + half).min(1.0)
        },
    }
}

/// P(X ≤ x) for X ~ Poisson(μ), summed in log space so that large μ and x do not overflow.
fn poisson_cdf(x: u64, mu: f64) -> f64 {
    if mu <= 0.0 {
        return 1.0;
    }
    // Terms e^{−μ} μ^i / i!, each from the one before; log of the first.
    let mut log_term = -mu;
    let mut log_sum = log_term;
    for i in 1..=x {
        log_term += mu.ln() - (i as f64).ln();
        // log(e^a + e^b) without leaving the range of f64.
        let (hi, lo) = if log_term > log_sum {
            (log_term, log_sum)
        } else {
            (log_sum, log_term)
        };
        log_sum = hi + (lo - hi).exp().ln_1p();
    }
    log_sum.exp().min(1.0)
}

/// The μ at which `cdf(μ)` (decreasing in μ) equals `target`, by bisection to f64 precision.
fn solve_decreasing(cdf: impl Fn(f64) -> f64, target: f64, mut lo: f64, mut hi: f64) -> f64 {
    while cdf(hi) > target {
        lo = hi;
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if cdf(mid) > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The exact 95 % interval of a Poisson mean from one observed count `x`.
pub fn poisson_exact(x: u64) -> Interval {
    let alpha = 1.0 - LEVEL;
    let start = (x as f64).max(1.0) * 2.0 + 10.0;
    let hi = solve_decreasing(|mu| poisson_cdf(x, mu), alpha / 2.0, 0.0, start);
    let lo = if x == 0 {
        0.0
    } else {
        // P(X ≥ x; μ) = α/2  ⇔  P(X ≤ x − 1; μ) = 1 − α/2.
        solve_decreasing(|mu| poisson_cdf(x - 1, mu), 1.0 - alpha / 2.0, 0.0, start)
    };
    Interval { lo, hi }
}

/// The ranks (0-based, in the sorted sample) of the order statistics that bound the `p`-th
/// quantile of a sample of `n` with 95 % confidence, whatever the distribution (the binomial
/// method, e.g. Conover, *Practical nonparametric statistics*, 3.2; scipy's
/// `quantile_test(...).confidence_interval()`): the lower rank is the 2.5 % point of
/// Binomial(n, p) less one, the upper its upper 2.5 % point. `None` for a side the sample is
/// too small to bound (the interval reaches past its smallest or largest value).
pub fn quantile_ranks(n: usize, p: f64) -> (Option<usize>, Option<usize>) {
    if n == 0 || !(0.0 < p && p < 1.0) {
        return (None, None);
    }
    let tail = (1.0 - LEVEL) / 2.0;
    // P(X ≤ k) for k = 0..=n, X ~ Binomial(n, p), each term from the one before in log space.
    let (lp, lq) = (p.ln(), (1.0 - p).ln());
    let mut log_pmf = n as f64 * lq;
    let mut log_cdf = log_pmf;
    // Smallest k with P(X ≤ k) ≥ tail, and with P(X > k) ≤ tail.
    let (mut low, mut high) = (None, None);
    for k in 0..=n {
        if k > 0 {
            log_pmf += ((n - k + 1) as f64 / k as f64).ln() + lp - lq;
            let (hi, lo) = if log_pmf > log_cdf {
                (log_pmf, log_cdf)
            } else {
                (log_cdf, log_pmf)
            };
            log_cdf = hi + (lo - hi).exp().ln_1p();
        }
        let cdf = log_cdf.exp();
        if low.is_none() && cdf >= tail {
            low = Some(k);
        }
        if high.is_none() && 1.0 - cdf <= tail {
            high = Some(k);
            break;
        }
    }
    let low = low.and_then(|k| k.checked_sub(1));
    let high = high.filter(|&k| k < n);
    (low, high)
}

/// The 95 % interval of the `p`-th quantile from a sorted sample (see [`quantile_ranks`]); a
/// side the sample cannot bound is NaN.
pub fn quantile(sorted: &[f64], p: f64) -> Interval {
    let (lo, hi) = quantile_ranks(sorted.len(), p);
    Interval {
        lo: lo.map_or(f64::NAN, |i| sorted[i]),
        hi: hi.map_or(f64::NAN, |i| sorted[i]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_is_inside_zero_one_and_holds_the_estimate() {
        for n in [1usize, 2, 7, 50, 1000] {
            for k in 0..=n {
                let i = wilson(k, n);
                let p = k as f64 / n as f64;
                assert!(
                    0.0 <= i.lo && i.lo <= p && p <= i.hi && i.hi <= 1.0,
                    "{k}/{n}: {i:?}"
                );
            }
        }
        assert!(wilson(0, 0).lo.is_nan());
        assert!(wilson(3, 2).hi.is_nan());
    }

    #[test]
    fn poisson_cdf_matches_its_closed_forms() {
        // P(X ≤ 0) = e^{−μ}; P(X ≤ 1) = e^{−μ}(1 + μ).
        for mu in [0.1, 1.0, 3.5, 40.0] {
            assert!((poisson_cdf(0, mu) - (-mu).exp()).abs() < 1e-15);
            assert!((poisson_cdf(1, mu) - (-mu).exp() * (1.0 + mu)).abs() < 1e-14);
        }
        // Far in the tail and at a large count it neither overflows nor leaves 0–1.
        let c = poisson_cdf(2000, 2000.0);
        assert!(c > 0.5 && c < 0.51, "{c}");
    }
}
