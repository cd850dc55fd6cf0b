//! Filter primitives vs scipy.signal (vectors from `scripts/reference/gen_filters.py`, numpy
//! 2.1.3 / scipy 1.14.1), plus property tests: chunking invariance, I/Q = I and Q separately,
//! stability of every design, and parameter validation.
//!
//! Each test prints the largest error it measured (`cargo test --test filters -- --nocapture`).

use approx::assert_abs_diff_eq;
use clotair::dsp::biquad::{Biquad, Sos, SosState, SosStateIq, MAX_SECTIONS};
use clotair::dsp::butterworth::{butter, Band, DesignError};
use clotair::dsp::decimate::{Decimator, DecimatorState, DecimatorStateIq, MAX_FACTOR};
use clotair::dsp::smoother::{DcBlocker, DcBlockerState, OnePole};
use clotair::dsp::trend::{LinePredictor, TrendError};
use num_complex::Complex32;
use proptest::prelude::*;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Tolerances. f32 has a 2^-24 ≈ 6e-8 relative rounding step; every bound below is a small
// multiple of what that step can explain for the quantity compared, and each is well above the
// error measured (printed by the tests, listed in the comments).

/// Designed coefficients vs scipy's `butter(..., output='sos')`, each relative to the largest
/// magnitude in its numerator or denominator. Rounding to f32 alone gives up to 2^-24 ≈ 6e-8;
/// the f64 design (same algorithm, libm instead of numpy) adds ~1e-15. Measured 5.4e-8.
const COEF_TOL: f64 = 2.0e-7;

/// |H| of the designed f32 cascade vs scipy's f64 design, in the pass band and transition band
/// (scipy |H| ≥ 0.01), relative. Coefficient rounding moves poles by up to ~ε/(2 sin θ) for a
/// pole pair at angle θ, so narrow or near-DC designs are the worst. Measured 1.0e-3 (order 7
/// low-pass at 0.002 fs, at DC), about 1e-6 for cut-offs above 0.05 fs.
const MAG_REL_TOL: f64 = 5.0e-3;

/// |H| in the stop band (scipy |H| < 0.01), absolute: the f32 filter's floor may differ.
/// Measured 5.4e-6.
const MAG_STOP_ABS_TOL: f64 = 5.0e-5;

/// Same coefficients, Rust f32 DF2T vs scipy `sosfilt` in f64: error relative to the RMS of the
/// reference output. Rounding noise of f32 arithmetic amplified by the sections' noise gain,
/// largest for poles near z = 1. Measured 1.0e-4 (order 8 band-pass 0.004..0.02 fs), ≤ 3e-6 for
/// band edges above 0.01 fs; complex I/Q case 1.2e-6.
const SOSFILT_TOL: f64 = 1.0e-3;

/// Designed filter end to end (design rounded to f32 + f32 kernel) vs scipy design + sosfilt
/// in f64, relative to the RMS of the reference output. Measured 1.2e-4 (same worst case as
/// above: coefficient rounding and arithmetic rounding both grow near z = 1).
const DESIGNED_TOL: f64 = 1.0e-3;

/// One-pole and DC blocker vs `lfilter` in f64, relative to the RMS of the reference: one
/// rounding per operation, little accumulation for these time constants. Measured 9.0e-7.
const SMOOTHER_TOL: f64 = 1.0e-5;

/// Decimator output vs `sosfilt(butter(8, 0.8 fs / 2q), x)[::q]` in f64, relative to RMS.
/// Grows with the factor (cut-off 0.4/q of fs): measured 4e-7 at q = 2, 1.9e-5 at q = 16,
/// 1.3e-4 at q = 64 (= MAX_FACTOR).
const DECIMATE_TOL: f64 = 1.0e-3;

// ---------------------------------------------------------------------------------------------
// helpers

fn load(text: &str) -> Value {
    serde_json::from_str(text).expect("reference JSON parses")
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn f32s(v: &Value) -> Vec<f32> {
    f64s(v).into_iter().map(|x| x as f32).collect()
}

fn band_of(case: &Value) -> Band {
    let e = f32s(&case["edges_hz"]);
    match case["btype"].as_str().unwrap() {
        "lowpass" => Band::LowPass(e[0]),
        "highpass" => Band::HighPass(e[0]),
        "bandpass" => Band::BandPass(e[0], e[1]),
        "bandstop" => Band::BandStop(e[0], e[1]),
        other => panic!("unknown btype {other}"),
    }
}

fn design_of(case: &Value) -> Sos {
    let order = case["order"].as_u64().unwrap() as usize;
    let fs = case["fs_hz"].as_f64().unwrap() as f32;
    butter(order, band_of(case), fs).unwrap_or_else(|e| panic!("design failed: {e} for {case}"))
}

/// Rows `[b0, b1, b2, 1, a1, a2]` (scipy layout) as a cascade rounded to f32.
fn sos_of(rows: &Value) -> Sos {
    let sections: Vec<Biquad> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let r = f32s(r);
            assert_eq!(r[3], 1.0);
            Biquad::new([r[0], r[1], r[2]], [r[4], r[5]])
        })
        .collect();
    Sos::new(&sections).unwrap()
}

