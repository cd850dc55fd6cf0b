//! Cancelling mains flicker ([`MainsCanceller`]): the sinusoids at 50, 100, 60 and 120 Hz
//! measured on short blocks and subtracted from each channel.
//!
//! Room light reaches an optical sensor clamped on a tube and flickers at the mains frequency
//! and twice it (signal model: ambient light, 50/60 Hz flicker). The flicker is steady and
//! narrow-band; an embolus's change is a 1–50 ms transient. On the tuning sets the flicker
//! was most of the optical noise's variance in half the recordings (up to 3.6 times the
//! white noise's standard deviation in amplitude), and a 30-ms local line cannot follow a
//! 10-ms period.
//!
//! Each block holds whole periods of every tone, so the tones are orthogonal over it and each
//! one's cosine and sine amplitudes are its correlations with the block, after the block's
//! least-squares line (the pump's ripple, a slow drift) is taken out with them. The flicker
//! subtracted is the median, per coefficient, of the last [`BLOCKS`] blocks measured: a
//! block with a brief embolus is outvoted. A block is not measured while the caller has an
//! event under way ([`MainsCanceller::spoil`]) or when its tones carry more than
//! [`POWER_RATIO`] times the least power of the last 10 s: a lamp switched on flickers with
//! up to 10 % of the light, and an adaptive (LMS) canceller that learnt it went on
//! subtracting it after the lamp was switched off, every peak a sighting. A lamp left on
//! for longer than 10 s is learnt, and forgotten within half the blocks once it is off.
//! The estimate depends on the last blocks alone: two runs of a stream from different
//! starts agree bit for bit once they share them, as cutting a recording into segments
//! requires.
//!
//! Which mains the room has is not known, so all four tones are measured; a tone with no
//! flicker behind it measures near zero.

/// Frequencies cancelled, Hz: both mains and their second harmonics (the flicker of a lamp
/// fed by rectified mains is at twice the mains).
pub const TONES_HZ: [u32; 4] = [50, 100, 60, 120];
/// A tone is cancelled only below this fraction of the sampling rate.
pub const MAX_TONE_FRACTION: f32 = 0.45;
/// Most channels.
pub const MAX_CHANNELS: usize = 2;
/// Shortest block, s (whole periods of every tone: 0.1 s at the common rates).
pub const MIN_BLOCK_S: f32 = 0.1;
/// Blocks whose median is subtracted: 0.7 s of signal at 0.1-s blocks.
pub const BLOCKS: usize = 7;
/// A block is measured only if its tones' power is at most this many times the least of
/// the last [`STRETCHES`] stretches (10 s): a lamp switched on (its flicker up to 10 % of
/// the light) is not learnt unless it stays on for longer.
pub const POWER_RATIO: f32 = 4.0;
/// Stretches of [`STRETCH_BLOCKS`] blocks remembered for the least power.
pub const STRETCHES: usize = 10;
/// Blocks per stretch (1 s at 0.1-s blocks).
pub const STRETCH_BLOCKS: u64 = 10;

/// Error building a [`MainsCanceller`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MainsError {
    /// No channel, more than [`MAX_CHANNELS`], or a zero rate.
    Config,
}

impl core::fmt::Display for MainsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "mains canceller: 1 to {MAX_CHANNELS} channels and a non-zero rate"
        )
    }
}

#[cfg(feature = "std")]
impl std::error::Error for MainsError {}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Cosine and sine coefficients of the tones on one channel.
type Coefs = [(f32, f32); 4];

/// Sums over the running block, per channel.
#[derive(Clone, Copy, Debug, Default)]
struct BlockSums {
    /// Σ x.
    x: f32,
    /// Σ i·x, i the sample's place in the block.
    ix: f32,
    /// Σ x·cos, Σ x·sin per tone.
    tone: Coefs,
}

