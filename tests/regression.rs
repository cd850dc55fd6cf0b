//! The committed regression set (`data/regression`, see data/README.md) scored by the same
//! path as `clotair eval`. The floors sit just under what the detector reaches today: a change
//! that makes detection worse fails here. Raise them when the detector improves.

use std::path::Path;

use clotair::cli::eval::evaluate;
use clotair::io;
use clotair::run::{detect_recording, RunOptions};

fn regression() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data/regression"))
}

#[test]
fn regression_set_scores_at_or_above_its_floors() {
    let e = evaluate(regression(), None, true, &RunOptions::default());
    assert!(e.failures.is_empty(), "{:?}", e.failures);
    let r = &e.report;
    println!("{}", r.table());
    assert_eq!(r.recordings, 8);
    // Measured when the floors were last set: air 23/30 detected, PPV 100 %; clot 8/16, PPV
    // 100 % (9/16 before ultrasound sightings were reported 25 ms rather than 40 ms after
    // their start: a 26-dB clot of 1.5 mm is now called an artifact; on the 6-h tuning sets
    // the clots found were unchanged, 157 of 254, in every EBR bin); discrimination 90.3 %
    // (with the pairs decided jointly; 87.5–93.8 % across retrainings: one clot is 3 %, so
    // the floor allows one or two more); no false alarm (the floor allows one); air
    // latency median 32 ms. Since the peak Doppler frequency is interpolated between bins
    // (ninth session): clot 9/16 with the committed trees, 8, 8 and 7 with training seeds 1–3
    // (8/16 with all four before), discrimination 90.6 % (90.3–93.5 %); air and false alarms
    // unchanged. Fourteenth session's refit (a low-haematocrit slug's rise split off): clot
    // 8/16 (an ultrasound-only 1.5-mm clot read at 18 dB is now an artifact), discrimination
    // 90.3 %, air 23/30 and no false alarm as before. Sixteenth session (the simulator's
    // haematocrit held between changes: sim0004 and sim0007 regenerated; trees refit on the
    // regenerated data/train): the same figures.
    assert!(r.air.positives >= 30, "{}", r.air.positives);
    assert!(
        r.air.sensitivity >= 0.75,
        "air sensitivity {}",
        r.air.sensitivity
    );
    assert!(r.air.ppv >= 0.98, "air PPV {}", r.air.ppv);
    assert!(
        r.clot.sensitivity >= 0.5,
        "clot sensitivity {}",
        r.clot.sensitivity
    );
    assert!(r.clot.ppv >= 0.98, "clot PPV {}", r.clot.ppv);
    assert!(
        r.discrimination >= 0.85,
        "discrimination {}",
        r.discrimination
    );
    let false_alarms = r.false_alarms_background + r.false_alarms_on_artifacts;
    assert!(false_alarms <= 1, "false alarms {false_alarms}");
    assert!(
        r.air.latency_median_s <= 0.05,
        "air latency {}",
        r.air.latency_median_s
    );
    // Air volumes (twelfth session, sized by intensity and lumen-filling air as a column):
    // 16 of 23 within 10× of the labelled sphere (5 of 23 when sized by duration), 5 of the 6
    // labelled at or over the 50-µL single-bubble limit flagged, 2 under it flagged (13).
    let v = &r.air_volume;
    assert!(
        v.within_10x >= 0.65,
        "air volumes within 10×: {}",
        v.within_10x
    );
    assert!(v.over_limit_flagged >= 5, "{v:?}");
    assert!(v.under_limit_flagged <= 3, "{v:?}");
    // Slugs followed through the beam (thirteenth session): 5 of its 6 slugs within 2× of
    // the labelled volume, median 1.07× (2 of 6 when a slug's volume was the air seen by its
    // alarm); the one left rose the light too little to be followed (a 405-µL slug at 3 µL).
    // The three recordings whose labelled air reaches the cumulative limit (1 mL) are all
    // flagged, 0.4 s after the labelled crossing (median), and no other.
    assert!(v.slugs >= 6, "{v:?}");
    assert!(v.slug_within_2x >= 0.8, "slugs within 2×: {v:?}");
    let c = &r.cumulative;
    assert_eq!(c.recordings_over, 3, "{c:?}");
    assert!(c.flagged >= 3, "{c:?}");
    assert!(c.flagged_under <= 1, "{c:?}");
    assert!(c.delay_median_s <= 5.0, "{c:?}");
}

/// Streaming a real recording in different read sizes gives the same events, bit for bit.
#[test]
fn events_do_not_depend_on_the_read_size() {
    // sim0000 has both sensors and a slug followed through the optical beam; sim0005 the
    // ultrasound alone and a slug followed through its beam.
    for name in ["sim0000", "sim0005"] {
        let recordings = io::discover(&[regression().join(name)]).unwrap();
        let run = |chunk_s| {
            let options = RunOptions {
                base: None,
                chunk_s: Some(chunk_s),
                ..RunOptions::default()
            };
            let events = detect_recording(&recordings[0], &options).unwrap().events;
            format!("{events:?}")
        };
        let reference = run(0.05);
        assert!(
            reference.contains("passage: true"),
            "{name} has a slug's passage: {reference}"
        );
        for chunk_s in [0.0013, 0.0171, 0.4, 3.0] {
            assert_eq!(reference, run(chunk_s), "{name}, read size {chunk_s} s");
        }
    }
}
