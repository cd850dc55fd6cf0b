//! Sensor faults: NaN or infinite samples, flat line, saturation and loss of coupling. A
//! faulty sensor is reported as such, never silently as all clear.

use crate::event::FaultKind;

/// A flat line shorter than this is a quiet moment, not a dead channel.
pub const FLAT_S: f32 = 0.2;
/// Saturation is judged over blocks of this length.
pub const SATURATION_BLOCK_S: f32 = 0.1;
/// Fraction of clipped samples in a block that makes it saturated.
pub const SATURATION_FRACTION: f32 = 0.5;
/// Consecutive saturated blocks before a fault: longer than the clipping of a big bubble
/// (< 300 ms, signal model).
pub const SATURATION_BLOCKS: u32 = 4;
/// Level at which a sample counts as clipped (fraction of full scale).
pub const FULL_SCALE: f32 = 0.985;
/// Drop of the ultrasound power below its slow reference that means lost coupling: coupling
/// loss drops the signal 15–30 dB (signal model); 12 dB leaves a margin below that.
pub const COUPLING_DROP_DB: f32 = 12.0;
/// How long the drop must last.
pub const COUPLING_S: f32 = 0.8;
/// Fast and slow power time constants for the coupling check.
pub const POWER_FAST_TAU_S: f32 = 0.05;
/// Slow reference: seconds, so that a coupling loss of seconds still stands out.
pub const POWER_SLOW_TAU_S: f32 = 20.0;
/// Clean samples after a NaN run before it counts as over.
pub const NAN_CLEAR_S: f32 = 0.05;

/// A fault seen by a monitor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultReport {
    /// Which fault.
    pub kind: FaultKind,
    /// Sample where it began.
    pub start: u64,
    /// Sample at which it was recognised.
    pub ready: u64,
}

/// Watches one sensor's raw samples for faults.
pub struct FaultMonitor {
    channels: usize,
    check_coupling: bool,
    flat_len: u64,
    sat_block: u32,
    nan_clear: u64,
    coupling_len: u64,
    fast_alpha: f32,
    slow_alpha: f32,
    /// [`COUPLING_DROP_DB`] as a power ratio, computed once (it was 60 % of the detector's
    /// time as a `powf` per sample).
    coupling_drop: f32,
    // state
    n: u64,
    last: [f32; 2],
    flat_run: u64,
    flat: bool,
    nan: bool,
    last_nan: u64,
    block_count: u32,
    block_clipped: u32,
    sat_blocks: u32,
    sat: bool,
    power_fast: f32,
    power_slow: f32,
    low_run: u64,
    coupling: bool,
}

impl FaultMonitor {
    /// A monitor for `channels` (1 or 2) channels at `rate_hz`; `check_coupling` for the
    /// ultrasound sensor.
    pub fn new(rate_hz: u32, channels: usize, check_coupling: bool) -> Self {
        let fs = rate_hz as f32;
        Self {
            channels,
            check_coupling,
            flat_len: (FLAT_S * fs) as u64,
            sat_block: ((SATURATION_BLOCK_S * fs) as u32).max(1),
            nan_clear: (NAN_CLEAR_S * fs) as u64,
            coupling_len: (COUPLING_S * fs) as u64,
            fast_alpha: 1.0 - libm::expf(-1.0 / (POWER_FAST_TAU_S * fs)),
            slow_alpha: 1.0 - libm::expf(-1.0 / (POWER_SLOW_TAU_S * fs)),
            coupling_drop: libm::powf(10.0, -COUPLING_DROP_DB / 10.0),
            n: 0,
            last: [f32::NAN; 2],
            flat_run: 0,
            flat: false,
            nan: false,
            last_nan: 0,
            block_count: 0,
            block_clipped: 0,
            sat_blocks: 0,
            sat: false,
            power_fast: 0.0,
            power_slow: 0.0,
            low_run: 0,
            coupling: false,
        }
    }

    /// Checks one frame of raw samples; returns the sanitised frame (non-finite values are
    /// replaced by 0, so that no filter state is poisoned) and reports new faults.
    pub fn process(&mut self, x: [f32; 2], out: &mut impl FnMut(FaultReport)) -> [f32; 2] {
        let n = self.n;
        self.n += 1;
        let mut clean = [0.0f32; 2];
        let mut finite = true;
        let mut clipped = false;
        let mut same = true;
        let mut power = 0.0f32;
        for c in 0..self.channels {
            let v = x[c];
            if v.is_finite() {
                clean[c] = v;
            } else {
                finite = false;
            }
            clipped |= libm::fabsf(clean[c]) >= FULL_SCALE;
            same &= clean[c] == self.last[c];
            power += clean[c] * clean[c];
        }

        // NaN / inf: immediate.
        if !finite {
            self.last_nan = n;
            if !self.nan {
                self.nan = true;
                out(FaultReport {
                    kind: FaultKind::NotANumber,
                    start: n,
                    ready: n + 1,
                });
            }
        } else if self.nan && n - self.last_nan > self.nan_clear {
            self.nan = false;
        }

        // Flat line: every channel repeats its last value exactly.
        if same && finite {
            self.flat_run += 1;
            if self.flat_run >= self.flat_len && !self.flat {
                let start = n + 1 - self.flat_run;
                self.flat = true;
                out(FaultReport {
                    kind: FaultKind::FlatLine,
                    start,
                    ready: n + 1,
                });
            }
        } else {
            self.flat_run = 0;
            self.flat = false;
        }
        self.last = clean;

        // Saturation: most of several consecutive blocks at full scale.
        self.block_count += 1;
        self.block_clipped += clipped as u32;
        if self.block_count >= self.sat_block {
            let saturated =
                self.block_clipped as f32 >= SATURATION_FRACTION * self.block_count as f32;
            self.block_count = 0;
            self.block_clipped = 0;
            if saturated {
                self.sat_blocks += 1;
                if self.sat_blocks >= SATURATION_BLOCKS && !self.sat {
                    let start =
                        (n + 1).saturating_sub(self.sat_blocks as u64 * self.sat_block as u64);
                    self.sat = true;
                    out(FaultReport {
                        kind: FaultKind::Saturation,
                        start,
                        ready: n + 1,
                    });
                }
            } else {
                self.sat_blocks = 0;
                self.sat = false;
            }
        }

        // Loss of coupling: the received power falls far below its slow reference.
        if self.check_coupling && finite {
            self.power_fast += self.fast_alpha * (power - self.power_fast);
            let warm = n as f32 * self.slow_alpha > 0.05;
            let threshold = self.power_slow * self.coupling_drop;
            if warm && self.power_fast < threshold {
                self.low_run += 1;
                if self.low_run >= self.coupling_len && !self.coupling {
                    let start = n + 1 - self.low_run;
                    self.coupling = true;
                    out(FaultReport {
                        kind: FaultKind::LossOfCoupling,
                        start,
                        ready: n + 1,
                    });
                }
            } else {
                self.low_run = 0;
                self.coupling = false;
            }
            // The reference learns only from a healthy signal.
            if !self.coupling && self.low_run == 0 {
                let a = self.slow_alpha.max(1.0 / (n as f32 + 1.0));
                self.power_slow += a * (power - self.power_slow);
            }
        }
        clean
    }
}
