//! The line simulator: labelled optical and Doppler recordings of air, clots and artifacts.
//!
//! No public recordings of these sensors exist, so every effect of
//! `shared/spec/signal-model.md` is simulated, with its ranges drawn at random per recording
//! ([`LineTruth::draw`]) and the events of a recording drawn before rendering ([`Plan`]).
//! Each recording is generated whole in memory (about 25 bytes per ultrasound sample: a
//! 10-minute 16 kHz recording takes ~250 MB; recordings are limited to
//! [`MAX_DURATION_S`]); data sets run recordings in parallel.
//!
//! ```
//! use clotair::sim::{simulate_recording, Preset};
//! let rec = simulate_recording(&Preset::Regression.options(5.0), 1, 0);
//! assert_eq!(rec.ultrasound.as_ref().unwrap().len(), 2 * 5 * 8000);
//! ```

mod dataset;
mod line;
mod optical;
mod options;
mod plan;
mod pump;
mod recording;
mod rng;
mod speckle;
mod ultrasound;

pub use dataset::{simulate_dataset, DatasetSummary};
pub use line::{LineTruth, SOUND_SPEED_M_S};
pub use options::{EventRates, Preset, SensorMix, SimOptions, MAX_DURATION_S};
pub use plan::{
    blood_transmission, Artifact, ArtifactKind, Embolus, EmbolusKind, Part, Plan,
    MIN_VISIBLE_EBR_DB, OPTICAL_DURATION_S, ULTRASOUND_DURATION_S,
};
pub use pump::Pump;
pub use recording::{recording_name, simulate_recording, SimRecording};
pub use speckle::blood_speckle;

/// FFT length the plot uses for a sample rate: the simulator's speckle frame (~32 ms).
pub fn frame_len_for_plot(sample_rate_hz: f64) -> usize {
    speckle::frame_len(sample_rate_hz)
}
