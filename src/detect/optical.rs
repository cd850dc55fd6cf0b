//! The optical path: slow baseline per wavelength → relative change → local line predictor →
//! residual → adaptive threshold → one [`OptSighting`] per candidate embolus or disturbance.
//!
//! Air displaces blood from the beam and transmission rises; a clot adds scattering material
//! and it falls (signal model, Beer–Lambert). Haematocrit changes and LED drift are slower
//! than any embolus and go into the slow baseline. The pump's ripple (0.5–5 Hz, up to a few
//! per cent) is not: against a 0.3-s median it leaves a residual of the ripple's own size,
//! which set the noise level and hid bubbles several times larger than the sensor noise. So
//! events are detected on what stands out of the straight line through the 30 ms before them
//! ([`LinePredictor`]): the line follows the ripple's level and slope.

use crate::dsp::background::SlidingQuantile;
use crate::dsp::trend::{Line, LinePredictor};

use super::onsets::Onsets;
use super::time::Clock;
use super::ConfigError;

/// Samples held by the running-median baseline of each channel.
pub const BASELINE_LEN: usize = 128;
/// Time spanned by the baseline window: long against an embolus crossing the beam
/// (1–50 ms, signal model), short against haematocrit steps and ramps (seconds).
pub const BASELINE_WINDOW_S: f32 = 0.3;
/// Noise-level time constant.
pub const NOISE_TAU_S: f32 = 1.0;
/// Longest stretch the baseline stays frozen under an open event; past it the event is a
/// level change (haematocrit, reseat, lamp) and the baseline follows it.
pub const MAX_FREEZE_S: f32 = 0.6;
/// Length of the moving average on the relative change: the shortest bubble transit.
pub const SMOOTH_S: f32 = 0.002;
/// Longest moving average (samples), for rates up to 4 kHz.
const MAX_SMOOTH: usize = 8;
/// Time to learn baseline and noise before detecting.
pub const WARMUP_S: f32 = 0.4;
/// The noise level is snapped to 15 bits this often (a point of a fixed grid of the stream).
pub const SNAP_S: f32 = 0.1;
/// Samples fitted by the local line: long against the sensor noise (the line's own error
/// falls as its square root), short against the pump ripple's bend (it grows as its square).
/// On the tuning sets 20–50 ms found within 3 % the same bubbles at the same background rate.
pub const TREND_WINDOW_S: f32 = 0.030;
/// Gap between the line's window and the sample it predicts: an event's rising edge must
/// not lift the line that is to predict it before the event crosses the threshold.
pub const TREND_GUARD_S: f32 = 0.003;
/// While an event lasts, the line frozen at its onset is extrapolated for at most this long,
/// then held level: a bubble lasts 1–50 ms (signal model), and a slope carried further than
/// its window would drift.
pub const TREND_HOLD_S: f32 = 0.030;
/// Ring of the line predictor: window and guard at rates up to 4 kHz (above, both shrink).
const TREND_RING: usize = 136;
/// Block over which each channel is averaged for the colour reference: long against sensor
/// noise and mains flicker, short against the pump's period (0.2–2 s).
pub const COLOUR_BLOCK_S: f32 = 0.1;
/// Blocks per epoch of the colour reference's sums (2 s: the detector's grid).
const COLOUR_EPOCH_BLOCKS: u32 = 20;
/// Completed epochs the colour reference remembers (with the running one: up to 18 s).
const COLOUR_EPOCHS: usize = 8;
/// The pump's ripple must give the colour reference's block-to-block changes this many times
/// the mean square the sensor noise alone gives them (6 dB).
const RIPPLE_MIN_SNR: f32 = 4.0;
/// A block-to-block change of log transmission larger than this (on either colour) is a
/// step (haematocrit, reseat, lamp), not the pump's ripple, and stays out of the reference.
const COLOUR_MAX_STEP: f32 = 0.1;

/// Standard deviation of rounding to a converter's step, in steps (1/√12): the least noise
/// a quantised reading carries, however quiet the sensor behind it.
const QUANTUM_SIGMA: f32 = 0.288_675_13;

/// The least the local line may predict, relative to the baseline (1 + change): 5 % of
/// the baseline's light.
const MIN_LINE: f32 = 0.05;

