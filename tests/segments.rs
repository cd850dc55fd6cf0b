//! One long recording cut into segments run in parallel gives the events of one stream over
//! the whole recording, every field bit for bit (issue #5).

use std::path::Path;

use clotair::detect::MEMORY_S;
use clotair::event::Event;
use clotair::io::{self, SampleFormat};
use clotair::run::{detect_recording, Cut, RunError, RunOptions, Segments, SegmentsError};
use clotair::sim::{simulate_dataset, Preset, SensorMix, SimOptions};

/// Every field of every event, floats by their bits (Debug prints the shortest string that
/// reads back to the same bits).
fn fingerprint(events: &[Event]) -> Vec<String> {
    events.iter().map(|e| format!("{e:?}")).collect()
}

fn sequential(rec: &io::Recording) -> Vec<Event> {
    detect_recording(rec, &RunOptions::default())
        .unwrap()
        .events
}

fn segmented(rec: &io::Recording, length_s: u64, warmup_s: u64) -> Vec<Event> {
    let options = RunOptions {
        segments: Some(Segments { length_s, warmup_s }),
        ..RunOptions::default()
    };
    let outcome = detect_recording(rec, &options).unwrap();
    // Cut, and the overlaps agreed: not run again as one stream, which would make the
    // comparison below hollow.
    assert!(
        matches!(outcome.cut, Cut::Segments(n) if n >= 2),
        "{}: {:?}",
        rec.base.display(),
        outcome.cut
    );
    outcome.events
}

fn simulate(dir: &Path, options: &SimOptions, seed: u64, count: u64) -> Vec<io::Recording> {
    simulate_dataset(dir, options, seed, count, &|| {}).unwrap();
    io::discover(&[dir.to_path_buf()]).unwrap()
}

fn assert_same(rec: &io::Recording, whole: &[Event], parts: &[Event], what: &str) {
    let (a, b) = (fingerprint(whole), fingerprint(parts));
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x, y, "{}: {what}: event {i} differs", rec.base.display());
    }
    assert_eq!(
        a.len(),
        b.len(),
        "{}: {what}: event count",
        rec.base.display()
    );
}

/// Dense events of every kind (emboli, knocks, diathermy, coupling losses, haematocrit
/// changes) on every sensor combination, 4 minutes each, cut every 20 s: dozens of
/// boundaries, many with an event or a fault within a second of them.
#[test]
fn segments_give_the_events_of_one_stream() {
    let dir = tempfile::tempdir().unwrap();
    let options = SimOptions {
        sensors: SensorMix::Cycle,
        ..Preset::Dense.options(240.0)
    };
    let recordings = simulate(dir.path(), &options, 77, 4);
    assert_eq!(recordings.len(), 4);
    let mut total = 0;
    for rec in &recordings {
        let whole = sequential(rec);
        assert!(whole.len() > 20, "{} events", whole.len());
        total += whole.len();
        assert_same(rec, &whole, &segmented(rec, 20, MEMORY_S), "20 s segments");
        assert_same(rec, &whole, &segmented(rec, 47, 60), "47 s segments");
    }
    assert!(total > 150, "{total} events in all");
}

/// The same through hound's seek (24-bit and float WAVs are not read raw) on realistic
/// recordings at random rates.
#[test]
fn segments_of_float_recordings_give_the_events_of_one_stream() {
    let dir = tempfile::tempdir().unwrap();
    let options = SimOptions {
        format: SampleFormat::Float32,
        sensors: SensorMix::Cycle,
        ..Preset::Realistic.options(150.0)
    };
    for rec in &simulate(dir.path(), &options, 78, 3) {
        let whole = sequential(rec);
        assert_same(rec, &whole, &segmented(rec, 30, MEMORY_S), "30 s segments");
    }
}

/// The same for recordings the detector decimates first (both sensors at 48 kHz, see
/// `detect::front`): the ultrasound's anti-aliasing filter is snapped on the path's grid, the
/// optical keeps every 24th sample, and a segment starts on a whole decimation period.
#[test]
fn segments_of_decimated_recordings_give_the_events_of_one_stream() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = SimOptions {
        sensors: SensorMix::Cycle,
        ..Preset::Dense.options(150.0)
    };
    options.record_rates_hz = (Some(48_000), Some(48_000));
    let mut total = 0;
    for rec in &simulate(dir.path(), &options, 80, 2) {
        let whole = sequential(rec);
        total += whole.len();
        assert_same(rec, &whole, &segmented(rec, 30, MEMORY_S), "30 s segments");
    }
    assert!(total > 20, "{total} events in all");
}

/// A segment length of zero and a warm-up shorter than the detector's memory are refused.
#[test]
fn segment_settings_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let recordings = simulate(dir.path(), &Preset::Regression.options(5.0), 79, 1);
    let run = |length_s, warmup_s| {
        let options = RunOptions {
            segments: Some(Segments { length_s, warmup_s }),
            ..RunOptions::default()
        };
        detect_recording(&recordings[0], &options)
    };
    assert!(matches!(
        run(0, 60),
        Err(RunError::Segments(SegmentsError::Length))
    ));
    assert!(matches!(
        run(60, MEMORY_S - 1),
        Err(RunError::Segments(SegmentsError::Warmup))
    ));
    assert!(run(60, MEMORY_S).is_ok());
}

/// The same check over a whole data set, for QA runs on the generated sets:
/// `CLOTAIR_SEGMENT_SET=data/eval cargo test --release --test segments -- --ignored`.
#[test]
#[ignore]
fn segments_on_a_data_set() {
    let Ok(dir) = std::env::var("CLOTAIR_SEGMENT_SET") else {
        panic!("set CLOTAIR_SEGMENT_SET to a data set directory");
    };
    let recordings = io::discover(&[dir.into()]).unwrap();
    let mut events = 0;
    for rec in &recordings {
        let whole = sequential(rec);
        events += whole.len();
        let w = std::env::var("CLOTAIR_SEGMENT_WARMUP").map_or(MEMORY_S, |w| w.parse().unwrap());
        assert_same(rec, &whole, &segmented(rec, 30, w), "30 s segments");
    }
    println!(
        "{} recordings, {events} events, all equal",
        recordings.len()
    );
}
