//! The clotair detector on a Cortex-M4F (QEMU `mps2-an386`), over an embedded test recording.
//!
//! Feeds the recording to the `no_std` [`Detector`] in the blocks a device's sampling interrupts
//! would deliver, in stream-time order, and prints every event over semihosting as a row of
//! `clotair detect`'s events CSV. Lines starting with `@` carry the measurements that
//! `scripts/firmware.sh` turns into the budget table:
//! - instructions spent inside the detector, counted on a CMSDK timer that QEMU's `-icount`
//!   virtual clock drives at a fixed number of instructions per tick (calibrated below);
//! - the stack high-water mark of construction and of streaming, by stack painting;
//! - the detector's size (it lives in a static: static RAM, no heap).
#![no_std]
#![no_main]

mod csv;

use core::arch::asm;
use core::mem::MaybeUninit;
use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicBool, Ordering};

use clotair::detect::optical::OpticalPath;
use clotair::detect::ultrasound::UltrasoundPath;
use clotair::detect::{Detector, DetectorConfig};
use clotair::event::{Event, Sensor};
use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use panic_semihosting as _;

mod recording {
    include!(concat!(env!("OUT_DIR"), "/recording.rs"));
}

/// I/Q frames per ultrasound interrupt: 2 ms at 16 kHz, one STFT hop.
const US_BLOCK: usize = 32;
/// Frames per optical interrupt: 4 ms at 1 kHz.
const OPT_BLOCK: usize = 4;

/// The recording's int16 samples, interleaved as in the WAVs, little-endian. Kept in their own
/// section (memory.x: RECORDING) so that they do not count as firmware flash.
#[link_section = ".recording"]
static US_BLOB: [u8; recording::US_FRAMES * recording::US_CHANNELS * 2] =
    *include_bytes!(concat!(env!("OUT_DIR"), "/ultrasound.i16"));
#[link_section = ".recording"]
static OPT_BLOB: [u8; recording::OPT_FRAMES * recording::OPT_CHANNELS * 2] =
    *include_bytes!(concat!(env!("OUT_DIR"), "/optical.i16"));

/// CMSDK APB timer 0 of the MPS2 FPGA images, clocked at SYSCLK (25 MHz).
mod timer {
    const BASE: usize = 0x4000_0000;
    const CTRL: *mut u32 = BASE as *mut u32;
    const VALUE: *mut u32 = (BASE + 0x04) as *mut u32;
    const RELOAD: *mut u32 = (BASE + 0x08) as *mut u32;

    /// Starts the timer counting down from the top of its 32-bit range.
    pub fn start() {
        // SAFETY: the timer's documented registers on this board; nothing else uses it.
        unsafe {
            CTRL.write_volatile(0);
            RELOAD.write_volatile(u32::MAX);
            VALUE.write_volatile(u32::MAX);
            CTRL.write_volatile(1);
        }
    }

    /// The current count (counts down).
    #[inline(always)]
    pub fn now() -> u32 {
        // SAFETY: a read-only register access.
        unsafe { VALUE.read_volatile() }
    }
}

/// Timer ticks spent in `f`, and its result.
#[inline(always)]
fn timed<R>(ticks: &mut u64, f: impl FnOnce() -> R) -> R {
    timed_block(ticks, &mut Longest::default(), 0, f)
}

/// The longest single call of a kind: its timer ticks and the stream frame its block began at.
#[derive(Clone, Copy, Default)]
struct Longest {
    ticks: u32,
    at: usize,
}

/// [`timed`], also keeping the longest call: a block must be done before the next one comes,
/// so a device's budget is set by its slowest block, not by the average.
#[inline(always)]
fn timed_block<R>(ticks: &mut u64, longest: &mut Longest, at: usize, f: impl FnOnce() -> R) -> R {
    let t0 = timer::now();
    let r = f();
    let dt = t0.wrapping_sub(timer::now());
    *ticks += u64::from(dt);
    if dt > longest.ticks {
        *longest = Longest { ticks: dt, at };
    }
    r
}

/// Runs a loop of exactly `2 * n + 1` instructions and returns the timer ticks it took, to
/// turn ticks into instructions.
#[inline(never)]
fn calibrate(n: u32) -> u32 {
    let t0 = timer::now();
    // SAFETY: a register-only count-down loop.
    unsafe {
        asm!(
            "2:",
            "subs {n}, {n}, #1",
            "bne 2b",
            n = inout(reg) n => _,
            options(nomem, nostack),
        );
    }
    let t1 = timer::now();
    t0.wrapping_sub(t1)
}

