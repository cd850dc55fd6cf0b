//! The scores' 95 % confidence intervals against scipy (`scripts/reference/gen_intervals.py`,
//! committed as `tests/data/intervals_scipy.json`), and as `clotair eval` reports them.
#![cfg(feature = "std")]

use clotair::eval::interval::{poisson_exact, quantile, quantile_ranks, wilson, LEVEL};
use serde_json::Value;

/// Wilson's interval is closed form: both sides compute the same expression in f64.
const WILSON_ABS_TOL: f64 = 1e-12;
/// The exact Poisson bounds are found by bisection here and by scipy's chi-square quantile
/// there; both are accurate to near f64 precision (the worst measures ~1e-13 relative).
const POISSON_REL_TOL: f64 = 1e-9;

fn reference() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/intervals_scipy.json"
    );
    let text = std::fs::read_to_string(path).expect("tests/data/intervals_scipy.json");
    serde_json::from_str(&text).expect("reference JSON")
}

fn f(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("{key} in {v}"))
}

#[test]
fn wilson_intervals_equal_scipy() {
    let r = reference();
    assert_eq!(f(&r, "level"), LEVEL);
    let cases = r["wilson"].as_array().expect("wilson cases");
    assert!(cases.len() > 50);
    let mut worst = 0.0f64;
    for c in cases {
        let (k, n) = (f(c, "k") as usize, f(c, "n") as usize);
        let i = wilson(k, n);
        for (ours, theirs) in [(i.lo, f(c, "lo")), (i.hi, f(c, "hi"))] {
            let err = (ours - theirs).abs();
            worst = worst.max(err);
            assert!(err <= WILSON_ABS_TOL, "{k}/{n}: ours {i:?}, scipy {c}");
        }
    }
    println!(
        "Wilson: worst absolute error {worst:.1e} over {} cases",
        cases.len()
    );
}

#[test]
fn poisson_intervals_equal_scipy() {
    let r = reference();
    let cases = r["poisson"].as_array().expect("poisson cases");
    assert!(cases.len() > 8);
    let mut worst = 0.0f64;
    for c in cases {
        let x = f(c, "x") as u64;
        let i = poisson_exact(x);
        for (ours, theirs) in [(i.lo, f(c, "lo")), (i.hi, f(c, "hi"))] {
            let err = (ours - theirs).abs() / theirs.max(1e-300);
            if theirs == 0.0 {
                assert_eq!(ours, 0.0, "x = {x}");
                continue;
            }
            worst = worst.max(err);
            assert!(err <= POISSON_REL_TOL, "x = {x}: ours {i:?}, scipy {c}");
        }
    }
    println!(
        "Poisson: worst relative error {worst:.1e} over {} cases",
        cases.len()
    );
}

#[test]
fn quantile_ranks_equal_scipy() {
    let r = reference();
    let cases = r["quantile"].as_array().expect("quantile cases");
    assert!(cases.len() > 20);
    let rank = |v: &Value| v.as_u64().map(|x| x as usize);
    for c in cases {
        let (n, p) = (f(c, "n") as usize, f(c, "p"));
        let ours = quantile_ranks(n, p);
        assert_eq!(
            ours,
            (rank(&c["lo"]), rank(&c["hi"])),
            "n = {n}, p = {p}: scipy {c}"
        );
    }
}

#[test]
fn a_quantile_interval_is_made_of_the_sample_values() {
    // 169 latencies 0.001, 0.002, …: the p95 interval is the values at ranks 154 and 166.
    let sorted: Vec<f64> = (1..=169).map(|i| i as f64 * 1e-3).collect();
    let i = quantile(&sorted, 0.95);
    assert_eq!((i.lo, i.hi), (0.155, 0.167));
    assert_eq!(i.millis(), "155–167 ms");
    // Twenty values cannot bound a p95 from above.
    let i = quantile(&sorted[..20], 0.95);
    assert!(i.hi.is_nan() && i.lo == 0.017, "{i:?}");
    assert_eq!(i.millis(), "17–? ms");
}