fn rms(x: &[f64]) -> f64 {
    (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64).sqrt()
}

/// Largest |y - reference| relative to the RMS of the reference.
fn rel_rms_err(y: &[f32], reference: &[f64]) -> f64 {
    assert_eq!(y.len(), reference.len());
    let scale = rms(reference).max(f64::MIN_POSITIVE);
    y.iter()
        .zip(reference)
        .map(|(&a, &b)| (f64::from(a) - b).abs() / scale)
        .fold(0.0, f64::max)
}

fn poles_inside(b: &Biquad) -> bool {
    // roots of z^2 + a1 z + a2, in f64
    let (a1, a2) = (f64::from(b.a[0]), f64::from(b.a[1]));
    let disc = a1 * a1 - 4.0 * a2;
    let max_abs = if disc >= 0.0 {
        let s = disc.sqrt();
        ((-a1 + s) / 2.0).abs().max(((-a1 - s) / 2.0).abs())
    } else {
        a2.sqrt() // |p|^2 = a2 for a conjugate pair
    };
    max_abs < 1.0
}

// ---------------------------------------------------------------------------------------------
// Butterworth design vs scipy

/// Largest coefficient error of section `s` vs scipy row `r`, each of b and a relative to its
/// largest magnitude (a's scale at least 1: a0 = 1).
fn section_err(s: &Biquad, r: &[f64]) -> f64 {
    let b_scale = r[..3].iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let a_scale = 1.0_f64.max(r[4].abs()).max(r[5].abs());
    let eb =
        s.b.iter()
            .zip(&r[..3])
            .map(|(&c, &v)| (f64::from(c) - v).abs() / b_scale);
    let ea =
        s.a.iter()
            .zip(&r[4..])
            .map(|(&c, &v)| (f64::from(c) - v).abs() / a_scale);
    eb.chain(ea).fold(0.0, f64::max)
}

#[test]
fn butter_coefficients_match_scipy() {
    let data = load(include_str!("data/filters_butter.json"));
    let (mut worst, mut reordered) = (0.0_f64, 0);
    let designs = data["designs"].as_array().unwrap();
    for d in designs {
        let sos = design_of(d);
        let rows: Vec<Vec<f64>> = d["sos"].as_array().unwrap().iter().map(f64s).collect();
        assert_eq!(sos.sections().len(), rows.len(), "section count for {d}");
        // Same pairing and order as scipy's zpk2sos, except where two pole pairs are equally
        // close to the unit circle in exact arithmetic (e.g. a band centred on fs/4): then the
        // last bits of f64 rounding pick the order, in scipy and here alike. Such sections must
        // match some other section of the same design.
        let mut used = vec![false; rows.len()];
        let mut permuted = false;
        for (i, s) in sos.sections().iter().enumerate() {
            let j = if section_err(s, &rows[i]) <= COEF_TOL && !used[i] {
                i
            } else {
                permuted = true;
                (0..rows.len())
                    .find(|&j| !used[j] && section_err(s, &rows[j]) <= COEF_TOL)
                    .unwrap_or_else(|| panic!("section {i} {s:?} matches no scipy section of {d}"))
            };
            used[j] = true;
            worst = worst.max(section_err(s, &rows[j]));
        }
        if permuted {
            // only designs with a genuine tie: band edges symmetric about fs/4
            let e = f64s(&d["edges_hz"]);
            let fs = d["fs_hz"].as_f64().unwrap();
            assert!(
                e.len() == 2 && (e[0] + e[1] - fs / 2.0).abs() < 1e-9 * fs,
                "order differs for {d}"
            );
            reordered += 1;
        }
    }
    eprintln!(
        "butter coefficients: max relative error {worst:.3e} (tolerance {COEF_TOL:.0e}); \
         {reordered} of {} designs with tied sections in another order",
        designs.len()
    );
}

#[test]
fn butter_response_matches_scipy() {
    let data = load(include_str!("data/filters_butter.json"));
    let (mut worst_pass, mut worst_stop) = (0.0_f64, 0.0_f64);
    let mut worst_case = String::new();
    for d in data["designs"].as_array().unwrap() {
        let sos = design_of(d);
        let fs = d["fs_hz"].as_f64().unwrap() as f32;
        for (f, m) in f32s(&d["freqs_hz"]).iter().zip(f64s(&d["mag"])) {
            let got = f64::from(sos.magnitude_at(*f, fs));
            if m >= 0.01 {
                let err = (got - m).abs() / m;
                if err > worst_pass {
                    worst_pass = err;
                    worst_case = format!(
                        "{} {} {:?} fs {} at {f} Hz",
                        d["order"], d["btype"], d["edges_hz"], fs
                    );
                }
                assert!(
                    err <= MAG_REL_TOL,
                    "|H| {got} vs {m} ({err:.2e}) at {f} Hz for {d}"
                );
            } else {
                let err = (got - m).abs();
                worst_stop = worst_stop.max(err);
                assert!(
                    err <= MAG_STOP_ABS_TOL,
                    "|H| {got} vs {m} at {f} Hz for {d}"
                );
            }
        }
    }
    eprintln!(
        "butter |H|: pass band max rel error {worst_pass:.3e} ({worst_case}), tolerance {MAG_REL_TOL:.0e}; \
         stop band max abs error {worst_stop:.3e}, tolerance {MAG_STOP_ABS_TOL:.0e}"
    );
}

