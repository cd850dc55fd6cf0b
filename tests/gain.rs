//! A receiver with more gain than the simulator's (the blood 26–34 dB under full scale there)
//! clips knocks and diathermy bursts, whose clipping spreads their energy over both directions
//! as a bubble's does: the turn of the I/Q phasor still tells them apart
//! (`ultrasound::TURNING_COHERENCE`).

use std::path::Path;

use clotair::cli::eval::evaluate;
use clotair::eval::Report;
use clotair::event::{Class, Event};
use clotair::io::{self, write_wav, Label, SampleFormat, WavStream};
use clotair::run::{detect_recording, RunOptions};
use clotair::sim::{simulate_dataset, Preset, SimOptions};

mod replayed;

/// Rewrites `base`'s ultrasound 10 dB hotter, clipped as the receiver's converter would.
fn ten_db_hotter(base: &Path) {
    let path = base.with_extension("ultrasound.wav");
    let mut wav = WavStream::open(&path).unwrap();
    let info = wav.info();
    let samples: Vec<f32> = wav
        .read_to_end()
        .unwrap()
        .into_iter()
        .map(|x| (x * 10f32.sqrt()).clamp(-1.0, 1.0))
        .collect();
    drop(wav);
    write_wav(&path, 2, info.sample_rate_hz, SampleFormat::Int16, &samples).unwrap();
}

/// The labelled air events that an air alarm overlaps (within the scorers' 50 ms).
fn air_found(events: &[Event], labels: &[Label]) -> usize {
    labels
        .iter()
        .filter(|l| l.class == Class::Air)
        .filter(|l| {
            events.iter().any(|e| {
                let (s, t) = (e.start_us as f64 * 1e-6, e.end_us as f64 * 1e-6);
                e.class == Class::Air && s <= l.end_s + 0.05 && t >= l.start_s - 0.05
            })
        })
        .count()
}

/// `data/tune`'s third recording (seed 3003) holds a diathermy burst at 270 s. 10 dB hotter,
/// the burst clips the receiver, and before the turning test it alarmed as air; the
/// recording's bubbles, whose echoes clip too, are found as at the recorded gain.
#[test]
fn a_burst_that_clips_a_hotter_receiver_raises_no_alarm() {
    let dir = tempfile::tempdir().unwrap();
    simulate_dataset(
        dir.path(),
        &Preset::Realistic.options(300.0),
        3003,
        3,
        &|| {},
    )
    .unwrap();
    let base = dir.path().join("sim0002");
    let labels = io::read_labels(&base.with_extension("labels.csv"), None).unwrap();
    let detect = || {
        let rec = io::Recording::at_base(&base).unwrap();
        detect_recording(&rec, &RunOptions::default())
            .unwrap()
            .events
    };
    let at_recorded_gain = detect();
    ten_db_hotter(&base);
    let hotter = detect();
    let burst = labels
        .iter()
        .find(|l| l.kind.as_deref() == Some("diathermy") && l.start_s > 265.0)
        .expect("the labelled burst");
    let (from, to) = (burst.start_s - 0.05, burst.end_s + 0.05);
    let in_burst: Vec<&Event> = hotter
        .iter()
        .filter(|e| e.class.is_alarm())
        .filter(|e| e.start_us as f64 * 1e-6 <= to && e.end_us as f64 * 1e-6 >= from)
        .collect();
    assert!(
        in_burst.is_empty(),
        "alarms in the burst {from:.2}–{to:.2} s: {in_burst:?}"
    );
    let (before, after) = (
        air_found(&at_recorded_gain, &labels),
        air_found(&hotter, &labels),
    );
    assert!(
        before >= 5,
        "{before} air events found at the recorded gain"
    );
    assert!(
        after + 1 >= before,
        "air found: {after} 10 dB hotter, {before} before"
    );
}

/// Four dense minutes from `seed` simulated with `options`: what `measure` reads in their
/// WAVs, and their evaluation.
fn dense_set<T>(options: &SimOptions, seed: u64, measure: impl Fn(&Path) -> T) -> (T, Report) {
    let dir = tempfile::tempdir().unwrap();
    simulate_dataset(dir.path(), options, seed, 4, &|| {}).unwrap();
    let measured = measure(dir.path());
    let e = evaluate(dir.path(), None, true, &RunOptions::default());
    assert!(e.failures.is_empty(), "{:?}", e.failures);
    (measured, e.report)
}