/// Measures the mains tones on blocks and cancels them, on up to two channels.
#[derive(Clone, Debug)]
pub struct MainsCanceller {
    /// Tones in use (those under [`MAX_TONE_FRACTION`] of the rate).
    tones: usize,
    /// One sample's rotation of each tone's phasor.
    step: [(f32, f32); 4],
    /// Samples after which each tone's phase is whole again.
    period: [u32; 4],
    /// Each tone's sample within its period, and the sample's place in its block.
    phase_pos: [u32; 4],
    block_pos: u32,
    /// Blocks into the running stretch.
    stretch_pos: u32,
    /// Each tone's phasor at the current sample.
    phasor: [(f32, f32); 4],
    /// Each tone's phasor at a whole phase: 1, or 0 for a slot with no tone (its period is
    /// one sample, so its phasor stays 0). The loops of the sample path run over all four
    /// slots, which the compiler unrolls: a third of the cost of looping over the tones in
    /// use, on the device.
    whole: [(f32, f32); 4],
    /// Samples per block: whole periods of every tone.
    block: u64,
    /// Σ cos, Σ sin of each tone over a block (zero but for rounding).
    tone_sum: Coefs,
    /// Σ (i − centre)·cos, Σ (i − centre)·sin: what a unit slope adds to a tone's sums.
    tone_slope: Coefs,
    /// Σ (i − centre)² over a block, less what the tones explain of a slope.
    slope_norm: f32,
    channels: usize,
    sums: [BlockSums; MAX_CHANNELS],
    /// The running block is not to be measured (see [`MainsCanceller::spoil`]).
    spoilt: bool,
    /// The least power of the tones in a block, per recent stretch, and the running slot.
    least: [f32; STRETCHES],
    least_pos: usize,
    /// The last [`BLOCKS`] blocks' coefficients, per channel.
    ring: [[Coefs; MAX_CHANNELS]; BLOCKS],
    ring_pos: usize,
    ring_len: usize,
    /// Coefficients subtracted: the median of the ring.
    estimate: [Coefs; MAX_CHANNELS],
}

impl MainsCanceller {
    /// A canceller for `channels` channels at `rate_hz`.
    pub fn new(rate_hz: u32, channels: usize) -> Result<Self, MainsError> {
        if rate_hz == 0 || !(1..=MAX_CHANNELS).contains(&channels) {
            return Err(MainsError::Config);
        }
        let fs = rate_hz as f32;
        let mut c = MainsCanceller {
            tones: 0,
            step: [(1.0, 0.0); 4],
            period: [1; 4],
            phase_pos: [0; 4],
            block_pos: 0,
            stretch_pos: 0,
            phasor: [(0.0, 0.0); 4],
            whole: [(0.0, 0.0); 4],
            block: 1,
            tone_sum: [(0.0, 0.0); 4],
            tone_slope: [(0.0, 0.0); 4],
            slope_norm: 1.0,
            channels,
            sums: [BlockSums::default(); MAX_CHANNELS],
            spoilt: false,
            least: [f32::INFINITY; STRETCHES],
            least_pos: 0,
            ring: [[[(0.0, 0.0); 4]; MAX_CHANNELS]; BLOCKS],
            ring_pos: 0,
            ring_len: 0,
            estimate: [[(0.0, 0.0); 4]; MAX_CHANNELS],
        };
        for &f in TONES_HZ
            .iter()
            .filter(|&&f| (f as f32) < MAX_TONE_FRACTION * fs)
        {
            c.step[c.tones] = cos_sin(core::f32::consts::TAU * (f as f32 / fs));
            c.period[c.tones] = rate_hz / gcd(u64::from(rate_hz), u64::from(f)) as u32;
            c.whole[c.tones] = (1.0, 0.0);
            c.tones += 1;
        }
        let whole = c.period[..c.tones]
            .iter()
            .fold(1, |p, &q| p / gcd(p, u64::from(q)) * u64::from(q));
        let min_block = (MIN_BLOCK_S * fs) as u64;
        c.block = whole * min_block.div_ceil(whole).max(1);
        // The block's constants, from the same phasors the stream will use.
        let centre = (c.block - 1) as f32 / 2.0;
        let mut norm = 0.0;
        for i in 0..c.block {
            c.advance();
            let d = i as f32 - centre;
            norm += d * d;
            for t in 0..c.tones {
                let (co, si) = c.phasor[t];
                c.tone_sum[t].0 += co;
                c.tone_sum[t].1 += si;
                c.tone_slope[t].0 += d * co;
                c.tone_slope[t].1 += d * si;
            }
        }
        for &(gc, gs) in &c.tone_slope[..c.tones] {
            norm -= 2.0 / c.block as f32 * (gc * gc + gs * gs);
        }
        c.slope_norm = norm.max(1.0);
        c.phasor = [(0.0, 0.0); 4];
        c.phase_pos = [0; 4];
        Ok(c)
    }

