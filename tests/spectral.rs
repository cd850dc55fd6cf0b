//! The spectral and background primitives against outside references: scipy/numpy vectors
//! (`scripts/reference/gen_spectral.py`, committed under `tests/data/`) and a naive `f64` DFT.
//!
//! Each test prints its measured worst error (`cargo test --test spectral -- --nocapture`).
#![cfg(feature = "std")]

use approx::assert_abs_diff_eq;
use clotair::dsp::background::{BackgroundError, ExpMeanVar, ExpMeanVarState, SlidingQuantile};
use clotair::dsp::fft::{Complex32, FftBackend, FftError, MicroFft, RustFft};
use clotair::dsp::stft::{Stft, StftError};
use clotair::dsp::window::Window;
use serde_json::Value;

/// Window tables are computed in f64 and rounded once to f32: within half an f32 ulp of 1.0
/// (3e-8) of scipy's f64 values, plus the 12-digit rounding of the JSON.
const WINDOW_ABS_TOL: f64 = 6e-8;

/// f32 FFT round-off grows like ε·√(log₂N) in RMS (ε = 6e-8); the worst bin measures ~3e-8
/// of the spectrum's L2 norm for N ≤ 1024 on both backends. Bound with ~7x margin.
const FFT_REL_TOL: f64 = 2e-7;

/// STFT frame vs scipy, worst bin relative to the frame's L2 norm (√ energy): the window
/// multiply adds one rounding to the FFT's; the reference is rounded to 8 digits (5e-9).
/// Measures ~6e-8; bound with ~5x margin.
const STFT_REL_TOL: f64 = 3e-7;

/// Sliding quantile vs numpy (given the same f32 q): the order statistics are the exact f32
/// inputs and the position `(len−1)·q` is exact; only the fraction and the lerp round in f32,
/// a couple of ulps of the values (measures ~1e-7 of max(1, |value|)).
const QUANTILE_REL_TOL: f64 = 1e-6;

/// EW mean vs f64 lfilter: per-sample f32 rounding of `mean += α·d` is forgotten at rate α,
/// so the error is a few ulps of the signal scale (the offset case has mean 100 → ulp 8e-6).
const EWM_MEAN_REL_TOL: f64 = 2e-6;

/// EW variance vs f64 lfilter, relative to the reference variance: `d` is computed from the
/// f32 mean, so an error δ in the mean shows as ~2δ/σ in the variance; with mean 100 and
/// σ = 0.2 that is ~1e-4 at worst.
const EWM_VAR_REL_TOL: f64 = 5e-4;

/// `alpha` from a time constant vs f64 `-expm1(-1/(τ·f))`: one f32 rounding.
const ALPHA_REL_TOL: f64 = 1e-7;

fn load(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A JSON number, or one of the strings "nan", "inf", "-inf".
fn num(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap(),
        Value::String(s) => match s.as_str() {
            "nan" => f64::NAN,
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            other => panic!("not a number: {other}"),
        },
        other => panic!("not a number: {other}"),
    }
}

fn nums(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(num).collect()
}

fn window_named(name: &str) -> Window {
    match name {
        "hann" => Window::Hann,
        "hamming" => Window::Hamming,
        "blackman" => Window::Blackman,
        other => panic!("unknown window {other}"),
    }
}

#[test]
fn windows_match_scipy() {
    let data = load("spectral_windows.json");
    let mut worst = 0.0f64;
    for case in data["cases"].as_array().unwrap() {
        let window = window_named(case["window"].as_str().unwrap());
        let expected = nums(&case["values"]);
        let mut table = vec![0.0f32; case["len"].as_u64().unwrap() as usize];
        window.fill(&mut table);
        assert_eq!(table.len(), expected.len());
        for (n, (&got, &want)) in table.iter().zip(&expected).enumerate() {
            assert_eq!(got, window.value(n, table.len()));
            assert_abs_diff_eq!(got as f64, want, epsilon = WINDOW_ABS_TOL);
            worst = worst.max((got as f64 - want).abs());
        }
    }
    eprintln!("windows vs scipy: max abs error {worst:.3e} (tol {WINDOW_ABS_TOL:e})");
}

