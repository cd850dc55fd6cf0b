//! Air volume: per bubble, and accumulated over a sliding window, as infusion and bypass
//! safety logic alarm on both (COBE US 5,394,732; Hospira US 9,498,583).

use super::classify::FeatureVector;
use crate::event::AirLimit;

/// Optical beam width along the tube: the bubble is seen while any part of it is in the
/// beam, so the seen duration is (length + beam) / velocity (signal model).
pub const OPTICAL_BEAM_MM: f32 = 1.0;
/// Ultrasound sample-volume length along the tube, same reasoning.
pub const ULTRASOUND_BEAM_MM: f32 = 1.5;
/// Tube inner diameter assumed without a sidecar: 3/16", the middle of 1/8"–1/4" lines.
pub const DEFAULT_TUBE_ID_MM: f32 = 4.76;
/// Flow velocity assumed when neither the sidecar nor the Doppler gives one.
pub const DEFAULT_VELOCITY_M_S: f32 = 0.5;
/// Buckets of the sliding window: its resolution is window / buckets.
pub const BUCKETS: usize = 60;

/// Limits that turn air into an alarm beyond the event itself.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AirLimits {
    /// A single bubble at least this large raises the single-bubble limit.
    pub single_bubble_ul: f32,
    /// Air accumulated over `window_s` at least this large raises the cumulative limit.
    pub cumulative_ul: f32,
    /// The sliding window.
    pub window_s: f32,
}

impl Default for AirLimits {
    /// 50 µL single bubble and 1 mL per 15 min: a conservative setting for reinfusion
    /// (bypass and infusion pumps typically alarm at 10–100 µL single bubbles and about
    /// 1 mL accumulated; the window length comes from the issue, 15 min).
    fn default() -> Self {
        Self {
            single_bubble_ul: 50.0,
            cumulative_ul: 1000.0,
            window_s: 900.0,
        }
    }
}

impl AirLimits {
    /// Which limits a bubble of `volume_ul`, bringing the window's total to `total_ul`,
    /// reaches.
    pub fn reached(&self, volume_ul: f32, total_ul: f32) -> Option<AirLimit> {
        match (
            volume_ul >= self.single_bubble_ul,
            total_ul >= self.cumulative_ul,
        ) {
            (true, true) => Some(AirLimit::Both),
            (true, false) => Some(AirLimit::Single),
            (false, true) => Some(AirLimit::Cumulative),
            (false, false) => None,
        }
    }
}

/// How the size of air smaller than the lumen follows from how strongly a sensor saw it:
/// log10 of the equivalent diameter in µm as a straight line in the ultrasound sighting's peak
/// EBR (dB), and in log10 of the optical sighting's relative rise. Fit by `clotair train` on
/// the labelled bubbles of the training set ([`super::model::AIR_SIZING`]).
///
/// Why intensity, not duration: a bubble smaller than the beam is seen for as long as it takes
/// to cross the beam, so its duration tells the beam, not the bubble (on the 24-h tuning suite,
/// sizes from v·t − beam were a median 2,300× too large). Gas above resonance scatters in
/// proportion to its cross-section, and a bubble in the light path removes blood in
/// proportion to its volume within the beam: both grow with size, with a scatter set by where
/// in the beam it passes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AirSizing {
    /// `[a, b]`: log10 d = a + b · EBR.
    pub ultrasound: [f32; 2],
    /// `[a, b]`: log10 d = a + b · log10(rise).
    pub optical: [f32; 2],
}

/// An ultrasound air sighting clipped for over this share of its frames, and ...
pub const LUMEN_CLIP: f32 = 0.1;
/// ... stronger than this, is taken as filling the lumen (a slug's specular interface).
///
/// Chosen on the training set's detected air (`data/train`, 1,285 air emboli, 184 slugs),
/// counting slugs whose volume at the alarm reaches the default 50-µL single-bubble limit and
/// bubbles under it that are wrongly flagged: clip share 0.1 and 40 dB: 151 slugs, 129 wrong
/// flags; 30 dB: 153, 222; 50 dB: 127, 58; clip share 0.3: 143, 104; never (optical lumen
/// only): 116, 30; the duration rule before: 118, 548.
pub const LUMEN_EBR_DB: f32 = 40.0;
/// An optical rise at least this large (the light up by 45 %) is taken as filling the lumen:
/// on `data/train` the detected bubbles' rises reach 0.38 (p90), slugs' 0.49 (p10) to 3.2
/// (counted as above: 0.25: 158 slugs, 149 wrong flags; 0.45: 151, 129; 1.0: 130, 121).
/// So is a fall in air: the only gas that lowers the transmission is a slug's front meniscus
/// (see `classify::physics`).
pub const LUMEN_RISE: f32 = 0.45;

