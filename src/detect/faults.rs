//! Sensor faults: NaN or infinite samples, flat line, saturation, loss of coupling, a
//! reversed flow and optical readings under zero. A faulty sensor is reported as such, never
//! silently as all clear.

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
/// Drop of the ultrasound power below its reference that means lost coupling: coupling
/// loss drops the signal 15–30 dB, but the receiver's noise floor, 15–35 dB under the blood
/// (signal model), stays, so the mildest loss over the highest floor lowers the received
/// power by only 12 dB. 10 dB leaves a margin under that. On the 24-h tuning suite (sixteenth
/// session): coupling losses with a fault 122 → 123 of 125 (the other two last about a
/// second), faults on haematocrit changes 1 → 3 (of 366), the alarms within the refits' spread.
/// (Before the simulator's haematocrit was fixed, the changes drifted between their labels
/// and 10 dB doubled their faults, 17 → 34.)
pub const COUPLING_DROP_DB: f32 = 10.0;
/// How long the drop must last.
pub const COUPLING_S: f32 = 0.8;
/// Fast power time constant for the coupling check.
pub const POWER_FAST_TAU_S: f32 = 0.05;
/// The coupling reference is the median of the mean powers of the last [`REFERENCE_BLOCKS`]
/// blocks of this length: seconds, so that a coupling loss of seconds still stands out.
pub const REFERENCE_BLOCK_S: u32 = 1;
/// Blocks in the coupling reference (20 s). The median of every block, not a mean of the
/// healthy ones: a coupling loss shorter than half of it, or a diathermy burst, does not move
/// it, and it needs no judgement of which blocks were healthy, a judgement that would make
/// it depend on the whole past. After 20 s it no longer depends on what came before, which
/// is what lets a long recording be cut into segments that each give the events of the
/// whole stream (`run`'s segment mode). A loss longer than 10 s becomes the reference: the
/// fault was reported at its onset.
pub const REFERENCE_BLOCKS: usize = 20;
/// The blood's Doppler signal turns forward: over a block of [`REFERENCE_BLOCK_S`], the net
/// turn of the I/Q phasor from sample to sample, `Σ Im(z[n]·conj(z[n−1]))`, over its total,
/// `Σ |Im(z[n]·conj(z[n−1]))|`, reads 0.6–0.99 with the blood flowing forward (the 11
/// ultrasound recordings of `data/tune`: 95 % of each one's 1-s blocks; medians 0.76–0.99),
/// near 0 on a few blocks under diathermy or a loss of coupling (the lowest −0.01: white
/// noise turns both ways alike), and the same numbers negated with I and Q swapped. A block
/// under minus this is reversed.
pub const REVERSED_COHERENCE: f32 = 0.3;
/// Time constant of the mean taken off the I/Q samples before their turn is summed: a DC
/// offset of the demodulator or the stationary tube wall's echo (at 0 Hz, under the wall
/// filter's 25 Hz) adds a turn either way across every sample, which swamps the blood's net
/// turn. With I and Q swapped and offset by 0.1 and −0.07 of full scale (the blood 26–34 dB
/// under it), the blocks of `data/tune` read a median −0.09 to −0.44 without it (13 faults
/// raised and dropped on its 11 recordings), −0.77 to −0.99 with it (one fault each), as
/// without the offset; with 0.2 and −0.15, `tests/reversed.rs` saw no fault without it; 10 ms passes the blood (25 Hz and up) and leaves the forward
/// readings as they were.
pub const TURN_MEAN_TAU_S: f32 = 0.01;
/// Reversed blocks that make a fault: this many in a row, or this many among the last
/// [`REVERSED_WINDOW`] when they also outnumber the forward ones (over
/// [`REVERSED_COHERENCE`]). Seconds, so that no burst or knock reads as a reversed line,
/// while the neutral blocks of a loss of coupling or a diathermy burst (about 0) neither
/// raise the fault nor clear it. A function of the last blocks alone (as the coupling
/// reference is), so that a stream cut into segments gives the same faults.
pub const REVERSED_BLOCKS: u32 = 3;
/// Blocks the reversed-flow test looks back over (8 s).
pub const REVERSED_WINDOW: u32 = 8;
/// Clean samples after a NaN run before it counts as over.
pub const NAN_CLEAR_S: f32 = 0.05;
/// An optical channel whose mean over a block of [`SATURATION_BLOCK_S`] is under zero reads
/// less than darkness ([`FaultKind::NegativeLight`]): one block is enough, as nothing in the
/// line takes the light below darkness (a clot or a meniscus at most dims it) and the sensor
/// noise averages out over the block. The fault lasts until this many blocks in a row (20 s)
/// read at or over zero. A scale is not mended in the middle of a recording, but an
/// offset-binary reading of the blood's light goes over zero and back whenever the light
/// rises (a haematocrit change, a lamp, a slug's passage of up to 15 s), and a relative change
/// read on a baseline near zero is huge: on the scale below, held 2 s, the fault was dropped
/// and raised again 8 times, and 30 false alarms came in the 0.3 s before the light went back
/// under zero (40 in all; 10 held 20 s, in a recording whose light stayed over zero after a
/// haematocrit change). A function of the last 20 s alone (under
/// [`crate::detect::MEMORY_S`]), so that a stream cut into segments gives the same faults.
///
/// Measured on `data/tune4` (2 h) with every optical reading `x` written as `2x − 1`, an
/// offset-binary scale: 172 false alarms (162 on artifacts: haematocrit changes read as air)
/// and 82 % discrimination before this fault.
pub const NEGATIVE_HOLD_BLOCKS: u32 = 200;