// ---------------------------------------------------------------------------------------------
// cascade kernel vs sosfilt

#[test]
fn sosfilt_same_coefficients_matches_scipy() {
    let data = load(include_str!("data/filters_sosfilt.json"));
    let noise = f32s(&data["x_noise"]);
    let chirp = f32s(&data["x_chirp"]);
    let mut worst = 0.0_f64;
    for c in data["cases"].as_array().unwrap() {
        let sos = sos_of(&c["sos_f32"]);
        for (x, key) in [(&noise, "y_noise"), (&chirp, "y_chirp")] {
            let mut y = vec![0.0; x.len()];
            SosState::default().block(&sos, x, &mut y);
            let err = rel_rms_err(&y, &f64s(&c[key]));
            eprintln!(
                "  sosfilt {} {} {} fs {}: {key} {err:.3e}",
                c["order"], c["btype"], c["edges_hz"], c["fs_hz"]
            );
            worst = worst.max(err);
            assert!(err <= SOSFILT_TOL, "{key} error {err:.2e} for {c}");
        }
    }
    eprintln!(
        "sosfilt, same coefficients: max error / rms {worst:.3e} (tolerance {SOSFILT_TOL:.0e})"
    );
}

#[test]
fn designed_filter_output_matches_scipy() {
    let data = load(include_str!("data/filters_sosfilt.json"));
    let noise = f32s(&data["x_noise"]);
    let mut worst = 0.0_f64;
    for c in data["cases"].as_array().unwrap() {
        let sos = design_of(c);
        let mut y = noise.clone();
        SosState::default().inplace(&sos, &mut y);
        let err = rel_rms_err(&y, &f64s(&c["y_noise_designed"]));
        eprintln!(
            "  designed {} {} {} fs {}: {err:.3e}",
            c["order"], c["btype"], c["edges_hz"], c["fs_hz"]
        );
        worst = worst.max(err);
        assert!(err <= DESIGNED_TOL, "error {err:.2e} for {c}");
    }
    eprintln!("designed filter vs scipy design + sosfilt: max error / rms {worst:.3e} (tolerance {DESIGNED_TOL:.0e})");
}

#[test]
fn iq_sosfilt_matches_scipy_complex() {
    let data = load(include_str!("data/filters_sosfilt.json"));
    let iq = &data["iq"];
    let sos = sos_of(&iq["sos_f32"]);
    let x: Vec<Complex32> = f32s(&iq["x_re"])
        .into_iter()
        .zip(f32s(&iq["x_im"]))
        .map(|(r, i)| Complex32::new(r, i))
        .collect();
    let mut y = vec![Complex32::default(); x.len()];
    SosStateIq::default().block(&sos, &x, &mut y);
    let re: Vec<f32> = y.iter().map(|c| c.re).collect();
    let im: Vec<f32> = y.iter().map(|c| c.im).collect();
    let err = rel_rms_err(&re, &f64s(&iq["y_re"])).max(rel_rms_err(&im, &f64s(&iq["y_im"])));
    eprintln!(
        "I/Q sosfilt vs complex sosfilt: max error / rms {err:.3e} (tolerance {SOSFILT_TOL:.0e})"
    );
    assert!(err <= SOSFILT_TOL);
}

/// Line predictor vs `numpy.polyfit` in f64, relative to the signal's ripple (0.02): exact
/// fixed-point sums of samples quantised to 2⁻²⁴, then f32 arithmetic; the short windows
/// amplify the quantisation most. Measured 5.2e-6 (level, window 2), 2.6e-6 (slope).
const TREND_TOL: f64 = 2.0e-5;

// ---------------------------------------------------------------------------------------------
// local line predictor vs numpy.polyfit

