//! Onset times of the most recent events at one sensor, for the check that a disturbance hit
//! both sensors at the same instant (mechanical, not an embolus).

/// Onsets remembered: more than the events one sensor can open within the longest wait for
/// the other stream (the detector's chunk lag).
const ONSETS: usize = 16;

/// A ring of recent onset times, µs.
#[derive(Clone, Copy, Debug)]
pub struct Onsets {
    times_us: [u64; ONSETS],
    next: usize,
}

impl Default for Onsets {
    fn default() -> Self {
        Self::new()
    }
}

impl Onsets {
    /// None yet.
    pub const fn new() -> Self {
        Self {
            times_us: [u64::MAX; ONSETS],
            next: 0,
        }
    }

    /// Records an onset.
    pub fn push(&mut self, t_us: u64) {
        self.times_us[self.next] = t_us;
        self.next = (self.next + 1) % ONSETS;
    }

    /// Whether an onset lies after `after_us` and at or before `until_us`.
    pub fn any_between(&self, after_us: u64, until_us: u64) -> bool {
        self.times_us
            .iter()
            .any(|&o| o != u64::MAX && o > after_us && o <= until_us)
    }

    /// Whether an onset lies before `t_us` by at most `within_us`.
    pub fn any_before(&self, t_us: u64, within_us: u64) -> bool {
        self.times_us
            .iter()
            .any(|&o| o != u64::MAX && o < t_us && t_us - o <= within_us)
    }

    /// Whether an onset lies within `tol_us` of `t_us`.
    pub fn any_near(&self, t_us: u64, tol_us: u64) -> bool {
        self.times_us
            .iter()
            .any(|&o| o != u64::MAX && o.abs_diff(t_us) <= tol_us)
    }
}
