//! The scorer on hand-made labels and detections whose counts are known by construction.

use clotair::eval::{score, Detection, Report, Scored};
use clotair::event::{Class, Sensor};
use clotair::io::Label;

fn label(class: Class, start_s: f64, end_s: f64, id: &str, sensor: &str) -> Label {
    Label {
        id: Some(id.into()),
        sensor: Some(sensor.into()),
        ..Label::new(class, start_s, end_s)
    }
}

fn det(class: Class, start_s: f64, end_s: f64, detected_s: f64) -> Detection {
    Detection::new(class, start_s, end_s, detected_s)
}

/// The report of one recording of `duration_s`.
fn score_one(duration_s: f64, labels: Vec<Label>, detections: Vec<Detection>) -> Report {
    score(&[Scored {
        name: "r".into(),
        duration_s,
        labels,
        detections,
    }])
}

#[test]
fn counts_per_physical_event_with_the_spec_tolerance() {
    let labels = vec![
        // Air id 1 seen optically at 10 s, at the ultrasound sensor 0.5 s later.
        label(Class::Air, 10.0, 10.01, "1", "optical"),
        label(Class::Air, 10.5, 10.52, "1", "ultrasound"),
        // Clot id 2, seen only at the ultrasound sensor.
        label(Class::Clot, 20.0, 20.03, "2", "ultrasound"),
        // Air id 3, missed.
        label(Class::Air, 30.0, 30.01, "3", "ultrasound"),
        // Air id 4 that no sensor can show: not a positive, and an alarm on it is no false alarm.
        Label {
            detectable: Some(false),
            ..label(Class::Air, 40.0, 40.01, "4", "ultrasound")
        },
        // A knock.
        label(Class::Artifact, 50.0, 50.2, "5", "both"),
    ];
    let detections = vec![
        // Two alarms on air 1 (one per sensor): one physical event, detected once, from the
        // first alarm; latency from the optical start.
        det(Class::Air, 10.0, 10.01, 10.02),
        det(Class::Air, 10.5, 10.52, 10.55),
        // Clot 2 detected 40 ms after its end: inside the 50 ms tolerance, but called air.
        det(Class::Air, 20.07, 20.08, 20.09),
        // On the undetectable bubble.
        det(Class::Clot, 40.0, 40.01, 40.02),
        // A false alarm on the knock and one on plain background.
        det(Class::Clot, 50.1, 50.15, 50.16),
        det(Class::Air, 60.0, 60.01, 60.02),
        // Artifacts and faults are not alarms.
        det(Class::Artifact, 70.0, 70.1, 70.1),
        det(Class::Fault, 80.0, 80.1, 80.1),
    ];
    let r = score_one(1800.0, labels, detections);
    assert_eq!(r.air.positives, 2);
    assert_eq!(r.air.detected, 1);
    assert_eq!(r.clot.positives, 1);
    assert_eq!(r.clot.detected, 1);
    assert_eq!(r.clot.detected_as_class, 0);
    assert_eq!(r.confusion, [[1, 0], [1, 0]]);
    assert!((r.discrimination - 0.5).abs() < 1e-12);
    // Air alarms: 4 (two on air 1, one on clot 2, one on background); 3 match an embolus.
    assert_eq!(r.air.alarms, 4);
    assert_eq!(r.air.true_alarms, 3);
    // Clot alarms: on the undetectable bubble (an embolus: true) and on the knock (false).
    assert_eq!(r.clot.alarms, 2);
    assert_eq!(r.clot.true_alarms, 1);
    assert_eq!(r.false_alarms_on_artifacts, 1);
    assert_eq!(r.false_alarms_background, 1);
    assert!((r.false_alarms_per_hour - 4.0).abs() < 1e-9);
    // Air latency: one detected bubble, 20 ms after its first (optical) appearance.
    assert!((r.air.latency_median_s - 0.02).abs() < 1e-9);
    assert!((r.air.sensitivity - 0.5).abs() < 1e-12);
    assert!((r.air.ppv - 0.75).abs() < 1e-12);
}

#[test]
fn an_alarm_outside_the_tolerance_does_not_match() {
    let labels = vec![label(Class::Air, 5.0, 5.01, "1", "ultrasound")];
    let detections = vec![det(Class::Air, 5.061, 5.07, 5.07)];
    let r = score_one(3600.0, labels, detections);
    assert_eq!(r.air.detected, 0);
    assert_eq!(r.false_alarms_background, 1);
    assert!((r.false_alarms_per_hour - 1.0).abs() < 1e-9);
}