#[test]
fn line_predictor_matches_polyfit() {
    let data = load(include_str!("data/filters_trend.json"));
    let y = f32s(&data["y"]);
    let (mut worst_level, mut worst_slope) = (0.0_f64, 0.0_f64);
    for c in data["cases"].as_array().unwrap() {
        let window = c["window"].as_u64().unwrap() as usize;
        let guard = c["guard"].as_u64().unwrap() as usize;
        let (levels, slopes) = (f64s(&c["level"]), f64s(&c["slope"]));
        let mut p = LinePredictor::<136>::new(window, guard).unwrap();
        let first = window + guard - 1;
        let mut case_worst = 0.0_f64;
        for (i, &x) in y.iter().enumerate() {
            p.push(x);
            if i >= first {
                let line = p.fit();
                let el = (f64::from(line.level) - levels[i - first]).abs() / 0.02;
                let es = (f64::from(line.slope) - slopes[i - first]).abs() / 0.02;
                worst_level = worst_level.max(el);
                case_worst = case_worst.max(el);
                worst_slope = worst_slope.max(es);
                assert!(
                    el <= TREND_TOL,
                    "level error {el:.2e}, window {window}, guard {guard}, sample {i}"
                );
                assert!(
                    es <= TREND_TOL,
                    "slope error {es:.2e}, window {window}, guard {guard}, sample {i}"
                );
            }
        }
        eprintln!("  window {window}, guard {guard}: level error {case_worst:.2e}");
    }
    eprintln!("line predictor vs polyfit: level {worst_level:.2e}, slope {worst_slope:.2e} (tolerance {TREND_TOL:.0e})");
    // History-free: after 400 samples the fit equals, bit for bit, that of a fresh predictor
    // fed only the last window + guard samples.
    let mut long = LinePredictor::<136>::new(30, 3).unwrap();
    let mut fresh = LinePredictor::<136>::new(30, 3).unwrap();
    for &x in &y {
        long.push(x);
    }
    for &x in &y[y.len() - 33..] {
        fresh.push(x);
    }
    assert_eq!(long.fit(), fresh.fit());
    // Overwriting the samples inside the guard changes nothing; inside the window it does.
    let mut p = LinePredictor::<16>::new(8, 3).unwrap();
    for &x in &y[..20] {
        p.push(x);
    }
    let before = p.fit();
    p.set(0, 5.0);
    p.set(2, 5.0);
    assert_eq!(p.fit(), before);
    p.set(3, 5.0);
    assert!(p.fit().level > before.level + 0.1);
    assert_eq!(
        LinePredictor::<16>::new(1, 3).unwrap_err(),
        TrendError::Span
    );
    assert_eq!(
        LinePredictor::<16>::new(8, 0).unwrap_err(),
        TrendError::Span
    );
    assert_eq!(
        LinePredictor::<16>::new(14, 3).unwrap_err(),
        TrendError::Span
    );
}

// ---------------------------------------------------------------------------------------------
// smoothers vs lfilter

#[test]
fn one_pole_matches_lfilter() {
    let data = load(include_str!("data/filters_smoother.json"));
    let x = f32s(&data["x_noise"]);
    let mut worst = 0.0_f64;
    for c in data["one_pole"].as_array().unwrap() {
        let tau = c["tau_s"].as_f64().unwrap() as f32;
        let fs = c["fs_hz"].as_f64().unwrap() as f32;
        let sm = OnePole::from_time_constant(tau, fs).unwrap();
        let a_ref = c["a"].as_f64().unwrap();
        assert_abs_diff_eq!(f64::from(sm.coefficient()) / a_ref, 1.0, epsilon = COEF_TOL);
        let mut y = vec![0.0; x.len()];
        sm.block(&mut 0.0, &x, &mut y);
        let err = rel_rms_err(&y, &f64s(&c["y_noise"]));
        worst = worst.max(err);
        assert!(err <= SMOOTHER_TOL, "one-pole error {err:.2e} for {c}");
    }
    eprintln!("one-pole vs lfilter: max error / rms {worst:.3e} (tolerance {SMOOTHER_TOL:.0e})");
}

#[test]
fn dc_blocker_matches_lfilter() {
    let data = load(include_str!("data/filters_smoother.json"));
    let noise = f32s(&data["x_noise"]);
    let mut worst = 0.0_f64;
    for c in data["dc_blocker"].as_array().unwrap() {
        let fc = c["cutoff_hz"].as_f64().unwrap() as f32;
        let fs = c["fs_hz"].as_f64().unwrap() as f32;
        let dc = DcBlocker::new(fc, fs).unwrap();
        let r_ref = c["r"].as_f64().unwrap();
        assert_abs_diff_eq!(f64::from(dc.pole()), r_ref, epsilon = COEF_TOL);
        let offset = c["x_offset"].as_f64().unwrap() as f32;
        let x: Vec<f32> = noise.iter().map(|v| v + offset).collect();
        let mut y = vec![0.0; x.len()];
        dc.block(&mut DcBlockerState::default(), &x, &mut y);
        let err = rel_rms_err(&y, &f64s(&c["y_noise"]));
        worst = worst.max(err);
        assert!(err <= SMOOTHER_TOL, "DC blocker error {err:.2e} for {c}");
        // -3 dB at the cut-off, by construction
        let h = Sos::new(&[Biquad::new([1.0, -1.0, 0.0], [-dc.pole(), 0.0])]).unwrap();
        assert_abs_diff_eq!(
            h.magnitude_at(fc, fs),
            core::f32::consts::FRAC_1_SQRT_2,
            epsilon = 1e-4
        );
    }
    eprintln!("DC blocker vs lfilter: max error / rms {worst:.3e} (tolerance {SMOOTHER_TOL:.0e})");
}

// ---------------------------------------------------------------------------------------------
// decimator vs sosfilt + [::q]

