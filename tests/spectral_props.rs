//! Property tests of the spectral and background primitives: chunking invariance, tone
//! placement, the sliding quantile against sorting, and constructors that never panic.
#![cfg(feature = "std")]

use clotair::dsp::background::{BackgroundError, ExpMeanVar, SlidingQuantile};
use clotair::dsp::fft::{Complex32, MicroFft};
use clotair::dsp::stft::{Stft, StftError};
use clotair::dsp::window::Window;
use clotair::dsp::{div_u64, is_multiple, max};
use proptest::prelude::*;

fn any_window() -> impl Strategy<Value = Window> {
    prop_oneof![
        Just(Window::Hann),
        Just(Window::Hamming),
        Just(Window::Blackman)
    ]
}

fn sample() -> impl Strategy<Value = Complex32> {
    (-10.0f32..10.0, -10.0f32..10.0).prop_map(|(re, im)| Complex32::new(re, im))
}

/// Cuts `x` into consecutive chunks of the given lengths (cycled), the last one shorter.
fn chunks<'a, T>(mut x: &'a [T], lens: &[usize]) -> Vec<&'a [T]> {
    let mut out = Vec::new();
    for &len in lens.iter().cycle() {
        if x.is_empty() {
            break;
        }
        let (head, tail) = x.split_at(len.min(x.len()));
        out.push(head);
        x = tail;
    }
    out
}

/// Index of the largest-magnitude bin.
fn peak(spectrum: &[Complex32]) -> usize {
    (0..spectrum.len())
        .max_by(|&a, &b| spectrum[a].norm().total_cmp(&spectrum[b].norm()))
        .unwrap()
}

/// numpy's linear quantile of a sorted slice, in the same f32 arithmetic as the crate.
fn sorted_quantile(sorted: &[f32], q: f32) -> f32 {
    if sorted.is_empty() {
        return f32::NAN;
    }
    let last = sorted.len() - 1;
    let h = last as f64 * q as f64;
    let lo = (h.floor() as usize).min(last);
    let hi = (lo + 1).min(last);
    let t = (h - lo as f64) as f32;
    let (a, b) = (sorted[lo], sorted[hi]);
    if t == 0.0 {
        a
    } else if t >= 0.5 {
        b - (b - a) * (1.0 - t)
    } else {
        a + (b - a) * t
    }
}

fn check_quantile_vs_sort<const N: usize>(stream: &[f32], qs: &[f32]) -> Result<(), TestCaseError> {
    let mut sq = SlidingQuantile::<N>::new();
    let mut finite: Vec<f32> = Vec::new();
    for &x in stream {
        sq.push(x);
        if !x.is_nan() {
            finite.push(x);
        }
        let mut window = finite[finite.len().saturating_sub(N)..].to_vec();
        window.sort_by(f32::total_cmp);
        prop_assert_eq!(sq.len(), window.len());
        prop_assert_eq!(sq.is_full(), window.len() == N);
        prop_assert_eq!(sq.is_empty(), window.is_empty());
        // The given quantiles, and a grid that reaches most order statistics of these
        // windows, so that a value out of place in the sorted copy shows.
        let grid = (0..=32).map(|k| k as f32 / 32.0);
        for q in qs.iter().copied().chain(grid) {
            let (got, want) = (sq.quantile(q), sorted_quantile(&window, q));
            prop_assert!(
                got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                "q={} got {} want {} window {:?}",
                q,
                got,
                want,
                window
            );
        }
    }
    Ok(())
}

/// Stream values: mostly normal numbers, with ties, signed zeros, infinities and NaN.
fn quantile_value() -> impl Strategy<Value = f32> {
    prop_oneof![
        8 => -100.0f32..100.0,
        2 => (-3i32..3).prop_map(|i| i as f32),
        1 => Just(-0.0f32),
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        1 => Just(f32::NEG_INFINITY),
    ]
}