/// Volume of a sphere of diameter `d_mm`, µL.
fn sphere_ul(d_mm: f32) -> f32 {
    core::f32::consts::PI / 6.0 * d_mm * d_mm * d_mm
}

/// Volume of a column of air filling a lumen of `tube_id_mm` over `length_mm`, never shorter
/// than the lumen is wide, µL; the lumen-wide sphere's when the length is not finite.
fn column_ul(length_mm: f32, tube_id_mm: f32) -> f32 {
    let column = core::f32::consts::PI * tube_id_mm * tube_id_mm / 4.0 * length_mm.max(tube_id_mm);
    if column.is_finite() {
        column
    } else {
        sphere_ul(tube_id_mm)
    }
}

/// Volume of a slug whose passage through a sensor's beam lasted `duration_ms`, µL: a column
/// of the lumen moving at `velocity_m_s`. The passage is followed from the front interface to
/// about where the rear one stands (the rear meniscus's dip in the light, the rear echo in the
/// ultrasound), so the beam's width is not taken off (see [`super::optical::OptPassage`],
/// [`super::ultrasound::UsPassage`]).
pub fn passage_volume_ul(duration_ms: f32, velocity_m_s: f32, tube_id_mm: f32) -> f32 {
    column_ul(velocity_m_s * duration_ms, tube_id_mm)
}

/// A followed optical rise ([`super::optical::OptPassage`]) that lasted as long as a column
/// of air this many times the lumen's width is a slug, however little it rose: air smaller
/// than the lumen passes the beam in its own length and the beam's, under two lumens (on the
/// 24-h tuning suite and `data/train`, 86 followed rises of other air or of artifacts under
/// 0.45 lasted at most 2.2 lumens; 12 slugs' rises under 0.45 lasted 1.8–290 lumens).
pub const SLUG_MIN_LUMENS: f32 = 3.0;

/// Whether a followed optical rise that peaked at `peak` (relative change) and lasted
/// `duration_ms` was a slug: it rose as air filling the lumen does ([`LUMEN_RISE`]), or it
/// lasted as long as [`SLUG_MIN_LUMENS`] of air at `velocity_m_s` in a lumen of `tube_id_mm`
/// (a slug's rise is smaller where the blood lets more light through: low haematocrit).
pub fn passage_is_slug(peak: f32, duration_ms: f32, velocity_m_s: f32, tube_id_mm: f32) -> bool {
    peak >= LUMEN_RISE || velocity_m_s * duration_ms >= SLUG_MIN_LUMENS * tube_id_mm
}

/// Whether an air sighting, by its classifier input (see [`super::classify::features`]), is
/// taken as filling the lumen: an ultrasound echo clipped on over [`LUMEN_CLIP`] of its frames
/// above [`LUMEN_EBR_DB`], an optical rise of [`LUMEN_RISE`] or more, or an optical fall.
pub fn fills_lumen(input: &FeatureVector) -> bool {
    let (has_us, ebr, clip) = (input[0] > 0.5, input[1], input[8]);
    let (has_opt, rise) = (input[11] > 0.5, input[12]);
    let lumen_us = has_us && clip > LUMEN_CLIP && ebr > LUMEN_EBR_DB;
    let lumen_opt = has_opt && rise.is_finite() && !(0.0..LUMEN_RISE).contains(&rise);
    lumen_us || lumen_opt
}

