//! Rendering the Doppler I/Q signal of one recording.
//!
//! Order follows the signal path: echoes (blood speckle, emboli, slug interfaces, knocks) →
//! acoustic coupling → + diathermy picked up by the electronics → quadrature imbalance (mirror
//! image) → + receiver noise → ADC clipping at full scale.

use std::f64::consts::TAU;

use num_complex::Complex32;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::line::LineTruth;
use super::plan::{interpolate, ArtifactKind, EmbolusKind, Plan, ULTRASOUND_DURATION_S};
use super::speckle::blood_speckle;

/// Relative backscatter of blood at haematocrit `h` (Percus–Yevick packing factor for red
/// cells, Shung et al.: ∝ H(1−H)⁴/(1+2H)²): saline flushes and washing change the Doppler
/// power as well as the light.
fn backscatter(h: f64) -> f64 {
    let h = h.clamp(0.01, 0.95);
    h * (1.0 - h).powi(4) / (1.0 + 2.0 * h).powi(2)
}

/// Hann window value at τ ∈ [0, 1].
fn hann(tau: f64) -> f64 {
    0.5 - 0.5 * (TAU * tau).cos()
}

/// Smooth 0 → 1 over [0, 1].
fn smoothstep(x: f64) -> f64 {
    let x = x.clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}

/// Complex white Gaussian noise of power `power`.
fn cnoise(rng: &mut ChaCha8Rng, power: f64) -> Complex32 {
    let s = (power / 2.0).sqrt() as f32;
    let re: f32 = rng.sample(StandardNormal);
    let im: f32 = rng.sample(StandardNormal);
    Complex32::new(re * s, im * s)
}

/// Index range of [t0, t1) at `fs`, clipped to `n`.
fn span(t0: f64, t1: f64, fs: f64, n: usize) -> std::ops::Range<usize> {
    let a = ((t0 * fs).floor().max(0.0) as usize).min(n);
    let b = ((t1 * fs).ceil().max(0.0) as usize).min(n);
    a..b
}

/// Adds a tone burst whose energy is set afterwards: Hann envelope over `[t0, t0 + dur)`,
/// frequency `f(τ)`, amplitude modulation `am(t)`; scaled so Σ|x|²/fs = `energy`.
#[allow(clippy::too_many_arguments)]
fn add_burst(
    out: &mut [Complex32],
    fs: f64,
    t0: f64,
    dur: f64,
    energy: f64,
    freq: impl Fn(f64) -> f64,
    am: impl Fn(f64) -> f64,
    phase0: f64,
) {
    let range = span(t0, t0 + dur, fs, out.len());
    let mut burst: Vec<Complex32> = Vec::with_capacity(range.len());
    let mut phase = phase0;
    for i in range.clone() {
        let t = i as f64 / fs;
        let tau = ((t - t0) / dur).clamp(0.0, 1.0);
        let a = hann(tau) * am(t - t0);
        burst.push(Complex32::from_polar(a as f32, phase as f32));
        phase = (phase + TAU * freq(tau) / fs) % TAU;
    }
    let e: f64 = burst.iter().map(|x| f64::from(x.norm_sqr())).sum::<f64>() / fs;
    if e <= 0.0 {
        return;
    }
    let g = (energy / e).sqrt() as f32;
    for (o, b) in out[range].iter_mut().zip(&burst) {
        *o += b * g;
    }
}

/// A smooth random fluctuation, mean 0, RMS ~0.7: a few sinusoids of 20–150 Hz (a clot
/// tumbling in the beam changes its echo at a few tens of Hz).
fn fluctuation(rng: &mut ChaCha8Rng) -> impl Fn(f64) -> f64 {
    let comps: Vec<(f64, f64)> = (0..5)
        .map(|_| (rng.random_range(20.0..150.0), rng.random_range(0.0..TAU)))
        .collect();
    move |t| {
        comps
            .iter()
            .map(|(f, p)| (TAU * f * t + p).cos())
            .sum::<f64>()
            / (comps.len() as f64).sqrt()
    }
}

/// Low-pass complex noise: white noise through two one-pole sections at `cutoff_hz`.
fn lowpass_noise(rng: &mut ChaCha8Rng, n: usize, fs: f64, cutoff_hz: f64) -> Vec<Complex32> {
    let a = (-TAU * cutoff_hz / fs).exp() as f32;
    let (mut s1, mut s2) = (Complex32::default(), Complex32::default());
    let mut out: Vec<Complex32> = (0..n)
        .map(|_| {
            s1 = s1 * a + cnoise(rng, 1.0) * (1.0 - a);
            s2 = s2 * a + s1 * (1.0 - a);
            s2
        })
        .collect();
    let p: f32 = out.iter().map(|x| x.norm_sqr()).sum::<f32>() / n.max(1) as f32;
    if p > 0.0 {
        let g = p.sqrt().recip();
        out.iter_mut().for_each(|x| *x *= g);
    }
    out
}

