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
pub fn air_volume_ul(
    input: &FeatureVector,
    sizing: &AirSizing,
    velocity_m_s: f32,
    beam_mm: f32,
    tube_id_mm: f32,
) -> f32 {
    let (has_us, ebr, us_ms) = (input[0] > 0.5, input[1], input[2]);
    let (has_opt, rise, opt_ms) = (input[11] > 0.5, input[12], input[13]);
    if fills_lumen(input) {
        let ms = if has_us { us_ms } else { opt_ms };
        let length_mm = (velocity_m_s * ms - beam_mm).max(tube_id_mm);
        let column = core::f32::consts::PI * tube_id_mm * tube_id_mm / 4.0 * length_mm;
        return if column.is_finite() {
            column
        } else {
            sphere_ul(tube_id_mm)
        };
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