/// Estimated gas volume of an air sighting, from its classifier input: air that fills the
/// lumen ([`fills_lumen`]) is a column of the lumen's diameter `tube_id_mm`, as long as it was
/// seen moving at `velocity_m_s` until the alarm beyond the beam (`beam_mm`), and never shorter
/// than the lumen is wide; anything else is a sphere sized by [`AirSizing`] (from the optical
/// rise when there is one: it scatters less), never wider than the lumen. NaN when the input
/// has no measure to size by.
///
/// A slug's volume is the air seen by the alarm, a floor: the alarm is raised 12–30 ms after
/// the slug's front arrives, long before its rear.
///
/// `column_possible` false: the sighting cannot be a column whatever it looks like (no slug
/// went through the optical beam upstream in time to be it), so it is sized as a sphere.
pub fn air_volume_ul(
    input: &FeatureVector,
    sizing: &AirSizing,
    velocity_m_s: f32,
    beam_mm: f32,
    tube_id_mm: f32,
    column_possible: bool,
) -> f32 {
    let (has_us, ebr, us_ms) = (input[0] > 0.5, input[1], input[2]);
    let (has_opt, rise, opt_ms) = (input[11] > 0.5, input[12], input[13]);
    if column_possible && fills_lumen(input) {
        let ms = if has_us { us_ms } else { opt_ms };
        return column_ul(velocity_m_s * ms - beam_mm, tube_id_mm);
    }
    let log_um = if has_opt && rise > 0.0 {
        sizing.optical[0] + sizing.optical[1] * libm::log10f(rise)
    } else if has_us && ebr.is_finite() {
        sizing.ultrasound[0] + sizing.ultrasound[1] * ebr
    } else {
        return f32::NAN;
    };
    sphere_ul((libm::powf(10.0, log_um) * 1e-3).min(tube_id_mm))
}

/// Air accumulated over a sliding window, in fixed buckets (no heap).
#[derive(Clone, Copy, Debug)]
pub struct AirWindow {
    bucket_us: u64,
    buckets: [f32; BUCKETS],
    /// Index of the bucket holding `head_us`.
    head: u64,
}

impl AirWindow {
    /// A window of `window_s` seconds.
    pub fn new(window_s: f32) -> Self {
        let bucket_us = ((window_s.max(1.0) * 1e6) as u64 / BUCKETS as u64).max(1);
        Self {
            bucket_us,
            buckets: [0.0; BUCKETS],
            head: 0,
        }
    }

    /// Adds `volume_ul` at stream time `t_us` (non-decreasing across calls) and returns the
    /// total over the window ending at `t_us`.
    pub fn add(&mut self, t_us: u64, volume_ul: f32) -> f32 {
        let idx = t_us / self.bucket_us;
        if idx > self.head {
            let steps = (idx - self.head).min(BUCKETS as u64);
            for s in 1..=steps {
                self.buckets[((self.head + s) % BUCKETS as u64) as usize] = 0.0;
            }
            self.head = idx;
        }
        if idx + (BUCKETS as u64) > self.head {
            self.buckets[(idx % BUCKETS as u64) as usize] += volume_ul.max(0.0);
        }
        self.buckets.iter().sum()
    }
}

/// Recent alarms and passages a [`AirLedger`] remembers, and recent air alarms the detector
/// keeps for the passages their sightings opened (a passage is decided within tens of ms of
/// its sighting, or after the slug: the alarms meanwhile are its own or a shower's).
pub const RECENT: usize = 16;

/// The sliding window's air, kept so that a slug is counted once: a slug's passage
/// ([`super::optical::OptPassage`], [`super::ultrasound::UsPassage`]) adds its whole volume
/// less what the alarms that began within it added already, and an alarm that begins within a
/// passage already counted adds nothing. Recent alarms and passages are remembered up to
/// [`RECENT`] of each (older ones are counted again: a total too high, never too low).
#[derive(Clone, Debug)]
pub struct AirLedger {
    window: AirWindow,
    /// Start and added volume of recent alarms.
    alarms: heapless::Deque<(u64, f32), RECENT>,
    /// Start and end of recent passages.
    passages: heapless::Deque<(u64, u64), RECENT>,
}

