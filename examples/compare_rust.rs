//! clotair's side of `scripts/compare/`: the same work as the baselines, on the same trace,
//! timed the same way (one thread, one warm-up then the best of REPS runs, process CPU time),
//! written to `WORK/rust.json` for `report.py`'s `clotair ratio` column.
//!
//!     cargo run --release --example compare_rust -- WORK_DIR TRACE.f32 [REPS]
//!
//! `WORK_DIR` holds the filter coefficients the baselines use (`sos_lp8.txt`, `sos_hp4.txt`).
//! With `TRACE_WAV` set, the "read" rows read that WAV with clotair's reader instead of the raw
//! trace. `scripts/compare/run.sh` runs this; see `scripts/compare/README.md` for what each
//! key is compared with.

#[path = "../benches/support/mod.rs"]
mod support;

use std::io::Read;
use std::path::{Path, PathBuf};

use clotair::detect::Detector;
use clotair::dsp::background::SlidingQuantile;
use clotair::dsp::biquad::{SosState, SosStateIq};
use clotair::dsp::fft::Complex32;
use clotair::dsp::multichannel::SosStateMulti;
use clotair::dsp::stft::Stft;
use clotair::dsp::window::Window;
use clotair::event::Event;
use clotair::io::WavStream;
use clotair::line::LineGeometry;
use clotair::run::{detect_recording, RunOptions};
use support::{best_of, US_RATE_HZ};

