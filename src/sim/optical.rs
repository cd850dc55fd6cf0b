//! Rendering the optical transmission (red, near-IR) of one recording.
//!
//! reading = gain · drift · exp(−k·Hct·D·(1 + pump ripple)) · event factors + ambient light +
//! noise (Beer–Lambert, signal-model.md). Events shorter than a sample are averaged over it, as
//! the photodiode integrates light over its sampling period.

use std::f64::consts::TAU;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::line::LineTruth;
use super::plan::{blood_transmission, interpolate, ArtifactKind, EmbolusKind, Plan};

/// Sub-samples per sample for events (integration over the sampling period).
const SUBSAMPLES: usize = 8;

/// Multiplies `factor` by the mean of `f(t)` over each sample period in [t0, t1).
fn apply(factor: &mut [f64], fs: f64, t0: f64, t1: f64, f: impl Fn(f64) -> f64) {
    let n = factor.len();
    let a = ((t0 * fs).floor().max(0.0) as usize).min(n);
    let b = ((t1 * fs).ceil().max(0.0) as usize).min(n);
    for (i, slot) in factor.iter_mut().enumerate().take(b).skip(a) {
        *slot *= sample_mean(i, fs, t0, t1, 1.0, &f);
    }
}

/// The mean of `f(t)` over the period of sample `i`, `outside` where `t` is not in [t0, t1):
/// the photodiode integrates light over its sampling period.
pub(super) fn sample_mean(
    i: usize,
    fs: f64,
    t0: f64,
    t1: f64,
    outside: f64,
    f: impl Fn(f64) -> f64,
) -> f64 {
    (0..SUBSAMPLES)
        .map(|k| {
            let t = (i as f64 + (k as f64 + 0.5) / SUBSAMPLES as f64) / fs;
            if t < t0 || t >= t1 {
                outside
            } else {
                f(t)
            }
        })
        .sum::<f64>()
        / SUBSAMPLES as f64
}

/// Fraction of the beam (width `b`) overlapped by an object of length `l` whose centre is at
/// `x` from the beam centre, relative to the most it can overlap.
pub(super) fn overlap(x: f64, l: f64, b: f64) -> f64 {
    let o = ((x + l / 2.0).min(b / 2.0) - (x - l / 2.0).max(-b / 2.0)).max(0.0);
    o / l.min(b)
}

