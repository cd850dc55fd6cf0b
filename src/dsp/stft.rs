//! Streaming short-time Fourier transform (STFT) of a real or complex sample stream.
//!
//! Frame `k` is the windowed, unscaled FFT of input samples `[k·hop, k·hop + N)`, in numpy bin
//! order: with `x` the input and `w` the window table, frame `k` is
//! `np.fft.fft(x[k*hop : k*hop+N] * w)`. That is scipy's
//! `ShortTimeFFT(w, hop, fs, fft_mode="twosided", scale_to=None)` with its frames re-indexed
//! to start at sample 0 (`tests/spectral.rs` checks against it). The first frame completes
//! with the `N`-th sample, then one every `hop` samples; there is no zero padding at either
//! end, so a stream shorter than `N` samples gives no frame.
//!
//! For a stream sampled at `rate_hz`, bin `k < N/2` is the frequency `k·rate_hz/N` and bin
//! `k ≥ N/2` is `(k − N)·rate_hz/N`: for Doppler I/Q, flow towards and away from the probe.
//!
//! Configuration and state live in one [`Stft`] because the FFT backend needs mutable scratch
//! anyway; one `Stft` per channel. Per sample, [`Stft::push`] copies one sample into a ring
//! buffer, twice (at `pos` and `pos + N`, so that the last `N` samples are always one
//! contiguous run and windowing them is one straight loop the compiler vectorises: 1.3x the
//! frames per second at `N = 128`, 1.13x at 256, than windowing the ring's two halves, measured
//! with `benches/stages.rs`); when a frame
//! completes it windows the last `N` samples into the spectrum buffer and transforms it in
//! place. Nothing is allocated after construction. Memory: the window table (`4·N` bytes), the
//! doubled ring (`16·N` bytes) and the spectrum (`8·N` bytes), so 28 KiB at `N = 1024`, plus
//! the backend (`MicroFft`: nothing; `RustFft`: its plan and scratch on the heap).

use crate::dsp::fft::{is_supported_size, DefaultFft, FftBackend};
use crate::dsp::window::Window;
use num_complex::Complex32;

/// Error building an [`Stft`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StftError {
    /// The frame size `N` is not a power of two in `64..=1024`.
    FrameSize,
    /// The hop is not in `1..=N`.
    Hop,
}

