//! Bringing a stream sampled faster than the detector's working range into it.
//!
//! The sensor paths are built for the rates the devices use and the simulator draws
//! (ultrasound 8–20 kHz, optical 0.5–2 kHz, signal-model.md): the ultrasound path's 128-point
//! frames last 6.4–16 ms there, an embolus's echo (4–100 ms) spans a few of them, and its
//! bins (62–156 Hz) resolve the blood's band; the trees were fit on features measured there.
//! The recording contract admits any rate up to 96 kHz, and a recording made with a sound
//! card runs at 44.1 or 48 kHz: there the frames shrink to 2.7 ms and the bins widen to
//! 375 Hz. The plans of three tuning sets (4 h; seeds 3003, 3005, 3009) recorded with the
//! ultrasound at 48 kHz (`simulate --ultrasound-hz 48000`) gave 282 of 451 bubbles, 82 of 167
//! clots and 39 false alarms, where their drawn rates give 325, 92 and 1; decimated as below,
//! 324, 95 and 3.
//!
//! So a faster stream is decimated by a whole factor into the range before its path sees it:
//! the smallest factor that divides the rate and brings it under the range's top, if the
//! result stays above the range's floor ([`factor`]). A whole divisor keeps the path's clock
//! exact (a path sample is `factor` input samples); a rate with none (an odd rate just over
//! 20 kHz) runs undecimated, as before. The fault monitors keep watching every input sample
//! (a NaN, a clipped or a repeated sample is a fact about the input, not about its average).
//!
//! - **Ultrasound**: `dsp::decimate`'s order-8 Butterworth low-pass (scipy's `decimate`
//!   cut-off, 0.8 of the new Nyquist frequency) on I and Q, keeping inputs `0, f, 2f, …`; a
//!   kept sample counts as clipped when any input since the last kept one clipped, so that
//!   the clipping features still see a bubble's overload. Its state is snapped on the path's
//!   segment grid, as the wall filter's is, so that a stream fed from a point of a recording
//!   on meets the whole stream's samples. (Its memory is milliseconds, so the states meet
//!   anyway: `tests/segments.rs` passes without the snap too. The snap makes it a property
//!   of the grid rather than of f32 rounding.)
//! - **Optical**: every `factor`-th sample, unaveraged. The optical path's thresholds stand
//!   on its own noise estimate, and its trees were fit at the noise of one sample at the
//!   working rate: an average of 24 samples of a 48-kHz sensor is 4.9 times quieter, and there
//!   small rises the trees had never seen crossed the threshold. Measured on 4 h of the
//!   tuning sets' plans recorded again at 48 kHz (`simulate --optical-hz 48000`, seeds 3003,
//!   3005, 3009): kept samples found 324 bubbles and 93 clots with no false alarm (at the
//!   drawn rates: 325, 92 and 1), means 325, 95 and 4, no decimation 325, 86 and 1 with the
//!   latency p95 60–80 ms longer on two sets of three. The price: content over 1 kHz (none
//!   in the signal model; an LED driver's switching could put some there) folds into the
//!   band unattenuated.
//!
//! At a rate inside the range the factor is 1 and both stages pass each sample through
//! unchanged: the events are those of the detector without this stage, bit for bit.

use num_complex::Complex32;

use crate::dsp::biquad::{Biquad, Sos};
use crate::dsp::decimate::{Decimator, DecimatorStateIq};

/// The ultrasound path's working range, Hz: the devices' and the simulator's rates.
pub const ULTRASOUND_WORKING_HZ: (u32, u32) = (8_000, 20_000);

/// The optical path's working range, Hz.
pub const OPTICAL_WORKING_HZ: (u32, u32) = (500, 2_000);

