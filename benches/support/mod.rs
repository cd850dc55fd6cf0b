//! What the benches and `examples/compare_rust.rs` share: the recorded trace they time, CPU
//! time, and the loops being timed (so that the criterion figures and `rust.json` measure the
//! same code).
//!
//! The trace is a seeded simulated recording in the contract's format (`NAME.ultrasound.wav`,
//! I/Q at 16 kHz, and `NAME.optical.wav`, red + near-IR at 1 kHz, 16-bit, with its sidecar),
//! simulated once under `target/bench-data/` and read back from disk, so the whole-detector
//! bench times the same bytes a user's run would.
#![allow(dead_code)] // each bench uses its own part

use std::path::{Path, PathBuf};

use clotair::detect::{Detector, DetectorConfig};
use clotair::dsp::biquad::{Biquad, Sos};
use clotair::event::Event;
use clotair::io::{self, Recording, WavStream};
use clotair::line::LineGeometry;
use clotair::sim::{self, SensorMix, SimOptions};

/// Ultrasound rate of the bench trace (the typical 16 kHz).
pub const US_RATE_HZ: u32 = 16_000;
/// Optical rate of the bench trace.
pub const OPT_RATE_HZ: u32 = 1_000;
/// Seed of the bench trace.
pub const SEED: u64 = 20_261_125;

/// A recording in memory, with where its files are.
pub struct Trace {
    /// Interleaved I, Q at [`US_RATE_HZ`].
    pub iq: Vec<f32>,
    /// Interleaved red, IR at [`OPT_RATE_HZ`].
    pub optical: Vec<f32>,
    /// The recording on disk.
    pub recording: Recording,
    /// Its line geometry, from the sidecar.
    pub line: LineGeometry,
}

impl Trace {
    /// Signal length, s.
    pub fn duration_s(&self) -> f64 {
        (self.iq.len() / 2) as f64 / f64::from(US_RATE_HZ)
    }
}

/// `target/bench-data` of this crate.
pub fn data_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("bench-data")
}

/// The seeded bench recording of `seconds`: recording 0 of the simulator's realistic mix with
/// both sensors, ultrasound at 16 kHz and optical at 1 kHz, 16-bit WAVs as the recording
/// contract stores them. Simulated into [`data_dir`] if absent, then read back from its WAVs.
pub fn bench_trace(seconds: u32) -> Trace {
    let dir = data_dir().join(format!("sim_seed{SEED}_{seconds}s"));
    let base = dir.join(sim::recording_name(0));
    let us_path = with_suffix(&base, ".ultrasound.wav");
    let opt_path = with_suffix(&base, ".optical.wav");
    if !(us_path.is_file() && opt_path.is_file()) {
        std::fs::create_dir_all(&dir).expect("create target/bench-data");
        let options = SimOptions {
            ultrasound_rates_hz: vec![US_RATE_HZ],
            optical_rates_hz: vec![OPT_RATE_HZ],
            sensors: SensorMix::Cycle, // index 0: both sensors
            ..SimOptions::realistic(f64::from(seconds))
        };
        let rec = sim::simulate_recording(&options, SEED, 0);
        rec.write(&dir, options.format)
            .expect("write bench recording");
    }
    let recording = Recording::at_base(&base).expect("bench recording");
    let line = match &recording.sidecar {
        Some(p) => io::read_sidecar(p).expect("sidecar").line,
        None => LineGeometry::default(),
    };
    Trace {
        iq: read_all(&us_path),
        optical: read_all(&opt_path),
        recording,
        line,
    }
}

fn with_suffix(base: &Path, suffix: &str) -> PathBuf {
    let mut p = base.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// Reads a whole WAV, interleaved.
pub fn read_all(path: &Path) -> Vec<f32> {
    WavStream::open(path)
        .and_then(|mut s| s.read_to_end())
        .expect("read WAV")
}

/// Process CPU time, s: what the comparison counts on a shared machine.
pub fn cpu_time_s() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + 1e-9 * ts.tv_nsec as f64
}

/// Best (CPU, wall) seconds of `reps` timed runs after one warm-up.
pub fn best_of(reps: usize, mut run: impl FnMut()) -> (f64, f64) {
    run();
    let (mut cpu, mut wall) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..reps.max(1) {
        let (c0, w0) = (cpu_time_s(), std::time::Instant::now());
        run();
        cpu = cpu.min(cpu_time_s() - c0);
        wall = wall.min(w0.elapsed().as_secs_f64());
    }
    (cpu, wall)
}

/// The order-8 Butterworth low-pass at 2 kHz (4 sections) of the biquad benches, as
/// `scipy.signal.butter(8, 2000, fs=16000, output="sos")` gives it (the comparison reads the
/// same numbers from `work/sos_lp8.txt`).
pub fn lp8() -> Sos {
    clotair::dsp::butterworth::butter(
        8,
        clotair::dsp::butterworth::Band::LowPass(2000.0),
        US_RATE_HZ as f32,
    )
    .expect("design")
}

/// Sections as scipy writes them, one `b0 b1 b2 a0 a1 a2` line each.
pub fn read_sos(path: &Path) -> Sos {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let sections: Vec<Biquad> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Vec<f64> = l
                .split_whitespace()
                .map(|w| w.parse().expect("number"))
                .collect();
            assert_eq!(v.len(), 6, "{}: six numbers a line", path.display());
            let a0 = v[3];
            Biquad::new(
                [(v[0] / a0) as f32, (v[1] / a0) as f32, (v[2] / a0) as f32],
                [(v[4] / a0) as f32, (v[5] / a0) as f32],
            )
        })
        .collect();
    Sos::new(&sections).expect("valid sections")
}

/// The detector configuration for the bench trace: the sensors given, default thresholds.
pub fn config(ultrasound: bool, optical: bool, line: LineGeometry) -> DetectorConfig {
    DetectorConfig {
        ultrasound_rate_hz: ultrasound.then_some(US_RATE_HZ),
        optical_rate_hz: optical.then_some(OPT_RATE_HZ),
        optical_channels: 2,
        line,
        ..DetectorConfig::default()
    }
}

/// Streams in-memory samples through a fresh detector the way `run::detect_recording` does
/// (50 ms of each sensor in turn); an empty stream means no such sensor. Returns the number of
/// events.
pub fn detect_in_memory(iq: &[f32], optical: &[f32], line: LineGeometry) -> usize {
    let config = config(!iq.is_empty(), !optical.is_empty(), line);
    let mut detector = Detector::new(&config).expect("config");
    let mut events = 0usize;
    let mut emit = |_: &Event| events += 1;
    let us_chunk = (US_RATE_HZ as usize / 20) * 2;
    let opt_chunk = (OPT_RATE_HZ as usize / 20) * 2;
    let mut us = iq.chunks(us_chunk);
    let mut opt = optical.chunks(opt_chunk);
    loop {
        let a = us.next();
        let b = opt.next();
        if a.is_none() && b.is_none() {
            break;
        }
        if let Some(a) = a {
            detector.push_ultrasound(a, &mut emit);
        }
        if let Some(b) = b {
            detector.push_optical(b, &mut emit);
        }
    }
    detector.finish(&mut emit);
    events
}