const NCH: usize = 8;
/// Front-end parameters shared with the baselines (`traceio.py`).
const MEDIAN_FRAMES: usize = 256;
/// Input taken per step by the streaming rows, as the C pipeline does.
const CHUNK: usize = 4096;
/// Length of the simulated recording of the whole-detector rows, s.
const DETECTOR_S: u32 = 600;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: compare_rust WORK_DIR TRACE.f32 [REPS]");
        std::process::exit(2);
    }
    let work = PathBuf::from(&args[1]);
    let trace_path = PathBuf::from(&args[2]);
    let reps: usize = args.get(3).map_or(5, |r| r.parse().expect("REPS"));
    let wav = std::env::var_os("TRACE_WAV").map(PathBuf::from);
    let threshold_db: f32 = std::env::var("THRESHOLD_DB")
        .ok()
        .map_or(6.0, |t| t.parse().expect("THRESHOLD_DB"));

    let iq = read_raw(&trace_path);
    let n = iq.len() / 2;
    let seconds = n as f64 / f64::from(US_RATE_HZ);
    let lp8 = support::read_sos(&work.join("sos_lp8.txt"));
    let hp4 = support::read_sos(&work.join("sos_hp4.txt"));
    let mut out = serde_json::Map::new();
    let mut put = |key: &str, value: f64, what: &str| {
        println!("{key:<36} {value:>12.4e}  {what}");
        out.insert(key.into(), value.into());
    };
    println!(
        "clotair on {} ({n} I/Q samples, {seconds:.0} s), best of {reps}, CPU time",
        trace_path.display()
    );

    // Biquad cascade, one channel (I): the filter the detector runs, SosState.
    let x1: Vec<f32> = iq.iter().step_by(2).copied().collect();
    let mut y1 = vec![0.0f32; n];
    let (cpu, _) = best_of(reps, || {
        let mut st = SosState::default();
        st.block(&lp8, &x1, &mut y1);
        std::hint::black_box(&y1);
    });
    put(
        "biquad_1ch_samples_per_s",
        n as f64 / cpu,
        "SosState::block, LP8 on I",
    );

    // Eight interleaved channels, as the C baseline builds them.
    let mut x8 = vec![0.0f32; n * NCH];
    for c in 0..NCH {
        let shift = (c / 2) * 1000 % n;
        for i in 0..n {
            x8[i * NCH + c] = iq[2 * ((i + shift) % n) + (c % 2)];
        }
    }
    let mut y8 = vec![0.0f32; n * NCH];
    let (cpu, _) = best_of(reps, || {
        let mut st = SosStateMulti::<NCH>::default();
        st.block_interleaved(&lp8, &x8, &mut y8);
        std::hint::black_box(&y8);
    });
    put(
        "biquad_8ch_samples_per_s",
        (n * NCH) as f64 / cpu,
        "SosStateMulti<8>::block_interleaved, all channels counted",
    );
    drop((x8, y8, y1));

    // STFT: Hann, hop N/4, complex FFT per frame, spectrum handed to the next stage.
    let z: Vec<Complex32> = iq
        .chunks_exact(2)
        .map(|p| Complex32::new(p[0], p[1]))
        .collect();
    let frames128 = stft_frames::<128>(&z, reps);
    put(
        "stft128_frames_per_s",
        frames128,
        "Stft<128> hop 32, RustFft",
    );
    let frames256 = stft_frames::<256>(&z, reps);
    put(
        "stft256_frames_per_s",
        frames256,
        "Stft<256> hop 64, RustFft",
    );

    // The front end of the baselines built from clotair's primitives: high-pass, STFT, band
    // powers, running median over 256 frames, detection.
    let mut detections = 0usize;
    let (cpu, _) = best_of(reps, || detections = front_end_iq(&hp4, &z, threshold_db));
    put(
        "frontend_iq_samples_per_s",
        n as f64 / cpu,
        &format!("the baselines' stages from clotair primitives, I/Q ({detections} detections)"),
    );
    let (cpu, _) = best_of(reps, || {
        detections = front_end_real(&hp4, &x1, threshold_db)
    });
    put(
        "pipeline_real_samples_per_s",
        n as f64 / cpu,
        &format!("the same stages on I alone, real STFT input ({detections} detections)"),
    );
    drop(x1);

    // The whole ultrasound detector (faults, wall filter, STFT, per-bin background, 3x3 cell
    // ratios, hysteresis, features, classifier): more work than the baselines' front end.
    let mut events = 0usize;
    let (cpu, _) = best_of(reps, || {
        events = support::detect_in_memory(&iq, &[], LineGeometry::default())
    });
    put(
        "pipeline_samples_per_s",
        n as f64 / cpu,
        &format!("clotair Detector, ultrasound only, in memory ({events} events)"),
    );
    let (cpu, _) = best_of(reps, || {
        events = match &wav {
            Some(w) => detect_wav(w),
            None => detect_raw_file(&trace_path),
        }
    });
    put(
        "pipeline_read_samples_per_s",
        n as f64 / cpu,
        &format!("the same, reading the trace file in chunks ({events} events)"),
    );

    // The whole detector with both sensors on a simulated recording (the benches' one, 10 min,
    // I/Q 16 kHz + optical 1 kHz x 2, 16-bit WAVs): in memory, from the WAVs (reading
    // included), then two recordings at once on two threads (batch mode), wall time.
    let trace = support::bench_trace(DETECTOR_S);
    let seconds = trace.duration_s();
    let (cpu, _) = best_of(reps, || {
        events = support::detect_in_memory(&trace.iq, &trace.optical, trace.line)
    });
    put(
        "detector_x_real_time",
        seconds / cpu,
        &format!(
            "whole detector, simulated I/Q 16 kHz + optical 1 kHz x2, in memory ({events} events)"
        ),
    );
    let options = RunOptions::default();
    let (cpu, wall1) = best_of(reps, || {
        events = detect_recording(&trace.recording, &options)
            .expect("detect")
            .events
            .len()
    });
    put(
        "detector_read_x_real_time",
        seconds / cpu,
        &format!("the same from the WAVs, reading included ({events} events)"),
    );
    let (_, wall2) = best_of(reps, || {
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| detect_recording(&trace.recording, &options).expect("detect"));
            }
        });
    });
    put(
        "detector_read_1thread_wall_x_real_time",
        seconds / wall1,
        "the same, wall time",
    );
    put(
        "detector_read_2threads_wall_x_real_time",
        2.0 * seconds / wall2,
        "two recordings on two threads at once (batch), wall time",
    );
    out.insert(
        "detector_recording".into(),
        trace.recording.base.display().to_string().into(),
    );

    out.insert("reps".into(), reps.into());
    out.insert("trace".into(), trace_path.display().to_string().into());
    out.insert("target_avx2".into(), cfg!(target_feature = "avx2").into());
    let json = serde_json::to_string_pretty(&serde_json::Value::Object(out)).expect("json");
    let path = work.join("rust.json");
    std::fs::write(&path, json + "\n").expect("write rust.json");
    println!("wrote {}", path.display());
}