/// The decimation factor for a stream at `rate_hz` and a path working in `range`: 1 inside
/// or under the range; else the smallest whole divisor of the rate that brings it to the
/// range's top or under, if the rate it leaves is still at the range's floor or over; else 1.
///
/// ```
/// use clotair::detect::front::{factor, ULTRASOUND_WORKING_HZ};
/// assert_eq!(factor(16_000, ULTRASOUND_WORKING_HZ), 1);
/// assert_eq!(factor(48_000, ULTRASOUND_WORKING_HZ), 3); // 16 kHz
/// assert_eq!(factor(44_100, ULTRASOUND_WORKING_HZ), 3); // 14.7 kHz
/// assert_eq!(factor(96_000, ULTRASOUND_WORKING_HZ), 5); // 19.2 kHz
/// assert_eq!(factor(20_011, ULTRASOUND_WORKING_HZ), 1); // a prime: no whole factor
/// ```
pub fn factor(rate_hz: u32, range: (u32, u32)) -> u32 {
    let (floor, top) = range;
    if rate_hz <= top {
        return 1;
    }
    (rate_hz.div_ceil(top)..=rate_hz / floor)
        .find(|f| rate_hz % f == 0)
        .unwrap_or(1)
}

/// Whether an I/Q sample overloads the receiver (see [`super::ultrasound::CLIP_LEVEL`]).
#[inline]
pub fn clipped(iq: Complex32) -> bool {
    use super::ultrasound::CLIP_LEVEL;
    libm::fabsf(iq.re) >= CLIP_LEVEL || libm::fabsf(iq.im) >= CLIP_LEVEL
}

/// Largest ultrasound decimation factor: 96 kHz into 8 kHz.
const MAX_US_FACTOR: usize = 12;

/// The anti-aliasing low-pass for factors 2–12: the sections of
/// `butter(8, LowPass(0.8 / f), 2.0)` (`dsp::decimate`'s design at a normalised rate; the
/// order and cut-off of scipy's `decimate`), tabled so that the device carries no design code:
/// designed at run time, the low-pass took 9.4 KiB of the firmware's flash. The tests below
/// check the table against [`crate::dsp::butterworth::butter`].
#[rustfmt::skip]
const ANTI_ALIAS: [[Biquad; 4]; MAX_US_FACTOR - 1] = [
    // factor 2
    [
        Biquad { b: [2.27184e-3, 4.54368e-3, 2.27184e-3], a: [-3.1976387e-1, 3.4777723e-2] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-3.4512103e-1, 1.1683514e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-4.0437227e-1, 3.085762e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-5.2130926e-1, 6.869922e-1] },
    ],
    // factor 3
    [
        Biquad { b: [1.6553623e-4, 3.3107246e-4, 1.6553623e-4], a: [-7.7406895e-1, 1.5682797e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-8.2715815e-1, 2.3616853e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-9.47194e-1, 4.1555923e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.168807e0, 7.467548e-1] },
    ],
    // factor 4
    [
        Biquad { b: [2.3959647e-5, 4.7919293e-5, 2.3959647e-5], a: [-1.0263515e0, 2.686402e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.0868584e0, 3.4343094e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.2197254e0, 5.076635e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.4515796e0, 7.94251e-1] },
    ],
    // factor 5
    [
        Biquad { b: [5.1156107e-6, 1.02312215e-5, 5.1156107e-6], a: [-1.1902323e0, 3.5823715e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.251363e0, 4.2799664e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.382571e0, 5.7772505e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.6020445e0, 8.281778e-1] },
    ],
    // factor 6
    [
        Biquad { b: [1.4095422e-6, 2.8190843e-6, 1.4095422e-6], a: [-1.3060713e0, 4.2967296e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.3653457e0, 4.94557e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.4903218e0, 6.3136023e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.692769e0, 8.529664e-1] },
    ],
    // factor 7
    [
        Biquad { b: [4.656469e-7, 9.312938e-7, 4.656469e-7], a: [-1.3925608e0, 4.8740548e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.4491034e0, 5.4779893e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.5666405e0, 6.7334133e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.7523466e0, 8.716956e-1] },
    ],
    // factor 8
    [
        Biquad { b: [1.762554e-7, 3.525108e-7, 1.762554e-7], a: [-1.4597063e0, 5.34826e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.5132908e0, 5.9116805e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.6234057e0, 7.069498e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.7939619e0, 8.862831e-1] },
    ],
    // factor 9
    [
        Biquad { b: [7.417835e-8, 1.483567e-7, 7.417835e-8], a: [-1.5133915e0, 5.7438034e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.5640646e0, 6.270956e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.6672132e0, 7.344009e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.8244169e0, 8.9793986e-1] },
    ],
    // factor 10
    [
        Biquad { b: [3.3988535e-8, 6.797707e-8, 3.3988535e-8], a: [-1.5573186e0, 6.078316e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.6052382e0, 6.5730554e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.7020088e0, 7.5721496e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.8475298e0, 9.07456e-1] },
    ],
    // factor 11
    [
        Biquad { b: [1.6698054e-8, 3.339611e-8, 1.6698054e-8], a: [-1.5939388e0, 6.3646746e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.639302e0, 6.8304104e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.7302927e0, 7.7645946e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.8655884e0, 9.1536516e-1] },
    ],
    // factor 12
    [
        Biquad { b: [8.695378e-9, 1.7390756e-8, 8.695378e-9], a: [-1.6249423e0, 6.6124445e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.6679525e0, 7.052155e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.7537234e0, 7.9290265e-1] },
        Biquad { b: [1e0, 2e0, 1e0], a: [-1.8800379e0, 9.220391e-1] },
    ],
];