/// Worst bin error relative to the reference's L2 norm.
fn rel_err(got: &[Complex32], re: &[f64], im: &[f64]) -> f64 {
    let norm = re
        .iter()
        .zip(im)
        .map(|(a, b)| a * a + b * b)
        .sum::<f64>()
        .sqrt();
    let worst = got
        .iter()
        .zip(re.iter().zip(im))
        .map(|(g, (a, b))| ((g.re as f64 - a).powi(2) + (g.im as f64 - b).powi(2)).sqrt())
        .fold(0.0, f64::max);
    worst / norm
}

/// Runs one scipy STFT case through `stft` per sample and as one block; returns the worst
/// relative error over all frames.
fn stft_case<const N: usize, F: FftBackend<N>>(mut stft: Stft<N, F>, case: &Value) -> f64 {
    let x: Vec<Complex32> = if case["kind"] == "real" {
        nums(&case["x"])
            .iter()
            .map(|&r| Complex32::new(r as f32, 0.0))
            .collect()
    } else {
        nums(&case["x_re"])
            .iter()
            .zip(nums(&case["x_im"]))
            .map(|(&r, i)| Complex32::new(r as f32, i as f32))
            .collect()
    };
    let real = case["kind"] == "real";
    let frames_re = case["frames_re"].as_array().unwrap();
    let frames_im = case["frames_im"].as_array().unwrap();

    let mut per_sample = Vec::new();
    for &s in &x {
        let out = if real {
            stft.push_real(s.re)
        } else {
            stft.push(s)
        };
        if let Some(spectrum) = out {
            per_sample.push(*spectrum);
        }
    }
    stft.reset();
    let mut blocked = Vec::new();
    if real {
        let xr: Vec<f32> = x.iter().map(|s| s.re).collect();
        stft.block_real(&xr, |s| blocked.push(*s));
    } else {
        stft.block(&x, |s| blocked.push(*s));
    }
    assert_eq!(per_sample.len(), frames_re.len(), "frame count, N={N}");
    assert_eq!(per_sample, blocked, "block vs per-sample, N={N}");

    let mut worst = 0.0f64;
    for (k, got) in per_sample.iter().enumerate() {
        let err = rel_err(got, &nums(&frames_re[k]), &nums(&frames_im[k]));
        assert!(
            err <= STFT_REL_TOL,
            "N={N} hop={} frame {k}: {err:e}",
            case["hop"]
        );
        worst = worst.max(err);
    }
    worst
}

fn stft_case_both_backends<const N: usize>(case: &Value) -> (f64, f64) {
    let window = window_named(case["window"].as_str().unwrap());
    let hop = case["hop"].as_u64().unwrap() as usize;
    let rust = stft_case(Stft::<N>::new(window, hop).unwrap(), case);
    let micro = stft_case(
        Stft::with_backend(window, hop, MicroFft::<N>::new()).unwrap(),
        case,
    );
    (rust, micro)
}

#[test]
fn stft_matches_scipy() {
    let data = load("stft_scipy.json");
    let (mut worst_rust, mut worst_micro) = (0.0f64, 0.0f64);
    for case in data["cases"].as_array().unwrap() {
        let (r, m) = match case["n"].as_u64().unwrap() {
            64 => stft_case_both_backends::<64>(case),
            128 => stft_case_both_backends::<128>(case),
            256 => stft_case_both_backends::<256>(case),
            512 => stft_case_both_backends::<512>(case),
            1024 => stft_case_both_backends::<1024>(case),
            n => panic!("unexpected N {n}"),
        };
        worst_rust = worst_rust.max(r);
        worst_micro = worst_micro.max(m);
    }
    eprintln!(
        "STFT vs scipy (worst bin / frame L2 norm): RustFft {worst_rust:.3e}, MicroFft {worst_micro:.3e} (tol {STFT_REL_TOL:e})"
    );
}