/// Pushes `x` at the back of `ring`, dropping the oldest when it is full.
pub(crate) fn push_recent<T>(ring: &mut heapless::Deque<T, RECENT>, x: T) {
    if ring.is_full() {
        ring.pop_front();
    }
    let _ = ring.push_back(x);
}

impl AirLedger {
    /// A ledger over a window of `window_s` seconds.
    pub fn new(window_s: f32) -> Self {
        Self {
            window: AirWindow::new(window_s),
            alarms: heapless::Deque::new(),
            passages: heapless::Deque::new(),
        }
    }

    /// Adds an air event of `volume_ul` over `start_us..end_us` (a passage when `passage`),
    /// in the order the detector decides them, and returns the window's total.
    // Kept out of line: the firmware has the flash for one copy.
    #[inline(never)]
    pub fn add(&mut self, start_us: u64, end_us: u64, volume_ul: f32, passage: bool) -> f32 {
        let added = if passage {
            let counted: f32 = self
                .alarms
                .iter()
                .filter(|&&(s, _)| (start_us..=end_us).contains(&s))
                .map(|&(_, v)| v)
                .sum();
            push_recent(&mut self.passages, (start_us, end_us));
            (volume_ul - counted).max(0.0)
        } else {
            let seen = self
                .passages
                .iter()
                .any(|&(from, to)| (from..=to).contains(&start_us));
            let added = if seen { 0.0 } else { volume_ul.max(0.0) };
            push_recent(&mut self.alarms, (start_us, added));
            added
        };
        self.window.add(start_us, added)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slug_is_counted_once_by_its_alarms_and_its_passage() {
        let mut ledger = AirLedger::new(900.0);
        // A bubble, then a slug's alarm at 10 s (its floor), a second alarm inside the slug,
        // then the slug's passage (10–12 s, 5 mL): the passage adds what the two left out.
        assert_eq!(ledger.add(1_000_000, 1_010_000, 2.0, false), 2.0);
        assert_eq!(ledger.add(10_000_000, 10_014_000, 200.0, false), 202.0);
        assert_eq!(ledger.add(11_000_000, 11_014_000, 150.0, false), 352.0);
        assert_eq!(ledger.add(10_000_000, 12_000_000, 5000.0, true), 5002.0);
        // An alarm that begins within the counted passage (its rear interface) adds nothing;
        // one after it does.
        assert_eq!(ledger.add(11_990_000, 12_004_000, 200.0, false), 5002.0);
        assert_eq!(ledger.add(13_000_000, 13_010_000, 3.0, false), 5005.0);
    }

    #[test]
    fn a_passage_smaller_than_its_alarms_adds_nothing() {
        let mut ledger = AirLedger::new(900.0);
        assert_eq!(ledger.add(0, 14_000, 300.0, false), 300.0);
        assert_eq!(ledger.add(0, 20_000, 250.0, true), 300.0);
    }

    #[test]
    fn the_window_forgets_a_passage_like_any_air() {
        let mut ledger = AirLedger::new(60.0);
        assert_eq!(ledger.add(1_000_000, 3_000_000, 4000.0, true), 4000.0);
        assert_eq!(ledger.add(70_000_000, 70_010_000, 1.0, false), 1.0);
    }

    #[test]
    fn a_slug_is_a_large_rise_or_a_long_one() {
        // 4.76-mm lumen at 0.5 m/s: three lumens pass in 28.6 ms.
        assert!(passage_is_slug(LUMEN_RISE, 5.0, 0.5, 4.76));
        assert!(!passage_is_slug(0.3, 20.0, 0.5, 4.76));
        assert!(passage_is_slug(0.3, 30.0, 0.5, 4.76));
    }

    #[test]
    fn a_passage_is_a_column_of_the_lumen() {
        // 1 s at 0.5 m/s in a 4-mm lumen: 500 mm of 12.566 mm², 6.28 mL.
        let v = passage_volume_ul(1000.0, 0.5, 4.0);
        assert!((v - 6283.2).abs() < 1.0, "{v}");
        // Never shorter than the lumen is wide.
        let short = passage_volume_ul(1.0, 0.5, 4.0);
        assert!((short - 50.27).abs() < 0.01, "{short}");
    }
}
