//! The line of one recording: geometry, pump, blood and sensor settings, drawn at random
//! within the ranges of `shared/spec/signal-model.md`.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::options::{SensorMix, SimOptions};
use super::pump::Pump;

/// Speed of sound in blood (signal-model.md, "c = 1540 m/s").
pub const SOUND_SPEED_M_S: f64 = 1540.0;

/// Everything drawn once per recording; written to the sidecar's `"simulator"` key.
#[derive(Clone, Debug)]
pub struct LineTruth {
    /// Recording length.
    pub duration_s: f64,
    /// Ultrasound I/Q rate, `None` when the recording has no ultrasound sensor.
    pub ultrasound_hz: Option<u32>,
    /// Optical rate, `None` when the recording has no optical sensor.
    pub optical_hz: Option<u32>,
    /// Tube inner diameter, 3–7 mm (signal-model.md: 1/8"–1/4" PVC).
    pub tube_id_mm: f64,
    /// True pump flow, 100–1000 ml/min (signal-model.md).
    pub flow_ml_min: f64,
    /// The flow the sidecar reports: the setting, off by up to ±10 % (recordings.md).
    pub flow_setting_ml_min: f64,
    /// Mean velocity Q / (π d²/4), kept within 0.05–1.5 m/s (signal-model.md).
    pub mean_velocity_m_s: f64,
    /// Roller pump pulsation.
    pub pump: Pump,
    /// Ultrasound carrier, 2–4 MHz (signal-model.md).
    pub carrier_hz: f64,
    /// Insonation angle, 45–70° (signal-model.md).
    pub angle_deg: f64,
    /// Optical → ultrasound distance along the tube, chosen so that the transit at the mean
    /// velocity is 0.15–0.8 s, hence 0.05–2 s for emboli at 0.4–2× the mean.
    pub spacing_mm: f64,
    /// Length of the ultrasound sample volume along the tube: 4–10 mm (assumption: a clamp-on
    /// CW pair with 5–10 mm elements, projected along the flow).
    pub beam_ultrasound_mm: f64,
    /// Diameter of the optical spot: 1–3 mm (assumption: LED/photodiode clamp).
    pub beam_optical_mm: f64,
    /// Haematocrit at the start, 15–80 %, half of the recordings washed (50–80 %).
    pub hct: f64,
    /// Blood speckle RMS per I/Q channel, dBFS: −34..−26 so that blood sits well below full
    /// scale and bubbles above ~0.5 mm clip, as a receiver with fixed gain would.
    pub blood_dbfs: f64,
    /// White receiver noise floor below the blood power, 15–35 dB (signal-model.md).
    pub noise_floor_db: f64,
    /// Quadrature mirror image below the signal, 25–40 dB (signal-model.md).
    pub mirror_db: f64,
    /// Phase of the quadrature imbalance.
    pub mirror_phase_rad: f64,
    /// Red absorption per mm of path per unit haematocrit: 0.3–0.6 /mm (assumption chosen so
    /// that blood transmits 3–80 % of the empty-tube light across 3–7 mm at Hct 15–80 %).
    pub k_red_per_mm: f64,
    /// Near-IR absorption: 0.4–0.7 of red ("red absorbed more than IR", signal-model.md).
    pub k_ir_per_mm: f64,
    /// Empty-tube reading of each channel (red, IR), fraction of full scale: 0.6–0.95.
    pub empty_level: [f64; 2],
    /// Relative change of the optical absorbance with the pump (tube squeeze): 0.2–2 %.
    pub optical_pump_ripple: f64,
    /// Optical sensor noise below the blood reading, 40–60 dB.
    pub optical_snr_db: f64,
    /// LED drift amplitude per channel, 0.2–2 %.
    pub led_drift: [f64; 2],
    /// Steady ambient light per channel, 0–3 % of the blood reading.
    pub ambient_level: [f64; 2],
    /// Mains frequency of the flicker, 50 or 60 Hz.
    pub mains_hz: f64,
    /// Flicker amplitude, fraction of the blood reading: 0.05–0.5 %.
    pub flicker: f64,
}

impl LineTruth {
    /// Mean Doppler frequency of the blood, 2·f0·v·cosθ/c.
    pub fn mean_doppler_hz(&self) -> f64 {
        self.doppler_hz(self.mean_velocity_m_s)
    }

    /// Doppler frequency of a scatterer moving at `velocity_m_s` along the tube.
    pub fn doppler_hz(&self, velocity_m_s: f64) -> f64 {
        2.0 * self.carrier_hz * velocity_m_s * self.angle_deg.to_radians().cos() / SOUND_SPEED_M_S
    }

    /// Mean velocity at time `t_s`, with the pump pulsation.
    pub fn velocity_at(&self, t_s: f64) -> f64 {
        self.mean_velocity_m_s * (1.0 + self.pump.at(t_s))
    }

    /// Transit time from the optical to the ultrasound sensor at `velocity_m_s`.
    pub fn transit_s(&self, velocity_m_s: f64) -> f64 {
        self.spacing_mm * 1e-3 / velocity_m_s
    }