    /// Samples after which every tone's phase is whole again: a stream started at a
    /// multiple of it has the phasors and blocks of the whole recording.
    pub fn period_samples(&self) -> u64 {
        self.block * STRETCH_BLOCKS
    }

    /// Moves the reference phasors to the next sample; call once per sample, in order, before
    /// [`cancel`](Self::cancel), from the stream's first sample (or one at a multiple of
    /// [`period_samples`](Self::period_samples)). Counters, not the sample index modulo the
    /// periods: a 64-bit division per tone and sample was most of the canceller's cost on
    /// the device.
    #[inline]
    pub fn advance(&mut self) {
        for t in 0..4 {
            self.phasor[t] = if self.phase_pos[t] == 0 {
                self.whole[t]
            } else {
                let (c, s) = self.phasor[t];
                let (dc, ds) = self.step[t];
                (c * dc - s * ds, c * ds + s * dc)
            };
            self.phase_pos[t] += 1;
            if self.phase_pos[t] == self.period[t] {
                self.phase_pos[t] = 0;
            }
        }
    }

    /// Channel `ch`'s value `x` at the current sample with the measured tones taken out; `x` also
    /// enters the running block's measurement.
    #[inline]
    pub fn cancel(&mut self, ch: usize, x: f32) -> f32 {
        let est = &self.estimate[ch];
        let sums = &mut self.sums[ch];
        let i = self.block_pos as f32;
        sums.x += x;
        sums.ix += i * x;
        let mut y = 0.0;
        for ((&(c, s), &(a, b)), acc) in self.phasor.iter().zip(est).zip(sums.tone.iter_mut()) {
            y += a * c + b * s;
            acc.0 += x * c;
            acc.1 += x * s;
        }
        x - y
    }

    /// Ends the current sample: at a block's last sample, its tones are measured and the
    /// estimate is renewed. Call once per sample, after every channel's
    /// [`cancel`](Self::cancel).
    #[inline]
    pub fn end_sample(&mut self) {
        self.block_pos += 1;
        if u64::from(self.block_pos) == self.block {
            self.block_pos = 0;
            self.end_block();
        }
    }

    /// Measures the block just ended and renews the estimate: once per block, kept out of
    /// line so that the per-sample path stays small.
    #[inline(never)]
    fn end_block(&mut self) {
        let b = self.block as f32;
        let centre = (b - 1.0) / 2.0;
        let mut coefs = [[(0.0f32, 0.0f32); 4]; MAX_CHANNELS];
        let mut power = 0.0;
        for (ch, sums) in self.sums[..self.channels].iter_mut().enumerate() {
            let mean = sums.x / b;
            // The least-squares slope jointly with the tones (whole periods make the tones
            // orthogonal to each other and to the mean, not to a slope).
            let mut dx = sums.ix - centre * sums.x;
            for t in 0..self.tones {
                let (sc, ss) = sums.tone[t];
                let (gc, gs) = self.tone_slope[t];
                dx -= 2.0 / b * (sc * gc + ss * gs);
            }
            let slope = dx / self.slope_norm;
            for (t, c) in coefs[ch].iter_mut().enumerate().take(self.tones) {
                let (sc, ss) = sums.tone[t];
                *c = (
                    2.0 / b * (sc - mean * self.tone_sum[t].0 - slope * self.tone_slope[t].0),
                    2.0 / b * (ss - mean * self.tone_sum[t].1 - slope * self.tone_slope[t].1),
                );
                power += c.0 * c.0 + c.1 * c.1;
            }
            *sums = BlockSums::default();
        }
        // The least power over the last stretches, this block's included; every block counts,
        // so that the gate depends on the signal alone.
        let slot = &mut self.least[self.least_pos];
        *slot = slot.min(power);
        let least = self.least.iter().fold(f32::INFINITY, |a, &v| a.min(v));
        self.stretch_pos += 1;
        if u64::from(self.stretch_pos) == STRETCH_BLOCKS {
            self.stretch_pos = 0;
            self.least_pos = (self.least_pos + 1) % STRETCHES;
            self.least[self.least_pos] = f32::INFINITY;
        }
        if power * POWER_RATIO < self.estimate_power() {
            // The flicker fell to a fraction of what is subtracted: a lamp that was learnt
            // has been switched off, and subtracting it any longer would put it back (its
            // peaks opening events that keep every later block from being measured).
            // Measured from the input, this holds under an event too.
            self.ring = [coefs; BLOCKS];
            self.ring_len = BLOCKS;
            self.estimate = coefs;
            self.spoilt = false;
            return;
        }
        if core::mem::take(&mut self.spoilt) || power > POWER_RATIO * least {
            return;
        }
        self.ring[self.ring_pos] = coefs;
        self.ring_pos = (self.ring_pos + 1) % BLOCKS;
        self.ring_len = (self.ring_len + 1).min(BLOCKS);
        if self.ring_len < BLOCKS {
            return;
        }
        for ch in 0..self.channels {
            for t in 0..self.tones {
                let mut a = [0.0f32; BLOCKS];
                let mut s = [0.0f32; BLOCKS];
                for (k, slot) in self.ring.iter().enumerate() {
                    a[k] = slot[ch][t].0;
                    s[k] = slot[ch][t].1;
                }
                self.estimate[ch][t] = (median(&mut a), median(&mut s));
            }
        }
    }

