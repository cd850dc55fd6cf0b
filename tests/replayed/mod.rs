//! The tests that record a data set's plans again another way (another sample rate, another
//! receiver gain) compare the two evaluations with this.

use clotair::eval::Report;

/// False alarms, on artifacts and on the background.
pub fn false_alarms(r: &Report) -> usize {
    r.false_alarms_background + r.false_alarms_on_artifacts
}

/// Asserts that `other`, the same plans recorded `how`, has the same labelled emboli as
/// `reference`, finds at most `fewer` = (bubbles, clots) fewer of them, and raises at most one
/// more false alarm.
pub fn assert_scores_as(reference: &Report, other: &Report, how: &str, fewer: (usize, usize)) {
    assert_eq!(other.air.positives, reference.air.positives);
    assert_eq!(other.clot.positives, reference.clot.positives);
    assert!(
        other.air.detected + fewer.0 >= reference.air.detected,
        "bubbles found: {} {how}, {} before",
        other.air.detected,
        reference.air.detected
    );
    assert!(
        other.clot.detected + fewer.1 >= reference.clot.detected,
        "clots found: {} {how}, {} before",
        other.clot.detected,
        reference.clot.detected
    );
    assert!(
        false_alarms(other) <= false_alarms(reference) + 1,
        "false alarms: {} {how}, {} before",
        false_alarms(other),
        false_alarms(reference)
    );
}
