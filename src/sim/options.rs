//! What to simulate: durations, sample rates, sensors and event rates.

use crate::io::SampleFormat;

/// Mean number of events of each kind per minute of recording (Poisson arrivals).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EventRates {
    /// Air: microbubbles, 10–100 µm.
    pub micro: f64,
    /// Air: single bubbles, 100 µm up to about half the tube diameter.
    pub bubble: f64,
    /// Air: a slug filling the lumen (0.05–20 mL).
    pub slug: f64,
    /// Air: a shower of 5–40 bubbles within a second.
    pub shower: f64,
    /// Solid emboli.
    pub clot: f64,
    /// Artifact: probe or tube knock.
    pub knock: f64,
    /// Artifact: electrosurgery interference on the ultrasound.
    pub diathermy: f64,
    /// Artifact: loss of acoustic coupling.
    pub coupling_loss: f64,
    /// Artifact: a speckle peak of the blood signal.
    pub speckle: f64,
    /// Artifact: a haematocrit step, ramp or saline flush.
    pub hct_change: f64,
    /// Artifact: a lamp switched on near the optical clamp.
    pub ambient: f64,
    /// Artifact: the tube reseated in the optical clamp.
    pub reseat: f64,
}

impl EventRates {
    /// No events at all: blood, noise and the slow optical effects only.
    pub const NONE: EventRates = EventRates {
        micro: 0.0,
        bubble: 0.0,
        slug: 0.0,
        shower: 0.0,
        clot: 0.0,
        knock: 0.0,
        diathermy: 0.0,
        coupling_loss: 0.0,
        speckle: 0.0,
        hct_change: 0.0,
        ambient: 0.0,
        reseat: 0.0,
    };

    /// Emboli (air and clots) per minute.
    pub fn emboli_per_min(&self) -> f64 {
        self.micro + self.bubble + self.slug + self.shower + self.clot
    }
}

/// Which sensors each recording has.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SensorMix {
    /// Drawn per recording: ultrasound only with probability `ultrasound_only`, optical only
    /// with `optical_only`, both otherwise.
    Random {
        /// Probability of an ultrasound-only recording.
        ultrasound_only: f64,
        /// Probability of an optical-only recording.
        optical_only: f64,
    },
    /// By recording index: 0 both, 1 ultrasound only, 2 optical only, 3 both, then repeating
    /// every 4; so that a small set is sure to hold both single-sensor cases.
    Cycle,
}

/// The simulation settings of a data set. Every recording draws its own line, sensors and
/// events from these.
#[derive(Clone, Debug, PartialEq)]
pub struct SimOptions {
    /// Length of each recording.
    pub duration_s: f64,
    /// Ultrasound I/Q sample rates, one drawn per recording.
    pub ultrasound_rates_hz: Vec<u32>,
    /// Optical sample rates, one drawn per recording.
    pub optical_rates_hz: Vec<u32>,
    /// Which sensors each recording has.
    pub sensors: SensorMix,
    /// Event rates.
    pub rates: EventRates,
    /// Sample encoding of the WAVs written.
    pub format: SampleFormat,
    /// Whether the roller pump pulses the flow (off: steady flow, for tests of the Doppler
    /// spectrum against 2·f0·v·cosθ/c).
    pub pulsatile: bool,
    /// Record every ultrasound (optical) sensor at this rate instead of the one drawn: the
    /// line, its events and the labels are drawn as without it, from the same seed, so a
    /// set can be written again at a rate outside the drawn ones (a sound card's 48 kHz).
    /// The geometry still fits the drawn rate: a lower rate than that may alias the fastest
    /// Doppler shifts.
    pub record_rates_hz: (Option<u32>, Option<u32>),
    /// Added to every ultrasound receiver's drawn gain, dB: the blood's echo, the emboli's and
    /// the artifacts' all move by it before the converter clips them at full scale (the
    /// receiver noise sits at its drawn depth under the blood, so only the clipping and the
    /// converter's resolution change). The line, its events and the labels are those of the
    /// same seed without it: a set can be written again as a receiver with less gain (whose
    /// bubbles do not clip) or more would record it.
    pub ultrasound_gain_db: f64,
    /// Added to every optical sensor's drawn gain (LED, photodiode and amplifier), dB: the
    /// light through the blood, the ambient light and the sensor noise all move by it before
    /// the converter rounds them to its step and clips them at full scale. The drawn chain
    /// reads the empty tube at 0.6–0.95 of full scale; 40 dB less puts the blood a few hundred
    /// steps over zero, where the sensor noise is under one step. The line, its events and
    /// the labels are those of the same seed without it (the labels' `optical_snr_db` and
    /// `detectable` count the converter's rounding).
    pub optical_gain_db: f64,
}