/// Stack painting: fills the free stack below the caller with a pattern; [`stack_used`] finds
/// how deep the stack has reached since.
mod stack {
    const PAINT: u32 = 0xC0DE_5AFE;
    /// Room left below the painting function's own frame.
    const MARGIN: usize = 64;

    extern "C" {
        static mut __sheap: u32;
        static mut _stack_start: u32;
    }

    fn bottom() -> *mut u32 {
        // Only the symbol's address is taken (cortex-m-rt: end of .bss/.uninit).
        core::ptr::addr_of_mut!(__sheap)
    }

    fn top() -> usize {
        // Only the symbol's address is taken (cortex-m-rt: initial stack pointer).
        core::ptr::addr_of_mut!(_stack_start) as usize
    }

    #[inline(never)]
    pub fn paint() {
        let sp = cortex_m::register::msp::read() as usize - MARGIN;
        let mut p = bottom();
        while (p as usize) < sp {
            // SAFETY: between the end of the statics and below the live stack: free memory.
            unsafe {
                p.write_volatile(PAINT);
                p = p.add(1);
            }
        }
    }

    /// Bytes of stack used at the deepest since [`paint`].
    #[inline(never)]
    pub fn used() -> usize {
        let mut p = bottom();
        // SAFETY: reads within the free stack region, which is RAM.
        while (p as usize) < top() && unsafe { p.read_volatile() } == PAINT {
            p = unsafe { p.add(1) };
        }
        top() - p as usize
    }

    /// Bytes of stack used below `sp` at the deepest since [`paint`]: the depth of the calls a
    /// function whose stack pointer is `sp` made.
    pub fn used_below(sp: usize) -> usize {
        sp.saturating_sub(top() - used())
    }

    /// Bytes between the end of the statics and the top of RAM.
    pub fn size() -> usize {
        top() - bottom() as usize
    }

    /// The lowest address of the stack region.
    pub fn bottom_addr() -> usize {
        bottom() as usize
    }
}

/// Semihosting output is slow and not the detector's work: events are kept while the timer
/// runs and printed after.
type Decided = heapless::Vec<Event, 16>;

fn keep<'a>(decided: &'a mut Decided, dropped: &'a mut u32) -> impl FnMut(&Event) + 'a {
    move |e: &Event| {
        if decided.push(*e).is_err() {
            *dropped += 1;
        }
    }
}

fn print(decided: &mut Decided) {
    let mut line: heapless::String<256> = heapless::String::new();
    for e in decided.iter() {
        line.clear();
        // A row is well under 256 bytes; a truncated row would fail the comparison.
        let _ = csv::write_row(&mut line, e);
        hprintln!("{}", line);
    }
    decided.clear();
}

/// Samples `range` of an int16 blob as f32, exactly as the host WAV reader scales them.
#[inline(always)]
fn to_f32(blob: &[u8], first: usize, out: &mut [f32]) {
    for (k, x) in out.iter_mut().enumerate() {
        let i = 2 * (first + k);
        *x = f32::from(i16::from_le_bytes([blob[i], blob[i + 1]])) / 32768.0;
    }
}

/// What an ultrasound sampling interrupt runs. Out of line: a named root of the hot path for
/// the call-graph check of `scripts/firmware.sh` (soft-float and panic calls).
#[inline(never)]
fn feed_ultrasound(detector: &mut Detector, iq: &[f32], decided: &mut Decided, dropped: &mut u32) {
    detector.push_ultrasound(iq, &mut keep(decided, dropped));
}

/// What an optical sampling interrupt runs; see [`feed_ultrasound`].
#[inline(never)]
fn feed_optical(detector: &mut Detector, x: &[f32], decided: &mut Decided, dropped: &mut u32) {
    detector.push_optical(x, &mut keep(decided, dropped));
}

/// Instructions per call of the optical baseline's running median (`SlidingQuantile::median`,
/// whose index arithmetic is in f64) and of its `push`, over a full 128-sample window: the
/// figures behind the report's recommendation for the optical path.
#[inline(never)]
fn bench_median(ticks_per_call: &mut [u64; 2]) {
    use clotair::dsp::background::SlidingQuantile;
    const CALLS: u32 = 1000;
    let mut q: SlidingQuantile<{ clotair::detect::optical::BASELINE_LEN }> = Default::default();
    let mut x = 0.5f32;
    for _ in 0..clotair::detect::optical::BASELINE_LEN {
        x = (x * 3.7 * (1.0 - x)).clamp(0.01, 0.99);
        q.push(x);
    }
    let mut push_ticks = 0u64;
    for _ in 0..CALLS {
        x = (x * 3.7 * (1.0 - x)).clamp(0.01, 0.99);
        timed(&mut push_ticks, || q.push(core::hint::black_box(x)));
    }
    let mut median_ticks = 0u64;
    let mut sum = 0.0f32;
    for _ in 0..CALLS {
        sum += timed(&mut median_ticks, || core::hint::black_box(&q).median());
    }
    core::hint::black_box(sum);
    // Hundredths of a tick per call.
    *ticks_per_call = [
        median_ticks * 100 / u64::from(CALLS),
        push_ticks * 100 / u64::from(CALLS),
    ];
}