    /// Power of the tones subtracted, over the channels.
    fn estimate_power(&self) -> f32 {
        self.estimate[..self.channels]
            .iter()
            .flat_map(|c| c[..self.tones].iter())
            .map(|&(a, b)| a * a + b * b)
            .sum()
    }

    /// Keeps the running block out of the measurement: something else than the flicker and
    /// the sensor's noise is in it (an event under way). The median outvotes a block with
    /// a brief embolus, but not a lamp's flicker lasting seconds, which opens event after
    /// event: measured, it went on being subtracted after the lamp was switched off, and
    /// every one of its peaks was a sighting.
    #[inline]
    pub fn spoil(&mut self) {
        self.spoilt = true;
    }

    /// Amplitude subtracted for tone `t` ([`TONES_HZ`] order, among those in use) on
    /// channel `ch`.
    pub fn amplitude(&self, ch: usize, t: usize) -> f32 {
        let (a, b) = self.estimate[ch][t];
        libm::sqrtf(a * a + b * b)
    }
}

/// Cosine and sine of `w` in [0, π] by their Taylor series to the 18th power (error under
/// 10⁻⁷ there): the library's versions, with their reduction of huge arguments, took 6 KiB of
/// the device's flash for four constants.
fn cos_sin(w: f32) -> (f32, f32) {
    let w2 = w * w;
    let (mut c, mut s) = (1.0f32, 1.0f32);
    for k in (1..=9).rev() {
        let k = k as f32;
        c = 1.0 - w2 / ((2.0 * k - 1.0) * (2.0 * k)) * c;
        s = 1.0 - w2 / ((2.0 * k) * (2.0 * k + 1.0)) * s;
    }
    (c, w * s)
}

