//! Throughput of each stage alone and of the whole detector, on the seeded bench recording
//! (`target/bench-data/`, generated on first run; see `support/mod.rs`).
//!
//!     cargo bench --bench stages                                   # everything (minutes)
//!     cargo bench --bench stages -- biquad --warm-up-time 1 --measurement-time 3
//!
//! Criterion reports elements per second: input samples (one I/Q pair counts as one sample;
//! multichannel rows count every channel's samples) or, for the STFT, frames. Times real time
//! is samples/s over 16 000 for the ultrasound rows, over 1 000 for the optical ones; the
//! detector rows count ultrasound samples (the optical stream rides along).
//! `examples/compare_rust.rs` prints the same figures as multiples of real time on CPU time.

mod support;

use std::hint::black_box;

use clotair::detect::classify::{self, FeatureVector, N_FEATURES};
use clotair::detect::faults::{OpticalMonitor, UltrasoundMonitor};
use clotair::detect::optical::{OptThresholds, OpticalPath};
use clotair::detect::ultrasound::{UltrasoundPath, UsThresholds};
use clotair::dsp::biquad::{SosState, SosStateIq};
use clotair::dsp::fft::Complex32;
use clotair::dsp::multichannel::SosStateMulti;
use clotair::dsp::stft::Stft;
use clotair::dsp::window::Window;
use clotair::run::{detect_recording, RunOptions};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use support::{OPT_RATE_HZ, US_RATE_HZ};

/// Seconds of signal per timed iteration of the stage benches.
const STAGE_S: usize = 10;
/// Length of the bench recording, s.
const TRACE_S: u32 = 60;

fn trace() -> support::Trace {
    support::bench_trace(TRACE_S)
}

fn biquad(c: &mut Criterion) {
    let t = trace();
    let n = STAGE_S * US_RATE_HZ as usize;
    let sos = support::lp8();
    let i: Vec<f32> = t.iq.iter().step_by(2).take(n).copied().collect();
    let mut y = vec![0.0f32; n];
    let mut g = c.benchmark_group("biquad");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("1ch/block", |b| {
        let mut st = SosState::default();
        b.iter(|| st.block(&sos, black_box(&i), &mut y))
    });
    g.bench_function("1ch/process_per_sample", |b| {
        let mut st = SosState::default();
        b.iter(|| {
            for (o, &x) in y.iter_mut().zip(black_box(&i)) {
                *o = st.process(&sos, x);
            }
        })
    });

    // I and Q: the wall filter's job.
    let z: Vec<Complex32> = t.iq[..2 * n]
        .chunks_exact(2)
        .map(|p| Complex32::new(p[0], p[1]))
        .collect();
    let mut zy = z.clone();
    g.bench_function("iq/SosStateIq_block", |b| {
        let mut st = SosStateIq::default();
        b.iter(|| st.block(&sos, black_box(&z), &mut zy))
    });
    g.bench_function("iq/SosStateIq_process_per_sample", |b| {
        let mut st = SosStateIq::default();
        b.iter(|| {
            for (o, &x) in zy.iter_mut().zip(black_box(&z)) {
                *o = st.process(&sos, x);
            }
        })
    });
    let mut iqy = t.iq[..2 * n].to_vec();
    g.bench_function("iq/SosStateMulti2_block_interleaved", |b| {
        let mut st = SosStateMulti::<2>::default();
        b.iter(|| st.block_interleaved(&sos, black_box(&t.iq[..2 * n]), &mut iqy))
    });

    // Eight channels interleaved, every channel's samples counted.
    let x8: Vec<f32> = (0..n * 8)
        .map(|k| t.iq[(2 * ((k / 8) + (k % 8 / 2) * 1000) + k % 2) % (2 * n)])
        .collect();
    let mut y8 = vec![0.0f32; n * 8];
    g.throughput(Throughput::Elements((n * 8) as u64));
    g.bench_function("8ch/SosStateMulti8_block_interleaved", |b| {
        let mut st = SosStateMulti::<8>::default();
        b.iter(|| st.block_interleaved(&sos, black_box(&x8), &mut y8))
    });
    g.bench_function("8ch/reference_8x_SosState_process", |b| {
        let mut st = [SosState::default(); 8];
        b.iter(|| {
            for (xo, yo) in black_box(&x8).chunks_exact(8).zip(y8.chunks_exact_mut(8)) {
                for ((s, &x), o) in st.iter_mut().zip(xo).zip(yo) {
                    *o = s.process(&sos, x);
                }
            }
        })
    });
    g.finish();
}

