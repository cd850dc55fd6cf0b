//! Air volume: per bubble, and accumulated over a sliding window, as infusion and bypass
//! safety logic alarm on both (COBE US 5,394,732; Hospira US 9,498,583).

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

/// Estimated gas volume of one bubble seen for `duration_ms` moving at `velocity_m_s` through a
/// beam `beam_mm` wide, in a tube of `tube_id_mm`: the bubble's length along the tube is
/// v·t − beam; shorter than the lumen it is taken as a sphere, longer as a slug filling it.
pub fn bubble_volume_ul(duration_ms: f32, velocity_m_s: f32, beam_mm: f32, tube_id_mm: f32) -> f32 {
    let length_mm = (velocity_m_s * duration_ms - beam_mm).max(0.0);
    if length_mm >= tube_id_mm {
        core::f32::consts::PI * tube_id_mm * tube_id_mm / 4.0 * length_mm
    } else {
        // Below the resolution of v·t, the bubble is at least a tenth of the beam: the smallest
        // volume we can claim without overstating.
        let d = length_mm.max(0.1 * beam_mm);
        core::f32::consts::PI / 6.0 * d * d * d
    }
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