impl core::fmt::Display for StftError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StftError::FrameSize => {
                write!(f, "STFT frame size must be a power of two in 64..=1024")
            }
            StftError::Hop => write!(f, "STFT hop must be in 1..=frame size"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for StftError {}

/// Streaming STFT with frame size `N` and FFT backend `F`.
///
/// Holds its configuration (window table, hop, FFT plan) and its state (ring buffer of the last
/// `N` samples, samples left until the next frame, the last spectrum).
///
/// # Example
///
/// A complex tone at 5 cycles per 64 samples lands in bin 5 of every frame:
///
/// ```
/// use clotair::dsp::fft::Complex32;
/// use clotair::dsp::stft::Stft;
/// use clotair::dsp::window::Window;
///
/// let mut stft = Stft::<64>::new(Window::Hann, 16).unwrap();
/// let mut frames = 0;
/// for n in 0..128 {
///     let phase = 2.0 * core::f32::consts::PI * 5.0 * n as f32 / 64.0;
///     if let Some(spectrum) = stft.push(Complex32::from_polar(1.0, phase)) {
///         let peak = (0..64)
///             .max_by(|&a, &b| spectrum[a].norm().total_cmp(&spectrum[b].norm()))
///             .unwrap();
///         assert_eq!(peak, 5);
///         frames += 1;
///     }
/// }
/// // Frames end at samples 64, 80, 96, 112 and 128.
/// assert_eq!(frames, 1 + (128 - 64) / 16);
/// ```
///
/// Laid out in declaration order (`repr(C)`), the per-sample fields first: on a 32-bit Arm
/// core they stay within a load's reach of the structure's address.
#[derive(Clone, Debug)]
#[repr(C)]
pub struct Stft<const N: usize, F: FftBackend<N> = DefaultFft<N>> {
    /// Index of the next write in `ring`, i.e. the oldest sample once full, and the frame is
    /// `ring.as_flattened()[pos..][..N]`.
    pos: usize,
    /// Samples still to push before the next frame completes, in `1..=N`.
    until_frame: usize,
    // Configuration.
    hop: usize,
    window: [f32; N],
    fft: F,
    // State.
    /// The last `N` samples, each written at `pos` in both halves.
    ring: [[Complex32; N]; 2],
    /// The last spectrum, transformed in place.
    spectrum: [Complex32; N],
}

impl<const N: usize> Stft<N> {
    /// An STFT with the given periodic window and hop, on the [`DefaultFft`] backend.
    ///
    /// Returns [`StftError::FrameSize`] unless `N` is a power of two in `64..=1024`, and
    /// [`StftError::Hop`] unless `1 <= hop <= N`.
    pub fn new(window: Window, hop: usize) -> Result<Self, StftError> {
        let fft = DefaultFft::<N>::try_new().map_err(|_| StftError::FrameSize)?;
        Self::with_backend(window, hop, fft)
    }
}

impl<const N: usize, F: FftBackend<N>> Stft<N, F> {
    /// An STFT with the given periodic window, hop and FFT backend, e.g.
    /// `Stft::with_backend(Window::Hann, 16, MicroFft::<64>::new())`.
    ///
    /// Returns [`StftError::FrameSize`] unless `N` is a power of two in `64..=1024`, and
    /// [`StftError::Hop`] unless `1 <= hop <= N`.
    pub fn with_backend(window: Window, hop: usize, fft: F) -> Result<Self, StftError> {
        if !is_supported_size(N) {
            return Err(StftError::FrameSize);
        }
        if hop == 0 || hop > N {
            return Err(StftError::Hop);
        }
        let mut slot = core::mem::MaybeUninit::uninit();
        // SAFETY: `write_fields` writes every field of the slot.
        unsafe {
            Self::write_fields(slot.as_mut_ptr(), window, hop, fft);
            Ok(slot.assume_init())
        }
    }

    /// Writes every field of the STFT at `p`, each in its place: the 3.5 KB of a 128-point
    /// complex STFT are never built on the stack first (see `Detector::init`).
    ///
    /// # Safety
    /// `p` must be valid for writes and aligned, and `N` and `hop` checked as in
    /// [`Stft::with_backend`]. What it held is overwritten, not dropped.
    #[inline(always)]
    pub(crate) unsafe fn write_fields(p: *mut Self, window: Window, hop: usize, fft: F) {
        use core::ptr::addr_of_mut;
        // SAFETY: `p` is valid for writes (the caller's promise); each field is written once,
        // and the window is filled only after its array was written. `every_field` below names
        // them all.
        unsafe {
            addr_of_mut!((*p).window).write([0.0; N]);
            window.fill(&mut *addr_of_mut!((*p).window));
            addr_of_mut!((*p).hop).write(hop);
            addr_of_mut!((*p).fft).write(fft);
            addr_of_mut!((*p).ring).write([[Complex32::new(0.0, 0.0); N]; 2]);
            addr_of_mut!((*p).pos).write(0);
            addr_of_mut!((*p).until_frame).write(N);
            addr_of_mut!((*p).spectrum).write([Complex32::new(0.0, 0.0); N]);
        }
    }

    /// Names every field without `..`: a new field fails to compile here, next to
    /// [`Stft::write_fields`], which must write it too.
    #[allow(dead_code)]
    fn every_field(&self) {
        let Stft {
            pos: _,
            until_frame: _,
            hop: _,
            window: _,
            fft: _,
            ring: _,
            spectrum: _,
        } = self;
    }

    /// Samples between the starts of consecutive frames.
    pub fn hop(&self) -> usize {
        self.hop
    }

    /// The window table applied to each frame before the FFT.
    pub fn window(&self) -> &[f32; N] {
        &self.window
    }

    /// Pushes one complex sample; when it completes a frame, returns that frame's spectrum
    /// (windowed, unscaled FFT, numpy bin order).
    ///
    /// Frame `k` covers input samples `[k·hop, k·hop + N)`: the first frame appears with the
    /// `N`-th sample, then one every `hop` samples.
    #[inline]
    pub fn push(&mut self, x: Complex32) -> Option<&[Complex32; N]> {
        self.ring[0][self.pos] = x;
        self.ring[1][self.pos] = x;
        self.pos += 1;
        if self.pos == N {
            self.pos = 0;
        }
        self.until_frame -= 1;
        if self.until_frame == 0 {
            self.transform();
            Some(&self.spectrum)
        } else {
            None
        }
    }

    /// Pushes one real sample (imaginary part zero); see [`Stft::push`]. The spectrum of a
    /// real frame is conjugate-symmetric: bin `N − k` is the conjugate of bin `k`.
    #[inline]
    pub fn push_real(&mut self, x: f32) -> Option<&[Complex32; N]> {
        self.push(Complex32::new(x, 0.0))
    }

    /// Pushes a block of complex samples, calling `on_frame` with each completed spectrum in
    /// order. Gives the same frames as [`Stft::push`] sample by sample, however the stream is
    /// cut into blocks.
    pub fn block(&mut self, x: &[Complex32], on_frame: impl FnMut(&[Complex32; N])) {
        self.feed(x, |s| s, on_frame);
    }

    /// Pushes a block of real samples; see [`Stft::block`] and [`Stft::push_real`].
    pub fn block_real(&mut self, x: &[f32], on_frame: impl FnMut(&[Complex32; N])) {
        self.feed(x, |s| Complex32::new(s, 0.0), on_frame);
    }

    /// Forgets all pushed samples: the next frame completes after `N` more samples.
    /// The configuration is kept.
    pub fn reset(&mut self) {
        self.ring = [[Complex32::new(0.0, 0.0); N]; 2];
        self.pos = 0;
        self.until_frame = N;
        self.spectrum = [Complex32::new(0.0, 0.0); N];
    }

    /// Copies runs of samples up to the next frame boundary, transforming at each boundary.
    fn feed<T: Copy>(
        &mut self,
        mut x: &[T],
        to_complex: impl Fn(T) -> Complex32,
        mut on_frame: impl FnMut(&[Complex32; N]),
    ) {
        while !x.is_empty() {
            let run = self.until_frame.min(x.len());
            let (now, rest) = x.split_at(run);
            self.write(now, &to_complex);
            x = rest;
            self.until_frame -= run;
            if self.until_frame == 0 {
                self.transform();
                on_frame(&self.spectrum);
            }
        }
    }

    /// Writes `x` (at most `N` samples) into the ring at `pos`, wrapping once if needed.
    fn write<T: Copy>(&mut self, x: &[T], to_complex: &impl Fn(T) -> Complex32) {
        let (head, tail) = x.split_at(x.len().min(N - self.pos));
        for half in &mut self.ring {
            for (dst, &src) in half[self.pos..].iter_mut().zip(head) {
                *dst = to_complex(src);
            }
            for (dst, &src) in half.iter_mut().zip(tail) {
                *dst = to_complex(src);
            }
        }
        self.pos = if tail.is_empty() {
            self.pos + head.len()
        } else {
            tail.len()
        };
        if self.pos == N {
            self.pos = 0;
        }
    }

    /// Windows the last `N` samples (oldest at `pos`) into `spectrum` and transforms it.
    fn transform(&mut self) {
        self.until_frame = self.hop;
        let frame: &[Complex32; N] = self.ring.as_flattened()[self.pos..][..N]
            .try_into()
            .expect("the ring holds 2N samples and pos < N");
        for ((out, &x), &w) in self.spectrum.iter_mut().zip(frame).zip(&self.window) {
            *out = x * w;
        }
        self.fft.forward(&mut self.spectrum);
    }
}