fn stft_n<const N: usize>(c: &mut Criterion, z: &[Complex32]) {
    let frames = (z.len() - N) / (N / 4) + 1;
    let mut g = c.benchmark_group("stft");
    g.throughput(Throughput::Elements(frames as u64));
    g.bench_function(format!("{N}_hop{}_frames", N / 4), |b| {
        b.iter_batched_ref(
            || Stft::<N>::new(Window::Hann, N / 4).expect("stft"),
            |stft| {
                let mut sink = 0.0f32;
                stft.block(black_box(z), |s| sink += s[1].re);
                sink
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn stft(c: &mut Criterion) {
    let t = trace();
    let n = STAGE_S * US_RATE_HZ as usize;
    let z: Vec<Complex32> = t.iq[..2 * n]
        .chunks_exact(2)
        .map(|p| Complex32::new(p[0], p[1]))
        .collect();
    stft_n::<128>(c, &z);
    stft_n::<256>(c, &z);
}

fn paths(c: &mut Criterion) {
    let t = trace();
    let n = STAGE_S * US_RATE_HZ as usize;
    let z: Vec<Complex32> = t.iq[..2 * n]
        .chunks_exact(2)
        .map(|p| Complex32::new(p[0], p[1]))
        .collect();
    let mut g = c.benchmark_group("ultrasound");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("faults", |b| {
        b.iter_batched_ref(
            || UltrasoundMonitor::new(US_RATE_HZ, 2),
            |m| {
                let mut k = 0u32;
                for p in black_box(&t.iq[..2 * n]).chunks_exact(2) {
                    black_box(m.process([p[0], p[1]], &mut |_| k += 1));
                }
                k
            },
            BatchSize::LargeInput,
        )
    });
    // Wall filter + STFT + analysis (features, hysteresis): the path the detector runs.
    g.bench_function("path", |b| {
        b.iter_batched_ref(
            || UltrasoundPath::new(US_RATE_HZ, UsThresholds::default()).expect("path"),
            |p| {
                let mut k = 0u32;
                for &x in black_box(&z) {
                    p.process(x, false, &mut |_| k += 1);
                }
                k
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();

    let m = STAGE_S * OPT_RATE_HZ as usize;
    let opt = &t.optical[..2 * m];
    let mut g = c.benchmark_group("optical");
    g.throughput(Throughput::Elements(m as u64));
    g.bench_function("faults", |b| {
        b.iter_batched_ref(
            || OpticalMonitor::new(OPT_RATE_HZ, 2),
            |mon| {
                let mut k = 0u32;
                for p in black_box(opt).chunks_exact(2) {
                    black_box(mon.process([p[0], p[1]], &mut |_| k += 1));
                }
                k
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("path", |b| {
        b.iter_batched_ref(
            || OpticalPath::new(OPT_RATE_HZ, 2, OptThresholds::default()).expect("path"),
            |p| {
                let mut k = 0u32;
                for f in black_box(opt).chunks_exact(2) {
                    p.process([f[0], f[1]], &mut |_| k += 1);
                }
                k
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();

    // The classifier on varied feature vectors (one per sighting: rare next to samples).
    let inputs: Vec<FeatureVector> = (0..1024)
        .map(|i| {
            let mut v = [0.0f32; N_FEATURES];
            for (k, x) in v.iter_mut().enumerate() {
                *x = ((i * 31 + k * 17) % 97) as f32 / 9.7 - 3.0;
            }
            v
        })
        .collect();
    let mut g = c.benchmark_group("classifier");
    g.throughput(Throughput::Elements(inputs.len() as u64));
    g.bench_function("tree", |b| {
        b.iter(|| {
            black_box(&inputs)
                .iter()
                .map(|v| classify::classify(v).confidence)
                .sum::<f32>()
        })
    });
    g.bench_function("rules", |b| {
        b.iter(|| {
            black_box(&inputs)
                .iter()
                .map(|v| classify::rules(v).confidence)
                .sum::<f32>()
        })
    });
    g.finish();
}

fn detector(c: &mut Criterion) {
    let t = trace();
    let samples = (t.iq.len() / 2) as u64;
    let mut g = c.benchmark_group("detector");
    g.sample_size(10);
    g.throughput(Throughput::Elements(samples));
    g.bench_function("us_plus_optical_in_memory", |b| {
        b.iter(|| support::detect_in_memory(black_box(&t.iq), black_box(&t.optical), t.line))
    });
    g.bench_function("us_only_in_memory", |b| {
        b.iter(|| support::detect_in_memory(black_box(&t.iq), &[], t.line))
    });
    let options = RunOptions::default();
    g.bench_function("us_plus_optical_from_wav", |b| {
        b.iter(|| detect_recording(&t.recording, &options).expect("detect"))
    });
    g.finish();
}

criterion_group!(benches, biquad, stft, paths, detector);
criterion_main!(benches);
