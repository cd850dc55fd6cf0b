//! `SosStateMulti<C>` against the reference: one `SosState` per channel, sample by sample.
//! Lane c performs channel c's operations in the same order, so equality is exact (bit for
//! bit, compared as `to_bits`), for any section count and any chunking of the stream.

use clotair::dsp::biquad::{Biquad, Sos, SosState};
use clotair::dsp::butterworth::{butter, Band};
use clotair::dsp::multichannel::SosStateMulti;
use proptest::prelude::*;

/// Deterministic pseudo-random samples in [-1, 1) (xorshift), with a few large values.
fn signal(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    (0..len)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let v = (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0;
            if i % 97 == 0 {
                v * 100.0
            } else {
                v
            }
        })
        .collect()
}

fn reference<const C: usize>(sos: &Sos, x: &[f32]) -> Vec<f32> {
    let mut st = [SosState::default(); C];
    let mut y = vec![0.0; x.len()];
    for (xf, yf) in x.chunks_exact(C).zip(y.chunks_exact_mut(C)) {
        for ((s, &v), o) in st.iter_mut().zip(xf).zip(yf) {
            *o = s.process(sos, v);
        }
    }
    y
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn designs() -> Vec<Sos> {
    let fs = 16_000.0;
    vec![
        Sos::default(),
        butter(1, Band::LowPass(1000.0), fs).unwrap(),
        butter(4, Band::HighPass(25.0), fs).unwrap(),
        butter(8, Band::LowPass(2000.0), fs).unwrap(),
        butter(5, Band::BandPass(300.0, 3000.0), fs).unwrap(),
        butter(8, Band::BandStop(500.0, 4000.0), fs).unwrap(),
        Sos::new(&[Biquad::new([0.1, 0.0, 0.0], [-0.9, 0.0])]).unwrap(),
    ]
}

fn check<const C: usize>() {
    for (d, sos) in designs().iter().enumerate() {
        let x = signal(C * 3001, 7 + d as u64);
        let want = reference::<C>(sos, &x);

        let mut y = vec![0.0; x.len()];
        SosStateMulti::<C>::default().block_interleaved(sos, &x, &mut y);
        assert_eq!(bits(&y), bits(&want), "C = {C}, design {d}, interleaved");

        let frames: Vec<[f32; C]> = x
            .chunks_exact(C)
            .map(|f| <[f32; C]>::try_from(f).unwrap())
            .collect();
        let mut yf = frames.clone();
        SosStateMulti::<C>::default().block(sos, &frames, &mut yf);
        assert_eq!(
            bits(yf.as_flattened()),
            bits(&want),
            "C = {C}, design {d}, frames"
        );

        let mut st = SosStateMulti::<C>::default();
        let per: Vec<f32> = frames.iter().flat_map(|&f| st.process(sos, f)).collect();
        assert_eq!(bits(&per), bits(&want), "C = {C}, design {d}, process");
    }
}

#[test]
fn equals_one_sos_state_per_channel_exactly() {
    check::<1>();
    check::<2>();
    check::<3>();
    check::<4>();
    check::<8>();
    check::<16>();
}

#[test]
fn reset_and_finiteness() {
    let sos = butter(4, Band::LowPass(1000.0), 16_000.0).unwrap();
    let mut st = SosStateMulti::<2>::default();
    let mut x = [1.0f32, f32::NAN, 0.5, 0.5];
    st.inplace_interleaved(&sos, &mut x);
    assert!(!st.is_finite());
    st.reset();
    assert!(st.is_finite());
    assert_eq!(st, SosStateMulti::<2>::default());
}

#[test]
#[should_panic(expected = "whole frames")]
fn partial_frame_panics() {
    let sos = Sos::default();
    SosStateMulti::<4>::default().inplace_interleaved(&sos, &mut [0.0; 6]);
}

proptest! {
    /// Any cut of the stream into blocks gives the reference output, bit for bit.
    #[test]
    fn any_chunking_is_exact(
        cuts in proptest::collection::vec(0usize..400, 0..8),
        design in 0usize..7,
        seed in any::<u64>(),
    ) {
        const C: usize = 4;
        let sos = designs()[design];
        let x = signal(C * 1000, seed);
        let want = reference::<C>(&sos, &x);
        let mut st = SosStateMulti::<C>::default();
        let mut y = x.clone();
        let mut rest: &mut [f32] = &mut y;
        for cut in cuts {
            let k = (cut * C).min(rest.len());
            let (now, later) = rest.split_at_mut(k);
            st.inplace_interleaved(&sos, now);
            rest = later;
        }
        st.inplace_interleaved(&sos, rest);
        prop_assert_eq!(bits(&y), bits(&want));
    }
}
