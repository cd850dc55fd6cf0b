//! Helpers shared by the tests that run the detector on recordings of the tuning suite,
//! simulated in the test.

use clotair::event::Event;
use clotair::io;
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
