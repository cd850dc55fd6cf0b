//! Seeding: one independent ChaCha stream per (data set seed, recording index, component), so
//! that a recording does not depend on how many threads made the others, and changing how one
//! component draws does not shift the random numbers of the others.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The parts of a recording that draw random numbers.
#[derive(Clone, Copy, Debug)]
#[repr(u64)]
pub(crate) enum Stream {
    /// Line geometry, sensors, levels.
    Line = 1,
    /// Event times and parameters.
    Events = 2,
    /// Blood speckle.
    Speckle = 3,
    /// Ultrasound receiver noise and artifact waveforms.
    UltrasoundNoise = 4,
    /// Optical sensor noise.
    OpticalNoise = 5,
}

/// SplitMix64 finaliser: spreads the seed bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The RNG of one component of one recording: key from (seed, component), ChaCha stream =
/// recording index.
pub(crate) fn rng(seed: u64, index: u64, stream: Stream) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(mix(seed ^ mix(stream as u64)));
    r.set_stream(index);
    r
}
