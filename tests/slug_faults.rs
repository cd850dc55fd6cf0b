//! A slug blocks the ultrasound beam as a lost coupling does: behind its front interface the
//! blood's echo is gone. Checked on two recordings of the tuning suite (data/tune3, seed
//! 3007) whose slugs each raised a `loss_of_coupling` fault before the detector held such
//! faults while a slug passed: against their labels, no fault on a slug, one on every
//! labelled coupling loss, and the same events under any chunking of the streams.

mod common;

use clotair::detect::faults::COUPLING_S;
use clotair::detect::{Detector, DetectorConfig};
use clotair::event::{Event, FaultKind};
use clotair::io::Label;
use clotair::sim::SimRecording;

/// data/tune3's recordings (seed 3007).
fn tune3(index: u64) -> SimRecording {
    common::realistic(3007, index)
}

fn overlaps(e: &Event, l: &Label) -> bool {
    let (a, b) = (e.start_us as f64 * 1e-6, e.end_us as f64 * 1e-6);
    a < l.end_s + 0.05 && b > l.start_s - 0.05
}

fn labelled<'a>(rec: &'a SimRecording, kind: &'a str) -> impl Iterator<Item = &'a Label> {
    rec.labels
        .iter()
        .filter(move |l| l.kind.as_deref() == Some(kind) && l.sensor.as_deref() != Some("optical"))
}

/// The detector fed the simulated samples directly, in the given chunk sizes (frames).
fn chunked(rec: &SimRecording, us_chunk: usize, opt_chunk: usize) -> Vec<String> {
    let config = DetectorConfig {
        ultrasound_rate_hz: rec.line.ultrasound_hz,
        optical_rate_hz: rec.line.optical_hz,
        optical_channels: 2,
        line: rec.sidecar.line,
        ..DetectorConfig::default()
    };
    let mut d = Detector::new(&config).unwrap();
    let mut events = Vec::new();
    let mut emit = |e: &Event| events.push(format!("{e:?}"));
    let us = rec.ultrasound.as_deref().unwrap_or(&[]);
    let opt = rec.optical.as_deref().unwrap_or(&[]);
    let (mut i, mut j) = (0, 0);
    while i < us.len() || j < opt.len() {
        let n = (2 * us_chunk).min(us.len() - i);
        if n > 0 {
            d.push_ultrasound(&us[i..i + n], &mut emit);
            i += n;
        }
        let n = (2 * opt_chunk).min(opt.len() - j);
        if n > 0 {
            d.push_optical(&opt[j..j + n], &mut emit);
            j += n;
        }
    }
    d.finish(&mut emit);
    events
}

fn check(index: u64, sensors: usize) {
    let rec = tune3(index);
    let name = &rec.name;
    assert_eq!(
        usize::from(rec.ultrasound.is_some()) + usize::from(rec.optical.is_some()),
        sensors,
        "{name}: the simulator drew another recording"
    );
    let events = common::detect(&rec);
    let coupling: Vec<&Event> = events
        .iter()
        .filter(|e| e.fault == Some(FaultKind::LossOfCoupling))
        .collect();
    let slugs: Vec<&Label> = labelled(&rec, "slug").collect();
    // Slugs that block the beam longer than a loss of coupling must last (`COUPLING_S`),
    // each followed through a beam and reported as an air passage.
    let long: Vec<&&Label> = slugs
        .iter()
        .filter(|l| l.end_s - l.start_s > f64::from(COUPLING_S) + 0.2)
        .collect();
    assert!(!long.is_empty(), "{name}: {slugs:?}");
    for slug in &long {
        assert!(
            events
                .iter()
                .any(|e| e.passage && overlaps(e, slug) && e.features.volume_ul > 0.0),
            "{name}: the slug at {:.2} s is followed as a passage: {events:?}",
            slug.start_s
        );
    }
    for slug in &slugs {
        let on_it: Vec<_> = coupling.iter().filter(|e| overlaps(e, slug)).collect();
        assert!(on_it.is_empty(), "{name}: a fault on the slug: {on_it:?}");
    }
    let losses: Vec<&Label> = labelled(&rec, "coupling_loss").collect();
    assert!(!losses.is_empty(), "{name}");
    for loss in &losses {
        assert!(
            coupling.iter().any(|e| overlaps(e, loss)),
            "{name}: no fault on the coupling loss at {:.2} s: {coupling:?}",
            loss.start_s
        );
    }
    // Faults are held and dropped in decision order: the same under any chunking.
    let whole = chunked(&rec, 1 << 20, 1 << 20);
    assert_eq!(whole, chunked(&rec, 1, 1), "{name}: sample by sample");
    assert_eq!(whole, chunked(&rec, 509, 7), "{name}: odd chunks");
}

#[test]
fn a_slug_at_the_ultrasound_sensor_alone_is_no_loss_of_coupling() {
    check(25, 1);
}

#[test]
fn a_slug_followed_upstream_by_the_optical_sensor_is_no_loss_of_coupling() {
    check(31, 2);
}
