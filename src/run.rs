//! Running the streaming detector over a recording on disk: the same [`Detector`] that runs on
//! the device, fed from the WAV files in stream-time order, chunk by chunk, never holding the
//! whole recording in memory.

use std::path::PathBuf;

use crate::detect::{ConfigError, Detector, DetectorConfig};
use crate::event::{Event, Sensor};
use crate::io::{self, Recording, WavStream};

/// Signal time read per step from each sensor: both streams advance together so that the
/// detector's pending decisions stay few.
pub const CHUNK_S: f64 = 0.05;

/// Why a recording could not be processed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A file could not be read or is not in the contract's format.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The recording's parameters are outside what the detector accepts.
    #[error("{path}: {source}")]
    Config {
        /// The recording's base path.
        path: PathBuf,
        /// What is wrong.
        source: ConfigError,
    },
}

/// What the detector found in one recording.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The recording.
    pub recording: Recording,
    /// Events in order of alarm time.
    pub events: Vec<Event>,
    /// Length of the longer stream, s.
    pub duration_s: f64,
}

/// Options for a run.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Thresholds and limits; the rates, channels and geometry are taken from the recording.
    pub base: Option<DetectorConfig>,
    /// Signal time read per step from each sensor; [`CHUNK_S`] when `None`. The events do
    /// not depend on it (tested): it trades memory for calls.
    pub chunk_s: Option<f64>,
}

/// Streams one recording through the detector.
pub fn detect_recording(rec: &Recording, options: &RunOptions) -> Result<Outcome, RunError> {
    let mut us = rec.ultrasound.as_deref().map(WavStream::open).transpose()?;
    let mut opt = rec.optical.as_deref().map(WavStream::open).transpose()?;
    let line = match &rec.sidecar {
        Some(p) => io::read_sidecar(p)?.line,
        None => Default::default(),
    };
    let mut config = options.base.unwrap_or_default();
    config.line = line;
    config.ultrasound_rate_hz = us.as_ref().map(|s| s.info().sample_rate_hz);
    config.optical_rate_hz = opt.as_ref().map(|s| s.info().sample_rate_hz);
    if let Some(s) = &opt {
        config.optical_channels = s.info().channels as usize;
    }
    let mut detector = Detector::new(&config).map_err(|source| RunError::Config {
        path: rec.base.clone(),
        source,
    })?;

    let mut events = Vec::new();
    let mut emit = |e: &Event| events.push(*e);
    let mut duration_s: f64 = 0.0;
    for s in us.iter().chain(opt.iter()) {
        let info = s.info();
        duration_s = duration_s.max(info.frames as f64 / info.sample_rate_hz as f64);
    }

    let chunk_s = options.chunk_s.unwrap_or(CHUNK_S);
    let chunk = |s: &WavStream| {
        let info = s.info();
        ((chunk_s * info.sample_rate_hz as f64).ceil() as usize).max(1) * info.channels as usize
    };
    let mut us_buf = vec![0.0f32; us.as_ref().map_or(0, chunk)];
    let mut opt_buf = vec![0.0f32; opt.as_ref().map_or(0, chunk)];
    loop {
        let mut progressed = false;
        if let Some(stream) = us.as_mut() {
            let frames = stream.read_frames(&mut us_buf)?;
            if frames == 0 {
                us = None;
                detector.end_stream(Sensor::Ultrasound, &mut emit);
            } else {
                detector.push_ultrasound(&us_buf[..frames * 2], &mut emit);
                progressed = true;
            }
        }
        if let Some(stream) = opt.as_mut() {
            let channels = stream.info().channels as usize;
            let frames = stream.read_frames(&mut opt_buf)?;
            if frames == 0 {
                opt = None;
                detector.end_stream(Sensor::Optical, &mut emit);
            } else {
                detector.push_optical(&opt_buf[..frames * channels], &mut emit);
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
    }
    detector.finish(&mut emit);
    events.sort_by_key(|e| e.detected_us);
    Ok(Outcome {
        recording: rec.clone(),
        events,
        duration_s,
    })
}

/// Streams many recordings in parallel (rayon), in input order; `on_done` is called as each
/// finishes (for progress), from worker threads.
pub fn detect_many(
    recordings: &[Recording],
    options: &RunOptions,
    on_done: &(dyn Fn(&Recording, &Result<Outcome, RunError>) + Sync),
) -> Vec<Result<Outcome, RunError>> {
    use rayon::prelude::*;
    recordings
        .par_iter()
        .map(|rec| {
            let result = detect_recording(rec, options);
            on_done(rec, &result);
            result
        })
        .collect()
}
