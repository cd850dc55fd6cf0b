//! One biquad cascade run over `C` channels at once, state in structure-of-arrays form.
//!
//! [`SosStateMulti<C>`] holds, per section, the two delay words of every channel side by side
//! (`[[f32; C]; 2]`), so the innermost loop walks `C` independent lanes with the same
//! coefficients: the compiler turns it into vector instructions (4 lanes with SSE2, 8 with
//! AVX, 16 with AVX-512) without `unsafe` or intrinsics. Use it for I and Q together
//! (`C = 2`), the two optical wavelengths, or many probes; one [`Sos`] drives all channels.
//!
//! Frames are interleaved: `[[f32; C]]` (one array per instant) or a flat `&[f32]` of
//! `frames × C` values (`x[n*C + c]`, as WAV files store them).
//!
//! # Exactness
//!
//! Lane `c` performs exactly the floating-point operations of [`SosState`] on channel `c`, in
//! the same order (Rust never contracts `a*b + c` into a fused multiply-add on its own), so the
//! output is **bit-identical** to running one [`SosState`] per channel, however the stream is
//! chunked. `tests/multichannel.rs` checks exact equality, including chunking (proptest).
//!
//! # Cost
//!
//! Per frame and section: 5 multiplies and 4 adds per lane, on vectors. The recurrence of a
//! section waits on its own previous output, so one channel alone is latency-bound; with `C`
//! lanes the same latency covers `C` samples. Measured on the project machine (see the
//! README's speed table and `benches/stages.rs`).
//!
//! ```
//! use clotair::dsp::biquad::{Biquad, Sos, SosState};
//! use clotair::dsp::multichannel::SosStateMulti;
//!
//! let sos = Sos::new(&[Biquad::new([0.1, 0.0, 0.0], [-0.9, 0.0])]).unwrap();
//! // Two channels (I, Q) interleaved.
//! let x = [1.0_f32, -1.0, 0.5, 0.25, 0.0, 2.0];
//! let mut y = [0.0_f32; 6];
//! let mut multi = SosStateMulti::<2>::default();
//! multi.block_interleaved(&sos, &x, &mut y);
//!
//! // The same as one SosState per channel, bit for bit.
//! let mut i = SosState::default();
//! let mut q = SosState::default();
//! for (frame, out) in x.chunks_exact(2).zip(y.chunks_exact(2)) {
//!     assert_eq!(i.process(&sos, frame[0]), out[0]);
//!     assert_eq!(q.process(&sos, frame[1]), out[1]);
//! }
//! ```

#[cfg(doc)]
use crate::dsp::biquad::SosState;
use crate::dsp::biquad::{Biquad, Sos, MAX_SECTIONS};

/// Delay lines of `C` channels through one [`Sos`] cascade, structure of arrays: section `k`
/// holds `[s0 of every channel, s1 of every channel]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SosStateMulti<const C: usize> {
    s: [[[f32; C]; 2]; MAX_SECTIONS],
}

impl<const C: usize> Default for SosStateMulti<C> {
    fn default() -> Self {
        Self {
            s: [[[0.0; C]; 2]; MAX_SECTIONS],
        }
    }
}

/// One section over all lanes: the arithmetic of [`crate::dsp::biquad::Df2t::process`], lane
/// by lane, so that each lane rounds exactly as the one-channel filter does.
#[inline(always)]
fn section<const C: usize>(c: &Biquad, st: &mut [[f32; C]; 2], v: &mut [f32; C]) {
    let [b0, b1, b2] = c.b;
    let [a1, a2] = c.a;
    let [s0, s1] = st;
    for l in 0..C {
        let x = v[l];
        let y = b0 * x + s0[l];
        s0[l] = b1 * x - a1 * y + s1[l];
        s1[l] = b2 * x - a2 * y;
        v[l] = y;
    }
}

impl<const C: usize> SosStateMulti<C> {
    /// Filters one frame (one sample of each channel).
    #[inline]
    pub fn process(&mut self, sos: &Sos, x: [f32; C]) -> [f32; C] {
        let mut v = x;
        for (st, c) in self.s.iter_mut().zip(sos.sections()) {
            section(c, st, &mut v);
        }
        v
    }

