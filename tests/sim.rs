//! The simulator: reproducible, physically where the formulas say, and labelled consistently.

use std::collections::BTreeMap;
use std::path::Path;

use clotair::event::Class;
use clotair::io::{self, Label, WavStream};
use clotair::sim::{
    simulate_dataset, ArtifactKind, EventRates, LineTruth, Plan, Preset, SimOptions,
    SOUND_SPEED_M_S,
};
use num_complex::Complex32;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn run(dir: &Path, options: &SimOptions, seed: u64, count: u64, threads: usize) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| simulate_dataset(dir, options, seed, count, &|| ()))
        .unwrap();
}

#[test]
fn same_seed_same_bytes_whatever_the_thread_count() {
    let options = Preset::Dense.options(8.0);
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    run(a.path(), &options, 42, 4, 1);
    run(b.path(), &options, 42, 4, 3);
    run(c.path(), &options, 43, 4, 2);
    let (fa, fb, fc) = (files(a.path()), files(b.path()), files(c.path()));
    assert!(fa.len() >= 4 * 3, "{:?}", fa.keys());
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (name, bytes) in &fa {
        assert!(bytes == &fb[name], "{name} differs between 1 and 3 threads");
    }
    assert_ne!(
        fa.get("sim0000.labels.csv"),
        fc.get("sim0000.labels.csv"),
        "another seed, another recording"
    );
}

fn sidecar_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Averaged periodogram of complex samples (Hann, `n`-point, 50 % overlap), in FFT bin order.
fn psd(x: &[Complex32], n: usize) -> Vec<f64> {
    let fft = rustfft::FftPlanner::<f32>::new().plan_fft_forward(n);
    let w: Vec<f32> = (0..n)
        .map(|i| (0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos()) as f32)
        .collect();
    let mut acc = vec![0.0f64; n];
    let mut buf = vec![Complex32::default(); n];
    let mut frames = 0;
    for start in (0..x.len().saturating_sub(n)).step_by(n / 2) {
        for ((b, s), w) in buf.iter_mut().zip(&x[start..start + n]).zip(&w) {
            *b = s * w;
        }
        fft.process(&mut buf);
        for (a, b) in acc.iter_mut().zip(&buf) {
            *a += f64::from(b.norm_sqr());
        }
        frames += 1;
    }
    acc.iter_mut().for_each(|a| *a /= frames as f64);
    acc
}

/// The blood Doppler spectrum, pump off, no events: its forward centroid is where
/// f = 2·f0·v·cosθ/c puts the mean velocity (the spectrum is flat from 0 to 2·f_mean).
#[test]
fn blood_doppler_centroid_matches_the_doppler_equation() {
    let options = SimOptions {
        rates: EventRates::NONE,
        pulsatile: false,
        sensors: clotair::sim::SensorMix::Cycle,
        ..SimOptions::realistic(20.0)
    };
    let dir = tempfile::tempdir().unwrap();
    // Indices 0, 1, 3, 4: the ones with an ultrasound sensor under `Cycle`.
    run(dir.path(), &options, 5, 5, 2);
    let mut checked = 0;
    for index in [0u64, 1, 3, 4] {
        let base = dir.path().join(format!("sim{index:04}"));
        let json = sidecar_json(&base.with_extension("json"));
        let f0 = json["carrier_hz"].as_f64().unwrap();
        let theta = json["angle_deg"].as_f64().unwrap().to_radians();
        let v = json["simulator"]["mean_velocity_m_s"].as_f64().unwrap();
        let expected_hz = 2.0 * f0 * v * theta.cos() / SOUND_SPEED_M_S;

        let mut wav = WavStream::open(&base.with_extension("ultrasound.wav")).unwrap();
        let fs = f64::from(wav.info().sample_rate_hz);
        let iq = wav.read_to_end().unwrap();
        let x: Vec<Complex32> = iq
            .chunks_exact(2)
            .map(|c| Complex32::new(c[0], c[1]))
            .collect();
        let n = 1024;
        let p = psd(&x, n);
        let df = fs / n as f64;
        // The reverse half holds only the white floor and the faint mirror: its median is the
        // floor to take off the forward half.
        let mut reverse: Vec<f64> = p[n / 2 + 1..].to_vec();
        reverse.sort_by(f64::total_cmp);
        let floor = reverse[reverse.len() / 2];
        let (mut num, mut den) = (0.0, 0.0);
        for (k, pk) in p.iter().enumerate().take(n / 2).skip(1) {
            let s = (pk - floor).max(0.0);
            num += s * k as f64 * df;
            den += s;
        }
        let centroid = num / den;
        let error = (centroid - expected_hz).abs() / expected_hz;
        assert!(
            error < 0.10,
            "recording {index}: centroid {centroid:.1} Hz, formula {expected_hz:.1} Hz ({:.1} %)",
            error * 100.0
        );
        eprintln!("recording {index}: centroid {centroid:.1} Hz, formula {expected_hz:.1} Hz");
        checked += 1;
    }
    assert_eq!(checked, 4);
}

