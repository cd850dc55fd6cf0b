//! Doppler speckle of flowing blood: complex Gaussian noise whose power spectrum is flat from
//! 0 to 2·f_mean (laminar flow: velocities from 0 at the wall to 2v at the centre), forward
//! direction only, its width following the pump.
//!
//! Synthesis by weighted overlap-add: every half-frame a fresh spectrum of independent complex
//! Gaussian bins over the current band, inverse FFT, a sine (√Hann) window, and 50 % overlap.
//! sin² + cos² = 1 keeps the power constant across frames; the band can change from one
//! half-frame (~16 ms) to the next, much faster than the pump (≤ 5 Hz).

use num_complex::Complex32;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rustfft::FftPlanner;

/// Frame length for a sample rate: the power of two nearest 32 ms, so that the band is
/// resolved to ~30 Hz and the pump is followed every 16 ms.
pub fn frame_len(sample_rate_hz: f64) -> usize {
    let n = (sample_rate_hz * 0.032).max(16.0);
    let lo = (n as usize).next_power_of_two() / 2;
    if n / lo as f64 > 1.5 {
        lo * 2
    } else {
        lo
    }
}

/// `n` samples of blood speckle with total power `power` (E|x|²) and, at time t, a flat
/// forward band from 0 to `band_top_hz(t)`.
pub fn blood_speckle(
    rng: &mut ChaCha8Rng,
    sample_rate_hz: f64,
    n: usize,
    power: f64,
    band_top_hz: impl Fn(f64) -> f64,
) -> Vec<Complex32> {
    let frame = frame_len(sample_rate_hz);
    let hop = frame / 2;
    let fft = FftPlanner::<f32>::new().plan_fft_inverse(frame);
    let mut scratch = vec![Complex32::default(); fft.get_inplace_scratch_len()];
    let window: Vec<f32> = (0..frame)
        .map(|i| (std::f64::consts::PI * (i as f64 + 0.5) / frame as f64).sin() as f32)
        .collect();
    let df = sample_rate_hz / frame as f64;
    let mut out = vec![Complex32::default(); (n.div_ceil(hop) + 2) * hop + frame];
    let mut buf = vec![Complex32::default(); frame];
    // Frames start half a frame before t = 0 so that every output sample has two.
    let frames = n.div_ceil(hop) + 1;
    for m in 0..frames {
        let centre_s = (m as f64 * hop as f64) / sample_rate_hz;
        let top = band_top_hz(centre_s).clamp(0.0, sample_rate_hz * 0.5 - df);
        // Bin k covers [(k − ½)df, (k + ½)df]: its weight is the part inside [0, top], so the
        // band's centroid is exactly top / 2 however coarse the bins.
        let last = ((top / df) + 0.5).ceil() as usize;
        let weight = |k: usize| {
            ((top - (k as f64 - 0.5) * df) / df).clamp(0.0, 1.0) - if k == 0 { 0.5 } else { 0.0 }
        };
        let total: f64 = (0..=last.min(frame / 2)).map(weight).sum();
        buf.fill(Complex32::default());
        if total > 0.0 {
            let scale = (power / total / 2.0).sqrt();
            for (k, slot) in buf.iter_mut().enumerate().take(last.min(frame / 2) + 1) {
                let a = (weight(k).max(0.0).sqrt() * scale) as f32;
                let re: f32 = rng.sample(StandardNormal);
                let im: f32 = rng.sample(StandardNormal);
                *slot = Complex32::new(re * a, im * a);
            }
        }
        fft.process_with_scratch(&mut buf, &mut scratch);
        // Frame m covers output samples [m·hop − hop, m·hop + hop); `out` is offset by hop.
        let start = m * hop;
        for ((o, b), w) in out[start..start + frame].iter_mut().zip(&buf).zip(&window) {
            *o += b * w;
        }
    }
    out.drain(..hop);
    out.truncate(n);
    out
}
