//! `clotair simulate`: labelled recordings from the line simulator.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::io::SampleFormat;
use crate::sim::{simulate_dataset, Preset, MAX_DURATION_S};

/// Arguments of `clotair simulate`.
#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// Directory to write NAME.ultrasound.wav, NAME.optical.wav, NAME.json and NAME.labels.csv into.
    #[arg(long)]
    pub out: PathBuf,
    /// Data set seed: the same seed writes byte-identical files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Number of recordings.
    #[arg(long, default_value_t = 8)]
    pub count: u64,
    /// Length of each recording, minutes.
    #[arg(long, default_value_t = 1.0)]
    pub minutes: f64,
    /// Event mix and rates: realistic, dense or regression (dense at 8 kHz / 500 Hz with the
    /// sensors cycling both / ultrasound only / optical only).
    #[arg(long, default_value = "realistic", value_parser = parse_preset)]
    pub preset: Preset,
    /// WAV sample format: int16, int24 or float32.
    #[arg(long, default_value = "int16", value_parser = parse_format)]
    pub format: SampleFormat,
    /// Record every ultrasound sensor at this rate (Hz) instead of the preset's drawn one;
    /// the lines, events and labels are those of the same seed without it.
    #[arg(long)]
    pub ultrasound_hz: Option<u32>,
    /// Record every optical sensor at this rate (Hz), likewise.
    #[arg(long)]
    pub optical_hz: Option<u32>,
    /// Record every ultrasound sensor with this much more receiver gain (dB; negative: less):
    /// the blood sits 26–34 dB under full scale by default and bubbles above ~0.5 mm clip.
    /// The lines, events and labels are those of the same seed without it.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub ultrasound_gain_db: f64,
    /// Record every optical sensor with this much more gain (dB; negative: less): the empty
    /// tube reads 0.6–0.95 of full scale by default. The lines, events and labels are those of
    /// the same seed without it.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub optical_gain_db: f64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

fn parse_preset(s: &str) -> Result<Preset, String> {
    Preset::parse(s)
        .ok_or_else(|| format!("unknown preset \"{s}\" (realistic, dense or regression)"))
}

fn parse_format(s: &str) -> Result<SampleFormat, String> {
    SampleFormat::parse(s)
        .ok_or_else(|| format!("unknown format \"{s}\" (int16, int24 or float32)"))
}

/// Runs `clotair simulate`.
pub fn run(args: SimulateArgs) -> ExitCode {
    if args.count == 0 {
        eprintln!("error: --count 0: nothing to simulate (give at least 1 recording)");
        return ExitCode::FAILURE;
    }
    let duration_s = args.minutes * 60.0;
    if !(1.0..=MAX_DURATION_S).contains(&duration_s) {
        eprintln!(
            "error: --minutes {} is outside 1/60..{} (each recording is built in memory)",
            args.minutes,
            MAX_DURATION_S / 60.0
        );
        return ExitCode::FAILURE;
    }
    for (name, rate) in [
        ("--ultrasound-hz", args.ultrasound_hz),
        ("--optical-hz", args.optical_hz),
    ] {
        if let Some(r) = rate.filter(|r| !crate::detect::RATE_RANGE_HZ.contains(r)) {
            eprintln!("error: {name} {r} is outside the recording contract's 250–96000 Hz");
            return ExitCode::FAILURE;
        }
    }
    for (name, gain, range, beyond) in [
        (
            "--ultrasound-gain-db",
            args.ultrasound_gain_db,
            -40.0..=20.0,
            "the blood would sit under the 16-bit converter's resolution or above full scale",
        ),
        (
            "--optical-gain-db",
            args.optical_gain_db,
            -60.0..=10.0,
            "the blood would read a few steps of the 16-bit converter, or the empty tube far \
             above full scale",
        ),
    ] {
        if !range.contains(&gain) {
            eprintln!(
                "error: {name} {gain} is outside {}..{} ({beyond})",
                range.start(),
                range.end()
            );
            return ExitCode::FAILURE;
        }
    }
    let mut options = args.preset.options(duration_s);
    options.ultrasound_gain_db = args.ultrasound_gain_db;
    options.optical_gain_db = args.optical_gain_db;
    options.format = args.format;
    options.record_rates_hz = (args.ultrasound_hz, args.optical_hz);
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot start worker threads: {e}");
            return ExitCode::FAILURE;
        }
    };
    let bar = indicatif::ProgressBar::new(args.count);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} simulating [{bar:30}] {pos}/{len} recordings, {elapsed} (eta {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    let result = pool
        .install(|| simulate_dataset(&args.out, &options, args.seed, args.count, &|| bar.inc(1)));
    bar.finish_and_clear();
    match result {
        Ok(s) => {
            let secs = started.elapsed().as_secs_f64();
            println!(
                "wrote {} recordings ({:.1} min of signal, {} emboli of which {} detectable, {} artifacts) to {} in {:.1} s ({:.0}x real time)",
                s.recordings,
                s.duration_s / 60.0,
                s.emboli,
                s.detectable,
                s.artifacts,
                args.out.display(),
                secs,
                s.duration_s / secs.max(1e-9)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