/// A fault seen by a monitor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultReport {
    /// Which fault.
    pub kind: FaultKind,
    /// Sample where it began; for the report of its end, the first sample read again.
    pub start: u64,
    /// Sample at which it was recognised.
    pub ready: u64,
    /// Whether this reports the fault's end (the sensor reads again), not its start.
    pub cleared: bool,
}

impl FaultReport {
    /// The end of a fault of `kind`, at sample `n`.
    fn cleared(kind: FaultKind, n: u64) -> Self {
        FaultReport {
            kind,
            start: n,
            ready: n + 1,
            cleared: true,
        }
    }
}

/// Watches one sensor's raw samples for faults: the ultrasound's (`ULTRASOUND`: coupling and
/// the flow's direction too) or the optical sensor's (light under zero too). Each sensor's
/// checks are compiled into its own monitor only, which keeps the other's out of the
/// firmware's hot loop and flash.
pub struct FaultMonitor<const ULTRASOUND: bool> {
    channels: usize,
    flat_len: u64,
    sat_block: u32,
    nan_clear: u64,
    coupling_len: u64,
    fast_alpha: f32,
    reference_block: u32,
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
    /// Power summed over the current reference block, and its samples (finite, all).
    block_power: f32,
    block_finite: u32,
    block_samples: u32,
    /// Mean power of the last blocks (a ring) and how many are filled.
    reference: [f32; REFERENCE_BLOCKS],
    reference_len: usize,
    reference_next: usize,
    /// Fast power below which the coupling counts as lost: the reference times
    /// [`COUPLING_DROP_DB`]; −∞ until the first block.
    coupling_threshold: f32,
    low_run: u64,
    coupling: bool,
    /// The mean of the I/Q samples ([`TURN_MEAN_TAU_S`]) and its weight, the last finite
    /// sample less that mean (0 before the first), and the phasor's net and total turn over
    /// the current block (see [`REVERSED_COHERENCE`]).
    iq_mean: [f32; 2],
    mean_alpha: f32,
    prev_iq: [f32; 2],
    block_turn: f32,
    block_abs_turn: f32,
    /// One bit per block of the last [`REVERSED_WINDOW`], newest lowest: set when the block
    /// was reversed, and when it was forward.
    reversed_blocks: u8,
    forward_blocks: u8,
    reversed: bool,
    /// Each channel's sum over the current saturation block, for the test of light under
    /// zero (optical monitors only), and the blocks since the last one whose mean was under
    /// zero, up to [`NEGATIVE_HOLD_BLOCKS`] (the fault is open under it).
    light_sum: [f32; 2],
    since_negative: u32,
}