/// The ultrasound stream's decimator (see the module documentation).
pub struct UsFront {
    decimator: Decimator,
    state: DecimatorStateIq,
    /// Whether an input since the last kept sample clipped.
    clipped: bool,
}

impl UsFront {
    /// The stage for a stream at `rate_hz`; its factor is [`factor`]`(rate_hz,`
    /// [`ULTRASOUND_WORKING_HZ`]`)`.
    ///
    /// # Panics
    /// If the rate is outside [`super::RATE_RANGE_HZ`] (checked by the detector before).
    pub fn new(rate_hz: u32) -> Self {
        let f = factor(rate_hz, ULTRASOUND_WORKING_HZ) as usize;
        let sos = if f == 1 {
            Sos::default()
        } else {
            Sos::new(&ANTI_ALIAS[f - 2]).expect("a stable tabled design")
        };
        UsFront {
            decimator: Decimator::with_sos(f, rate_hz as f32, sos),
            state: DecimatorStateIq::default(),
            clipped: false,
        }
    }

    /// The decimation factor.
    pub fn factor(&self) -> u32 {
        self.decimator.factor() as u32
    }

    /// The rate the path works at, Hz.
    pub fn working_rate_hz(rate_hz: u32) -> u32 {
        rate_hz / factor(rate_hz, ULTRASOUND_WORKING_HZ)
    }

    /// Takes one input sample; returns the path's next sample and whether it counts as
    /// clipped, when this input completes one.
    #[inline]
    pub fn push(&mut self, iq: Complex32) -> Option<(Complex32, bool)> {
        if self.decimator.factor() == 1 {
            return Some((iq, clipped(iq)));
        }
        self.clipped |= clipped(iq);
        let y = self.state.process(&self.decimator, iq)?;
        Some((y, core::mem::take(&mut self.clipped)))
    }

    /// Snaps the low-pass's state (with the wall filter's, on the path's segment grid).
    pub fn snap(&mut self) {
        self.state.snap();
    }
}

/// The optical stream's decimator: keeps every `factor`-th input (see the module
/// documentation for why it does not average).
pub struct OptFront {
    factor: u32,
    /// Inputs since the last kept one (0: the next input is kept).
    phase: u32,
}

impl OptFront {
    /// The stage for a stream at `rate_hz`; its factor is [`factor`]`(rate_hz,`
    /// [`OPTICAL_WORKING_HZ`]`)`.
    pub fn new(rate_hz: u32) -> Self {
        OptFront {
            factor: factor(rate_hz, OPTICAL_WORKING_HZ),
            phase: 0,
        }
    }

    /// The decimation factor.
    pub fn factor(&self) -> u32 {
        self.factor
    }

