//! A saline flush at a high haematocrit lifts the blood's Doppler echo 10–20 dB in 1–3 s,
//! faster than the ultrasound background follows; the risen speckle opened events that the
//! trees called air. Checked on recordings of the tuning suite where that happened before the
//! detector decided events opened during such a rise as artifacts
//! (`ultrasound::BLOOD_RISE_SHARE`): against their labels, no alarm outside an embolus, and
//! every air embolus of 30 dB EBR or more still found.

mod common;

/// Recording `index` of the realistic set of seed `seed` (data/tune5: 3011, data/tune7: 3015).
fn check(seed: u64, index: u64) {
    common::no_false_alarm_and_loud_air_found(&common::realistic(seed, index), "hct_change");
}

#[test]
fn a_flush_lifting_the_blood_echo_into_clipping_raises_no_alarm() {
    // A flush at an Hct of 0.79 lifts the echo from −27 dBFS until the blood clips the
    // receiver (−6 dBFS RMS when the alarm came). The detector's later decisions take this
    // alarm without the rise rule too: a regression check, not the rule's.
    check(3011, 36);
}

#[test]
fn a_rise_in_a_wide_band_that_no_short_pool_shows_raises_no_alarm() {
    // The blood's band is 19 bins wide. Pooled over 0.05 s, its share over the envelope
    // stayed under a half (the rule before this one); over 0.4 s it held 0.46. One air alarm
    // before.
    check(3011, 62);
}

#[test]
fn a_rise_at_slow_flow_raises_no_alarm() {
    // At slow flow the blood's band is 12–13 bins: five air alarms in 0.3 s before.
    check(3015, 79);
}