/// The ultrasound sensor's monitor.
pub type UltrasoundMonitor = FaultMonitor<true>;
/// The optical sensor's monitor.
pub type OpticalMonitor = FaultMonitor<false>;

impl<const ULTRASOUND: bool> FaultMonitor<ULTRASOUND> {
    /// A monitor for `channels` (1 or 2) channels at `rate_hz`.
    pub fn new(rate_hz: u32, channels: usize) -> Self {
        let fs = rate_hz as f32;
        Self {
            channels,
            flat_len: (FLAT_S * fs) as u64,
            sat_block: ((SATURATION_BLOCK_S * fs) as u32).max(1),
            nan_clear: (NAN_CLEAR_S * fs) as u64,
            coupling_len: (COUPLING_S * fs) as u64,
            fast_alpha: 1.0 - libm::expf(-1.0 / (POWER_FAST_TAU_S * fs)),
            reference_block: (REFERENCE_BLOCK_S * rate_hz).max(1),
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
            block_power: 0.0,
            block_finite: 0,
            block_samples: 0,
            reference: [0.0; REFERENCE_BLOCKS],
            reference_len: 0,
            reference_next: 0,
            coupling_threshold: f32::NEG_INFINITY,
            low_run: 0,
            coupling: false,
            iq_mean: [0.0; 2],
            mean_alpha: 1.0 - libm::expf(-1.0 / (TURN_MEAN_TAU_S * fs)),
            prev_iq: [0.0; 2],
            block_turn: 0.0,
            block_abs_turn: 0.0,
            reversed_blocks: 0,
            forward_blocks: 0,
            reversed: false,
            light_sum: [0.0; 2],
            since_negative: NEGATIVE_HOLD_BLOCKS,
        }
    }