fn dense_set() -> (
    tempfile::TempDir,
    Vec<(io::Recording, Vec<Label>, serde_json::Value)>,
) {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), &Preset::Dense.options(40.0), 11, 6, 2);
    let recs = io::discover(&[dir.path().to_path_buf()]).unwrap();
    assert_eq!(recs.len(), 6);
    let out = recs
        .into_iter()
        .map(|r| {
            let json = sidecar_json(r.sidecar.as_ref().unwrap());
            let labels = io::read_labels(r.labels.as_ref().unwrap(), Some(40.0)).unwrap();
            (r, labels, json)
        })
        .collect();
    (dir, out)
}

#[test]
fn emboli_reach_the_ultrasound_spacing_over_velocity_after_the_optical_sensor() {
    let (_dir, set) = dense_set();
    let mut pairs = 0;
    for (_, labels, json) in &set {
        let spacing_m = json["spacing_mm"].as_f64().unwrap() * 1e-3;
        let mut by_id: BTreeMap<&str, Vec<&Label>> = BTreeMap::new();
        for l in labels.iter().filter(|l| l.class != Class::Artifact) {
            by_id.entry(l.id.as_deref().unwrap()).or_default().push(l);
        }
        for (id, rows) in by_id {
            let opt = rows.iter().find(|l| l.sensor.as_deref() == Some("optical"));
            let us = rows
                .iter()
                .find(|l| l.sensor.as_deref() == Some("ultrasound"));
            if let (Some(o), Some(u)) = (opt, us) {
                let v = o.velocity_m_s.unwrap();
                assert_eq!(Some(v), u.velocity_m_s);
                let transit = spacing_m / v;
                let measured = u.start_s - o.start_s;
                assert!(
                    (measured - transit).abs() < 1e-4 + 1e-4 * transit,
                    "{id}: {measured} s vs spacing/v = {transit} s"
                );
                assert!((0.05..=2.0).contains(&transit), "{id}: transit {transit} s");
                pairs += 1;
            }
        }
    }
    assert!(pairs >= 10, "only {pairs} emboli seen by both sensors");
}

#[test]
fn every_embolus_is_shorter_than_300_ms_and_labels_are_consistent() {
    let (_dir, set) = dense_set();
    let mut kinds = std::collections::BTreeSet::new();
    let mut sensors = std::collections::BTreeSet::new();
    for (rec, labels, _) in &set {
        sensors.insert((rec.ultrasound.is_some(), rec.optical.is_some()));
        for l in labels {
            let kind = l.kind.as_deref().unwrap();
            kinds.insert(kind.to_owned());
            assert!(l.id.is_some() && l.sensor.is_some());
            match l.class {
                Class::Air | Class::Clot => {
                    assert!(
                        l.detectable.is_some() && l.size_um.is_some() && l.velocity_m_s.is_some()
                    );
                    let ms = (l.end_s - l.start_s) * 1e3;
                    if kind != "slug" && kind != "shower" {
                        assert!((0.999..300.0).contains(&ms), "{} {kind}: {ms} ms", rec.name);
                        let (lo, hi) = if l.sensor.as_deref() == Some("ultrasound") {
                            (4.0, 100.0)
                        } else {
                            (1.0, 50.0)
                        };
                        assert!(
                            ms >= lo - 1e-3 && ms <= hi + 1e-3,
                            "{} {kind} {:?}: {ms} ms",
                            rec.name,
                            l.sensor
                        );
                    }
                    assert_eq!(l.class == Class::Clot, kind == "clot");
                    // The ideal optical SNR is there with an optical sensor, and a change
                    // labelled visible (≥ 3 σ in a sample) reads at least 3 σ matched.
                    assert_eq!(l.optical_snr_db.is_some(), rec.optical.is_some());
                    if l.sensor.as_deref() == Some("optical") && l.detectable == Some(true) {
                        let snr = l.optical_snr_db.unwrap();
                        assert!(
                            snr >= 20.0 * 3f64.log10() - 0.1,
                            "{} {kind}: {snr} dB",
                            rec.name
                        );
                    }
                    if let (Class::Clot, Some(ebr)) = (l.class, l.ebr_db) {
                        assert!(ebr <= 30.0, "clot EBR {ebr} dB above the 3–30 dB range");
                    }
                }
                _ => assert!(
                    l.optical_snr_db.is_none()
                        && [
                            "knock",
                            "diathermy",
                            "coupling_loss",
                            "speckle",
                            "hct_change",
                            "ambient",
                            "reseat"
                        ]
                        .contains(&kind)
                ),
            }
            // A sensor the recording does not have never appears in its labels.
            match l.sensor.as_deref().unwrap() {
                "ultrasound" => assert!(rec.ultrasound.is_some()),
                "optical" => assert!(rec.optical.is_some()),
                _ => assert!(rec.ultrasound.is_some() && rec.optical.is_some()),
            }
        }
    }
    assert!(
        sensors.contains(&(true, false)) && sensors.contains(&(true, true)),
        "{sensors:?}"
    );
    for kind in ["micro", "bubble", "clot", "knock", "speckle"] {
        assert!(kinds.contains(kind), "no {kind} in {kinds:?}");
    }
}