/// Raw little-endian float32 file.
fn read_raw(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn stft_frames<const N: usize>(z: &[Complex32], reps: usize) -> f64 {
    let mut frames = 0usize;
    let (cpu, _) = best_of(reps, || {
        let mut stft = Stft::<N>::new(Window::Hann, N / 4).expect("stft");
        let mut count = 0usize;
        let mut sink = 0.0f32;
        stft.block(z, |s| {
            count += 1;
            sink += s[1].re;
        });
        std::hint::black_box(sink);
        frames = count;
    });
    frames as f64 / cpu
}

/// One band's running median and detection.
struct Band {
    median: SlidingQuantile<MEDIAN_FRAMES>,
    factor: f32,
}

impl Band {
    fn new(threshold_db: f32) -> Self {
        Self {
            median: SlidingQuantile::new(),
            factor: 10f32.powf(threshold_db / 10.0),
        }
    }

    fn detect(&mut self, power: f32) -> bool {
        self.median.push(power);
        power > self.factor * self.median.median()
    }
}

/// High-pass on I and Q, STFT 128/32, forward (bins 1..63) and reverse (65..127) band powers,
/// running medians, detection: the stages of `c/pipeline.c`, streamed in chunks.
fn front_end_iq(hp: &clotair::dsp::biquad::Sos, z: &[Complex32], threshold_db: f32) -> usize {
    let mut wall = SosStateIq::default();
    let mut stft = Stft::<128>::new(Window::Hann, 32).expect("stft");
    let (mut fwd, mut rev) = (Band::new(threshold_db), Band::new(threshold_db));
    let mut buf = vec![Complex32::new(0.0, 0.0); CHUNK];
    let mut detections = 0usize;
    for chunk in z.chunks(CHUNK) {
        let buf = &mut buf[..chunk.len()];
        wall.block(hp, chunk, buf);
        stft.block(buf, |s| {
            let pf: f32 = s[1..64].iter().map(|x| x.norm_sqr()).sum();
            let pr: f32 = s[65..].iter().map(|x| x.norm_sqr()).sum();
            detections += usize::from(fwd.detect(pf) | rev.detect(pr));
        });
    }
    detections
}

/// The same on one real channel: one band (bins 1..63).
fn front_end_real(hp: &clotair::dsp::biquad::Sos, x: &[f32], threshold_db: f32) -> usize {
    let mut wall = SosState::default();
    let mut stft = Stft::<128>::new(Window::Hann, 32).expect("stft");
    let mut band = Band::new(threshold_db);
    let mut buf = vec![0.0f32; CHUNK];
    let mut detections = 0usize;
    for chunk in x.chunks(CHUNK) {
        let buf = &mut buf[..chunk.len()];
        wall.block(hp, chunk, buf);
        stft.block_real(buf, |s| {
            let p: f32 = s[1..64].iter().map(|x| x.norm_sqr()).sum();
            detections += usize::from(band.detect(p));
        });
    }
    detections
}

/// The ultrasound detector fed from the raw trace file in chunks.
fn detect_raw_file(path: &Path) -> usize {
    let mut file = std::fs::File::open(path).expect("open trace");
    let mut detector =
        Detector::new(&support::config(true, false, LineGeometry::default())).expect("config");
    let mut events = 0usize;
    let mut emit = |_: &Event| events += 1;
    let mut bytes = vec![0u8; CHUNK * 8];
    let mut samples = vec![0.0f32; CHUNK * 2];
    loop {
        let got = read_full(&mut file, &mut bytes);
        if got == 0 {
            break;
        }
        let m = got / 8 * 2;
        for (s, b) in samples[..m].iter_mut().zip(bytes.chunks_exact(4)) {
            *s = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        detector.push_ultrasound(&samples[..m], &mut emit);
    }
    detector.finish(&mut emit);
    events
}

fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> usize {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..]).expect("read trace") {
            0 => break,
            k => got += k,
        }
    }
    got
}

/// The ultrasound detector fed from a WAV by clotair's streaming reader.
fn detect_wav(path: &Path) -> usize {
    let mut stream = WavStream::open(path).expect("open WAV");
    let rate = stream.info().sample_rate_hz;
    let channels = usize::from(stream.info().channels);
    let mut config = support::config(true, false, LineGeometry::default());
    config.ultrasound_rate_hz = Some(rate);
    let mut detector = Detector::new(&config).expect("config");
    let mut events = 0usize;
    let mut emit = |_: &Event| events += 1;
    let mut buf = vec![0.0f32; CHUNK * channels];
    let mut iq = vec![0.0f32; CHUNK * 2];
    loop {
        let frames = stream.read_frames(&mut buf).expect("read WAV");
        if frames == 0 {
            break;
        }
        for (dst, src) in iq
            .chunks_exact_mut(2)
            .zip(buf.chunks_exact(channels))
            .take(frames)
        {
            dst.copy_from_slice(&src[..2]);
        }
        detector.push_ultrasound(&iq[..frames * 2], &mut emit);
    }
    detector.finish(&mut emit);
    events
}
