//! A recording whose sensors' files end far apart was watched by one sensor only after the
//! first ends: the batch runner says so with a `stream_ended` fault on the shorter one, rather
//! than letting the rest of the recording read as watched by both.

use std::path::Path;

use clotair::event::{Event, FaultKind, Sensor, STREAM_END_GAP_S};
use clotair::io::{self, write_wav, SampleFormat, WavStream};
use clotair::run::{detect_recording, RunOptions};
use clotair::sim::{simulate_dataset, Preset};

/// Cuts `base`'s `sensor` file (`"ultrasound"` or `"optical"`) to its first `keep_s` seconds.
fn cut(base: &Path, sensor: &str, keep_s: f64) {
    let path = base.with_extension(format!("{sensor}.wav"));
    let mut wav = WavStream::open(&path).unwrap();
    let info = wav.info();
    let mut samples = wav.read_to_end().unwrap();
    drop(wav);
    let channels = info.channels;
    samples.truncate((keep_s * f64::from(info.sample_rate_hz)) as usize * usize::from(channels));
    write_wav(
        &path,
        channels,
        info.sample_rate_hz,
        SampleFormat::Int16,
        &samples,
    )
    .unwrap();
}

fn ended(base: &Path) -> (Vec<Event>, Vec<Event>) {
    let rec = io::Recording::at_base(base).unwrap();
    assert!(rec.ultrasound.is_some() && rec.optical.is_some());
    let events = detect_recording(&rec, &RunOptions::default())
        .unwrap()
        .events;
    let faults = events
        .iter()
        .filter(|e| e.fault == Some(FaultKind::StreamEnded))
        .cloned()
        .collect();
    (events, faults)
}

/// `data/tune`'s first recording (seed 3003, both sensors), 60 s.
#[test]
fn a_sensor_whose_file_ends_early_is_a_fault_from_its_end() {
    let dir = tempfile::tempdir().unwrap();
    simulate_dataset(
        dir.path(),
        &Preset::Realistic.options(60.0),
        3003,
        1,
        &|| {},
    )
    .unwrap();
    let base = dir.path().join("sim0000");
    assert!(ended(&base).1.is_empty(), "as recorded");

    // The optical a little short: within what two recorders may differ by.
    cut(&base, "optical", 60.0 - STREAM_END_GAP_S / 2.0);
    assert!(ended(&base).1.is_empty(), "optical short by half the gap");

    cut(&base, "ultrasound", 20.0);
    let (events, faults) = ended(&base);
    assert_eq!(faults.len(), 2, "{events:?}");
    let f = &faults[0];
    assert_eq!(f.sensor, Sensor::Ultrasound);
    assert_eq!(f.start_us, 20_000_000);
    assert_eq!(f.detected_us, 20_000_000);
    assert_eq!(f.end_us, 59_500_000);
    // And the row of its end, as for the detector's faults, at the optical's end.
    let end = &faults[1];
    assert!(end.cleared && !f.cleared);
    assert_eq!((end.start_us, end.end_us), (f.start_us, f.end_us));
    assert_eq!(end.detected_us, 59_500_000);
    // In order of alarm time with the others, the optical's later events after it.
    assert!(events
        .windows(2)
        .all(|w| w[0].detected_us <= w[1].detected_us));
    assert!(events.iter().any(|e| e.detected_us > f.detected_us));
}