/// The ultrasound samples under `dir` at full scale (clipped).
fn clipped_ultrasound(dir: &Path) -> usize {
    let mut clipped = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".ultrasound.wav") {
            let mut wav = WavStream::open(&path).unwrap();
            let samples = wav.read_to_end().unwrap();
            clipped += samples.iter().filter(|x| x.abs() >= 0.99).count();
        }
    }
    clipped
}

/// A receiver with 15 dB less gain than the simulator's draws the same lines and events, but
/// most of its echoes no longer clip (here 1,654 clipped samples against 78: only slugs still
/// do). The detector's trees were fit on echoes that clip, and its interference tests exempt
/// clipped frames; with less gain it finds the same emboli with no more false alarms
/// (measured on `data/tune5`, 8 h at −15 dB: air 647 → 651, clots 191 → 191, false alarms
/// 5 → 5).
#[test]
fn a_receiver_with_less_gain_finds_the_same_emboli() {
    let score = |gain_db: f64| {
        let mut options = Preset::Dense.options(60.0);
        options.ultrasound_gain_db = gain_db;
        dense_set(&options, 3003, clipped_ultrasound)
    };
    let (clipped_at_drawn_gain, drawn) = score(0.0);
    let (clipped_with_less_gain, less) = score(-15.0);
    println!("clipped samples: {clipped_at_drawn_gain} at the drawn gain, {clipped_with_less_gain} 15 dB under");
    assert!(
        clipped_with_less_gain * 10 < clipped_at_drawn_gain,
        "clipped samples: {clipped_at_drawn_gain} at the drawn gain, {clipped_with_less_gain} 15 dB under"
    );
    println!(
        "drawn gain:\n{}\n15 dB less:\n{}",
        drawn.table(),
        less.table()
    );
    assert!(drawn.air.positives >= 20 && drawn.clot.positives >= 10);
    replayed::assert_scores_as(&drawn, &less, "with 15 dB less gain", (1, 1));
}

/// The red channel's median reading, in 16-bit converter steps, of the median recording under
/// `dir`: how coarsely the converter sees the blood.
fn optical_median_steps(dir: &Path) -> f32 {
    let mut medians = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".optical.wav") {
            let mut wav = WavStream::open(&path).unwrap();
            let mut red: Vec<f32> = wav.read_to_end().unwrap().into_iter().step_by(2).collect();
            red.sort_by(f32::total_cmp);
            medians.push(red[red.len() / 2] * 32768.0);
        }
    }
    medians.sort_by(f32::total_cmp);
    medians[medians.len() / 2]
}

/// An optical chain with 40 dB less gain than the simulator's puts the blood's light a few
/// hundred converter steps over zero, with the sensor noise under one step: the reading is a
/// staircase. Before the optical path's noise level was floored at the converter's rounding,
/// each step stood many "standard deviations" tall (measured on `data/tune4`'s plans, 2 h:
/// 151 false alarms, 0 with the floor; air 159 → 159, clots 42 → 40).
#[test]
fn a_dim_optical_channel_finds_the_same_emboli() {
    let score = |gain_db: f64| {
        let mut options = Preset::Dense.options(60.0);
        options.optical_gain_db = gain_db;
        dense_set(&options, 3005, optical_median_steps)
    };
    let (steps_drawn, drawn) = score(0.0);
    let (steps_dim, dim) = score(-40.0);
    println!(
        "red median: {steps_drawn} converter steps at the drawn gain, {steps_dim} 40 dB under"
    );
    assert!(steps_dim < 400.0, "{steps_dim} steps");
    println!(
        "drawn gain:\n{}\n40 dB less:\n{}",
        drawn.table(),
        dim.table()
    );
    assert!(drawn.air.positives >= 20 && drawn.clot.positives >= 10);
    replayed::assert_scores_as(&drawn, &dim, "with 40 dB less optical gain", (1, 1));
}