/// An open event that was reported and then reverses its sign with a change this many
/// times its peak when reported is split: what follows is a new event. A slug's front
/// meniscus dips the transmission (a fall, reported as such), then the air column sends it
/// up to the empty tube's: without the split that rise stayed inside the dip's event. A
/// knock's next half-cycle is smaller than the first (a damped wobble). On the 6-h tuning
/// sets, slugs alarming later than 50 ms after entering the optical beam 3 → 1 (at 52 ms;
/// ratios of 2 and 1 left two and one at 0.3–0.5 s: at low haematocrit the rise is no larger
/// than the dip), false alarms unchanged.
pub const REVERSAL_RATIO: f32 = 0.5;
/// A reported fall that reverses into a rise of at least this relative change is split too,
/// however deep the fall: at a low haematocrit a slug's rise (the blood's absorbance gone,
/// 10–30 % at 15–25 %) is smaller than half its front meniscus's dip (30–90 %, signal model),
/// and without the split the slug stayed inside the dip's event (a slug missed, or its rear
/// meniscus alone alarmed, as a clot). Twice the largest knock's wobble (0.5–5 %, and its
/// later half-cycles are smaller): the only other disturbance that falls and then rises.
pub const REVERSAL_RISE: f32 = 0.1;
/// How long after its reported end an event's change is read again, for the check that it
/// stayed ([`OpticalPath::stayed`]): the detector's wait for a weak clot decision.
pub const STAY_CHECK_S: f32 = 0.1;
/// Events whose later change is remembered: more than can open within the longest wait for a
/// deferred decision.
const STAYS: usize = 16;
/// A rise sighting of at least this relative change is followed as a possible slug's
/// passage: a slug's front can be slower than the 12 ms a sighting is reported in (a slow
/// flow, a low haematocrit), and this is well above the pump's ripple (a few per cent, signal
/// model), which would hold a passage open.
pub const PASSAGE_OPEN: f32 = 0.2;
/// A smaller rise, down to [`REVERSAL_RISE`], is followed too when it rose out of a fall at
/// least this deep relative to it (its [`OptFeatures::pre_level`] at most minus this): a
/// slug's front meniscus, then its column at a low haematocrit. Not every small rise: at 500 Hz
/// a bubble of the lumen's size whose rise was undersampled to 0.15 held three lumens' time at
/// a fast flow and read as a 100-µL slug (tune6/sim0062).
pub const PASSAGE_MENISCUS: f32 = 0.5;
/// A passage lasts while the light stands above this share of its peak rise over the blood's
/// light before it: a slug holds the light near the empty tube's, and its rear meniscus dips
/// it below the blood's (signal model).
pub const PASSAGE_HOLD: f32 = 0.5;
/// A passage ends after the light has stayed under [`PASSAGE_HOLD`] this long: longer than a
/// meniscus's dip on the slug's front edge.
pub const PASSAGE_HANGOVER_S: f32 = 0.010;
/// A passage still followed this long after it began is dropped, not reported: a level change
/// (a haematocrit step, a lamp), not a slug (one of 80 mL in a 4.76-mm tube at 0.3 m/s passes
/// in 15 s). A passage the stream ends in is dropped too: only a passage seen to its end is
/// reported. So the detector's memory of a passage is bounded by this, under
/// [`super::MEMORY_S`].
pub const MAX_PASSAGE_S: f32 = 20.0;

/// A possible slug's passage through the optical beam, followed from a rise of at least
/// [`PASSAGE_OPEN`] (or out of a meniscus's dip, [`PASSAGE_MENISCUS`]) until the light falls
/// back (see [`OpticalPath::take_passage`]); whether it was a slug is the detector's decision
/// ([`super::air::passage_is_slug`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OptPassage {
    /// First sample of the rise sighting that opened it.
    pub start: u64,
    /// Last sample above [`PASSAGE_HOLD`] of the peak, plus one.
    pub end: u64,
    /// Sample at which it was reported.
    pub ready: u64,
    /// Peak relative change of transmission over the blood's before the rise.
    pub peak: f32,
}

/// A passage being followed.
#[derive(Clone, Copy, Debug)]
struct Following {
    start: u64,
    /// Each channel's baseline when the rise was reported (frozen since its onset): the
    /// blood's light.
    reference: [f32; 2],
    peak: f32,
    last_above: u64,
    below: u32,
}

/// Tunable thresholds of the optical detector.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OptThresholds {
    /// |relative change| that opens an event, in noise standard deviations.
    pub on_sigma: f32,
    /// Below this (in noise standard deviations) an open event counts as over.
    pub off_sigma: f32,
    /// Smallest relative change that opens an event, whatever the noise (0.2 %).
    pub min_delta: f32,
    /// Samples below `off_sigma` before the event is closed, as time.
    pub hangover_ms: f32,
    /// An open event is reported at the latest this long after its start.
    pub max_hold_ms: f32,
}

impl Default for OptThresholds {
    fn default() -> Self {
        Self {
            on_sigma: 6.0,
            off_sigma: 3.0,
            min_delta: 0.002,
            hangover_ms: 4.0,
            max_hold_ms: 12.0,
        }
    }
}

/// The features of one optical sighting.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OptFeatures {
    /// Signed peak relative change of transmission (mean of the channels): > 0 more light.
    pub delta: f32,
    /// Duration above the off threshold.
    pub duration_ms: f32,
    /// Red over near-IR absorbance change at the peak; NaN with one channel.
    pub colour_ratio: f32,
    /// Time from start to peak.
    pub rise_ms: f32,
    /// Sign changes of the relative change while the event lasts (meniscus dips, ringing).
    pub sign_changes: f32,
    /// Peak over the noise level, dB.
    pub snr_db: f32,
    /// 1 when the change outlasted [`MAX_FREEZE_S`]: a level change or a slug.
    pub long: f32,
    /// Mean signed change over the event over the peak: near 1 for a flat-topped slug.
    pub fill: f32,
    /// [`colour_ratio`](Self::colour_ratio) over the recording's own ratio for a change of the
    /// blood's optical path, measured on the pump's ripple (see `ColourReference` in the source): near 1 for
    /// air (it shortens the path through blood, as the tube's squeeze does), near
    /// `1 / reference` for colour-blind changes (a knock's wobble, scattering clots); NaN with
    /// one channel or before the reference has enough ripple.
    pub colour_match: f32,
    /// The local line's level at the onset (its departure from the slow baseline) over the
    /// peak: negative when the light had just swung the other way, as before a knock's
    /// second half-cycle; near 0 before an embolus in steady light.
    pub pre_level: f32,
    /// The local line's change over its window at the onset, over the peak: far from 0 when
    /// the light was swinging just before (a wobble: on the tuning sets knocks' dips read
    /// about −0.5, either sign), near 0 in steady light. For an event split off by a
    /// reversal both this and [`pre_level`](Self::pre_level) are the reported peak it
    /// reversed, over its own.
    pub pre_slope: f32,
}