    /// The rate the path works at, Hz.
    pub fn working_rate_hz(rate_hz: u32) -> u32 {
        rate_hz / factor(rate_hz, OPTICAL_WORKING_HZ)
    }

    /// Takes one input sample (both channels); returns it when it is a kept one: inputs
    /// `0, f, 2f, …`, so that path sample `k` is input `k · f`, as the ultrasound's.
    #[inline]
    pub fn push(&mut self, x: [f32; 2]) -> Option<[f32; 2]> {
        let kept = self.phase == 0;
        self.phase += 1;
        if self.phase == self.factor {
            self.phase = 0;
        }
        kept.then_some(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::butterworth::{butter, Band};

    #[test]
    fn the_anti_aliasing_table_is_the_butterworth_design() {
        for f in 2..=MAX_US_FACTOR {
            let designed = butter(8, Band::LowPass(0.8 / f as f32), 2.0).unwrap();
            assert_eq!(designed.sections(), &ANTI_ALIAS[f - 2][..], "factor {f}");
        }
    }

    /// The digital Butterworth response in closed form, `|H|² = 1 / (1 + (tan(π f / fs) /
    /// tan(π fc / fs))^16)` (the bilinear transform of the order-8 analog one): 3 dB down at the
    /// cut-off, 0.8 of the new Nyquist frequency, and 16–22 dB down at the new Nyquist
    /// frequency, where content starts to fold back into the band.
    #[test]
    fn each_factor_keeps_its_band_and_attenuates_what_would_fold() {
        for rate in [22_050, 24_000, 32_000, 44_100, 48_000, 88_200, 96_000] {
            let f = UsFront::new(rate);
            assert!(f.factor() > 1, "{rate}");
            let fs = f64::from(rate);
            let nyquist = fs / (2.0 * f64::from(f.factor()));
            let fc = 0.8 * nyquist;
            let closed = |hz: f64| {
                let r = (core::f64::consts::PI * hz / fs).tan()
                    / (core::f64::consts::PI * fc / fs).tan();
                -10.0 * (1.0 + r.powi(16)).log10()
            };
            for hz in [0.0, 0.5 * nyquist, fc, nyquist, 1.2 * nyquist] {
                let db =
                    20.0 * f64::from(f.decimator.sos().magnitude_at(hz as f32, fs as f32)).log10();
                assert!(
                    (db - closed(hz)).abs() < 0.05,
                    "{rate} Hz at {hz:.0} Hz: {db:.3} dB, closed form {:.3}",
                    closed(hz)
                );
            }
        }
    }

    #[test]
    fn rates_in_the_working_range_pass_unchanged() {
        for rate in [8_000, 10_000, 16_000, 20_000] {
            let mut f = UsFront::new(rate);
            assert_eq!(f.factor(), 1);
            let x = Complex32::new(0.99, -0.2);
            assert_eq!(f.push(x), Some((x, true)));
        }
        let mut o = OptFront::new(2_000);
        assert_eq!(o.push([0.3, 0.4]), Some([0.3, 0.4]));
    }

    #[test]
    fn the_optical_stream_keeps_every_factor_th_sample() {
        let mut o = OptFront::new(48_000);
        assert_eq!(o.factor(), 24);
        let kept: Vec<usize> = (0..100)
            .filter(|&i| o.push([i as f32, 0.0]).is_some())
            .collect();
        assert_eq!(kept, [0, 24, 48, 72, 96]);
    }

    #[test]
    fn a_clipped_input_marks_the_kept_sample_after_it() {
        let mut f = UsFront::new(48_000);
        let quiet = Complex32::new(0.1, 0.1);
        let mut marks = Vec::new();
        for i in 0..12 {
            let x = if i == 4 {
                Complex32::new(1.0, 0.0)
            } else {
                quiet
            };
            if let Some((_, clipped)) = f.push(x) {
                marks.push(clipped);
            }
        }
        // Kept: inputs 0, 3, 6, 9; the clip at 4 belongs to the sample kept at 6.
        assert_eq!(marks, [false, false, true, false]);
    }
}
