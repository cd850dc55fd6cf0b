//! A Doppler probe clamped on against the flow, or wired with I and Q swapped, sees the blood
//! turning the reverse way. The detector looks for emboli travelling forward (positive
//! Doppler frequencies, as the recording format defines them), so it would be blind to them;
//! it says so with a `reversed_flow` fault (`faults::REVERSED_COHERENCE`) instead of staying
//! silently all clear.

use std::path::Path;

use clotair::detect::MEMORY_S;
use clotair::event::{Event, FaultKind};
use clotair::io::{self, write_wav, SampleFormat, WavStream};
use clotair::run::{detect_recording, Cut, RunOptions, Segments};
use clotair::sim::{simulate_dataset, Preset};

/// Swaps I and Q of `base`'s ultrasound from `from_s` to `to_s` (the recording's own format).
fn swap_iq(base: &Path, from_s: f64, to_s: f64) {
    rewrite_iq(base, |frame, t_s| {
        if (from_s..to_s).contains(&t_s) {
            frame.swap(0, 1);
        }
    });
}

/// Rewrites each I/Q frame of `base`'s ultrasound with `f(frame, time_s)`, as 16-bit.
fn rewrite_iq(base: &Path, f: impl Fn(&mut [f32], f64)) {
    let path = base.with_extension("ultrasound.wav");
    let mut wav = WavStream::open(&path).unwrap();
    let info = wav.info();
    let mut samples = wav.read_to_end().unwrap();
    drop(wav);
    let fs = f64::from(info.sample_rate_hz);
    for (i, frame) in samples.chunks_exact_mut(2).enumerate() {
        f(frame, i as f64 / fs);
    }
    write_wav(&path, 2, info.sample_rate_hz, SampleFormat::Int16, &samples).unwrap();
}

/// `count` recordings of the realistic preset, `seconds` long, from `seed`, in a new folder.
fn realistic(seconds: f64, seed: u64, count: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    simulate_dataset(
        dir.path(),
        &Preset::Realistic.options(seconds),
        seed,
        count,
        &|| {},
    )
    .unwrap();
    dir
}

fn detect(base: &Path, options: &RunOptions) -> (Vec<Event>, Cut) {
    let rec = io::Recording::at_base(base).unwrap();
    let outcome = detect_recording(&rec, options).unwrap();
    (outcome.events, outcome.cut)
}

/// The rows that report a reversed flow's start.
fn reversed(events: &[Event]) -> Vec<&Event> {
    events
        .iter()
        .filter(|e| e.fault == Some(FaultKind::ReversedFlow) && !e.cleared)
        .collect()
}

/// The rows that report a reversed flow's end.
fn reversed_ends(events: &[Event]) -> Vec<&Event> {
    events
        .iter()
        .filter(|e| e.fault == Some(FaultKind::ReversedFlow) && e.cleared)
        .collect()
}

fn secs(us: u64) -> f64 {
    us as f64 * 1e-6
}

/// For each recording under `dir` with an ultrasound sensor: `prepare`d, no reversed-flow
/// fault; then with I and Q swapped throughout, one, from 0 s (three reversed blocks of 1 s
/// from the first), recognised by 3 s. Returns how many recordings had an ultrasound sensor.
fn one_fault_each_when_swapped(dir: &Path, prepare: impl Fn(&Path)) -> usize {
    let mut with_ultrasound = 0;
    for rec in io::discover(&[dir.to_path_buf()]).unwrap() {
        if rec.ultrasound.is_none() {
            continue;
        }
        with_ultrasound += 1;
        prepare(&rec.base);
        let as_recorded = detect(&rec.base, &RunOptions::default()).0;
        assert!(
            reversed(&as_recorded).is_empty(),
            "{}: {as_recorded:?}",
            rec.base.display()
        );
        swap_iq(&rec.base, 0.0, f64::INFINITY);
        let swapped = detect(&rec.base, &RunOptions::default()).0;
        let faults = reversed(&swapped);
        assert_eq!(faults.len(), 1, "{}: {swapped:?}", rec.base.display());
        assert_eq!(faults[0].start_us, 0);
        assert!(secs(faults[0].detected_us) <= 3.1, "{:?}", faults[0]);
        // Reversed to the end of the recording.
        let ends = reversed_ends(&swapped);
        assert_eq!(ends.len(), 1, "{swapped:?}");
        assert_eq!((ends[0].start_us, ends[0].end_us), (0, 60_000_000));
    }
    with_ultrasound
}