/// Volumes: per detected air event, the largest matching air alarm's volume over the labelled
/// sphere's; the single-bubble limit counted against the labelled volume.
#[test]
fn air_volumes_are_compared_with_the_labelled_sizes() {
    let sized = |start_s: f64, id: &str, size_um: f64| Label {
        size_um: Some(size_um),
        ..label(Class::Air, start_s, start_s + 0.02, id, "ultrasound")
    };
    // 1 mm: 0.5236 µL; 10 mm: 523.6 µL (over the 50-µL limit); 2 mm: 4.19 µL, undetected.
    let labels = vec![
        sized(1.0, "a", 1000.0),
        sized(3.0, "b", 10_000.0),
        sized(5.0, "c", 2000.0),
    ];
    let with = |start_s: f64, volume_ul: f64, single_limit: bool| Detection {
        volume_ul,
        single_limit,
        ..det(Class::Air, start_s, start_s + 0.02, start_s + 0.02)
    };
    let sphere = |d_mm: f64| std::f64::consts::FRAC_PI_6 * d_mm.powi(3);
    let detections = vec![
        // Two alarms on "a": the larger counts (8×), and it claims the limit wrongly.
        with(1.0, 0.1 * sphere(1.0), false),
        with(1.01, 8.0 * sphere(1.0), true),
        // "b" estimated at an eighth, not flagged.
        with(3.0, sphere(10.0) / 8.0, false),
    ];
    let r = score(&[Scored {
        name: "v".into(),
        duration_s: 60.0,
        labels,
        detections,
    }]);
    let v = &r.air_volume;
    assert_eq!(v.events, 2);
    approx::assert_relative_eq!(v.ratio_median, 0.5 * (8.0 + 0.125), max_relative = 1e-3);
    approx::assert_relative_eq!(v.within_10x, 1.0);
    assert_eq!(
        (v.over_limit, v.over_limit_flagged, v.under_limit_flagged),
        (1, 0, 1)
    );
    assert!(r.table().contains("1 under it flagged"), "{}", r.table());
}