#[test]
fn wavs_have_the_drawn_rates_and_the_full_length() {
    let (_dir, set) = dense_set();
    for (rec, _, json) in &set {
        let sim = &json["simulator"];
        if let Some(p) = &rec.ultrasound {
            let info = WavStream::open(p).unwrap().info();
            assert_eq!(
                u64::from(info.sample_rate_hz),
                sim["ultrasound_hz"].as_u64().unwrap()
            );
            assert!([8000, 10000, 12000, 16000, 20000].contains(&info.sample_rate_hz));
            assert_eq!(info.channels, 2);
            assert_eq!(info.frames, 40 * u64::from(info.sample_rate_hz));
        }
        if let Some(p) = &rec.optical {
            let info = WavStream::open(p).unwrap().info();
            assert!([500, 1000, 2000].contains(&info.sample_rate_hz));
            assert_eq!(info.frames, 40 * u64::from(info.sample_rate_hz));
            // Transmission: light through, never negative beyond the sensor noise.
            let x = WavStream::open(p).unwrap().read_to_end().unwrap();
            let min = x.iter().copied().fold(f32::INFINITY, f32::min);
            assert!(min > -0.01, "{}: optical reading down to {min}", rec.name);
        }
        let flow = json["flow_ml_min"].as_f64().unwrap();
        let truth = sim["flow_ml_min_true"].as_f64().unwrap();
        assert!((flow / truth - 1.0).abs() <= 0.1 + 1e-6);
    }
}

#[test]
fn speckle_has_the_asked_length_and_power_for_any_length() {
    use rand::SeedableRng;
    for fs in [8000.0, 10_000.0, 12_000.0, 16_000.0, 20_000.0] {
        for n in [1usize, 7, 255, 256, 257, 1000, 12_345] {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(n as u64);
            let x = clotair::sim::blood_speckle(&mut rng, fs, n, 1e-3, |_| 1500.0);
            assert_eq!(x.len(), n);
            if n >= 10_000 {
                let p: f64 = x.iter().map(|c| f64::from(c.norm_sqr())).sum::<f64>() / n as f64;
                assert!((p / 1e-3 - 1.0).abs() < 0.1, "fs {fs}: power {p}");
            }
        }
    }
    // Odd durations too, end to end.
    let rec = clotair::sim::simulate_recording(&Preset::Dense.options(3.0007), 1, 0);
    let us = rec.ultrasound.unwrap();
    assert_eq!(
        us.len(),
        2 * (3.0007 * f64::from(rec.line.ultrasound_hz.unwrap())).round() as usize
    );
}

/// Piecewise-linear value of sorted knots at `t`, constant outside them.
fn knot_value(knots: &[(f64, f64)], t: f64) -> f64 {
    match knots.iter().position(|&(tk, _)| tk > t) {
        None => knots.last().unwrap().1,
        Some(0) => knots[0].1,
        Some(i) => {
            let ((t0, y0), (t1, y1)) = (knots[i - 1], knots[i]);
            y0 + (y1 - y0) * (t - t0) / (t1 - t0)
        }
    }
}

#[test]
fn haematocrit_holds_between_its_labelled_changes() {
    // The labels say when the Hct changes: outside a change it stays where the last one left
    // it (the line's own Hct before the first), and every change runs through its knots.
    let options = Preset::Dense.options(300.0);
    let mut gaps = 0;
    for index in 0..8 {
        let line = LineTruth::draw(&mut ChaCha8Rng::seed_from_u64(40 + index), &options, index);
        let plan = Plan::draw(&mut ChaCha8Rng::seed_from_u64(80 + index), &line, &options);
        let mut level = (0.0, line.hct);
        for a in &plan.artifacts {
            let ArtifactKind::HctChange { knots } = &a.kind else {
                continue;
            };
            let (start, end) = (knots[0].0, knots.last().unwrap().0);
            assert_eq!(start, a.start_s);
            let mut t = level.0;
            while t < start {
                let h = knot_value(&plan.hct_knots, t);
                assert!(
                    (h - level.1).abs() < 1e-9,
                    "recording {index}: Hct {h:.3} at {t:.1} s between changes, {:.3} left \
                     at {:.1} s",
                    level.1,
                    level.0
                );
                t += 0.25;
            }
            for &(tk, hk) in knots {
                assert!((knot_value(&plan.hct_knots, tk) - hk).abs() < 1e-9);
            }
            gaps += 1;
            level = (end, knots.last().unwrap().1);
        }
    }
    assert!(gaps >= 20, "only {gaps} Hct changes drawn");
}