/// The median of an odd number of values (sorts them in place); out of line, as it is
/// called for every coefficient once per block.
#[inline(never)]
fn median(v: &mut [f32; BLOCKS]) -> f32 {
    for i in 1..BLOCKS {
        let mut j = i;
        while j > 0 && v[j - 1] > v[j] {
            v.swap(j - 1, j);
            j -= 1;
        }
    }
    v[BLOCKS / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(m: &mut MainsCanceller, from: u64, to: u64, x: impl Fn(u64) -> f32) -> Vec<f32> {
        (from..to)
            .map(|n| {
                m.advance();
                let e = m.cancel(0, x(n));
                m.end_sample();
                e
            })
            .collect()
    }

    /// A steady flicker on a ramp is measured and taken out; a 10-ms pulse passes whole and
    /// does not disturb the estimate.
    #[test]
    fn a_steady_flicker_is_cancelled_and_a_pulse_passes() {
        let fs = 2000u32;
        let mut m = MainsCanceller::new(fs, 1).unwrap();
        let flicker = |n: u64| {
            let t = n as f32 / fs as f32;
            0.004 * libm::sinf(core::f32::consts::TAU * 100.0 * t + 0.7)
                + 0.002 * libm::sinf(core::f32::consts::TAU * 50.0 * t + 2.0)
                + 0.01 * t
        };
        let e = run(&mut m, 0, 4000, flicker);
        let left = (2000..4000)
            .map(|n| (e[n] - 0.01 * n as f32 / fs as f32).abs())
            .fold(0.0, f32::max);
        assert!(left < 0.0025, "flicker left: {left}");
        assert!(
            (m.amplitude(0, 1) - 0.004).abs() < 2e-5,
            "{}",
            m.amplitude(0, 1)
        );
        assert!(
            (m.amplitude(0, 0) - 0.002).abs() < 2e-5,
            "{}",
            m.amplitude(0, 0)
        );
        assert!(m.amplitude(0, 2) < 2e-5 && m.amplitude(0, 3) < 2e-5);
        let pulse = |n: u64| flicker(n) + if (4100..4120).contains(&n) { 0.02 } else { 0.0 };
        let e = run(&mut m, 4000, 6000, pulse);
        let trend = |n: u64| 0.01 * n as f32 / fs as f32;
        for n in 4100..4120 {
            let v = e[(n - 4000) as usize] - trend(n);
            assert!((v - 0.02).abs() < 1e-4, "pulse at {n}: {v}");
        }
        assert!((m.amplitude(0, 1) - 0.004).abs() < 2e-5);
    }

    /// A lamp of a few seconds is not learnt (its flicker passes, nothing is left after
    /// it); one left on for longer than 10 s is learnt and forgotten once it is off.
    #[test]
    fn a_brief_lamp_is_not_learnt_and_a_long_one_is() {
        let fs = 1000u32;
        let tone = |n: u64, a: f32| {
            a * libm::sinf(core::f32::consts::TAU * 100.0 * n as f32 / fs as f32 + 0.3)
        };
        let lamp = |on: core::ops::Range<u64>| {
            move |n: u64| tone(n, 0.002) + if on.contains(&n) { tone(n, 0.1) } else { 0.0 }
        };
        let peak =
            |e: &[f32], a: usize, b: usize| e[a..b].iter().fold(0.0f32, |p, v| p.max(v.abs()));

        let mut m = MainsCanceller::new(fs, 1).unwrap();
        let e = run(&mut m, 0, 8000, lamp(3000..6000));
        assert!(
            peak(&e, 2000, 3000) < 1e-5,
            "steady flicker left: {}",
            peak(&e, 2000, 3000)
        );
        let under = peak(&e, 4000, 6000);
        assert!((under - 0.1).abs() < 1e-3, "under a brief lamp: {under}");
        assert!(
            peak(&e, 6000, 8000) < 1e-5,
            "after it: {}",
            peak(&e, 6000, 8000)
        );

        let mut m = MainsCanceller::new(fs, 1).unwrap();
        let e = run(&mut m, 0, 20_000, lamp(3000..16_000));
        assert!(
            peak(&e, 15_000, 16_000) < 1e-4,
            "under a long lamp: {}",
            peak(&e, 15_000, 16_000)
        );
        assert!(
            peak(&e, 17_000, 20_000) < 1e-4,
            "after it: {}",
            peak(&e, 17_000, 20_000)
        );

        // Forgotten as soon as it is off even while events keep every block out.
        let mut m = MainsCanceller::new(fs, 1).unwrap();
        let x = lamp(3000..16_000);
        run(&mut m, 0, 16_000, &x);
        let after: Vec<f32> = (16_000..17_000)
            .map(|n| {
                m.advance();
                let e = m.cancel(0, x(n));
                m.spoil();
                m.end_sample();
                e
            })
            .collect();
        let left = peak(&after, 200, 1000);
        assert!(left < 1e-4, "after it, under events: {left}");
    }

    #[test]
    fn cos_sin_matches_the_library() {
        for i in 0..=100 {
            let w = core::f32::consts::PI * i as f32 / 100.0;
            let (c, s) = cos_sin(w);
            let err = (c - libm::cosf(w)).abs().max((s - libm::sinf(w)).abs());
            assert!(err < 5e-7, "{w}: {err}");
        }
    }

    #[test]
    fn blocks_hold_whole_periods() {
        let m = MainsCanceller::new(2000, 2).unwrap();
        assert_eq!(m.period[..m.tones], [40, 20, 100, 50]);
        assert_eq!(m.block, 200);
        assert_eq!(m.period_samples(), 2000);
        let m = MainsCanceller::new(250, 1).unwrap();
        assert_eq!(m.tones, 3, "120 Hz lies above 0.45 × 250 Hz");
        assert_eq!(m.block, 25, "lcm(5, 5, 25) samples: 0.1 s");
    }
}