/// False alarms are counted by the artifact they fell on and the sensor that raised them: the
/// latest-begun artifact when they overlap several (a knock during a haematocrit change is the
/// knock's), `background` when none.
#[test]
fn false_alarms_are_broken_down_by_cause_and_sensor() {
    let kinded = |start_s: f64, end_s: f64, id: &str, kind: &str| Label {
        kind: Some(kind.into()),
        ..label(Class::Artifact, start_s, end_s, id, "ultrasound")
    };
    let labels = vec![
        kinded(100.0, 110.0, "h", "hct_change"),
        kinded(105.0, 105.2, "k", "knock"),
        kinded(200.0, 202.0, "d", "diathermy"),
        label(Class::Artifact, 250.0, 250.1, "x", "optical"),
        label(Class::Air, 300.0, 300.01, "1", "ultrasound"),
    ];
    let from = |class, start_s: f64, sensor| Detection {
        sensor: Some(sensor),
        ..det(class, start_s, start_s + 0.01, start_s + 0.02)
    };
    let detections = vec![
        from(Class::Air, 105.1, Sensor::Ultrasound),
        from(Class::Air, 106.0, Sensor::Ultrasound),
        from(Class::Air, 200.5, Sensor::Ultrasound),
        from(Class::Air, 201.5, Sensor::Ultrasound),
        from(Class::Clot, 201.0, Sensor::Optical),
        from(Class::Clot, 250.05, Sensor::Optical),
        // The air alarm is no false alarm; the one at 400 s falls on nothing, its sensor
        // unknown.
        from(Class::Air, 300.0, Sensor::Ultrasound),
        det(Class::Air, 400.0, 400.01, 400.02),
    ];
    let r = score_one(3600.0, labels, detections);
    let got: Vec<(&str, &str, usize)> = r
        .false_alarms_by_cause
        .iter()
        .map(|c| (c.cause.as_str(), c.sensor.as_str(), c.count))
        .collect();
    assert_eq!(
        got,
        [
            ("diathermy", "ultrasound", 2),
            ("artifact", "optical", 1),
            ("background", "", 1),
            ("diathermy", "optical", 1),
            ("hct_change", "ultrasound", 1),
            ("knock", "ultrasound", 1),
        ]
    );
    assert_eq!(r.false_alarms_on_artifacts, 6);
    assert_eq!(r.false_alarms_background, 1);
    // Each one listed, with the artifact label it fell on (the knock's, inside the change).
    let listed: Vec<(&str, f64, &str, &str, &str)> = r
        .false_alarm_list
        .iter()
        .map(|f| {
            assert_eq!(f.recording, "r");
            let id = f.artifact_id.as_str();
            (
                f.class.as_str(),
                f.start_s,
                f.sensor.as_str(),
                f.cause.as_str(),
                id,
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("air", 105.1, "ultrasound", "knock", "k"),
            ("air", 106.0, "ultrasound", "hct_change", "h"),
            ("air", 200.5, "ultrasound", "diathermy", "d"),
            ("air", 201.5, "ultrasound", "diathermy", "d"),
            ("clot", 201.0, "optical", "diathermy", "d"),
            ("clot", 250.05, "optical", "artifact", "x"),
            ("air", 400.0, "", "background", ""),
        ]
    );
    assert!(r.table().contains(
        "false alarms by cause: diathermy (ultrasound) 2, artifact (optical) 1, background 1, \
         diathermy (optical) 1, hct_change (ultrasound) 1, knock (ultrasound) 1"
    ));
}

/// Every detectable embolus that counts against the sensitivity or the discrimination is
/// listed with what became of it; the found ones and those not `detectable` are not.
#[test]
fn emboli_missed_or_called_the_other_class_are_listed() {
    let sized = |class, start_s: f64, id: &str, ebr_db: f64| Label {
        ebr_db: Some(ebr_db),
        size_um: Some(100.0),
        ..label(class, start_s, start_s + 0.02, id, "ultrasound")
    };
    let labels = vec![
        sized(Class::Air, 10.0, "a1", 25.0),
        sized(Class::Air, 20.0, "a2", 8.0),
        sized(Class::Clot, 30.0, "c1", 15.0),
        sized(Class::Clot, 40.0, "c2", 12.0),
        Label {
            detectable: Some(false),
            ..sized(Class::Air, 50.0, "a3", 1.0)
        },
    ];
    let detections = vec![
        det(Class::Air, 10.0, 10.02, 10.03),
        det(Class::Air, 30.0, 30.02, 30.03),
    ];
    let r = score_one(60.0, labels, detections);
    let listed: Vec<(&str, &str, &str, f64, Option<f64>)> = r
        .embolus_errors
        .iter()
        .map(|e| {
            let (id, class, outcome) = (e.id.as_str(), e.class.as_str(), e.outcome.as_str());
            (id, class, outcome, e.start_s, e.ebr_db)
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("a2", "air", "missed", 20.0, Some(8.0)),
            ("c1", "clot", "said_air", 30.0, Some(15.0)),
            ("c2", "clot", "missed", 40.0, Some(12.0)),
        ]
    );
    // The list agrees with the counts it explains.
    let missed = r.embolus_errors.iter().filter(|e| e.outcome == "missed");
    assert_eq!(
        missed.count(),
        r.air.positives - r.air.detected + r.clot.positives - r.clot.detected
    );
    assert_eq!(r.air.positives, 2);
}

/// The report's intervals are the Wilson and exact Poisson intervals of its own counts.
#[test]
fn the_report_carries_the_intervals_of_its_counts() {
    use clotair::eval::interval::{poisson_exact, wilson};
    let labels = vec![
        label(Class::Air, 10.0, 10.01, "1", "ultrasound"),
        label(Class::Air, 20.0, 20.01, "2", "ultrasound"),
        label(Class::Air, 30.0, 30.01, "3", "ultrasound"),
    ];
    let detections = vec![
        det(Class::Air, 10.0, 10.01, 10.02),
        det(Class::Air, 20.0, 20.01, 20.02),
        det(Class::Clot, 100.0, 100.01, 100.02),
    ];
    let r = score_one(1800.0, labels, detections);
    assert_eq!((r.air.detected, r.air.positives), (2, 3));
    assert_eq!(r.air.sensitivity_ci95, wilson(2, 3));
    assert_eq!(r.air.ppv_ci95, wilson(2, 2));
    assert_eq!(r.discrimination_ci95, wilson(2, 2));
    // No clot labelled: no interval, not a made-up one.
    assert!(r.clot.sensitivity_ci95.lo.is_nan());
    // One false alarm in half an hour.
    let fa = poisson_exact(1);
    assert!((r.false_alarms_per_hour_ci95.lo - 2.0 * fa.lo).abs() < 1e-12);
    assert!((r.false_alarms_per_hour_ci95.hi - 2.0 * fa.hi).abs() < 1e-12);
    assert!(r.false_alarms_per_hour_ci95.lo < 2.0 && 2.0 < r.false_alarms_per_hour_ci95.hi);
}