#[test]
fn decimator_matches_scipy() {
    let data = load(include_str!("data/filters_decimate.json"));
    let x = f32s(&data["x"]);
    let mut worst = 0.0_f64;
    for c in data["cases"].as_array().unwrap() {
        let q = c["factor"].as_u64().unwrap() as usize;
        let fs = c["fs_hz"].as_f64().unwrap() as f32;
        let d = Decimator::new(q, fs).unwrap();
        let reference = f64s(&c["y"]);
        let mut y = vec![0.0; x.len()];
        let n = DecimatorState::default().block(&d, &x, &mut y);
        assert_eq!(n, reference.len());
        let err = rel_rms_err(&y[..n], &reference);
        eprintln!("  decimate q {q} fs {fs}: {err:.3e}");
        worst = worst.max(err);
        assert!(
            err <= DECIMATE_TOL,
            "decimator error {err:.2e} for q {q} fs {fs}"
        );
    }
    eprintln!(
        "decimator vs sosfilt[::q]: max error / rms {worst:.3e} (tolerance {DECIMATE_TOL:.0e})"
    );
}

#[test]
fn decimator_attenuates_what_would_alias() {
    // Butterworth order 8, -3 dB at 0.8 × the new Nyquist: about -16 dB at the new Nyquist and
    // below -28 dB from 1.2 × it (what folds onto the -3 dB point), -40 dB from 1.5 × it.
    for q in [2, 4, 10, MAX_FACTOR] {
        let d = Decimator::new(q, 96_000.0).unwrap();
        let nyq_out = d.output_rate_hz() / 2.0;
        let db = |f: f32| 20.0 * d.sos().magnitude_at(f, 96_000.0).log10();
        assert_abs_diff_eq!(db(0.8 * nyq_out), -3.01, epsilon = 0.01);
        assert!(db(nyq_out) < -15.0);
        assert!(db(1.2 * nyq_out) < -28.0);
        assert!(db(1.5 * nyq_out) < -40.0);
    }
}

// ---------------------------------------------------------------------------------------------
// stability of every design

fn band_from(kind: usize, lo_frac: f64, hi_frac: f64, fs: f32) -> Band {
    let (lo, hi) = (
        (lo_frac * f64::from(fs)) as f32,
        (hi_frac * f64::from(fs)) as f32,
    );
    match kind {
        0 => Band::LowPass(lo),
        1 => Band::HighPass(lo),
        2 => Band::BandPass(lo, hi),
        _ => Band::BandStop(lo, hi),
    }
}

const RATES_HZ: [f32; 6] = [250.0, 1000.0, 8000.0, 44_100.0, 48_000.0, 96_000.0];

#[test]
fn every_design_on_the_grid_is_stable() {
    let fracs = [
        0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.45, 0.49,
    ];
    let mut n = 0;
    for order in 1..=8 {
        for kind in 0..4 {
            for &fs in &RATES_HZ {
                for (i, &lo) in fracs.iter().enumerate() {
                    for &hi in fracs[i + 1..].iter().take(if kind < 2 { 1 } else { 10 }) {
                        let sos =
                            butter(order, band_from(kind, lo, hi, fs), fs).unwrap_or_else(|e| {
                                panic!("{e}: order {order} kind {kind} fs {fs} {lo} {hi}")
                            });
                        assert!(sos.sections().iter().all(poles_inside));
                        n += 1;
                    }
                }
            }
        }
    }
    eprintln!("{n} designs on the grid, all with poles inside the unit circle");
}

// ---------------------------------------------------------------------------------------------
// property tests

fn bits(x: &[f32]) -> Vec<u32> {
    x.iter().map(|v| v.to_bits()).collect()
}

fn cbits(x: &[Complex32]) -> Vec<(u32, u32)> {
    x.iter().map(|v| (v.re.to_bits(), v.im.to_bits())).collect()
}

/// Splits `0..n` into consecutive chunks with lengths taken cyclically from `sizes`.
fn chunks(n: usize, sizes: &[usize]) -> Vec<(usize, usize)> {
    let (mut out, mut start, mut k) = (Vec::new(), 0, 0);
    while start < n {
        let end = (start + sizes[k % sizes.len()]).min(n);
        out.push((start, end));
        start = end;
        k += 1;
    }
    out
}

fn design_strategy() -> impl Strategy<Value = Sos> {
    (
        1usize..=8,
        0usize..4,
        0usize..RATES_HZ.len(),
        0.005f64..0.2,
        0.01f64..0.29,
    )
        .prop_map(|(order, kind, r, lo, width)| {
            let fs = RATES_HZ[r];
            butter(order, band_from(kind, lo, lo + width, fs), fs).unwrap()
        })
}