/// `data/tune`'s seed (3003): its first four recordings, 60 s each, as recorded and with I
/// and Q swapped throughout. Three carry an ultrasound sensor (one is optical only).
#[test]
fn a_probe_against_the_flow_is_a_fault_from_the_start() {
    let dir = realistic(60.0, 3003, 4);
    let with_ultrasound = one_fault_each_when_swapped(dir.path(), |_| {});
    assert_eq!(with_ultrasound, 3);
}

/// The flow turns backwards twice in a 120-s recording, for 25 s and for 45 s: a fault from
/// where it turned each time (on the 1-s grid of the test's blocks), so the first one ended
/// when the blood flowed forward again; and the same events when the recording is cut into
/// segments of 20 s run apart, though the second reversal outlasts a segment's warm-up (35 s):
/// the segment it starts in is fed on until it ends.
#[test]
fn a_line_that_runs_backwards_for_a_while() {
    let dir = realistic(120.0, 3003, 1);
    let base = dir.path().join("sim0000");
    swap_iq(&base, 30.0, 55.0);
    swap_iq(&base, 65.0, 110.0);
    let (whole, _) = detect(&base, &RunOptions::default());
    let faults = reversed(&whole);
    assert_eq!(faults.len(), 2, "{whole:?}");
    for (f, turned_s) in faults.iter().zip([30.0, 65.0]) {
        assert!(
            (turned_s..=turned_s + 1.0).contains(&secs(f.start_us)),
            "{f:?}"
        );
        assert!(secs(f.detected_us) <= secs(f.start_us) + 3.1, "{f:?}");
    }
    // Each ended where the blood flowed forward again (on the blocks' 1-s grid), recognised
    // a few blocks later.
    let ends = reversed_ends(&whole);
    assert_eq!(ends.len(), 2, "{whole:?}");
    for ((e, f), forward_s) in ends.iter().zip(&faults).zip([55.0, 110.0]) {
        assert_eq!(e.start_us, f.start_us);
        assert!(
            (forward_s..=forward_s + 1.0).contains(&secs(e.end_us)),
            "{e:?}"
        );
        assert!(secs(e.detected_us) <= forward_s + 6.0, "{e:?}");
    }

    let options = RunOptions {
        segments: Some(Segments {
            length_s: 20,
            warmup_s: MEMORY_S,
        }),
        ..RunOptions::default()
    };
    let (parts, cut) = detect(&base, &options);
    assert!(matches!(cut, Cut::Segments(n) if n >= 2), "{cut:?}");
    let print = |events: &[Event]| events.iter().map(|e| format!("{e:?}")).collect::<Vec<_>>();
    assert_eq!(print(&whole), print(&parts));
}

/// A demodulator's DC offset, or the stationary tube wall's echo, here 0.2 and −0.15 of full
/// scale on I and Q (the blood is 26–34 dB under full scale): a turn either way on every
/// sample that would swamp the blood's, were the mean not taken off first
/// (`faults::TURN_MEAN_TAU_S`). The swapped recordings still give one fault each, the
/// recorded ones none.
#[test]
fn a_dc_offset_hides_neither_direction() {
    let dir = realistic(60.0, 3011, 6);
    let offset = |frame: &mut [f32], _| {
        frame[0] += 0.2;
        frame[1] -= 0.15;
    };
    let with_ultrasound = one_fault_each_when_swapped(dir.path(), |base| rewrite_iq(base, offset));
    assert!(with_ultrasound >= 4, "{with_ultrasound}");
}