/// Renders the ultrasound WAV content: interleaved I, Q in [-1, 1].
pub fn render(
    line: &LineTruth,
    plan: &Plan,
    rng_speckle: &mut ChaCha8Rng,
    rng: &mut ChaCha8Rng,
) -> Vec<f32> {
    let fs = f64::from(
        line.ultrasound_hz
            .expect("render called without an ultrasound sensor"),
    );
    let n = (line.duration_s * fs).round() as usize;
    // Total blood power: per-channel RMS at `blood_dbfs`, I and Q together twice that.
    let p_blood = 2.0 * 10f64.powf(line.blood_dbfs / 10.0);
    let f_mean0 = line.mean_doppler_hz();
    let transit0 = line.transit_s(line.mean_velocity_m_s);
    let f_mean_at = |t: f64| f_mean0 * (1.0 + line.pump.at(t));
    let hct_at = |t: f64| interpolate(&plan.hct_knots, t - transit0);
    let w0 = backscatter(line.hct);

    // Blood: speckle, its power following the haematocrit.
    let mut x = blood_speckle(rng_speckle, fs, n, p_blood, |t| 2.0 * f_mean_at(t));
    let mut blood_gain = vec![1.0f32; n];
    if plan.hct_knots.len() > 1 {
        for (i, g) in blood_gain.iter_mut().enumerate() {
            *g = (backscatter(hct_at(i as f64 / fs)) / w0).sqrt() as f32;
        }
    }
    // A slug blocks the beam between its interfaces (signal-model.md: loss of blood signal).
    for e in plan.emboli.iter().filter(|e| e.kind == EmbolusKind::Slug) {
        let t_u = e.t_ultrasound_s(line);
        let t_if = (line.beam_ultrasound_mm * 1e-3 / e.velocity_m_s)
            .clamp(ULTRASOUND_DURATION_S.0, ULTRASOUND_DURATION_S.1);
        let t_len = e.slug_length_mm * 1e-3 / e.velocity_m_s;
        let floor = 10f64.powf(-rng.random_range(25.0..40.0) / 20.0);
        for i in span(t_u, t_u + t_len + t_if, fs, n) {
            let t = i as f64 / fs - t_u;
            let inside = smoothstep(t / t_if) * smoothstep((t_len + t_if - t) / t_if);
            blood_gain[i] *= (1.0 - inside * (1.0 - floor)) as f32;
        }
    }
    for (xi, g) in x.iter_mut().zip(&blood_gain) {
        *xi *= *g;
    }

    // Blood PSD at time t: the embolus-to-blood ratio is measured against it.
    let blood_psd = |t: f64| p_blood * backscatter(hct_at(t)) / w0 / (2.0 * f_mean_at(t)).max(1.0);

    for e in &plan.emboli {
        let t_u = e.t_ultrasound_s(line);
        let f_d = line.doppler_hz(e.velocity_m_s);
        if e.kind == EmbolusKind::Slug {
            // Specular echoes at the front and rear interfaces, moving with the flow.
            let p = &e.parts[0];
            let t_if = (line.beam_ultrasound_mm * 1e-3 / e.velocity_m_s)
                .clamp(ULTRASOUND_DURATION_S.0, ULTRASOUND_DURATION_S.1);
            let t_len = e.slug_length_mm * 1e-3 / e.velocity_m_s;
            for t0 in [t_u, t_u + t_len] {
                let energy = 10f64.powf(p.ebr_db / 10.0) * blood_psd(t0);
                let phase = rng.random_range(0.0..TAU);
                add_burst(&mut x, fs, t0, t_if, energy, |_| f_d, |_| 1.0, phase);
            }
            continue;
        }
        for p in &e.parts {
            let t0 = t_u + p.offset_s;
            let energy = 10f64.powf(p.ebr_db / 10.0) * blood_psd(t0);
            let f = f_d * p.doppler_scale;
            let chirp = p.chirp;
            let phase = rng.random_range(0.0..TAU);
            if p.fluctuation > 0.0 {
                let g = fluctuation(rng);
                let depth = p.fluctuation;
                add_burst(
                    &mut x,
                    fs,
                    t0,
                    p.ultrasound_s,
                    energy,
                    |tau| f * (1.0 + chirp * tau),
                    |t| (1.0 + depth * g(t)).max(0.05),
                    phase,
                );
            } else {
                add_burst(
                    &mut x,
                    fs,
                    t0,
                    p.ultrasound_s,
                    energy,
                    |tau| f * (1.0 + chirp * tau),
                    |_| 1.0,
                    phase,
                );
            }
        }
    }

    let mut coupling = vec![1.0f32; n];
    let mut pickup = vec![Complex32::default(); n];
    for a in plan.artifacts.iter().filter(|a| a.ultrasound) {
        match a.kind {
            ArtifactKind::Knock {
                cutoff_hz,
                level_db,
                ..
            } => {
                // Bidirectional (I and Q independent: symmetric spectrum), below ~150 Hz,
                // fast attack and a decay over the knock (Markus 1999).
                let r = span(a.start_s, a.end_s, fs, n);
                let dur = a.end_s - a.start_s;
                let burst = lowpass_noise(rng, r.len(), fs, cutoff_hz);
                let amp = (p_blood * 10f64.powf(level_db / 10.0)).sqrt();
                for (i, b) in r.zip(burst) {
                    let t = i as f64 / fs - a.start_s;
                    let env = (t / 0.003).min(1.0) * (-3.0 * t / dur).exp();
                    x[i] += b * (amp * env) as f32;
                }
            }
            ArtifactKind::Speckle {
                frequency_hz,
                bandwidth_hz,
                ebr_db,
            } => {
                // A constructive-interference peak of the blood itself: narrowband, forward.
                let r = span(a.start_s, a.end_s, fs, n);
                let burst = lowpass_noise(rng, r.len(), fs, bandwidth_hz / 2.0);
                let dur = a.end_s - a.start_s;
                let mut seg: Vec<Complex32> = r
                    .clone()
                    .zip(burst)
                    .map(|(i, b)| {
                        let t = i as f64 / fs - a.start_s;
                        b * Complex32::from_polar(
                            hann(t / dur) as f32,
                            (TAU * frequency_hz * t) as f32,
                        )
                    })
                    .collect();
                let e: f64 = seg.iter().map(|s| f64::from(s.norm_sqr())).sum::<f64>() / fs;
                let target = 10f64.powf(ebr_db / 10.0) * blood_psd(a.start_s);
                let g = if e > 0.0 {
                    (target / e).sqrt() as f32
                } else {
                    0.0
                };
                for (i, s) in r.zip(seg.iter_mut()) {
                    x[i] += *s * g;
                }
            }
            ArtifactKind::CouplingLoss {
                drop_db,
                transition_s,
            } => {
                let floor = 10f64.powf(-drop_db / 20.0);
                for i in span(a.start_s, a.end_s, fs, n) {
                    let t = i as f64 / fs;
                    let inside = smoothstep((t - a.start_s) / transition_s)
                        * smoothstep((a.end_s - t) / transition_s);
                    coupling[i] *= (1.0 - inside * (1.0 - floor)) as f32;
                }
            }
            ArtifactKind::Diathermy { level_db, burst_hz } => {
                // Broadband in both directions, gated at the generator's burst rate.
                let amp = (p_blood * 10f64.powf(level_db / 10.0)).sqrt();
                let duty = rng.random_range(0.3..0.7);
                let phase0: f64 = rng.random_range(0.0..1.0);
                for i in span(a.start_s, a.end_s, fs, n) {
                    let t = i as f64 / fs - a.start_s;
                    let gate = if (t * burst_hz + phase0).fract() < duty {
                        1.0
                    } else {
                        0.15
                    };
                    let edges = smoothstep(t / 0.02) * smoothstep((a.end_s - a.start_s - t) / 0.02);
                    pickup[i] += cnoise(rng, 1.0) * (amp * gate * edges) as f32;
                }
            }
            _ => {}
        }
    }

    let mirror = Complex32::from_polar(
        10f64.powf(-line.mirror_db / 20.0) as f32,
        line.mirror_phase_rad as f32,
    );
    let p_noise = p_blood * 10f64.powf(-line.noise_floor_db / 10.0);
    let mut out = Vec::with_capacity(2 * n);
    for i in 0..n {
        let s = x[i] * coupling[i] + pickup[i];
        let s = s + mirror * s.conj() + cnoise(rng, p_noise);
        // The ADC clips each channel at full scale: big bubbles spread energy into the
        // reverse direction and harmonics, as on a real receiver.
        out.push(s.re.clamp(-1.0, 1.0));
        out.push(s.im.clamp(-1.0, 1.0));
    }
    out
}
