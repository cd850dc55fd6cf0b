//! One simulated recording: draw, render, write.

use std::path::Path;

use serde_json::Map;

use super::line::LineTruth;
use super::options::SimOptions;
use super::plan::Plan;
use super::rng::{rng, Stream};
use super::{optical, ultrasound};
use crate::io::{self, Label, Sidecar};
use crate::line::LineGeometry;

/// A rendered recording, in memory.
#[derive(Clone, Debug)]
pub struct SimRecording {
    /// `NAME`.
    pub name: String,
    /// The line drawn for it.
    pub line: LineTruth,
    /// Its events.
    pub plan: Plan,
    /// Interleaved I, Q at `line.ultrasound_hz`, if it has an ultrasound sensor.
    pub ultrasound: Option<Vec<f32>>,
    /// Interleaved red, IR at `line.optical_hz`, if it has an optical sensor.
    pub optical: Option<Vec<f32>>,
    /// The labels.
    pub labels: Vec<Label>,
    /// What the sidecar says (flow as a setting, off by up to ±10 %).
    pub sidecar: Sidecar,
}

/// The name of recording `index` of a data set.
pub fn recording_name(index: u64) -> String {
    format!("sim{index:04}")
}

/// Simulates recording `index` of the data set `seed`: the same (options, seed, index) give
/// the same recording, whatever else runs.
///
/// # Panics
/// If `options.duration_s` is not in 1 s..=[`super::MAX_DURATION_S`] or a rate list is empty.
pub fn simulate_recording(options: &SimOptions, seed: u64, index: u64) -> SimRecording {
    assert!(
        (1.0..=super::MAX_DURATION_S).contains(&options.duration_s),
        "duration {} s outside 1..={} s",
        options.duration_s,
        super::MAX_DURATION_S
    );
    assert!(!options.ultrasound_rates_hz.is_empty() && !options.optical_rates_hz.is_empty());
    let line = LineTruth::draw(&mut rng(seed, index, Stream::Line), options, index);
    let plan = Plan::draw(&mut rng(seed, index, Stream::Events), &line, options);
    let ultrasound = line.ultrasound_hz.map(|_| {
        ultrasound::render(
            &line,
            &plan,
            &mut rng(seed, index, Stream::Speckle),
            &mut rng(seed, index, Stream::UltrasoundNoise),
        )
    });
    let optical = line
        .optical_hz
        .map(|_| optical::render(&line, &plan, &mut rng(seed, index, Stream::OpticalNoise)));
    let labels = plan.labels(&line, options.format);
    let sidecar = Sidecar {
        line: LineGeometry {
            spacing_mm: Some(line.spacing_mm as f32),
            tube_id_mm: Some(line.tube_id_mm as f32),
            flow_ml_min: Some(line.flow_setting_ml_min as f32),
            carrier_hz: Some(line.carrier_hz as f32),
            angle_deg: Some(line.angle_deg as f32),
        },
    };
    SimRecording {
        name: recording_name(index),
        line,
        plan,
        ultrasound,
        optical,
        labels,
        sidecar,
    }
}

impl SimRecording {
    /// Writes `DIR/NAME.ultrasound.wav`, `.optical.wav`, `.json` and `.labels.csv` (the WAVs
    /// of the sensors it has), each atomically.
    pub fn write(&self, dir: &Path, format: io::SampleFormat) -> Result<(), io::Error> {
        let base = dir.join(&self.name);
        let with = |suffix: &str| {
            let mut p = base.clone().into_os_string();
            p.push(suffix);
            std::path::PathBuf::from(p)
        };
        if let (Some(x), Some(fs)) = (&self.ultrasound, self.line.ultrasound_hz) {
            io::write_wav(&with(".ultrasound.wav"), 2, fs, format, x)?;
        }
        if let (Some(x), Some(fs)) = (&self.optical, self.line.optical_hz) {
            io::write_wav(&with(".optical.wav"), 2, fs, format, x)?;
        }
        let mut extra = Map::new();
        extra.insert("simulator".into(), self.line.to_json());
        io::write_sidecar_with_extra(&with(".json"), &self.sidecar, extra)?;
        io::write_labels(&with(".labels.csv"), &self.labels)
    }

    /// Recording length in seconds.
    pub fn duration_s(&self) -> f64 {
        self.line.duration_s
    }
}