/// Longest recording simulated: the whole recording is held in memory while it is generated,
/// about 25 bytes per ultrasound sample, so 30 min at 20 kHz is about 0.9 GB.
pub const MAX_DURATION_S: f64 = 1800.0;

/// Named settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// A realistic mix: a few emboli and artifacts per minute, all rates, mostly both sensors.
    Realistic,
    /// An embolus every ~4 s and many artifacts: small demo and test sets.
    Dense,
    /// [`Preset::Dense`] at the lowest rates (8 kHz ultrasound, 500 Hz optical) with the
    /// sensors cycling by index: the committed regression set.
    Regression,
}

impl Preset {
    /// Parses `realistic`, `dense` or `regression`.
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "realistic" => Some(Preset::Realistic),
            "dense" => Some(Preset::Dense),
            "regression" => Some(Preset::Regression),
            _ => None,
        }
    }

    /// The options of this preset for recordings of `duration_s`.
    pub fn options(self, duration_s: f64) -> SimOptions {
        match self {
            Preset::Realistic => SimOptions::realistic(duration_s),
            Preset::Dense => SimOptions::dense(duration_s),
            Preset::Regression => SimOptions {
                ultrasound_rates_hz: vec![8_000],
                optical_rates_hz: vec![500],
                sensors: SensorMix::Cycle,
                ..SimOptions::dense(duration_s)
            },
        }
    }
}

impl SimOptions {
    /// The default realistic mix: about 3 emboli and 3 artifacts per minute.
    pub fn realistic(duration_s: f64) -> Self {
        SimOptions {
            duration_s,
            // recordings.md: "typically ultrasound 8–20 kHz, optical 0.5–2 kHz".
            ultrasound_rates_hz: vec![8_000, 10_000, 12_000, 16_000, 20_000],
            optical_rates_hz: vec![500, 1_000, 2_000],
            sensors: SensorMix::Random {
                ultrasound_only: 0.1,
                optical_only: 0.1,
            },
            rates: EventRates {
                micro: 1.0,
                bubble: 0.8,
                slug: 0.1,
                shower: 0.2,
                clot: 0.8,
                knock: 0.8,
                diathermy: 0.2,
                coupling_loss: 0.1,
                speckle: 1.0,
                hct_change: 0.3,
                ambient: 0.1,
                reseat: 0.1,
            },
            format: SampleFormat::Int16,
            pulsatile: true,
            record_rates_hz: (None, None),
            ultrasound_gain_db: 0.0,
            optical_gain_db: 0.0,
        }
    }

    /// Dense: about 15 emboli per minute (one every ~4 s) and as many artifacts.
    pub fn dense(duration_s: f64) -> Self {
        SimOptions {
            rates: EventRates {
                micro: 3.0,
                bubble: 4.0,
                slug: 1.0,
                shower: 1.5,
                clot: 4.5,
                knock: 3.0,
                diathermy: 1.0,
                coupling_loss: 1.0,
                speckle: 4.0,
                hct_change: 1.5,
                ambient: 1.0,
                reseat: 1.0,
            },
            ..SimOptions::realistic(duration_s)
        }
    }
}