proptest! {
    // no regression files: an integration test has no lib.rs for proptest to put them beside
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn sos_streaming_equals_one_shot(
        sos in design_strategy(),
        x in prop::collection::vec(-10.0f32..10.0, 1..400),
        sizes in prop::collection::vec(1usize..64, 1..8),
    ) {
        let mut whole = vec![0.0; x.len()];
        SosState::default().block(&sos, &x, &mut whole);

        let mut st = SosState::default();
        let per_sample: Vec<f32> = x.iter().map(|&v| st.process(&sos, v)).collect();
        prop_assert_eq!(bits(&per_sample), bits(&whole));

        let (mut sb, mut si) = (SosState::default(), SosState::default());
        let mut by_block = vec![0.0; x.len()];
        let mut in_place = x.clone();
        for (a, b) in chunks(x.len(), &sizes) {
            sb.block(&sos, &x[a..b], &mut by_block[a..b]);
            si.inplace(&sos, &mut in_place[a..b]);
        }
        prop_assert_eq!(bits(&by_block), bits(&whole));
        prop_assert_eq!(bits(&in_place), bits(&whole));
        prop_assert_eq!(sb, st);
        prop_assert!(st.is_finite());
    }

    #[test]
    fn iq_streaming_equals_one_shot_and_i_q_separately(
        sos in design_strategy(),
        re in prop::collection::vec(-10.0f32..10.0, 300),
        im in prop::collection::vec(-10.0f32..10.0, 300),
        len in 1usize..300,
        sizes in prop::collection::vec(1usize..64, 1..8),
    ) {
        let x: Vec<Complex32> = re[..len].iter().zip(&im[..len]).map(|(&r, &i)| Complex32::new(r, i)).collect();
        let mut whole = vec![Complex32::default(); len];
        SosStateIq::default().block(&sos, &x, &mut whole);

        let (mut yr, mut yi) = (re[..len].to_vec(), im[..len].to_vec());
        SosState::default().inplace(&sos, &mut yr);
        SosState::default().inplace(&sos, &mut yi);
        let separate: Vec<Complex32> = yr.iter().zip(&yi).map(|(&r, &i)| Complex32::new(r, i)).collect();
        prop_assert_eq!(cbits(&separate), cbits(&whole));

        let mut st = SosStateIq::default();
        let per_sample: Vec<Complex32> = x.iter().map(|&v| st.process(&sos, v)).collect();
        prop_assert_eq!(cbits(&per_sample), cbits(&whole));

        let (mut sb, mut si) = (SosStateIq::default(), SosStateIq::default());
        let mut by_block = vec![Complex32::default(); len];
        let mut in_place = x.clone();
        for (a, b) in chunks(len, &sizes) {
            sb.block(&sos, &x[a..b], &mut by_block[a..b]);
            si.inplace(&sos, &mut in_place[a..b]);
        }
        prop_assert_eq!(cbits(&by_block), cbits(&whole));
        prop_assert_eq!(cbits(&in_place), cbits(&whole));
        prop_assert!(si.is_finite());
    }

    #[test]
    fn decimator_streaming_equals_one_shot(
        q in 1usize..=20,
        fs_idx in 0usize..RATES_HZ.len(),
        re in prop::collection::vec(-10.0f32..10.0, 500),
        im in prop::collection::vec(-10.0f32..10.0, 500),
        len in 0usize..500,
        sizes in prop::collection::vec(1usize..50, 1..8),
    ) {
        let d = Decimator::new(q, RATES_HZ[fs_idx]).unwrap();
        let x = &re[..len];
        let mut whole = vec![0.0; len];
        let n = DecimatorState::default().block(&d, x, &mut whole);
        prop_assert_eq!(n, len.div_ceil(q));
        whole.truncate(n);

        // same as filtering everything then keeping every q-th sample
        let mut filtered = x.to_vec();
        SosState::default().inplace(d.sos(), &mut filtered);
        let kept: Vec<f32> = filtered.iter().step_by(q).copied().collect();
        prop_assert_eq!(bits(&kept), bits(&whole));

        let mut st = DecimatorState::default();
        let mut chunked = Vec::new();
        for (a, b) in chunks(len, &sizes) {
            let mut y = vec![0.0; st.outputs_for(&d, b - a)];
            let k = st.block(&d, &x[a..b], &mut y);
            prop_assert_eq!(k, y.len());
            chunked.extend_from_slice(&y);
        }
        prop_assert_eq!(bits(&chunked), bits(&whole));

        let xc: Vec<Complex32> = re[..len].iter().zip(&im[..len]).map(|(&r, &i)| Complex32::new(r, i)).collect();
        let mut st = DecimatorStateIq::default();
        let mut chunked_iq = Vec::new();
        for (a, b) in chunks(len, &sizes) {
            let mut y = vec![Complex32::default(); st.outputs_for(&d, b - a)];
            st.block(&d, &xc[a..b], &mut y);
            chunked_iq.extend_from_slice(&y);
        }
        let mut st_im = DecimatorState::default();
        let mut whole_im = vec![0.0; len];
        let n_im = st_im.block(&d, &im[..len], &mut whole_im);
        let separate: Vec<Complex32> = whole.iter().zip(&whole_im[..n_im]).map(|(&r, &i)| Complex32::new(r, i)).collect();
        prop_assert_eq!(cbits(&chunked_iq), cbits(&separate));
    }

    #[test]
    fn smoothers_streaming_equals_one_shot(
        x in prop::collection::vec(-10.0f32..10.0, 1..300),
        sizes in prop::collection::vec(1usize..40, 1..6),
        tau_ms in 0.1f32..1000.0,
        fc_frac in 1e-4f32..0.1,
    ) {
        let fs = 1000.0;
        let ema = OnePole::from_time_constant(tau_ms / 1000.0, fs).unwrap();
        let dc = DcBlocker::new(fc_frac * fs, fs).unwrap();
        let (mut e1, mut d1) = (0.0_f32, DcBlockerState::default());
        let ye: Vec<f32> = x.iter().map(|&v| ema.process(&mut e1, v)).collect();
        let yd: Vec<f32> = x.iter().map(|&v| dc.process(&mut d1, v)).collect();
        let (mut e2, mut d2) = (0.0_f32, DcBlockerState::default());
        let (mut ce, mut cd) = (vec![0.0; x.len()], x.clone());
        for (a, b) in chunks(x.len(), &sizes) {
            ema.block(&mut e2, &x[a..b], &mut ce[a..b]);
            dc.inplace(&mut d2, &mut cd[a..b]);
        }
        prop_assert_eq!(bits(&ce), bits(&ye));
        prop_assert_eq!(bits(&cd), bits(&yd));
    }

    #[test]
    fn designs_are_stable_or_refused(
        order in 1usize..=8,
        kind in 0usize..4,
        fs in 100.0f32..200_000.0,
        log_lo in -6.0f64..-0.302,  // log10 of the low edge / fs: 1e-6 .. 0.499
        width in 0.0f64..1.0,
    ) {
        let lo = 10f64.powf(log_lo);
        let hi = lo + width * (0.499 - lo);
        match butter(order, band_from(kind, lo, hi, fs), fs) {
            Ok(sos) => {
                prop_assert!(sos.sections().iter().all(poles_inside));
                prop_assert!(sos.sections().iter().all(Biquad::is_stable));
            }
            // only the f32 rounding of extreme near-DC designs may be refused
            Err(e) => {
                let rounding = e == DesignError::Unstable || e == DesignError::Precision;
                prop_assert!(rounding || e == DesignError::BandEdges, "{:?}", e);
                prop_assert!(lo < 1e-3 || e == DesignError::BandEdges, "refused {:?} at lo {}", e, lo);
            }
        }
    }

    #[test]
    fn butter_validation_names_the_bad_parameter(
        order in 0usize..12,
        kind in 0usize..4,
        fs in prop_oneof![Just(f32::NAN), Just(f32::INFINITY), Just(-1000.0f32), Just(0.0f32), 1.0f32..1e5],
        lo in prop_oneof![Just(f32::NAN), Just(f32::NEG_INFINITY), -10.0f32..0.0, 0.0f32..1e5],
        hi in prop_oneof![Just(f32::NAN), Just(f32::INFINITY), 0.0f32..1e5],
    ) {
        let band = match kind {
            0 => Band::LowPass(lo),
            1 => Band::HighPass(lo),
            2 => Band::BandPass(lo, hi),
            _ => Band::BandStop(lo, hi),
        };
        let cutoff_ok = |f: f32| f.is_finite() && f > 0.0 && f64::from(f) < f64::from(fs) / 2.0;
        let expected = if !(1..=8).contains(&order) {
            Some(DesignError::Order)
        } else if !(fs.is_finite() && fs > 0.0) {
            Some(DesignError::SampleRate)
        } else if !cutoff_ok(lo) || (kind >= 2 && !cutoff_ok(hi)) {
            Some(DesignError::Cutoff)
        } else if kind >= 2 && lo >= hi {
            Some(DesignError::BandEdges)
        } else {
            None
        };
        match (butter(order, band, fs), expected) {
            (Err(e), Some(want)) => prop_assert_eq!(e, want),
            (Ok(_), None) => {}
            // valid parameters may still be refused for a near-DC design that f32 cannot realise
            (Err(DesignError::Unstable | DesignError::Precision), None) => {}
            (got, want) => prop_assert!(false, "got {:?}, want {:?}", got.map(|_| ()), want),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// validation, explicit cases

#[test]
fn butter_rejects_bad_parameters() {
    use DesignError::*;
    let fs = 1000.0;
    assert_eq!(butter(0, Band::LowPass(100.0), fs), Err(Order));
    assert_eq!(butter(9, Band::LowPass(100.0), fs), Err(Order));
    assert_eq!(butter(4, Band::LowPass(100.0), f32::NAN), Err(SampleRate));
    assert_eq!(butter(4, Band::LowPass(100.0), -fs), Err(SampleRate));
    assert_eq!(butter(4, Band::LowPass(100.0), 0.0), Err(SampleRate));
    assert_eq!(butter(4, Band::LowPass(f32::NAN), fs), Err(Cutoff));
    assert_eq!(butter(4, Band::HighPass(-1.0), fs), Err(Cutoff));
    assert_eq!(butter(4, Band::HighPass(0.0), fs), Err(Cutoff));
    assert_eq!(butter(4, Band::LowPass(500.0), fs), Err(Cutoff)); // = Nyquist
    assert_eq!(butter(4, Band::LowPass(600.0), fs), Err(Cutoff));
    assert_eq!(
        butter(4, Band::BandPass(100.0, f32::INFINITY), fs),
        Err(Cutoff)
    );
    assert_eq!(butter(4, Band::BandPass(200.0, 100.0), fs), Err(BandEdges));
    assert_eq!(butter(4, Band::BandStop(100.0, 100.0), fs), Err(BandEdges));
    assert!(butter(8, Band::BandStop(100.0, 499.0), fs).is_ok());
    // valid, but 1e-4 fs from Nyquist: the f32 poles near z = -1 miss the response by > 1 %
    assert_eq!(butter(8, Band::BandStop(100.0, 499.9), fs), Err(Precision));
    assert_eq!(butter(8, Band::LowPass(0.05), fs), Err(Precision));
    assert_eq!(butter(8, Band::LowPass(0.01), fs), Err(Unstable)); // 1e-5 fs: poles round onto z = 1
}

#[test]
fn sos_new_rejects_bad_sections() {
    let ok = Biquad::new([1.0, 0.0, 0.0], [-0.5, 0.0]);
    assert_eq!(
        Sos::new(&[ok; MAX_SECTIONS + 1]),
        Err(DesignError::TooManySections)
    );
    assert_eq!(
        Sos::new(&[ok, Biquad::new([f32::NAN, 0.0, 0.0], [0.0, 0.0])]),
        Err(DesignError::Coefficient)
    );
    assert_eq!(
        Sos::new(&[Biquad::new([1.0, 0.0, 0.0], [-1.0, 0.0])]),
        Err(DesignError::Unstable)
    );
    assert_eq!(
        Sos::new(&[Biquad::new([1.0, 0.0, 0.0], [0.0, 1.0])]),
        Err(DesignError::Unstable)
    );
    assert_eq!(
        Sos::new(&[Biquad::new([1.0, 0.0, 0.0], [-1.9, 0.95])]).map(|s| s.sections().len()),
        Ok(1)
    );
    let empty = Sos::new(&[]).unwrap();
    assert_eq!(SosState::default().process(&empty, 3.5), 3.5);
    assert!(!Biquad::new([1.0, 0.0, 0.0], [2.0, 0.99]).is_stable());
    assert!(Biquad::IDENTITY.is_stable());
}

#[test]
fn smoother_and_decimator_reject_bad_parameters() {
    use DesignError::*;
    assert_eq!(
        OnePole::from_time_constant(f32::NAN, 1000.0),
        Err(TimeConstant)
    );
    assert_eq!(OnePole::from_time_constant(-0.1, 1000.0), Err(TimeConstant));
    assert_eq!(OnePole::from_time_constant(0.0, 1000.0), Err(TimeConstant));
    assert_eq!(OnePole::from_time_constant(1e5, 1000.0), Err(TimeConstant)); // a < f32::EPSILON
    assert!(OnePole::from_time_constant(1e3, 1000.0).is_ok());
    assert_eq!(
        OnePole::from_time_constant(0.1, f32::INFINITY),
        Err(SampleRate)
    );
    assert_eq!(OnePole::from_time_constant(0.1, -5.0), Err(SampleRate));
    assert_eq!(OnePole::from_coefficient(0.0), Err(Coefficient));
    assert_eq!(OnePole::from_coefficient(1e-9), Err(Coefficient));
    assert_eq!(OnePole::from_coefficient(1.5), Err(Coefficient));
    assert_eq!(OnePole::from_coefficient(f32::NAN), Err(Coefficient));
    assert_eq!(
        OnePole::from_coefficient(1.0).map(|p| p.coefficient()),
        Ok(1.0)
    );
    assert_eq!(DcBlocker::new(f32::NAN, 1000.0), Err(Cutoff));
    assert_eq!(DcBlocker::new(-1.0, 1000.0), Err(Cutoff));
    assert_eq!(DcBlocker::new(200.0, 1000.0), Err(Cutoff)); // above acos(3/4) fs / 2π
    assert_eq!(DcBlocker::new(600.0, 1000.0), Err(Cutoff));
    assert_eq!(DcBlocker::new(1e-9, 1000.0), Err(Cutoff)); // r rounds to 1
    assert_eq!(DcBlocker::new(1.0, 0.0), Err(SampleRate));
    assert_eq!(Decimator::new(0, 1000.0), Err(Factor));
    assert_eq!(Decimator::new(MAX_FACTOR + 1, 1000.0), Err(Factor));
    assert_eq!(Decimator::new(2, f32::NAN), Err(SampleRate));
    let d = Decimator::new(1, 1000.0).unwrap();
    assert_eq!(
        (d.factor(), d.output_rate_hz(), d.sos().sections().len()),
        (1, 1000.0, 0)
    );
}

#[test]
#[should_panic(expected = "y too short")]
fn decimator_block_panics_on_short_output() {
    let d = Decimator::new(4, 1000.0).unwrap();
    DecimatorState::default().block(&d, &[0.0; 9], &mut [0.0; 2]);
}

#[test]
fn design_error_displays() {
    assert_eq!(DesignError::Order.to_string(), "filter order must be 1..=8");
    let e: Box<dyn std::error::Error> = Box::new(DesignError::Cutoff);
    assert!(e.to_string().contains("cut-off"));
}