    /// Draws a line for one recording.
    pub fn draw(rng: &mut ChaCha8Rng, options: &SimOptions, index: u64) -> LineTruth {
        let (ultrasound, optical) = match options.sensors {
            SensorMix::Random {
                ultrasound_only,
                optical_only,
            } => {
                let u: f64 = rng.random();
                (
                    u >= ultrasound_only + optical_only || u < ultrasound_only,
                    u >= ultrasound_only,
                )
            }
            SensorMix::Cycle => match index % 4 {
                1 => (true, false),
                2 => (false, true),
                _ => (true, true),
            },
        };
        let pick = |rng: &mut ChaCha8Rng, rates: &[u32]| rates[rng.random_range(0..rates.len())];
        let ultrasound_hz = pick(rng, &options.ultrasound_rates_hz);
        let optical_hz = pick(rng, &options.optical_rates_hz);

        // Geometry by rejection: the mean velocity must lie in 0.05–1.5 m/s (signal-model.md),
        // and the fastest Doppler shift (bubbles at 1.9× the mean at the pump peak, +15 %
        // radiation-force modulation, i.e. 2.2× (1 + depth) f_mean) inside ±0.45 fs so the
        // quadrature signal does not alias, as a device designer would choose fs.
        let mut attempt = 0;
        let (tube_id_mm, flow_ml_min, carrier_hz, angle_deg, depth, v) = loop {
            attempt += 1;
            let d: f64 = rng.random_range(3.0..7.0);
            let q: f64 = rng.random_range(100.0..1000.0);
            let f0: f64 = rng.random_range(2.0e6..4.0e6);
            let theta: f64 = rng.random_range(45.0..70.0);
            let depth: f64 = rng.random_range(0.05..0.40);
            let v = q * 1e-6 / 60.0 / (std::f64::consts::PI * (d * 1e-3).powi(2) / 4.0);
            let f_mean = 2.0 * f0 * v * theta.to_radians().cos() / SOUND_SPEED_M_S;
            let fits = 2.2 * (1.0 + depth) * f_mean < 0.45 * f64::from(ultrasound_hz);
            if (0.05..=1.5).contains(&v) && (fits || attempt > 10_000) {
                break (d, q, f0, theta, depth, v);
            }
        };
        // Recorded at another rate if asked, after the geometry was drawn for the drawn one.
        let ultrasound_hz = options.record_rates_hz.0.unwrap_or(ultrasound_hz);
        let optical_hz = options.record_rates_hz.1.unwrap_or(optical_hz);
        let mut pump = Pump::draw(rng, flow_ml_min, depth);
        if !options.pulsatile {
            pump = Pump::steady();
        }
        let transit_s: f64 = rng.random_range(0.15..0.8);
        let washed = rng.random_bool(0.5);
        let hct = if washed {
            rng.random_range(0.50..0.80)
        } else {
            rng.random_range(0.15..0.80)
        };
        let k_red: f64 = rng.random_range(0.3..0.6);
        let ir_ratio: f64 = rng.random_range(0.4..0.7);
        LineTruth {
            duration_s: options.duration_s,
            ultrasound_hz: ultrasound.then_some(ultrasound_hz),
            optical_hz: optical.then_some(optical_hz),
            tube_id_mm,
            flow_ml_min,
            flow_setting_ml_min: flow_ml_min * rng.random_range(0.9..1.1),
            mean_velocity_m_s: v,
            pump,
            carrier_hz,
            angle_deg,
            spacing_mm: v * transit_s * 1e3,
            beam_ultrasound_mm: rng.random_range(4.0..10.0),
            beam_optical_mm: rng.random_range(1.0..3.0),
            hct,
            blood_dbfs: rng.random_range(-34.0..-26.0) + options.ultrasound_gain_db,
            noise_floor_db: rng.random_range(15.0..35.0),
            mirror_db: rng.random_range(25.0..40.0),
            mirror_phase_rad: rng.random_range(0.0..std::f64::consts::TAU),
            k_red_per_mm: k_red,
            k_ir_per_mm: k_red * ir_ratio,
            empty_level: [rng.random_range(0.6..0.95), rng.random_range(0.6..0.95)]
                .map(|level| level * 10f64.powf(options.optical_gain_db / 20.0)),
            optical_pump_ripple: rng.random_range(0.002..0.02),
            optical_snr_db: rng.random_range(40.0..60.0),
            led_drift: [rng.random_range(0.002..0.02), rng.random_range(0.002..0.02)],
            ambient_level: [rng.random_range(0.0..0.03), rng.random_range(0.0..0.03)],
            mains_hz: if rng.random_bool(0.5) { 50.0 } else { 60.0 },
            flicker: rng.random_range(0.0005..0.005),
        }
    }

    /// The sidecar's extra `"simulator"` object: the truth behind the recording.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "duration_s": self.duration_s,
            "ultrasound_hz": self.ultrasound_hz,
            "optical_hz": self.optical_hz,
            "flow_ml_min_true": self.flow_ml_min,
            "mean_velocity_m_s": self.mean_velocity_m_s,
            "mean_doppler_hz": self.mean_doppler_hz(),
            "pump_hz": self.pump.frequency_hz,
            "pump_rollers": self.pump.rollers,
            "pump_depth": self.pump.depth,
            "beam_ultrasound_mm": self.beam_ultrasound_mm,
            "beam_optical_mm": self.beam_optical_mm,
            "hct": self.hct,
            "blood_dbfs": self.blood_dbfs,
            "noise_floor_db": self.noise_floor_db,
            "mirror_db": self.mirror_db,
            "k_red_per_mm": self.k_red_per_mm,
            "k_ir_per_mm": self.k_ir_per_mm,
            "empty_level": self.empty_level,
            "optical_pump_ripple": self.optical_pump_ripple,
            "optical_snr_db": self.optical_snr_db,
            "led_drift": self.led_drift,
            "ambient_level": self.ambient_level,
            "mains_hz": self.mains_hz,
            "flicker": self.flicker,
        })
    }
}