/// A candidate event seen by the optical path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OptSighting {
    /// First sample of the event (at the optical rate).
    pub start: u64,
    /// Last sample of the event.
    pub end: u64,
    /// Sample at which the sighting was reported.
    pub ready: u64,
    /// Whether the event was still going on when reported.
    pub open: bool,
    /// What was measured.
    pub features: OptFeatures,
    /// The first sample of the passage being followed when the event opened (the light then
    /// stood at a possible slug's air), if any: a fall then is the slug's rear meniscus.
    pub in_passage: Option<u64>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Accum {
    start: u64,
    last_above: u64,
    below: u32,
    peak_abs: f32,
    peak: f32,
    peak_at: u64,
    colour_ratio: f32,
    sum: f32,
    n: u32,
    last_sign: i8,
    sign_changes: u32,
    reported: bool,
    /// The peak when the event was reported.
    reported_peak: f32,
    /// Sample at which the change is read again (see [`STAY_CHECK_S`]), once reported.
    check_at: u64,
    /// The change at `check_at` over the peak then; 0 until read.
    stayed: f32,
    /// The channels' mean local line at the onset: level, and change over the line's window.
    pre_level: f32,
    pre_change: f32,
    /// The start of the passage followed when the event opened, if any.
    in_passage: Option<u64>,
}

impl Accum {
    /// An event opened at sample `n` by the change `z`.
    fn opened(n: u64, z: f32, sign: i8, colour_ratio: f32, pre: (f32, f32)) -> Self {
        Accum {
            pre_level: pre.0,
            pre_change: pre.1,
            start: n,
            last_above: n,
            peak_abs: libm::fabsf(z),
            peak: z,
            peak_at: n,
            colour_ratio,
            sum: z,
            n: 1,
            last_sign: sign,
            check_at: u64::MAX,
            ..Accum::default()
        }
    }
}

/// The optical path.
pub struct OpticalPath {
    clock: Clock,
    th: OptThresholds,
    channels: usize,
    baseline: [SlidingQuantile<BASELINE_LEN>; 2],
    stride: u32,
    noise_mad: f32,
    noise_alpha: f32,
    /// Each channel's previous reading, and the smallest non-zero step between two of its
    /// readings so far (0 until one is seen): the converter's step, for a quantised stream.
    prev_x: [f32; 2],
    quantum: [f32; 2],
    /// The converter's step as a change of the detection statistic (relative to the
    /// baseline, averaged like the channels), at the latest sample.
    quantum_rel: f32,
    warmup: u64,
    hangover: u32,
    max_freeze: u64,
    hold: u64,
    smooth: [f32; MAX_SMOOTH],
    smooth_len: usize,
    /// Samples between snaps of the noise level (see `dsp::snap`).
    snap_every: u64,
    smooth_pos: usize,
    /// Local line of each channel's relative change.
    trend: [LinePredictor<TREND_RING>; 2],
    /// The lines at the open event's onset, extrapolated while it lasts.
    onset_line: [Line; 2],
    trend_hold: u64,
    colour: ColourReference,
    acc: Option<Accum>,
    /// First sample of the lines' freeze: the start of the open event, or of the one it
    /// split from.
    freeze_start: u64,
    onsets: Onsets,
    /// Samples from a reported end to the second reading ([`STAY_CHECK_S`]).
    stay_check: u64,
    /// Recent closed events' onsets (µs) and [`Accum::stayed`].
    stays: [(u64, f32); STAYS],
    stays_next: usize,
    following: Option<Following>,
    /// The first sample and the report sample of the sighting a passage began following
    /// from, until taken.
    opened: Option<(u64, u64)>,
    /// A passage that ended, until taken.
    passage: Option<OptPassage>,
    passage_hangover: u32,
    max_passage: u64,
}

/// The local line's predictor at `rate_hz`: its window and guard from
/// [`TREND_WINDOW_S`] and [`TREND_GUARD_S`].
fn trend_predictor(
    rate_hz: u32,
) -> Result<LinePredictor<TREND_RING>, crate::dsp::trend::TrendError> {
    let fs = rate_hz as f32;
    let guard = (libm::ceilf(TREND_GUARD_S * fs) as usize).clamp(1, TREND_RING / 8);
    let window = ((TREND_WINDOW_S * fs) as usize).clamp(4, TREND_RING - guard);
    LinePredictor::new(window, guard)
}

impl OpticalPath {
    /// A path for `channels` (1 or 2) optical channels sampled at `rate_hz`.
    #[inline(always)]
    pub fn new(rate_hz: u32, channels: usize, th: OptThresholds) -> Result<Self, ConfigError> {
        Self::check(rate_hz, channels, th)?;
        Ok(Self::build(rate_hz, channels, th))
    }

    /// Every check of [`Self::new`].
    pub fn check(rate_hz: u32, channels: usize, th: OptThresholds) -> Result<(), ConfigError> {
        if !(1..=2).contains(&channels) {
            return Err(ConfigError::OpticalChannels);
        }
        if !(th.on_sigma.is_finite() && th.off_sigma > 0.0 && th.off_sigma <= th.on_sigma) {
            return Err(ConfigError::Threshold);
        }
        trend_predictor(rate_hz).map_err(|_| ConfigError::OpticalRate)?;
        Ok(())
    }