/// SplitMix64: a seeded generator with no dependency, for reproducible test data.
struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    fn uniform(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

fn naive_dft(x: &[Complex32]) -> (Vec<f64>, Vec<f64>) {
    let n = x.len();
    let (mut re, mut im) = (vec![0.0; n], vec![0.0; n]);
    for k in 0..n {
        for (j, s) in x.iter().enumerate() {
            // Reduce k·j mod N first so the angle stays exact for large products.
            let angle = -2.0 * std::f64::consts::PI * ((k * j) % n) as f64 / n as f64;
            let (sin, cos) = angle.sin_cos();
            re[k] += s.re as f64 * cos - s.im as f64 * sin;
            im[k] += s.re as f64 * sin + s.im as f64 * cos;
        }
    }
    (re, im)
}

/// Returns the worst relative errors (RustFft vs DFT, MicroFft vs DFT, RustFft vs MicroFft).
fn fft_case<const N: usize>(seed: u64) -> (f64, f64, f64) {
    let mut rng = SplitMix(seed);
    let mut x = [Complex32::new(0.0, 0.0); N];
    for s in x.iter_mut() {
        *s = Complex32::new(rng.uniform(), rng.uniform());
    }
    let (re, im) = naive_dft(&x);
    let mut a = x;
    RustFft::<N>::new().forward(&mut a);
    let mut b = x;
    MicroFft::<N>::new().forward(&mut b);
    let (ra, rb) = (rel_err(&a, &re, &im), rel_err(&b, &re, &im));
    let a_re: Vec<f64> = a.iter().map(|c| c.re as f64).collect();
    let a_im: Vec<f64> = a.iter().map(|c| c.im as f64).collect();
    let rab = rel_err(&b, &a_re, &a_im);
    for (name, err) in [
        ("RustFft", ra),
        ("MicroFft", rb),
        ("RustFft vs MicroFft", rab),
    ] {
        assert!(err <= FFT_REL_TOL, "N={N} seed={seed} {name}: {err:e}");
    }
    (ra, rb, rab)
}

#[test]
fn fft_backends_match_naive_dft_and_each_other() {
    let mut worst = (0.0f64, 0.0f64, 0.0f64);
    for seed in 1..=3 {
        for errs in [
            fft_case::<64>(seed),
            fft_case::<128>(seed),
            fft_case::<256>(seed),
            fft_case::<512>(seed),
            fft_case::<1024>(seed),
        ] {
            worst = (
                worst.0.max(errs.0),
                worst.1.max(errs.1),
                worst.2.max(errs.2),
            );
        }
    }
    eprintln!(
        "FFT (worst bin / spectrum L2 norm): RustFft vs DFT {:.3e}, MicroFft vs DFT {:.3e}, RustFft vs MicroFft {:.3e} (tol {FFT_REL_TOL:e})",
        worst.0, worst.1, worst.2
    );
}

#[test]
fn fft_follows_numpy_sign_and_order() {
    // A unit impulse at n = 1 transforms to e^{-2πik/N}: bin 1 is e^{-2πi/N} (negative
    // imaginary part) under numpy's convention.
    let mut x = [Complex32::new(0.0, 0.0); 64];
    x[1] = Complex32::new(1.0, 0.0);
    let mut y = x;
    MicroFft::<64>::new().forward(&mut x);
    RustFft::<64>::new().forward(&mut y);
    for spectrum in [x, y] {
        let expected = (-2.0 * std::f32::consts::PI / 64.0).sin();
        assert_abs_diff_eq!(spectrum[1].im, expected, epsilon = 1e-6);
        assert_abs_diff_eq!(spectrum[0].re, 1.0, epsilon = 1e-6);
    }
}

fn quantile_case<const N: usize>(case: &Value, qs: &[f64]) -> f64 {
    assert_eq!(case["capacity"].as_u64().unwrap() as usize, N);
    let x = nums(&case["x"]);
    let mut sq = SlidingQuantile::<N>::new();
    let mut reports = case["reports"].as_array().unwrap().iter().peekable();
    let mut worst = 0.0f64;
    for (i, &v) in x.iter().enumerate() {
        sq.push(v as f32);
        let Some(report) = reports.next_if(|r| r["after"].as_u64().unwrap() as usize == i + 1)
        else {
            continue;
        };
        assert_eq!(sq.len(), report["len"].as_u64().unwrap() as usize);
        assert_eq!(sq.is_full(), sq.len() == N);
        for (&q, want) in qs.iter().zip(nums(&report["q"])) {
            let got = sq.quantile(q as f32) as f64;
            // The span of the values bounds the interpolation's scale.
            let scale = 1.0f64.max(want.abs());
            let err = (got - want).abs() / scale;
            assert!(
                err <= QUANTILE_REL_TOL,
                "N={N} after {} q={q}: {got} vs {want}",
                i + 1
            );
            worst = worst.max(err);
        }
        assert_eq!(sq.median(), sq.quantile(0.5));
    }
    assert!(reports.next().is_none(), "all reports checked");
    sq.reset();
    assert!(sq.is_empty() && sq.quantile(0.5).is_nan());
    worst
}

#[test]
fn sliding_quantiles_match_numpy() {
    let data = load("quantile_numpy.json");
    let qs = nums(&data["qs"]);
    let mut worst = 0.0f64;
    for case in data["cases"].as_array().unwrap() {
        let err = match case["capacity"].as_u64().unwrap() {
            1 => quantile_case::<1>(case, &qs),
            5 => quantile_case::<5>(case, &qs),
            16 => quantile_case::<16>(case, &qs),
            100 => quantile_case::<100>(case, &qs),
            1024 => quantile_case::<1024>(case, &qs),
            n => panic!("unexpected capacity {n}"),
        };
        worst = worst.max(err);
    }
    eprintln!(
        "sliding quantile vs numpy: max error {worst:.3e} relative to max(1, |value|) (tol {QUANTILE_REL_TOL:e})"
    );
}

#[test]
fn ew_mean_var_matches_lfilter() {
    let data = load("spectral_ewm.json");
    let (mut worst_mean, mut worst_var, mut worst_alpha) = (0.0f64, 0.0f64, 0.0f64);
    for case in data["cases"].as_array().unwrap() {
        let cfg = &case["config"];
        let ewm = if cfg.get("alpha").is_some() {
            ExpMeanVar::from_alpha(num(&cfg["alpha"]) as f32).unwrap()
        } else {
            let ewm = ExpMeanVar::from_time_constant(
                num(&cfg["tau_s"]) as f32,
                num(&cfg["rate_hz"]) as f32,
            )
            .unwrap();
            let want = num(&cfg["alpha_expected"]);
            let err = (ewm.alpha() as f64 - want).abs() / want;
            assert!(err <= ALPHA_REL_TOL, "{}: alpha {err:e}", case["name"]);
            worst_alpha = worst_alpha.max(err);
            ewm
        };
        // The reference ran with the f32 alpha.
        assert_eq!(ewm.alpha() as f64, num(&case["alpha"]));

        let x = nums(&case["x"]);
        let at: Vec<usize> = case["at"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let (means, vars) = (nums(&case["mean"]), nums(&case["var"]));
        let counts = case["count"].as_array().unwrap();
        // Scale of the signal, for the mean's relative error.
        let scale = x
            .iter()
            .filter(|v| v.is_finite())
            .fold(1.0f64, |m, v| m.max(v.abs()));
        let mut st = ExpMeanVarState::default();
        let mut j = 0;
        for (i, &v) in x.iter().enumerate() {
            ewm.update(&mut st, v as f32);
            if j < at.len() && at[j] == i {
                assert_eq!(st.count() as u64, counts[j].as_u64().unwrap());
                let em = (st.mean() as f64 - means[j]).abs() / scale;
                assert!(
                    em <= EWM_MEAN_REL_TOL,
                    "{} mean at {i}: {em:e}",
                    case["name"]
                );
                // Variance relative to itself; a variance of exactly 0 must come out 0.
                let ev = (st.variance() as f64 - vars[j]).abs() / vars[j].max(f64::MIN_POSITIVE);
                assert!(
                    ev <= EWM_VAR_REL_TOL || (vars[j] == 0.0 && st.variance() == 0.0),
                    "{} var at {i}: {} vs {} ({ev:e})",
                    case["name"],
                    st.variance(),
                    vars[j]
                );
                if vars[j] > 0.0 {
                    worst_var = worst_var.max(ev);
                }
                assert_abs_diff_eq!(st.std_dev(), st.variance().sqrt());
                worst_mean = worst_mean.max(em);
                j += 1;
            }
        }
        assert_eq!(j, at.len(), "all reports checked");

        // block is per-sample update.
        let mut st_block = ExpMeanVarState::default();
        let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        ewm.block(&mut st_block, &xf);
        assert_eq!(st_block.mean(), st.mean());
        assert_eq!(st_block.variance(), st.variance());
        assert_eq!(st_block.count(), st.count());
    }
    eprintln!(
        "EW mean/var vs lfilter: mean {worst_mean:.3e} of signal scale (tol {EWM_MEAN_REL_TOL:e}), variance {worst_var:.3e} relative (tol {EWM_VAR_REL_TOL:e}), alpha {worst_alpha:.3e} (tol {ALPHA_REL_TOL:e})"
    );
}

#[test]
fn ew_first_sample_and_non_finite() {
    let ewm = ExpMeanVar::from_alpha(0.25).unwrap();
    let mut st = ExpMeanVarState::default();
    assert_eq!((st.mean(), st.variance(), st.count()), (0.0, 0.0, 0));
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        ewm.update(&mut st, bad);
    }
    assert_eq!(st.count(), 0);
    ewm.update(&mut st, 3.0);
    assert_eq!((st.mean(), st.variance(), st.count()), (3.0, 0.0, 1));
    ewm.update(&mut st, f32::NAN);
    assert_eq!((st.mean(), st.variance(), st.count()), (3.0, 0.0, 1));
    ewm.update(&mut st, 7.0);
    // d = 4: mean = 3 + 1 = 4, var = 0.75·(0 + 4·1) = 3.
    assert_eq!((st.mean(), st.variance(), st.count()), (4.0, 3.0, 2));
}

#[test]
fn constructors_name_the_bad_parameter() {
    assert_eq!(
        Stft::<100>::new(Window::Hann, 10).unwrap_err(),
        StftError::FrameSize
    );
    assert_eq!(
        Stft::<32>::new(Window::Hann, 10).unwrap_err(),
        StftError::FrameSize
    );
    assert_eq!(
        Stft::<2048>::new(Window::Hann, 10).unwrap_err(),
        StftError::FrameSize
    );
    assert_eq!(
        Stft::with_backend(Window::Hann, 10, MicroFft::<100>).unwrap_err(),
        StftError::FrameSize
    );
    assert_eq!(
        Stft::<64>::new(Window::Hann, 0).unwrap_err(),
        StftError::Hop
    );
    assert_eq!(
        Stft::<64>::new(Window::Hann, 65).unwrap_err(),
        StftError::Hop
    );
    assert!(Stft::<64>::new(Window::Hann, 64).is_ok());
    assert_eq!(RustFft::<100>::try_new().unwrap_err(), FftError::Size);
    assert_eq!(MicroFft::<2048>::try_new().unwrap_err(), FftError::Size);

    assert_eq!(
        ExpMeanVar::from_time_constant(0.0, 1000.0).unwrap_err(),
        BackgroundError::TimeConstant
    );
    assert_eq!(
        ExpMeanVar::from_time_constant(1.0, f32::NAN).unwrap_err(),
        BackgroundError::Rate
    );
    // 1e30 s at 1e30 Hz: alpha = 1e-60 underflows f32.
    assert_eq!(
        ExpMeanVar::from_time_constant(1e30, 1e30).unwrap_err(),
        BackgroundError::TimeConstant
    );
    assert_eq!(
        ExpMeanVar::from_alpha(1.5).unwrap_err(),
        BackgroundError::Alpha
    );
    assert_eq!(ExpMeanVar::from_alpha(1.0).unwrap().alpha(), 1.0);
    // Errors print and are std errors.
    let e: Box<dyn std::error::Error> = Box::new(StftError::Hop);
    assert!(e.to_string().contains("hop"));
    assert!(BackgroundError::Rate.to_string().contains("rate"));
}
