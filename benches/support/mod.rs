//! What the benches and `examples/compare_rust.rs` share: the recorded trace they time, CPU
//! time, and the loops being timed (so that the criterion figures and `rust.json` measure the
//! same code).
//!
//! The trace is a seeded recording in the contract's format (`NAME.ultrasound.wav`, I/Q at
//! 16 kHz, and `NAME.optical.wav`, red + near-IR at 1 kHz), written once under
//! `target/bench-data/` and read back from disk, so the whole-detector bench times the same
//! bytes a user's run would. It exists to be timed: complex blood-like noise, wall clutter and
//! tone bursts on the ultrasound; a noisy baseline with short rises (air) and dips (clots) on
//! the optical channels.
#![allow(dead_code)] // each bench uses its own part

use std::path::{Path, PathBuf};

use clotair::detect::{Detector, DetectorConfig};
use clotair::dsp::biquad::{Biquad, Sos};
use clotair::event::Event;
use clotair::io::{self, Recording, SampleFormat, WavStream};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

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

/// The seeded bench recording of `seconds`, generated into [`data_dir`] if absent, read back
/// from its WAVs.
pub fn bench_trace(seconds: u32) -> Trace {
    let dir = data_dir();
    let base = dir.join(format!("bench_seed{SEED}_{seconds}s"));
    let us_path = with_suffix(&base, ".ultrasound.wav");
    let opt_path = with_suffix(&base, ".optical.wav");
    if !(us_path.is_file() && opt_path.is_file()) {
        std::fs::create_dir_all(&dir).expect("create target/bench-data");
        let (iq, optical) = synth(seconds, SEED);
        io::write_wav(&us_path, 2, US_RATE_HZ, SampleFormat::Float32, &iq).expect("write");
        io::write_wav(&opt_path, 2, OPT_RATE_HZ, SampleFormat::Float32, &optical)
            .expect("write");
    }
    let recording = Recording::at_base(&base).expect("bench recording");
    let iq = read_all(&us_path);
    let optical = read_all(&opt_path);
    Trace {
        iq,
        optical,
        recording,
    }
}

/// A recording made of an existing ultrasound WAV (or raw I/Q float32 file, converted once to
/// a WAV beside it) plus a seeded optical stream of the same length: what
/// `examples/compare_rust.rs` runs on the comparison trace.
pub fn trace_with_optical(dir: &Path, name: &str, iq: Vec<f32>) -> Trace {
    let base = dir.join(name);
    let us_path = with_suffix(&base, ".ultrasound.wav");
    let opt_path = with_suffix(&base, ".optical.wav");
    let seconds = (iq.len() / 2) as f64 / f64::from(US_RATE_HZ);
    let frames = (seconds * f64::from(OPT_RATE_HZ)) as usize;
    let fresh = |p: &Path| {
        p.is_file() && WavStream::open(p).is_ok_and(|s| s.info().frames as usize * 2 == iq.len())
    };
    if !fresh(&us_path) {
        io::write_wav(&us_path, 2, US_RATE_HZ, SampleFormat::Float32, &iq).expect("write");
    }
    let optical = optical_stream(frames, SEED);
    io::write_wav(&opt_path, 2, OPT_RATE_HZ, SampleFormat::Float32, &optical).expect("write");
    Trace {
        iq,
        optical,
        recording: Recording::at_base(&base).expect("recording"),
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

/// Seeded I/Q and optical streams of `seconds`.
pub fn synth(seconds: u32, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let n = seconds as usize * US_RATE_HZ as usize;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let fs = US_RATE_HZ as f32;
    let mut iq = Vec::with_capacity(2 * n);
    // Blood: complex white noise through a one-pole low-pass, shifted to +1.3 kHz (forward),
    // pulsing with the pump; a 20 Hz wall-clutter tone; a white floor.
    let (mut lr, mut li) = (0.0f32, 0.0f32);
    let mut burst_at = 2.0 * fs;
    let (mut burst_f, mut burst_left) = (0.0f32, 0usize);
    for i in 0..n {
        let t = i as f32 / fs;
        let g1: f32 = StandardNormal.sample(&mut rng);
        let g2: f32 = StandardNormal.sample(&mut rng);
        lr += 0.3 * (g1 - lr);
        li += 0.3 * (g2 - li);
        let pump = 1.0 + 0.25 * (2.0 * std::f32::consts::PI * 1.3 * t).sin();
        let (s, c) = (2.0 * std::f32::consts::PI * 1300.0 * t).sin_cos();
        let mut re = pump * (lr * c - li * s);
        let mut im = pump * (lr * s + li * c);
        let (ws, wc) = (2.0 * std::f32::consts::PI * 20.0 * t).sin_cos();
        re += 3.0 * wc + 0.05 * g2;
        im += 3.0 * ws + 0.05 * g1;
        if i as f32 >= burst_at {
            burst_f = rng.random_range(600.0..2400.0);
            burst_left = (0.02 * fs) as usize;
            burst_at += 1.7 * fs;
        }
        if burst_left > 0 {
            let (bs, bc) = (2.0 * std::f32::consts::PI * burst_f * t).sin_cos();
            re += 4.0 * bc;
            im += 4.0 * bs;
            burst_left -= 1;
        }
        iq.push(0.05 * re);
        iq.push(0.05 * im);
    }
    let frames = seconds as usize * OPT_RATE_HZ as usize;
    (iq, optical_stream(frames, seed ^ 0x0b71ca1))
}

/// Seeded 2-channel optical stream: transmission near 0.6 (red) and 0.4 (IR) with 0.1 % noise,
/// a 10 ms rise of 3 % (air) every 2.3 s and a 20 ms dip of 1 % (clot) every 3.1 s.
pub fn optical_stream(frames: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let fs = OPT_RATE_HZ as usize;
    let mut out = Vec::with_capacity(2 * frames);
    for i in 0..frames {
        let mut gain = 1.0f32;
        if i > fs && i % (23 * fs / 10) < fs / 100 {
            gain += 0.03;
        }
        if i > fs && i % (31 * fs / 10) < fs / 50 {
            gain -= 0.01;
        }
        let g1: f32 = StandardNormal.sample(&mut rng);
        let g2: f32 = StandardNormal.sample(&mut rng);
        out.push(0.6 * gain * (1.0 + 0.001 * g1));
        out.push(0.4 * gain * (1.0 + 0.001 * g2));
    }
    out
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

/// The detector configuration for the bench trace: both sensors, default thresholds.
pub fn config(ultrasound: bool, optical: bool) -> DetectorConfig {
    DetectorConfig {
        ultrasound_rate_hz: ultrasound.then_some(US_RATE_HZ),
        optical_rate_hz: optical.then_some(OPT_RATE_HZ),
        optical_channels: 2,
        ..DetectorConfig::default()
    }
}

/// Streams the in-memory trace through a fresh detector the way `run::detect_recording` does
/// (50 ms of each sensor in turn); returns the number of events.
pub fn detect_in_memory(iq: &[f32], optical: &[f32]) -> usize {
    let mut detector = Detector::new(&config(!iq.is_empty(), !optical.is_empty())).expect("config");
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