    /// Filters frames `x` into `y`.
    ///
    /// # Panics
    /// If `x.len() != y.len()`.
    pub fn block(&mut self, sos: &Sos, x: &[[f32; C]], y: &mut [[f32; C]]) {
        assert_eq!(x.len(), y.len(), "input and output lengths differ");
        self.dispatch(sos, x.iter().copied().zip(y.iter_mut()));
    }

    /// Filters frames `xy` in place.
    pub fn inplace(&mut self, sos: &Sos, xy: &mut [[f32; C]]) {
        // Dispatch on the section count so that the section loop is fully unrolled and every
        // state word lives in a register for the whole block.
        self.dispatch(sos, xy.iter_mut().map(|v| (*v, v)));
    }

    /// Runs the cascade over `(input frame, where its output goes)` pairs: out of place
    /// without a copy first (a copy of 8 channels is as much memory traffic as the filter).
    fn dispatch<'a>(
        &mut self,
        sos: &Sos,
        frames: impl Iterator<Item = ([f32; C], &'a mut [f32; C])>,
    ) {
        match sos.sections().len() {
            // No section still copies the input to the output.
            0 => self.run::<0>(sos, frames),
            1 => self.run::<1>(sos, frames),
            2 => self.run::<2>(sos, frames),
            3 => self.run::<3>(sos, frames),
            4 => self.run::<4>(sos, frames),
            5 => self.run::<5>(sos, frames),
            6 => self.run::<6>(sos, frames),
            7 => self.run::<7>(sos, frames),
            _ => self.run::<MAX_SECTIONS>(sos, frames),
        }
    }

    /// Frame-major over `K` sections: section `k` of frame `n + 1` only waits on section `k`
    /// of frame `n`, so the out-of-order core overlaps the `K` recurrences.
    #[inline(always)]
    fn run<'a, const K: usize>(
        &mut self,
        sos: &Sos,
        frames: impl Iterator<Item = ([f32; C], &'a mut [f32; C])>,
    ) {
        let mut coef = [Biquad::IDENTITY; K];
        coef.copy_from_slice(&sos.sections()[..K]);
        let mut st = [[[0.0f32; C]; 2]; K];
        st.copy_from_slice(&self.s[..K]);
        for (x, out) in frames {
            let mut v = x;
            for k in 0..K {
                section(&coef[k], &mut st[k], &mut v);
            }
            *out = v;
        }
        self.s[..K].copy_from_slice(&st);
    }

    /// Filters `x`, `C` interleaved channels (`x[n*C + c]`), into `y`.
    ///
    /// # Panics
    /// If `x.len() != y.len()` or the length is not a multiple of `C`.
    pub fn block_interleaved(&mut self, sos: &Sos, x: &[f32], y: &mut [f32]) {
        assert_eq!(x.len(), y.len(), "input and output lengths differ");
        assert!(
            C > 0 && x.len() % C == 0,
            "interleaved samples come in whole frames of C channels"
        );
        let frames = x
            .chunks_exact(C)
            .map(|f| <[f32; C]>::try_from(f).expect("chunks of C"))
            .zip(
                y.chunks_exact_mut(C)
                    .map(|f| <&mut [f32; C]>::try_from(f).expect("chunks of C")),
            );
        self.dispatch(sos, frames);
    }

    /// Filters `C` interleaved channels in place.
    ///
    /// # Panics
    /// If the length is not a multiple of `C`.
    pub fn inplace_interleaved(&mut self, sos: &Sos, xy: &mut [f32]) {
        assert!(
            C > 0 && xy.len() % C == 0,
            "interleaved samples come in whole frames of C channels"
        );
        // `chunks_exact_mut(C)` yields exactly C values, so the conversion never fails and the
        // check folds away.
        let frames = xy
            .chunks_exact_mut(C)
            .map(|f| <&mut [f32; C]>::try_from(f).expect("chunks of C"))
            .map(|v| (*v, v));
        self.dispatch(sos, frames);
    }

    /// Clears all delay lines.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Whether every state word is finite.
    pub fn is_finite(&self) -> bool {
        self.s.iter().flatten().flatten().all(|v| v.is_finite())
    }
}