    /// The path for parameters that passed [`Self::check`].
    ///
    /// # Panics
    /// If they did not.
    #[inline(always)]
    pub fn build(rate_hz: u32, channels: usize, th: OptThresholds) -> Self {
        let mut slot = core::mem::MaybeUninit::uninit();
        // SAFETY: `init` writes every field of the slot.
        unsafe {
            Self::init(slot.as_mut_ptr(), rate_hz, channels, th);
            slot.assume_init()
        }
    }

    /// The path [`Self::build`] makes, written at `p` field by field, so that its 4.2 KB (on
    /// the device) are never built on the stack first (see `Detector::init`).
    ///
    /// # Safety
    /// `p` must be valid for writes and aligned, and the parameters checked by
    /// [`Self::check`]. What it held is overwritten, not dropped.
    ///
    /// # Panics
    /// If they were not checked.
    #[inline(always)]
    pub(crate) unsafe fn init(p: *mut Self, rate_hz: u32, channels: usize, th: OptThresholds) {
        use core::ptr::addr_of_mut;
        let fs = rate_hz as f32;
        let stride = ((BASELINE_WINDOW_S * fs / BASELINE_LEN as f32) as u32).max(1);
        let Ok(trend) = trend_predictor(rate_hz) else {
            panic!("optical rate not checked")
        };
        // SAFETY: `p` is valid for writes (the caller's promise); each field is written once
        // (`every_field` below names them all), the two predictors of `trend` one by one.
        unsafe {
            addr_of_mut!((*p).clock).write(Clock::new(rate_hz));
            addr_of_mut!((*p).th).write(th);
            addr_of_mut!((*p).channels).write(channels);
            addr_of_mut!((*p).baseline).write([SlidingQuantile::new(), SlidingQuantile::new()]);
            addr_of_mut!((*p).stride).write(stride);
            addr_of_mut!((*p).noise_mad).write(0.0);
            addr_of_mut!((*p).noise_alpha).write(1.0 - libm::expf(-1.0 / (NOISE_TAU_S * fs)));
            addr_of_mut!((*p).prev_x).write([f32::NAN; 2]);
            addr_of_mut!((*p).quantum).write([0.0; 2]);
            addr_of_mut!((*p).quantum_rel).write(0.0);
            addr_of_mut!((*p).warmup).write((WARMUP_S * fs) as u64);
            addr_of_mut!((*p).hangover).write(((th.hangover_ms * 1e-3 * fs) as u32).max(1));
            addr_of_mut!((*p).max_freeze).write((MAX_FREEZE_S * fs) as u64);
            addr_of_mut!((*p).hold).write((th.max_hold_ms * 1e-3 * fs) as u64);
            addr_of_mut!((*p).smooth).write([0.0; MAX_SMOOTH]);
            addr_of_mut!((*p).smooth_len).write(((SMOOTH_S * fs) as usize).clamp(1, MAX_SMOOTH));
            addr_of_mut!((*p).smooth_pos).write(0);
            // One predictor at a time: the pair is never built whole on the stack.
            let pair = addr_of_mut!((*p).trend).cast::<LinePredictor<TREND_RING>>();
            pair.write(trend.clone());
            pair.add(1).write(trend);
            addr_of_mut!((*p).onset_line).write([Line::default(); 2]);
            addr_of_mut!((*p).trend_hold).write((TREND_HOLD_S * fs) as u64);
            addr_of_mut!((*p).colour)
                .write(ColourReference::new(((COLOUR_BLOCK_S * fs) as u32).max(1)));
            addr_of_mut!((*p).snap_every).write(((SNAP_S * fs) as u64).max(1));
            addr_of_mut!((*p).acc).write(None);
            addr_of_mut!((*p).freeze_start).write(0);
            addr_of_mut!((*p).onsets).write(Onsets::new());
            addr_of_mut!((*p).stay_check).write((STAY_CHECK_S * fs) as u64);
            addr_of_mut!((*p).stays).write([(u64::MAX, 0.0); STAYS]);
            addr_of_mut!((*p).stays_next).write(0);
            addr_of_mut!((*p).following).write(None);
            addr_of_mut!((*p).opened).write(None);
            addr_of_mut!((*p).passage).write(None);
            addr_of_mut!((*p).passage_hangover).write(((PASSAGE_HANGOVER_S * fs) as u32).max(1));
            addr_of_mut!((*p).max_passage).write((MAX_PASSAGE_S * fs) as u64);
        }
    }

    /// Names every field without `..`: a new field fails to compile here, next to
    /// [`Self::init`], which must write it too.
    #[allow(dead_code)]
    fn every_field(&self) {
        let OpticalPath {
            clock: _,
            th: _,
            channels: _,
            baseline: _,
            stride: _,
            noise_mad: _,
            noise_alpha: _,
            prev_x: _,
            quantum: _,
            quantum_rel: _,
            warmup: _,
            hangover: _,
            max_freeze: _,
            hold: _,
            smooth: _,
            smooth_len: _,
            smooth_pos: _,
            trend: _,
            onset_line: _,
            trend_hold: _,
            colour: _,
            snap_every: _,
            acc: _,
            freeze_start: _,
            onsets: _,
            stay_check: _,
            stays: _,
            stays_next: _,
            following: _,
            opened: _,
            passage: _,
            passage_hangover: _,
            max_passage: _,
        } = self;
    }