proptest! {
    #[test]
    fn stft_block_equals_per_sample_for_any_chunking(
        window in any_window(),
        hop in 1usize..=64,
        x in prop::collection::vec(sample(), 0..400),
        lens in prop::collection::vec(1usize..150, 1..8),
        restart_at in 0usize..400,
    ) {
        let mut one = Stft::<64>::new(window, hop).unwrap();
        let mut per_sample = Vec::new();
        for &s in &x {
            if let Some(f) = one.push(s) {
                per_sample.push(*f);
            }
        }
        let mut blocked_stft = Stft::with_backend(window, hop, MicroFft::<64>::new()).unwrap();
        // Garbage before a reset must not leak into later frames.
        blocked_stft.block(&x[..restart_at.min(x.len())], |_| {});
        blocked_stft.reset();
        let mut blocked = Vec::new();
        for chunk in chunks(&x, &lens) {
            blocked_stft.block(chunk, |f| blocked.push(*f));
        }
        let expected_frames = if x.len() >= 64 { (x.len() - 64) / hop + 1 } else { 0 };
        prop_assert_eq!(per_sample.len(), expected_frames);
        prop_assert_eq!(blocked.len(), expected_frames);
        // Different backends: equal to FFT round-off, relative to the frame's size.
        for (a, b) in per_sample.iter().zip(&blocked) {
            let norm: f32 = a.iter().map(|c| c.norm_sqr()).sum::<f32>().sqrt();
            for (u, v) in a.iter().zip(b) {
                prop_assert!((u - v).norm() <= 1e-6 * norm.max(1e-30));
            }
        }
    }

    #[test]
    fn stft_block_real_equals_push_real_bitwise(
        window in any_window(),
        hop in 1usize..=128,
        x in prop::collection::vec(-10.0f32..10.0, 0..500),
        lens in prop::collection::vec(1usize..200, 1..8),
    ) {
        let mut a = Stft::<128>::new(window, hop).unwrap();
        let mut b = a.clone();
        let mut per_sample = Vec::new();
        for &s in &x {
            if let Some(f) = a.push_real(s) {
                per_sample.push(*f);
            }
        }
        let mut blocked = Vec::new();
        for chunk in chunks(&x, &lens) {
            b.block_real(chunk, |f| blocked.push(*f));
        }
        prop_assert_eq!(per_sample, blocked);
    }

    #[test]
    fn complex_tone_peaks_at_its_bin(
        bin in 0usize..64,
        amplitude in 0.01f32..100.0,
        phase in 0.0f32..6.3,
        hop in 1usize..=64,
        window in any_window(),
    ) {
        let mut stft = Stft::<64>::new(window, hop).unwrap();
        let mut frames = 0;
        for n in 0..200usize {
            // Reduce the phase index mod N so the argument stays small and exact.
            let arg = 2.0 * std::f32::consts::PI * ((bin * n) % 64) as f32 / 64.0 + phase;
            if let Some(spectrum) = stft.push(Complex32::from_polar(amplitude, arg)) {
                // Bins 32..64 are the negative frequencies bin − 64.
                prop_assert_eq!(peak(spectrum), bin);
                frames += 1;
            }
        }
        prop_assert_eq!(frames, (200 - 64) / hop + 1);
    }

    #[test]
    fn real_tone_peaks_at_plus_and_minus_its_bin(
        // At least 3 bins from DC and Nyquist, where the ± images' main lobes (Blackman: ±2
        // bins) would overlap and beat.
        bin in 3usize..=61,
        amplitude in 0.01f32..100.0,
        phase in 0.0f32..6.3,
        window in any_window(),
    ) {
        let mut stft = Stft::<128>::new(window, 32).unwrap();
        for n in 0..300usize {
            let arg = 2.0 * std::f32::consts::PI * ((bin * n) % 128) as f32 / 128.0 + phase;
            if let Some(spectrum) = stft.push_real(amplitude * arg.cos()) {
                let mut order: Vec<usize> = (0..128).collect();
                order.sort_by(|&a, &b| spectrum[b].norm().total_cmp(&spectrum[a].norm()));
                let mut top2 = [order[0], order[1]];
                top2.sort();
                prop_assert_eq!(top2, [bin, 128 - bin]);
                // Real input: bin N − k is the conjugate of bin k.
                let (p, m) = (spectrum[bin], spectrum[128 - bin]);
                prop_assert!((p - m.conj()).norm() <= 1e-5 * p.norm());
            }
        }
    }

    #[test]
    fn sliding_quantile_equals_sorting_last_n(
        stream in prop::collection::vec(quantile_value(), 0..120),
        qs in prop::collection::vec(0.0f32..=1.0, 1..5),
    ) {
        check_quantile_vs_sort::<1>(&stream, &qs)?;
        check_quantile_vs_sort::<2>(&stream, &qs)?;
        check_quantile_vs_sort::<7>(&stream, &qs)?;
        check_quantile_vs_sort::<32>(&stream, &qs)?;
    }

    #[test]
    fn stft_hop_errors_never_panic(hop in any::<usize>(), window in any_window()) {
        let r64 = Stft::<64>::new(window, hop);
        prop_assert_eq!(r64.is_ok(), (1..=64).contains(&hop));
        if let Err(e) = r64 {
            prop_assert_eq!(e, StftError::Hop);
        }
        let r1024 = Stft::with_backend(window, hop, MicroFft::<1024>::new());
        prop_assert_eq!(r1024.is_ok(), (1..=1024).contains(&hop));
        // A bad frame size is reported whatever the hop.
        prop_assert_eq!(
            Stft::<96>::new(window, hop).unwrap_err(),
            StftError::FrameSize
        );
    }

    #[test]
    fn background_errors_never_panic(
        a in any::<f32>(),
        b in any::<f32>(),
    ) {
        let tc = ExpMeanVar::from_time_constant(a, b);
        let tau_ok = a.is_finite() && a > 0.0;
        let rate_ok = b.is_finite() && b > 0.0;
        match tc {
            Ok(e) => {
                prop_assert!(tau_ok && rate_ok);
                prop_assert!(e.alpha() > 0.0 && e.alpha() <= 1.0);
            }
            Err(BackgroundError::TimeConstant) => prop_assert!(!tau_ok || rate_ok),
            Err(BackgroundError::Rate) => prop_assert!(tau_ok && !rate_ok),
            Err(BackgroundError::Alpha) => prop_assert!(false, "alpha error from a time constant"),
        }
        let fa = ExpMeanVar::from_alpha(a);
        prop_assert_eq!(fa.is_ok(), a > 0.0 && a <= 1.0);
        if let Err(e) = fa {
            prop_assert_eq!(e, BackgroundError::Alpha);
        }
    }

    #[test]
    fn ew_variance_is_never_negative_and_mean_stays_in_range(
        alpha in 1e-4f32..=1.0,
        x in prop::collection::vec(-1e6f32..1e6, 1..300),
    ) {
        let ewm = ExpMeanVar::from_alpha(alpha).unwrap();
        let mut st = Default::default();
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        for &v in &x {
            ewm.update(&mut st, v);
            lo = lo.min(v);
            hi = hi.max(v);
            prop_assert!(st.variance() >= 0.0);
            // A convex combination of the inputs, up to rounding.
            let slack = 1e-5 * (hi - lo).max(lo.abs()).max(hi.abs());
            prop_assert!(st.mean() >= lo - slack && st.mean() <= hi + slack);
        }
        prop_assert_eq!(st.count() as usize, x.len());
    }

    /// The M4F's stand-ins for `f32::max`, 64-bit division and remainder give what they
    /// stand in for, NaN included, across the 32-bit boundary.
    #[test]
    fn fast_max_and_division_equal_the_core_ones(
        a in prop_oneof![4 => any::<f32>(), 1 => Just(f32::NAN), 1 => Just(0.0f32)],
        b in prop_oneof![4 => any::<f32>(), 1 => Just(f32::NAN), 1 => Just(0.0f32)],
        n in prop_oneof![any::<u64>(), 0u64..(1 << 33), Just(u64::from(u32::MAX))],
        d in prop_oneof![1u64..1000, 1u64..(1 << 33), Just(u64::from(u32::MAX) + 1)],
    ) {
        let (got, want) = (max(a, b), a.max(b));
        // Equal operands of different sign (+0, −0) may give either.
        prop_assert!(
            got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()) || got == want,
            "max({a}, {b}) = {got}, f32::max {want}"
        );
        prop_assert_eq!(div_u64(n, d), n / d);
        prop_assert_eq!(is_multiple(n, d), n % d == 0);
    }
}