/// The detector, in a static (static RAM, no heap), built in place by [`Detector::init`]:
/// only the sensor paths are built on the stack first (`cortex_m::singleton!` with
/// `Detector::new` built the whole detector on the stack and moved it: 20.6 KB of stack). Out
/// of line so that what construction does use lives in this frame, not in main's for the
/// whole run.
#[inline(never)]
fn make_detector(config: &DetectorConfig) -> &'static mut Detector {
    static TAKEN: AtomicBool = AtomicBool::new(false);
    static mut DETECTOR: MaybeUninit<Detector> = MaybeUninit::uninit();
    assert!(!TAKEN.swap(true, Ordering::AcqRel), "one detector");
    // SAFETY: the flag above lets only the first call through, so this is the one reference
    // to the static there ever is.
    let slot = unsafe { &mut *addr_of_mut!(DETECTOR) };
    Detector::init(slot, config).expect("detector configuration")
}

#[entry]
fn main() -> ! {
    timer::start();
    // 2·1e6 + 1 instructions.
    let calib_n = 1_000_000u32;
    let calib_ticks = calibrate(calib_n);
    // An empty timed() call: the measurement's own overhead, subtracted from the benches.
    let mut empty = 0u64;
    for _ in 0..1000 {
        timed(&mut empty, || core::hint::black_box(0u32));
    }
    let mut median = [0u64; 2];
    bench_median(&mut median);

    let config = DetectorConfig {
        // A rate of 0 is a sensor the recording lacks (written as a comparison with 0, a
        // recording without it made this a constant comparison that the linter refuses).
        ultrasound_rate_hz: core::num::NonZeroU32::new(recording::US_RATE_HZ).map(|r| r.get()),
        optical_rate_hz: core::num::NonZeroU32::new(recording::OPT_RATE_HZ).map(|r| r.get()),
        optical_channels: match recording::OPT_CHANNELS {
            0 => 2,
            n => n,
        },
        line: recording::LINE,
        ..DetectorConfig::default()
    };

    // main's frame does not move from here on: the detector's stack is what lies below it.
    let sp_main = cortex_m::register::msp::read() as usize;
    stack::paint();
    let mut init_ticks = 0u64;
    let detector = timed(&mut init_ticks, || make_detector(&config));
    let stack_init = stack::used_below(sp_main);

    hprintln!("{}", csv::HEADER);
    let mut decided = Decided::new();
    let mut dropped = 0u32;
    // Ticks inside push_ultrasound, push_optical, and end_stream/finish.
    let (mut us_ticks, mut opt_ticks, mut run_ticks) = (0u64, 0u64, 0u64);
    let (mut us_longest, mut opt_longest) = (Longest::default(), Longest::default());
    let mut us_buf = [0f32; 2 * US_BLOCK];
    let mut opt_buf = [0f32; 2 * OPT_BLOCK];
    let (us_frames, opt_frames) = (recording::US_FRAMES, recording::OPT_FRAMES);
    let (us_rate, opt_rate) = (
        u64::from(recording::US_RATE_HZ),
        u64::from(recording::OPT_RATE_HZ),
    );
    let (mut us_i, mut opt_i) = (0usize, 0usize);
    let mut stack_run = 0usize;

    stack::paint();
    while us_i < us_frames || opt_i < opt_frames {
        let us_next = (us_i + US_BLOCK).min(us_frames);
        let opt_next = (opt_i + OPT_BLOCK).min(opt_frames);
        // The block that ends first in stream time goes first, as the interrupts would come.
        let us_first = us_i < us_frames
            && (opt_i >= opt_frames || us_next as u64 * opt_rate <= opt_next as u64 * us_rate);
        if us_first {
            let n = (us_next - us_i) * recording::US_CHANNELS;
            to_f32(&US_BLOB, us_i * recording::US_CHANNELS, &mut us_buf[..n]);
            timed_block(&mut us_ticks, &mut us_longest, us_i, || {
                feed_ultrasound(detector, &us_buf[..n], &mut decided, &mut dropped)
            });
            us_i = us_next;
            if us_i == us_frames && opt_i < opt_frames {
                timed(&mut run_ticks, || {
                    detector.end_stream(Sensor::Ultrasound, &mut keep(&mut decided, &mut dropped))
                });
            }
        } else {
            let n = (opt_next - opt_i) * recording::OPT_CHANNELS;
            to_f32(
                &OPT_BLOB,
                opt_i * recording::OPT_CHANNELS,
                &mut opt_buf[..n],
            );
            timed_block(&mut opt_ticks, &mut opt_longest, opt_i, || {
                feed_optical(detector, &opt_buf[..n], &mut decided, &mut dropped)
            });
            opt_i = opt_next;
            if opt_i == opt_frames && us_i < us_frames {
                timed(&mut run_ticks, || {
                    detector.end_stream(Sensor::Optical, &mut keep(&mut decided, &mut dropped))
                });
            }
        }
        if !decided.is_empty() {
            // Printing uses stack the detector does not: measure before it, repaint after.
            stack_run = stack_run.max(stack::used_below(sp_main));
            print(&mut decided);
            stack::paint();
        }
    }
    timed(&mut run_ticks, || {
        detector.finish(&mut keep(&mut decided, &mut dropped))
    });
    stack_run = stack_run.max(stack::used_below(sp_main));
    print(&mut decided);
    // The deepest the stack went: main's frame plus the deeper of construction and streaming.
    let stack_total = (stack::size() + stack::bottom_addr() - sp_main) + stack_init.max(stack_run);

    // Signal duration: the ultrasound stream's, or the optical one's without ultrasound.
    let seconds_x1e6 = (us_frames as u64 * 1_000_000)
        .checked_div(us_rate)
        .unwrap_or_else(|| opt_frames as u64 * 1_000_000 / opt_rate.max(1));
    hprintln!("@recording {}", recording::NAME);
    hprintln!("@signal_us {}", seconds_x1e6);
    hprintln!(
        "@ultrasound {} Hz x{} ch, {} frames, block {}",
        us_rate,
        recording::US_CHANNELS,
        us_frames,
        US_BLOCK
    );
    hprintln!(
        "@optical {} Hz x{} ch, {} frames, block {}",
        opt_rate,
        recording::OPT_CHANNELS,
        opt_frames,
        OPT_BLOCK
    );
    hprintln!("@calibration_instructions {}", 2 * u64::from(calib_n) + 1);
    hprintln!("@calibration_ticks {}", calib_ticks);
    hprintln!("@init_ticks {}", init_ticks);
    hprintln!("@ultrasound_ticks {}", us_ticks);
    hprintln!("@optical_ticks {}", opt_ticks);
    hprintln!("@end_ticks {}", run_ticks);
    // Longest block: ticks, the frame it began at, frames per block.
    hprintln!(
        "@ultrasound_block_max {} {} {}",
        us_longest.ticks,
        us_longest.at,
        US_BLOCK
    );
    hprintln!(
        "@optical_block_max {} {} {}",
        opt_longest.ticks,
        opt_longest.at,
        OPT_BLOCK
    );
    hprintln!("@timer_overhead_ticks_x100 {}", empty / 10);
    hprintln!("@median_ticks_x100 {}", median[0]);
    hprintln!("@quantile_push_ticks_x100 {}", median[1]);
    hprintln!(
        "@stack_main_frame_bytes {}",
        stack::size() + stack::bottom_addr() - sp_main
    );
    hprintln!("@stack_init_bytes {}", stack_init);
    hprintln!("@stack_run_bytes {}", stack_run);
    hprintln!("@stack_high_water_bytes {}", stack_total);
    hprintln!("@stack_region_bytes {}", stack::size());
    hprintln!("@detector_bytes {}", core::mem::size_of::<Detector>());
    hprintln!(
        "@ultrasound_path_bytes {}",
        core::mem::size_of::<UltrasoundPath>()
    );
    hprintln!(
        "@optical_path_bytes {}",
        core::mem::size_of::<OpticalPath>()
    );
    // SAFETY: reading SCB.CPACR, a read-only use of a system register.
    let cpacr = unsafe { (0xE000_ED88 as *const u32).read_volatile() };
    hprintln!("@fpu_enabled {}", (cpacr >> 20) & 0xF == 0xF);
    hprintln!("@dropped_events {}", dropped);
    debug::exit(if dropped == 0 {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::wfi();
    }
}