    /// The sample clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Start times of the most recent events, recorded as each event opens.
    pub fn onsets(&self) -> &Onsets {
        &self.onsets
    }

    /// For the event that opened at `start_us`: its change [`STAY_CHECK_S`] after its reported
    /// end, over its peak then (the lines frozen at its onset stand for the light before it).
    /// Near 1 when the light fell or rose and stayed (a lamp switched off or on near the clamp),
    /// near 0 when the change passed, as an embolus's does; 0 when the event closed before the
    /// second reading or is not remembered.
    pub fn stayed(&self, start_us: u64) -> f32 {
        match self.acc {
            Some(acc) if self.clock.us(acc.start) == start_us => acc.stayed,
            _ => self
                .stays
                .iter()
                .find(|&&(s, _)| s == start_us)
                .map_or(0.0, |&(_, r)| r),
        }
    }

    /// Remembers a closing event's second reading.
    fn close(&mut self, acc: &Accum) {
        self.stays[self.stays_next] = (self.clock.us(acc.start), acc.stayed);
        self.stays_next = (self.stays_next + 1) % STAYS;
    }

    /// Samples after which the path's grids (baseline stride, smoothing ring) repeat.
    pub fn period_samples(&self) -> u64 {
        let p = super::faults::lcm(u64::from(self.stride), self.smooth_len as u64);
        let p = super::faults::lcm(p, self.colour.epoch_samples());
        super::faults::lcm(p, self.snap_every)
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Noise standard deviation of the relative change (robust estimate).
    pub fn noise_sigma(&self) -> f32 {
        // Mean absolute deviation of a Gaussian is σ·√(2/π).
        self.noise_mad * 1.2533
    }

    /// The noise level the thresholds and features stand on: the estimate, but never under
    /// the converter's rounding. A dim channel whose sensor noise is under one step reads as
    /// a staircase: between steps the estimate falls towards zero, and each step of the
    /// reading would then stand many "standard deviations" tall.
    fn detection_sigma(&self) -> f32 {
        self.noise_sigma()
            .max(QUANTUM_SIGMA * self.quantum_rel)
            .max(1e-7)
    }

    /// Learns each channel's converter step from the smallest non-zero change between two
    /// successive readings (a stream of floats has none worth the name, and gets no floor).
    /// The step is learnt before the sample is judged, so the first step of a staircase is
    /// already floored; a segment cut from a long recording (`run`'s segment mode) learns the
    /// same step from its warm-up, since any change of one step is the smallest there is.
    fn learn_quantum(&mut self, x: [f32; 2]) {
        let channels = self.prev_x.iter_mut().zip(&mut self.quantum).zip(x);
        for ((prev, quantum), x) in channels.take(self.channels) {
            let d = libm::fabsf(x - *prev);
            if d > 0.0 && (*quantum == 0.0 || d < *quantum) {
                *quantum = d;
            }
            *prev = x;
        }
    }

    /// A possible slug's passage that has ended since the last call, if any: followed from an
    /// optical rise sighting of at least [`PASSAGE_OPEN`], or of [`REVERSAL_RISE`] out of a
    /// dip ([`PASSAGE_MENISCUS`]), whatever it is decided to be, while
    /// the light stands above [`PASSAGE_HOLD`] of its peak over the blood's. At most one is
    /// followed at a time; call it after every [`Self::process`].
    #[inline]
    pub fn take_passage(&mut self) -> Option<OptPassage> {
        // Called per sample: the test alone while there is none.
        if self.passage.is_some() {
            self.passage.take()
        } else {
            None
        }
    }

    /// A passage that began being followed since the last call, if any: the first sample of
    /// the sighting it began from and the sample that sighting was reported at. Call it after
    /// every [`Self::process`].
    #[inline]
    pub fn take_passage_opened(&mut self) -> Option<(u64, u64)> {
        if self.opened.is_some() {
            self.opened.take()
        } else {
            None
        }
    }

    /// Follows an open passage over sample `n`.
    fn follow(&mut self, n: u64, x: [f32; 2]) {
        let Some(f) = self.following.as_mut() else {
            return;
        };
        let mut r = 0.0;
        for (c, &v) in x.iter().enumerate().take(self.channels) {
            r += v / f.reference[c] - 1.0;
        }
        let r = r / self.channels as f32;
        if r > f.peak {
            f.peak = r;
        }
        if r > PASSAGE_HOLD * f.peak {
            f.last_above = n;
            f.below = 0;
        } else {
            f.below += 1;
        }
        if f.below >= self.passage_hangover {
            self.passage = Some(OptPassage {
                start: f.start,
                end: f.last_above + 1,
                ready: n + 1,
                peak: f.peak,
            });
            self.following = None;
        } else if n + 1 - f.start >= self.max_passage {
            self.following = None;
        }
    }

    /// Reports a sighting, and begins following a passage if it is a large enough rise.
    fn report(&mut self, s: OptSighting, out: &mut impl FnMut(OptSighting)) {
        out(s);
        let f = &s.features;
        let slug_front = f.delta >= PASSAGE_OPEN
            || (f.delta >= REVERSAL_RISE && f.pre_level <= -PASSAGE_MENISCUS);
        if self.following.is_some() || !slug_front {
            return;
        }
        let mut reference = [1.0f32; 2];
        for (r, b) in reference.iter_mut().zip(&self.baseline).take(self.channels) {
            *r = b.median();
        }
        if reference[..self.channels]
            .iter()
            .all(|r| r.is_finite() && libm::fabsf(*r) > 1e-6)
        {
            self.following = Some(Following {
                start: s.start,
                reference,
                peak: s.features.delta,
                last_above: s.ready - 1,
                below: 0,
            });
            self.opened = Some((s.start, s.ready));
        }
    }

    /// Processes one frame of 1 or 2 channel values (already checked finite).
    pub fn process(&mut self, x: [f32; 2], out: &mut impl FnMut(OptSighting)) {
        let n = self.clock.samples();
        self.clock.tick();
        self.follow(n, x);
        self.learn_quantum(x);
        if crate::dsp::is_multiple(n + 1, self.snap_every) {
            self.noise_mad = crate::dsp::snap(self.noise_mad);
        }
        // Samples since the open event's onset, while its lines and the baseline stay frozen.
        let frozen_for = self
            .acc
            .map(|_| n - self.freeze_start)
            .filter(|&since| since < self.max_freeze);
        let frozen = frozen_for.is_some();
        // Relative change of each channel against its slow baseline, then against the local
        // line: while an event lasts the line frozen at its onset stands in for the samples,
        // so that the event never enters a later fit.
        let mut rel = [0.0f32; 2];
        let mut have_baseline = true;
        let mut quantum_rel = 0.0;
        for c in 0..self.channels {
            let b = self.baseline[c].median();
            if !(b.is_finite() && libm::fabsf(b) > 1e-6) {
                have_baseline = false;
                self.trend[c].push(0.0);
                continue;
            }
            quantum_rel += self.quantum[c] / libm::fabsf(b);
            let r = x[c] / b - 1.0;
            let line = if let Some(since) = frozen_for {
                let at = self.onset_line[c].at(since.min(self.trend_hold) as f32);
                self.trend[c].push(at);
                at
            } else {
                self.trend[c].push(r);
                self.trend[c].fit().level
            };
            // No light at all is the least a channel can read: a line extrapolated below it
            // (its slope taken on a steep edge, a slug's meniscus) would turn every sample
            // into nonsense.
            rel[c] = (1.0 + r) / crate::dsp::max(1.0 + line, MIN_LINE) - 1.0;
        }
        let z_raw = if self.channels == 2 {
            0.5 * (rel[0] + rel[1])
        } else {
            rel[0]
        };
        self.quantum_rel = quantum_rel / self.channels as f32;
        // A short moving average matched to the briefest bubbles (1–50 ms in the beam,
        // signal model): √L less sensor noise, next to nothing lost of an event.
        self.smooth[self.smooth_pos] = z_raw;
        self.smooth_pos = (self.smooth_pos + 1) % self.smooth_len;
        let z = self.smooth[..self.smooth_len].iter().sum::<f32>() / self.smooth_len as f32;

        // The baseline takes every `stride`-th sample on a fixed grid of the stream (frozen
        // samples are skipped, not shifted), so that the grid does not depend on history.
        if !frozen && crate::dsp::is_multiple(n + 1, u64::from(self.stride)) {
            for (b, &v) in self.baseline.iter_mut().zip(x.iter()).take(self.channels) {
                b.push(v);
            }
        }
        if self.channels == 2 {
            self.colour.push(n, x, self.acc.is_none());
        }
        if !have_baseline || n < self.warmup {
            if have_baseline {
                self.noise_mad += self.noise_alpha.max(1.0 / (n as f32 + 1.0))
                    * (libm::fabsf(z) - self.noise_mad);
            }
            return;
        }

        let sigma = self.detection_sigma();
        let on_level = (self.th.on_sigma * sigma).max(self.th.min_delta);
        let off_level = (self.th.off_sigma * sigma).max(0.5 * self.th.min_delta);
        let az = libm::fabsf(z);
        let sign: i8 = if z > off_level {
            1
        } else if z < -off_level {
            -1
        } else {
            0
        };

        match self.acc.as_mut() {
            None => {
                if az > on_level {
                    self.freeze_lines();
                    self.onsets.push(self.clock.us(n));
                    let pre = self.onset_context();
                    self.acc = Some(Accum {
                        in_passage: self.following.as_ref().map(|f| f.start),
                        ..Accum::opened(n, z, sign, colour_ratio(rel, self.channels), pre)
                    });
                } else {
                    self.noise_mad += self.noise_alpha * (az - self.noise_mad);
                }
            }
            Some(acc)
                if acc.reported
                    && sign != 0
                    && (sign > 0) != (acc.reported_peak > 0.0)
                    && az > on_level
                    && (az > REVERSAL_RATIO * libm::fabsf(acc.reported_peak)
                        || (sign > 0 && z > REVERSAL_RISE)) =>
            {
                // A reversal of at least `REVERSAL_RATIO` times the event as reported, or a
                // fall reversed into a rise of `REVERSAL_RISE`: a new event, under the lines
                // frozen for the first.
                self.onsets.push(self.clock.us(n));
                // What came just before is the event reversed, seen against the same lines.
                let pre = (acc.reported_peak, acc.reported_peak);
                let reversed = *acc;
                *acc = Accum {
                    in_passage: self.following.as_ref().map(|f| f.start),
                    ..Accum::opened(n, z, sign, colour_ratio(rel, self.channels), pre)
                };
                self.close(&reversed);
            }
            Some(acc) => {
                // The noise level learns while an event is open too, from the change clipped at
                // the on-level: else a disturbance that keeps events opening (a lamp's flicker
                // at twice the mains) also keeps the level from learning it, and every flicker
                // peak is a sighting (on data/train: 755 sightings of lamps before, 367 after;
                // tuning sets: false alarms 11 -> 8). Clipped at the off-level, the estimate
                // learnt too little (15).
                self.noise_mad += self.noise_alpha * (az.min(on_level) - self.noise_mad);
                acc.sum += z;
                acc.n += 1;
                if az > acc.peak_abs {
                    acc.peak_abs = az;
                    acc.peak = z;
                    acc.peak_at = n;
                    acc.colour_ratio = colour_ratio(rel, self.channels);
                }
                if sign != 0 {
                    if acc.last_sign != 0 && sign != acc.last_sign {
                        acc.sign_changes += 1;
                    }
                    acc.last_sign = sign;
                }
                if n == acc.check_at {
                    acc.stayed = z / acc.peak;
                }
                if az > off_level {
                    acc.last_above = n;
                    acc.below = 0;
                } else {
                    acc.below += 1;
                }
            }
        }

        if let Some(acc) = self.acc {
            if acc.below >= self.hangover {
                if !acc.reported {
                    self.report(self.sighting(&acc, n, false, sigma), out);
                }
                self.close(&acc);
                self.acc = None;
            } else if !acc.reported && n - acc.start >= self.hold {
                let sighting = self.sighting(&acc, n, true, sigma);
                self.report(sighting, out);
                let check_at = sighting.end + self.stay_check;
                if let Some(a) = self.acc.as_mut() {
                    a.reported = true;
                    a.reported_peak = a.peak;
                    a.check_at = check_at;
                }
            }
        }
    }

    /// Freezes each channel's local line at an event's onset and puts the line in place of
    /// the samples inside the guard (the event's rising edge), which would otherwise enter
    /// the fits after the event.
    fn freeze_lines(&mut self) {
        self.freeze_start = self.clock.samples() - 1;
        for c in 0..self.channels {
            let line = self.trend[c].fit();
            self.onset_line[c] = line;
            for age in 0..self.trend[c].guard() {
                self.trend[c].set(age, line.at(-(age as f32)));
            }
        }
    }

    /// The channels' mean local line frozen at the onset: its level and its change over the
    /// line's window.
    fn onset_context(&self) -> (f32, f32) {
        let (mut level, mut change) = (0.0, 0.0);
        for c in 0..self.channels {
            let line = self.onset_line[c];
            level += line.level;
            change += line.slope * self.trend[c].window() as f32;
        }
        let k = 1.0 / self.channels as f32;
        (level * k, change * k)
    }

    /// Reports an open event at stream end.
    pub fn finish(&mut self, out: &mut impl FnMut(OptSighting)) {
        if let Some(acc) = self.acc.take() {
            self.close(&acc);
            if !acc.reported {
                let n = self.clock.samples();
                let sigma = self.detection_sigma();
                self.report(self.sighting(&acc, n, false, sigma), out);
            }
        }
        // A passage the stream ends in was not seen to its end.
        self.following = None;
    }

    /// Mean square of the colour reference's block-to-block change of one channel's log
    /// reading from sensor noise alone, given the noise level `sigma` of the detection
    /// signal (the two channels' mean, averaged over `smooth_len` samples): per channel and
    /// sample that is `sigma · √(2·smooth_len)`, and a difference of two block means has
    /// twice its variance over the block.
    fn block_noise(&self, sigma: f32) -> f32 {
        let per_sample = sigma * sigma * 2.0 * self.smooth_len as f32;
        2.0 * per_sample / self.colour.block as f32
    }

    fn sighting(&self, acc: &Accum, now: u64, open: bool, sigma: f32) -> OptSighting {
        let fs = self.clock.rate_hz() as f32;
        let end = acc.last_above + 1;
        let duration_ms = (end - acc.start) as f32 / fs * 1e3;
        OptSighting {
            start: acc.start,
            end,
            ready: now + 1,
            open,
            features: OptFeatures {
                delta: acc.peak,
                duration_ms,
                colour_ratio: acc.colour_ratio,
                rise_ms: (acc.peak_at - acc.start) as f32 / fs * 1e3,
                sign_changes: acc.sign_changes as f32,
                snr_db: 20.0 * libm::log10f(acc.peak_abs / sigma),
                long: (now - acc.start >= self.max_freeze) as u32 as f32,
                fill: (acc.sum / acc.n as f32) / acc.peak,
                colour_match: acc.colour_ratio / self.colour.ratio(self.block_noise(sigma)),
                pre_level: relative_to(acc.pre_level, acc.peak),
                pre_slope: relative_to(acc.pre_change, acc.peak),
            },
            in_passage: acc.in_passage,
        }
    }
}

/// `x` over the event's signed `peak`, bounded so that a vanishing peak gives no infinity.
fn relative_to(x: f32, peak: f32) -> f32 {
    (x / peak).clamp(-RELATIVE_BOUND, RELATIVE_BOUND)
}

/// Largest magnitude of [`OptFeatures::pre_level`] and [`OptFeatures::pre_slope`].
const RELATIVE_BOUND: f32 = 100.0;

/// Red over near-IR absorbance change: ΔA = −ln(1 + relative change).
fn colour_ratio(rel: [f32; 2], channels: usize) -> f32 {
    if channels < 2 {
        return f32::NAN;
    }
    let a_red = -libm::logf((1.0 + rel[0]).max(1e-6));
    let a_ir = -libm::logf((1.0 + rel[1]).max(1e-6));
    if libm::fabsf(a_ir) < 1e-9 {
        f32::NAN
    } else {
        a_red / a_ir
    }
}

/// The recording's red over near-IR ratio for a change of the blood's optical path, from the
/// pump's ripple: the roller squeezes the tube, the path through blood changes, and both
/// colours' absorbance change in the ratio of their absorption coefficients, the very ratio
/// an air bubble shows (it shortens the path through blood). Knocks (the tube wobbling in the
/// clamp) and clots (scattering) are nearly colour-blind.
///
/// Per [`COLOUR_BLOCK_S`] block, the mean of each channel; per pair of clean consecutive
/// blocks (no event open, no step over [`COLOUR_MAX_STEP`]) the change of log transmission
/// `d = (d_red, d_ir)`; sums of `d_red²`, `d_ir²` and `d_red·d_ir` over 2-s epochs, of which
/// the last [`COLOUR_EPOCHS`] and the running one count (finite memory, on a fixed grid of
/// the stream: segments give the same values as one stream). The ratio is the geometric-mean
/// regression `sign(Σ d_red·d_ir) · √(Σ d_red² / Σ d_ir²)`: noise on both axes does not pull
/// it towards zero as a least-squares slope would. On the tuning sets it came within 5 % of
/// the simulator's `k_red / k_ir` wherever the ripple stands clear of the noise.
#[derive(Clone, Debug)]
struct ColourReference {
    block: u32,
    at: u32,
    sum: [f32; 2],
    clean: bool,
    prev_log: [f32; 2],
    prev_ok: bool,
    /// Per epoch: Σ d_red², Σ d_ir², Σ d_red·d_ir, pairs.
    epochs: [[f32; 4]; COLOUR_EPOCHS + 1],
    blocks_in_epoch: u32,
    /// Slot of the running epoch.
    current: usize,
}

impl ColourReference {
    fn new(block: u32) -> Self {
        Self {
            block,
            at: 0,
            sum: [0.0; 2],
            clean: true,
            prev_log: [0.0; 2],
            prev_ok: false,
            epochs: [[0.0; 4]; COLOUR_EPOCHS + 1],
            blocks_in_epoch: 0,
            current: 0,
        }
    }

