//! Helpers shared by the tests that run the detector on recordings of the tuning suite,
//! simulated in the test.

use clotair::event::{Class, Event};
use clotair::io::{self, Label};
use clotair::run::{detect_recording, RunOptions};
use clotair::sim::{simulate_recording, Preset, SimRecording};

/// Recording `index` of a realistic set of 5-minute recordings:
/// `clotair simulate --seed SEED --minutes 5 --preset realistic`.
pub fn realistic(seed: u64, index: u64) -> SimRecording {
    simulate_recording(&Preset::Realistic.options(300.0), seed, index)
}

/// The recording as `clotair detect` reads it from its files.
pub fn detect(rec: &SimRecording) -> Vec<Event> {
    let dir = tempfile::tempdir().unwrap();
    rec.write(dir.path(), Preset::Realistic.options(300.0).format)
        .unwrap();
    let recordings = io::discover(&[dir.path().to_path_buf()]).unwrap();
    detect_recording(&recordings[0], &RunOptions::default())
        .unwrap()
        .events
}

fn overlaps(e: &Event, l: &Label) -> bool {
    let (a, b) = (e.start_us as f64 * 1e-6, e.end_us as f64 * 1e-6);
    a <= l.end_s + 0.05 && b >= l.start_s - 0.05
}

/// Detects `rec` and checks it against its labels: it holds an artifact of `kind`, no alarm
/// falls outside an embolus, and every ultrasound air embolus of 30 dB EBR or more (there must
/// be one) is found, per physical embolus (the spec's matching: an alarm on any of its rows).
#[allow(dead_code)] // not every test crate that shares this module uses it
pub fn no_false_alarm_and_loud_air_found(rec: &SimRecording, kind: &str) {
    let name = &rec.name;
    assert!(
        rec.labels.iter().any(|l| l.kind.as_deref() == Some(kind)),
        "{name}: no {kind}: the simulator drew another recording"
    );
    let events = detect(rec);
    let emboli: Vec<&Label> = rec.labels.iter().filter(|l| l.class.is_alarm()).collect();
    for e in events.iter().filter(|e| e.class.is_alarm()) {
        assert!(
            emboli.iter().any(|l| overlaps(e, l)),
            "{name}: {:?} alarm at {:.3} s on no embolus",
            e.class,
            e.start_us as f64 * 1e-6
        );
    }
    let mut n = 0;
    for l in emboli.iter().filter(|l| {
        l.class == Class::Air
            && l.sensor.as_deref() == Some("ultrasound")
            && l.ebr_db.is_some_and(|db| db >= 30.0)
    }) {
        n += 1;
        let rows: Vec<&&Label> = emboli.iter().filter(|r| r.id == l.id).collect();
        assert!(
            events
                .iter()
                .any(|e| e.class.is_alarm() && rows.iter().any(|r| overlaps(e, r))),
            "{name}: {} ({:.1} dB) at {:.3} s not found",
            l.id.as_deref().unwrap_or("?"),
            l.ebr_db.unwrap(),
            l.start_s
        );
    }
    assert!(n > 0, "{name}: no air embolus of 30 dB or more");
}
