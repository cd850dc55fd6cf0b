//! Roller-pump pulsation of the flow.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Harmonics of the pulsation waveform.
const HARMONICS: usize = 4;

/// A periodic relative flow modulation p(t): flow = mean · (1 + p(t)), |p| ≤ depth.
#[derive(Clone, Debug)]
pub struct Pump {
    /// Rollers on the pump head, 2 or 3.
    pub rollers: u32,
    /// Pulsation frequency, rollers × rpm / 60, 0.5–5 Hz (signal-model.md).
    pub frequency_hz: f64,
    /// Peak relative modulation, 5–40 % (signal-model.md).
    pub depth: f64,
    /// Amplitude and phase of each harmonic, scaled so the peak is `depth`.
    harmonics: [(f64, f64); HARMONICS],
}

impl Pump {
    /// Draws a pump for a flow: rpm = flow / stroke volume per revolution (4–20 mL, an
    /// assumption for 1/4"–3/8" pump segments), frequency clamped to the spec's 0.5–5 Hz.
    pub fn draw(rng: &mut ChaCha8Rng, flow_ml_min: f64, depth: f64) -> Pump {
        let rollers = if rng.random_bool(0.7) { 2 } else { 3 };
        let stroke_ml: f64 = rng.random_range(4.0..20.0);
        let frequency_hz = (f64::from(rollers) * flow_ml_min / stroke_ml / 60.0).clamp(0.5, 5.0);
        let mut harmonics = [(0.0, 0.0); HARMONICS];
        for (h, slot) in harmonics.iter_mut().enumerate() {
            let amplitude = if h == 0 {
                1.0
            } else {
                rng.random_range(0.2..0.6) / (h + 1) as f64
            };
            *slot = (amplitude, rng.random_range(0.0..std::f64::consts::TAU));
        }
        let mut pump = Pump {
            rollers,
            frequency_hz,
            depth,
            harmonics,
        };
        let peak = (0..256)
            .map(|i| pump.shape(i as f64 / 256.0).abs())
            .fold(0.0, f64::max);
        for (a, _) in &mut pump.harmonics {
            *a *= depth / peak;
        }
        pump
    }

    /// Waveform at phase `cycle` (in periods).
    fn shape(&self, cycle: f64) -> f64 {
        self.harmonics
            .iter()
            .enumerate()
            .map(|(h, (a, phi))| a * (std::f64::consts::TAU * (h + 1) as f64 * cycle + phi).cos())
            .sum()
    }

    /// p(t).
    pub fn at(&self, t_s: f64) -> f64 {
        self.shape(t_s * self.frequency_hz)
    }

    /// A pump that does not pulse (for tests).
    pub fn steady() -> Pump {
        Pump {
            rollers: 2,
            frequency_hz: 1.0,
            depth: 0.0,
            harmonics: [(0.0, 0.0); HARMONICS],
        }
    }
}