/// Renders the optical WAV content: interleaved red, IR.
pub fn render(line: &LineTruth, plan: &Plan, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let fs = f64::from(
        line.optical_hz
            .expect("render called without an optical sensor"),
    );
    let n = (line.duration_s * fs).round() as usize;
    let d = line.tube_id_mm;
    let b = line.beam_optical_mm;
    let blood0 = blood_transmission(line, line.hct);
    let reference = [
        line.empty_level[0] * blood0[0],
        line.empty_level[1] * blood0[1],
    ];
    let mut factor = [vec![1.0f64; n], vec![1.0f64; n]];
    let mut added = [vec![0.0f64; n], vec![0.0f64; n]];

    for e in &plan.emboli {
        for p in &e.parts {
            let t0 = e.t_optical_s + p.offset_s;
            let t1 = t0 + p.optical_s;
            let len_mm = if e.kind == EmbolusKind::Slug {
                e.slug_length_mm
            } else {
                p.diameter_um * 1e-3
            };
            // Clots are lumpy; menisci of a slug lens the light away at both interfaces.
            let lumps: Vec<(f64, f64)> = (0..4)
                .map(|_| (rng.random_range(2.0..6.0), rng.random_range(0.0..TAU)))
                .collect();
            let lumpy = p.fluctuation;
            let dip = if e.kind == EmbolusKind::Slug {
                rng.random_range(0.3..0.9)
            } else {
                0.0
            };
            for (c, fac) in factor.iter_mut().enumerate() {
                let delta = p.optical_delta[c];
                let lumps = &lumps;
                apply(fac, fs, t0, t1, |t| {
                    let tau = (t - t0) / (t1 - t0);
                    let x = (tau - 0.5) * (len_mm + b);
                    let mut shape = overlap(x, len_mm, b);
                    if lumpy > 0.0 {
                        // Lumps thin the clot here and there; never denser than solid.
                        let g: f64 = lumps
                            .iter()
                            .map(|(k, ph)| (TAU * k * tau + ph).sin())
                            .sum::<f64>()
                            / 2.0;
                        shape *= (1.0 + lumpy * (g - 1.0) / 2.0).clamp(0.0, 1.0);
                    }
                    // Some light always leaks round or through: a clot cannot make it negative.
                    let mut f = (1.0 + delta * shape).max(0.02);
                    if dip > 0.0 {
                        let w = b.max(0.3 * d) / 2.0;
                        let bump = (-((x - len_mm / 2.0) / w).powi(2)).exp()
                            + (-((x + len_mm / 2.0) / w).powi(2)).exp();
                        f *= 1.0 - dip * bump.min(1.0);
                    }
                    f
                });
            }
        }
    }

    for a in plan.artifacts.iter().filter(|a| a.optical) {
        match a.kind {
            ArtifactKind::Knock {
                wobble_hz, wobble, ..
            } => {
                // The tube moves in the clamp: a damped wobble, the same on both colours.
                let dur = a.end_s - a.start_s;
                for fac in &mut factor {
                    apply(fac, fs, a.start_s, a.end_s, |t| {
                        let t = t - a.start_s;
                        1.0 + wobble * (-3.0 * t / dur).exp() * (TAU * wobble_hz * t).sin()
                    });
                }
            }
            ArtifactKind::Reseat { step, transition_s } => {
                for (c, fac) in factor.iter_mut().enumerate() {
                    apply(fac, fs, a.start_s, line.duration_s + 1.0, |t| {
                        let x = ((t - a.start_s) / transition_s).clamp(0.0, 1.0);
                        1.0 + (step[c] - 1.0) * x * x * (3.0 - 2.0 * x)
                    });
                }
            }
            ArtifactKind::Ambient {
                level,
                flicker,
                rise_s,
            } => {
                // A lamp: added light on both channels, flickering at twice the mains.
                let i0 = ((a.start_s * fs) as usize).min(n);
                let i1 = ((a.end_s * fs).ceil() as usize).min(n);
                for (add, r) in added.iter_mut().zip(reference) {
                    for (i, slot) in add.iter_mut().enumerate().take(i1).skip(i0) {
                        let t = i as f64 / fs;
                        let env = ((t - a.start_s) / rise_s).clamp(0.0, 1.0)
                            * ((a.end_s - t) / rise_s).clamp(0.0, 1.0);
                        let fl = 1.0 + flicker * (TAU * 2.0 * line.mains_hz * t).sin();
                        *slot += level * r * env * fl;
                    }
                }
            }
            _ => {}
        }
    }

    // LED drift: three slow sinusoids per channel, periods 20–600 s.
    let drift: Vec<Vec<(f64, f64, f64)>> = (0..2)
        .map(|c| {
            (0..3)
                .map(|_| {
                    (
                        line.led_drift[c] / 3.0,
                        1.0 / rng.random_range(20.0..600.0),
                        rng.random_range(0.0..TAU),
                    )
                })
                .collect()
        })
        .collect();
    let flicker_phase = [rng.random_range(0.0..TAU), rng.random_range(0.0..TAU)];
    let sigma: Vec<f64> = reference
        .iter()
        .map(|r| r * 10f64.powf(-line.optical_snr_db / 20.0))
        .collect();
    let k = [line.k_red_per_mm, line.k_ir_per_mm];
    let ripple = if line.pump.depth > 0.0 {
        line.optical_pump_ripple / line.pump.depth
    } else {
        0.0
    };
    let mut out = Vec::with_capacity(2 * n);
    for i in 0..n {
        let t = i as f64 / fs;
        let hct = interpolate(&plan.hct_knots, t);
        let squeeze = 1.0 + ripple * line.pump.at(t);
        let flick = line.flicker
            * (0.5 * (TAU * line.mains_hz * t + flicker_phase[0]).sin()
                + (TAU * 2.0 * line.mains_hz * t + flicker_phase[1]).sin());
        for c in 0..2 {
            let g: f64 = 1.0
                + drift[c]
                    .iter()
                    .map(|(a, f, p)| a * (TAU * f * t + p).sin())
                    .sum::<f64>();
            let base = line.empty_level[c] * g * (-k[c] * hct * d * squeeze).exp();
            let ambient = reference[c] * (line.ambient_level[c] + flick);
            let noise: f64 = rng.sample::<f64, _>(StandardNormal) * sigma[c];
            let y = base * factor[c][i] + added[c][i] + ambient + noise;
            out.push(y.clamp(-1.0, 1.0) as f32);
        }
    }
    out
}
