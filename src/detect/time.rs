//! Stream time: integer sample counts per sensor, converted to microseconds without floats.

/// Counts the samples of one stream and converts sample indices to stream time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    rate_hz: u32,
    samples: u64,
}

impl Clock {
    /// A clock at `rate_hz` samples per second, at t = 0.
    pub const fn new(rate_hz: u32) -> Self {
        Self {
            rate_hz,
            samples: 0,
        }
    }

    /// Counts one sample.
    #[inline]
    pub fn tick(&mut self) {
        self.samples += 1;
    }

    /// Samples seen so far.
    pub const fn samples(&self) -> u64 {
        self.samples
    }

    /// The sample rate.
    pub const fn rate_hz(&self) -> u32 {
        self.rate_hz
    }

    /// Stream time of sample `index`, in µs (rounded down).
    pub const fn us(&self, index: u64) -> u64 {
        to_us(index, self.rate_hz)
    }

    /// Stream time reached: the time of the next sample, in µs.
    pub const fn now_us(&self) -> u64 {
        to_us(self.samples, self.rate_hz)
    }
}

/// Sample `index` at `rate_hz` as µs, exact in integers for any recording length the u64 holds
/// (a 96 kHz stream overflows only after 6 years).
pub const fn to_us(index: u64, rate_hz: u32) -> u64 {
    let r = rate_hz as u64;
    (index / r) * 1_000_000 + (index % r) * 1_000_000 / r
}

/// Milliseconds as µs, for thresholds given in ms.
pub fn ms_to_us(ms: f32) -> u64 {
    if ms <= 0.0 {
        0
    } else {
        (ms * 1000.0) as u64
    }
}