    /// Checks one frame of raw samples; returns the sanitised frame (non-finite values are
    /// replaced by 0, so that no filter state is poisoned) and reports faults as they start
    /// and end.
    pub fn process(&mut self, x: [f32; 2], out: &mut impl FnMut(FaultReport)) -> [f32; 2] {
        let n = self.n;
        self.n += 1;
        // Both channels in straight-line code, without a loop over the channel count: a
        // one-channel sensor's second channel reads 0, which never clips, adds no power and
        // always repeats (so its first channel alone decides a flat line).
        let x1 = if self.channels == 2 { x[1] } else { 0.0 };
        let finite = x[0].is_finite() & x1.is_finite();
        let clean = [finite_or_zero(x[0]), finite_or_zero(x1)];
        let clipped = (libm::fabsf(clean[0]) >= FULL_SCALE) | (libm::fabsf(clean[1]) >= FULL_SCALE);
        let same = (clean[0] == self.last[0]) & (clean[1] == self.last[1]);
        // (0 + a²) + b², as a sum over the channels from zero: the same bits.
        let power = clean[0] * clean[0] + clean[1] * clean[1];

        // NaN / inf: immediate.
        if !finite {
            self.last_nan = n;
            if !self.nan {
                self.nan = true;
                out(FaultReport {
                    kind: FaultKind::NotANumber,
                    start: n,
                    ready: n + 1,
                    cleared: false,
                });
            }
        } else if self.nan && n - self.last_nan > self.nan_clear {
            self.nan = false;
            // Ended at the first finite sample, recognised `nan_clear` samples later.
            out(FaultReport {
                start: self.last_nan + 1,
                ..FaultReport::cleared(FaultKind::NotANumber, n)
            });
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
                    cleared: false,
                });
            }
        } else {
            self.flat_run = 0;
            if self.flat {
                self.flat = false;
                out(FaultReport::cleared(FaultKind::FlatLine, n));
            }
        }
        self.last = clean;

        // Saturation: most of several consecutive blocks at full scale.
        self.block_count += 1;
        self.block_clipped += clipped as u32;
        if !ULTRASOUND {
            self.light_sum[0] += clean[0];
            self.light_sum[1] += clean[1];
        }
        if self.block_count >= self.sat_block {
            if !ULTRASOUND {
                if let Some(report) = self.end_light_block(n) {
                    out(report);
                }
            }
            let saturated =
                self.block_clipped as f32 >= SATURATION_FRACTION * self.block_count as f32;
            self.block_count = 0;
            self.block_clipped = 0;
            // A point of the stream's fixed grid: see `dsp::snap`.
            self.power_fast = crate::dsp::snap(self.power_fast);
            self.iq_mean = self.iq_mean.map(crate::dsp::snap);
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
                        cleared: false,
                    });
                }
            } else {
                self.sat_blocks = 0;
                if self.sat {
                    self.sat = false;
                    out(FaultReport::cleared(FaultKind::Saturation, n));
                }
            }
        }

        // Loss of coupling: the received power falls far below its reference.
        if ULTRASOUND && finite {
            self.power_fast += self.fast_alpha * (power - self.power_fast);
            self.block_power += power;
            self.block_finite += 1;
            // Im(z[n]·conj(z[n−1])) of the samples less their mean: positive when the phasor
            // turned forward.
            self.iq_mean[0] += self.mean_alpha * (clean[0] - self.iq_mean[0]);
            self.iq_mean[1] += self.mean_alpha * (clean[1] - self.iq_mean[1]);
            let z = [clean[0] - self.iq_mean[0], clean[1] - self.iq_mean[1]];
            let turn = z[1] * self.prev_iq[0] - z[0] * self.prev_iq[1];
            self.prev_iq = z;
            self.block_turn += turn;
            self.block_abs_turn += libm::fabsf(turn);
            if self.power_fast < self.coupling_threshold {
                self.low_run += 1;
                if self.low_run >= self.coupling_len && !self.coupling {
                    let start = n + 1 - self.low_run;
                    self.coupling = true;
                    out(FaultReport {
                        kind: FaultKind::LossOfCoupling,
                        start,
                        ready: n + 1,
                        cleared: false,
                    });
                }
            } else {
                self.low_run = 0;
                if self.coupling {
                    self.coupling = false;
                    out(FaultReport::cleared(FaultKind::LossOfCoupling, n));
                }
            }
        }
        if ULTRASOUND {
            self.block_samples += 1;
            if self.block_samples >= self.reference_block {
                if self.block_finite > 0 {
                    self.reference[self.reference_next] =
                        self.block_power / self.block_finite as f32;
                    self.reference_next = (self.reference_next + 1) % REFERENCE_BLOCKS;
                    self.reference_len = (self.reference_len + 1).min(REFERENCE_BLOCKS);
                    self.coupling_threshold = self.median_block_power() * self.coupling_drop;
                }
                self.block_power = 0.0;
                self.block_finite = 0;
                self.block_samples = 0;
                self.end_direction_block(n, out);
            }
        }
        clean
    }

    /// Closes a block of the reversed-flow test at sample `n` (its last).
    fn end_direction_block(&mut self, n: u64, out: &mut impl FnMut(FaultReport)) {
        let margin = REVERSED_COHERENCE * self.block_abs_turn;
        let (reversed_block, forward_block) = (self.block_turn < -margin, self.block_turn > margin);
        self.block_turn = 0.0;
        self.block_abs_turn = 0.0;
        // The window is the u8's 8 bits: shifting drops the oldest block.
        const _: () = assert!(REVERSED_WINDOW == u8::BITS);
        self.reversed_blocks = (self.reversed_blocks << 1) | reversed_block as u8;
        self.forward_blocks = (self.forward_blocks << 1) | forward_block as u8;
        let count = self.reversed_blocks.count_ones();
        let run = self.reversed_blocks.trailing_ones();
        let reversed = run >= REVERSED_BLOCKS
            || (count >= REVERSED_BLOCKS && count > self.forward_blocks.count_ones());
        if reversed && !self.reversed {
            // From the oldest reversed block still in the window.
            let blocks = u64::from(u8::BITS - self.reversed_blocks.leading_zeros());
            out(FaultReport {
                kind: FaultKind::ReversedFlow,
                start: (n + 1).saturating_sub(blocks * u64::from(self.reference_block)),
                ready: n + 1,
                cleared: false,
            });
        } else if !reversed && self.reversed {
            // Ended where the blocks stopped reading reversed, recognised now.
            let since = u64::from(self.reversed_blocks.trailing_zeros());
            out(FaultReport {
                start: (n + 1).saturating_sub(since * u64::from(self.reference_block)),
                ..FaultReport::cleared(FaultKind::ReversedFlow, n)
            });
        }
        self.reversed = reversed;
    }

    /// Closes a block of the test for light under zero at sample `n` (its last), and returns
    /// the fault's start or end if the block made one: see [`NEGATIVE_HOLD_BLOCKS`].
    fn end_light_block(&mut self, n: u64) -> Option<FaultReport> {
        let block = u64::from(self.sat_block);
        let negative = (self.light_sum[0] < 0.0) | (self.light_sum[1] < 0.0);
        self.light_sum = [0.0; 2];
        let open = self.light_negative();
        if negative {
            self.since_negative = 0;
            (!open).then_some(FaultReport {
                kind: FaultKind::NegativeLight,
                start: (n + 1).saturating_sub(block),
                ready: n + 1,
                cleared: false,
            })
        } else if open {
            self.since_negative += 1;
            // Ended where the last block under zero did, recognised now.
            (!self.light_negative()).then_some(FaultReport {
                start: (n + 1).saturating_sub(u64::from(NEGATIVE_HOLD_BLOCKS) * block),
                ..FaultReport::cleared(FaultKind::NegativeLight, n)
            })
        } else {
            None
        }
    }

    /// Whether the optical readings stand under zero ([`FaultKind::NegativeLight`]): what
    /// the optical path sights meanwhile is read on the wrong scale.
    pub fn light_negative(&self) -> bool {
        self.since_negative < NEGATIVE_HOLD_BLOCKS
    }

    /// Whether the received power is now far below its reference (the state a loss of
    /// coupling is declared from, before it has lasted [`COUPLING_S`]).
    pub fn coupling_weak(&self) -> bool {
        ULTRASOUND && self.power_fast < self.coupling_threshold
    }

    /// The coupling reference: the median block power held (the lower middle one).
    fn median_block_power(&self) -> f32 {
        let len = self.reference_len;
        let mut sorted = self.reference;
        let sorted = &mut sorted[..len];
        sorted.sort_unstable_by(f32::total_cmp);
        sorted[(len - 1) / 2]
    }

    /// Samples after which every block grid of the monitor repeats: a stream cut at a
    /// multiple of this meets the same grids as the whole stream.
    pub fn period_samples(&self) -> u64 {
        let sat = u64::from(self.sat_block);
        if ULTRASOUND {
            lcm(sat, u64::from(self.reference_block))
        } else {
            sat
        }
    }
}

/// `x`, or 0 if it is NaN or infinite.
#[inline(always)]
fn finite_or_zero(x: f32) -> f32 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}

/// Least common multiple.
pub(crate) fn lcm(a: u64, b: u64) -> u64 {
    let (mut x, mut y) = (a.max(1), b.max(1));
    while y != 0 {
        (x, y) = (y, x % y);
    }
    a.max(1) / x * b.max(1)
}