    fn epoch_samples(&self) -> u64 {
        u64::from(self.block) * u64::from(COLOUR_EPOCH_BLOCKS)
    }

    /// Adds sample `n`; `quiet` when no event is open. Blocks end on multiples of the block
    /// length in stream samples.
    fn push(&mut self, n: u64, x: [f32; 2], quiet: bool) {
        self.sum[0] += x[0];
        self.sum[1] += x[1];
        self.clean &= quiet;
        self.at += 1;
        if !crate::dsp::is_multiple(n + 1, u64::from(self.block)) {
            return;
        }
        let mean = [self.sum[0] / self.at as f32, self.sum[1] / self.at as f32];
        let ok = self.clean && self.at == self.block && mean[0] > 1e-6 && mean[1] > 1e-6;
        let log = [libm::logf(mean[0].max(1e-6)), libm::logf(mean[1].max(1e-6))];
        if ok && self.prev_ok {
            let d = [log[0] - self.prev_log[0], log[1] - self.prev_log[1]];
            if libm::fabsf(d[0]) < COLOUR_MAX_STEP && libm::fabsf(d[1]) < COLOUR_MAX_STEP {
                let e = &mut self.epochs[self.current];
                e[0] += d[0] * d[0];
                e[1] += d[1] * d[1];
                e[2] += d[0] * d[1];
                e[3] += 1.0;
            }
        }
        self.prev_log = log;
        self.prev_ok = ok;
        self.sum = [0.0; 2];
        self.at = 0;
        self.clean = true;
        self.blocks_in_epoch += 1;
        if self.blocks_in_epoch == COLOUR_EPOCH_BLOCKS {
            self.blocks_in_epoch = 0;
            self.current = (self.current + 1) % self.epochs.len();
            self.epochs[self.current] = [0.0; 4];
        }
    }

    /// The ratio, NaN until 20 block pairs with ripple have been seen, or while the mean
    /// square block-to-block change of either colour is under [`RIPPLE_MIN_SNR`] times
    /// `noise` (what the sensor noise alone gives it).
    fn ratio(&self, noise: f32) -> f32 {
        let mut t = [0.0f32; 4];
        // A fixed order (oldest slot first) so that the sum does not depend on history.
        for k in 1..=self.epochs.len() {
            let e = &self.epochs[(self.current + k) % self.epochs.len()];
            for (a, b) in t.iter_mut().zip(e) {
                *a += b;
            }
        }
        // Each colour's block-to-block change must stand clear of what the sensor noise alone
        // gives: without a pump's ripple the ratio would be one of noise.
        let floor = RIPPLE_MIN_SNR * noise * t[3];
        if t[3] < 20.0 || t[1] <= floor || t[0] <= floor {
            return f32::NAN;
        }
        let r = libm::sqrtf(t[0] / t[1]);
        if t[2] < 0.0 {
            -r
        } else {
            r
        }
    }
}
