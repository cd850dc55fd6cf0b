//! Simulator speed, measured, not asserted (timing does not belong in a pass/fail test):
//! `cargo test --release --test sim_speed -- --ignored --nocapture`.

use clotair::sim::{simulate_recording, Preset, SensorMix, SimOptions};

#[test]
#[ignore = "a measurement: run in release with --ignored --nocapture"]
fn real_time_factor_at_16_khz_both_sensors() {
    let options = SimOptions {
        ultrasound_rates_hz: vec![16_000],
        optical_rates_hz: vec![1_000],
        sensors: SensorMix::Random {
            ultrasound_only: 0.0,
            optical_only: 0.0,
        },
        ..Preset::Realistic.options(300.0)
    };
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let mut signal_s = 0.0;
    for index in 0..4 {
        let rec = simulate_recording(&options, 1, index);
        rec.write(dir.path(), options.format).unwrap();
        signal_s += rec.duration_s();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{signal_s} s of 16 kHz I/Q + 1 kHz optical in {secs:.2} s on one thread: {:.0}x real time",
        signal_s / secs
    );
}

#[test]
#[ignore = "a measurement: run in release with --ignored --nocapture"]
fn wav_read_speed() {
    let options = SimOptions {
        ultrasound_rates_hz: vec![16_000],
        sensors: SensorMix::Random {
            ultrasound_only: 1.0,
            optical_only: 0.0,
        },
        ..Preset::Realistic.options(300.0)
    };
    let dir = tempfile::tempdir().unwrap();
    let rec = simulate_recording(&options, 1, 0);
    rec.write(dir.path(), options.format).unwrap();
    let path = dir.path().join("sim0000.ultrasound.wav");
    let started = std::time::Instant::now();
    let mut s = clotair::io::WavStream::open(&path).unwrap();
    let mut buf = vec![0.0f32; 2 * 4096];
    let mut frames = 0;
    loop {
        let n = s.read_frames(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        frames += n;
    }
    let secs = started.elapsed().as_secs_f64();
    println!("read {frames} int16 I/Q frames in {secs:.3} s: {:.0} M samples/s, {:.0}x real time at 16 kHz", 2.0 * frames as f64 / secs / 1e6, frames as f64 / 16_000.0 / secs);
}
