//! The events of one recording: emboli and artifacts with their times and parameters, drawn
//! before any signal is rendered, and the labels that describe them.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::line::LineTruth;
use super::options::SimOptions;
use crate::event::Class;
use crate::io::{Label, SampleFormat};

/// Embolus duration limits at the ultrasound sensor, 4–100 ms (signal-model.md, after
/// Ringelstein 1998: "always < 300 ms"). The physical (beam + size)/velocity is clamped to it.
pub const ULTRASOUND_DURATION_S: (f64, f64) = (0.004, 0.100);
/// Embolus duration limits at the optical sensor, 1–50 ms (signal-model.md).
pub const OPTICAL_DURATION_S: (f64, f64) = (0.001, 0.050);
/// The 1998 consensus threshold: an embolus under 3 dB EBR cannot be seen on Doppler.
pub const MIN_VISIBLE_EBR_DB: f64 = 3.0;
/// Emboli keep this far apart at each sensor (showers excepted, within themselves) so that
/// each label describes one event.
const MIN_GAP_S: f64 = 0.3;
/// Events keep this far from the ends of the recording.
const MARGIN_S: f64 = 0.3;

/// What kind of embolus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmbolusKind {
    /// A microbubble, < 100 µm.
    Micro,
    /// A bubble, 100 µm up to about half the tube diameter.
    Bubble,
    /// A slug of air filling the lumen.
    Slug,
    /// Many bubbles within a second.
    Shower,
    /// A solid embolus.
    Clot,
}

impl EmbolusKind {
    /// The label's `kind` word.
    pub const fn as_str(self) -> &'static str {
        match self {
            EmbolusKind::Micro => "micro",
            EmbolusKind::Bubble => "bubble",
            EmbolusKind::Slug => "slug",
            EmbolusKind::Shower => "shower",
            EmbolusKind::Clot => "clot",
        }
    }

    /// Air or clot.
    pub const fn class(self) -> Class {
        match self {
            EmbolusKind::Clot => Class::Clot,
            _ => Class::Air,
        }
    }
}

/// One scatterer of an embolus (a shower has many, the others one).
#[derive(Clone, Debug)]
pub struct Part {
    /// Delay after the embolus's optical start (same delay at the ultrasound sensor).
    pub offset_s: f64,
    /// Diameter (for a slug: the equivalent spherical diameter).
    pub diameter_um: f64,
    /// Embolus-to-blood ratio: energy of the echo over the blood's power spectral density at
    /// its frequency, i.e. over the blood energy in one time-frequency cell matched to it.
    pub ebr_db: f64,
    /// Time in the optical beam.
    pub optical_s: f64,
    /// Time in the ultrasound sample volume.
    pub ultrasound_s: f64,
    /// Doppler frequency multiplier for the scatterer's radial position within a shower.
    pub doppler_scale: f64,
    /// Relative Doppler frequency rise across the passage (radiation force on bubbles).
    pub chirp: f64,
    /// Depth of the amplitude fluctuation (clots tumbling; 0 for smooth bubbles).
    pub fluctuation: f64,
    /// Peak relative optical change, red and IR (positive: more light).
    pub optical_delta: [f64; 2],
}

/// An embolus crossing both sensors.
#[derive(Clone, Debug)]
pub struct Embolus {
    /// Label id, `e1`, `e2`, …
    pub id: String,
    /// Kind.
    pub kind: EmbolusKind,
    /// Entry into the optical beam.
    pub t_optical_s: f64,
    /// Speed along the tube, constant from one sensor to the other.
    pub velocity_m_s: f64,
    /// Slug length along the tube (0 for others).
    pub slug_length_mm: f64,
    /// The scatterers.
    pub parts: Vec<Part>,
}

impl Embolus {
    /// Entry into the ultrasound sample volume: spacing / velocity after the optical entry.
    pub fn t_ultrasound_s(&self, line: &LineTruth) -> f64 {
        self.t_optical_s + line.transit_s(self.velocity_m_s)
    }

    /// Span at the optical sensor.
    pub fn optical_span(&self) -> (f64, f64) {
        let end = self
            .parts
            .iter()
            .map(|p| p.offset_s + p.optical_s)
            .fold(0.0, f64::max);
        let start = self
            .parts
            .iter()
            .map(|p| p.offset_s)
            .fold(f64::INFINITY, f64::min);
        (self.t_optical_s + start, self.t_optical_s + end)
    }

    /// Span at the ultrasound sensor.
    pub fn ultrasound_span(&self, line: &LineTruth) -> (f64, f64) {
        let t = self.t_ultrasound_s(line);
        let end = self
            .parts
            .iter()
            .map(|p| p.offset_s + p.ultrasound_s)
            .fold(0.0, f64::max);
        let start = self
            .parts
            .iter()
            .map(|p| p.offset_s)
            .fold(f64::INFINITY, f64::min);
        (t + start, t + end)
    }

    /// Equivalent spherical diameter of all the gas or solid.
    pub fn size_um(&self) -> f64 {
        self.parts
            .iter()
            .map(|p| p.diameter_um.powi(3))
            .sum::<f64>()
            .cbrt()
    }

    /// Strongest EBR of the parts.
    pub fn ebr_db(&self) -> f64 {
        self.parts
            .iter()
            .map(|p| p.ebr_db)
            .fold(f64::NEG_INFINITY, f64::max)
    }
}

/// What kind of artifact, with its parameters.
#[derive(Clone, Debug)]
pub enum ArtifactKind {
    /// Probe or tube knock: bidirectional low-frequency burst on the ultrasound and/or a
    /// damped wobble of the optical reading.
    Knock {
        /// Low-pass corner of the burst, 30–150 Hz.
        cutoff_hz: f64,
        /// Burst power over the blood power, 0–25 dB.
        level_db: f64,
        /// Optical wobble frequency, 5–30 Hz.
        wobble_hz: f64,
        /// Optical wobble amplitude, relative, 0.5–5 %.
        wobble: f64,
    },
    /// Electrosurgery: broadband bursts in both directions.
    Diathermy {
        /// Power over the blood power, 0–25 dB.
        level_db: f64,
        /// Burst repetition rate, 20–80 Hz.
        burst_hz: f64,
    },
    /// Loss of acoustic coupling: the echoes drop 15–30 dB.
    CouplingLoss {
        /// Drop.
        drop_db: f64,
        /// Fall and rise time.
        transition_s: f64,
    },
    /// A speckle peak: a short, narrowband, unidirectional rise of the blood signal.
    Speckle {
        /// Centre frequency.
        frequency_hz: f64,
        /// Bandwidth.
        bandwidth_hz: f64,
        /// Its EBR, 3–8 dB.
        ebr_db: f64,
    },
    /// Haematocrit change: piecewise-linear knots (time, Hct) at the optical sensor.
    HctChange {
        /// Knots after the start, including the start.
        knots: Vec<(f64, f64)>,
    },
    /// A lamp near the optical clamp.
    Ambient {
        /// Added light, fraction of the blood reading, 2–20 %.
        level: f64,
        /// Fraction of it flickering at twice the mains frequency.
        flicker: f64,
        /// Switch-on and -off time.
        rise_s: f64,
    },
    /// Tube reseated in the optical clamp: a gain step per channel.
    Reseat {
        /// New gain over the old, per channel.
        step: [f64; 2],
        /// Transition time.
        transition_s: f64,
    },
}

impl ArtifactKind {
    /// The label's `kind` word.
    pub const fn as_str(&self) -> &'static str {
        match self {
            ArtifactKind::Knock { .. } => "knock",
            ArtifactKind::Diathermy { .. } => "diathermy",
            ArtifactKind::CouplingLoss { .. } => "coupling_loss",
            ArtifactKind::Speckle { .. } => "speckle",
            ArtifactKind::HctChange { .. } => "hct_change",
            ArtifactKind::Ambient { .. } => "ambient",
            ArtifactKind::Reseat { .. } => "reseat",
        }
    }
}

/// One artifact.
#[derive(Clone, Debug)]
pub struct Artifact {
    /// Label id, `a1`, `a2`, …
    pub id: String,
    /// Kind and parameters.
    pub kind: ArtifactKind,
    /// Start (for an Hct change: at the optical sensor).
    pub start_s: f64,
    /// End.
    pub end_s: f64,
    /// Hits the ultrasound.
    pub ultrasound: bool,
    /// Hits the optical sensor.
    pub optical: bool,
}

/// Everything that happens in one recording.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Emboli, by optical time.
    pub emboli: Vec<Embolus>,
    /// Artifacts, by start.
    pub artifacts: Vec<Artifact>,
    /// Haematocrit over time at the optical sensor: piecewise-linear knots, first at t = 0.
    pub hct_knots: Vec<(f64, f64)>,
}

/// Piecewise-linear interpolation of sorted knots, constant outside.
pub fn interpolate(knots: &[(f64, f64)], t: f64) -> f64 {
    match knots.iter().position(|&(tk, _)| tk > t) {
        None => knots.last().map_or(0.0, |k| k.1),
        Some(0) => knots[0].1,
        Some(i) => {
            let ((t0, y0), (t1, y1)) = (knots[i - 1], knots[i]);
            y0 + (y1 - y0) * (t - t0) / (t1 - t0)
        }
    }
}

/// Poisson arrival times at `per_min` in `[from, to)`.
fn arrivals(rng: &mut ChaCha8Rng, per_min: f64, from: f64, to: f64) -> Vec<f64> {
    let mut times = Vec::new();
    if per_min <= 0.0 {
        return times;
    }
    let mut t = from;
    loop {
        let u: f64 = rng.random_range(f64::EPSILON..1.0);
        t += -u.ln() * 60.0 / per_min;
        if t >= to {
            return times;
        }
        times.push(t);
    }
}

fn log_uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    (rng.random_range(lo.ln()..hi.ln().max(lo.ln() + 1e-9))).exp()
}

/// Blood reading of each optical channel relative to the empty tube, exp(−k·Hct·D).
pub fn blood_transmission(line: &LineTruth, hct: f64) -> [f64; 2] {
    [
        (-line.k_red_per_mm * hct * line.tube_id_mm).exp(),
        (-line.k_ir_per_mm * hct * line.tube_id_mm).exp(),
    ]
}

impl Plan {
    /// Draws the events of one recording.
    pub fn draw(rng: &mut ChaCha8Rng, line: &LineTruth, options: &SimOptions) -> Plan {
        let duration = line.duration_s;
        let (lo, hi) = (MARGIN_S, duration - MARGIN_S);
        let rates = &options.rates;
        let has_us = line.ultrasound_hz.is_some();
        let has_opt = line.optical_hz.is_some();

        // Haematocrit changes first: emboli need the Hct to size their optical change.
        let mut hct_knots = vec![(0.0, line.hct)];
        let mut artifacts = Vec::new();
        let mut busy_until = 0.0;
        for t in arrivals(rng, rates.hct_change, lo, hi) {
            if t < busy_until {
                continue;
            }
            let h0 = interpolate(&hct_knots, t);
            // Wash cycles and a new bowl step or ramp the Hct over seconds; a saline flush
            // dilutes it and it recovers (signal-model.md, "Not events").
            let knots = if rng.random_bool(0.6) {
                let ramp = rng.random_range(1.0..10.0);
                let dh =
                    rng.random_range(0.03..0.15) * if rng.random_bool(0.5) { 1.0 } else { -1.0 };
                vec![(t, h0), (t + ramp, (h0 + dh).clamp(0.15, 0.80))]
            } else {
                let fall = rng.random_range(1.0..3.0);
                let hold = rng.random_range(0.5..3.0);
                let rise = rng.random_range(3.0..15.0);
                let low = (h0 * rng.random_range(0.3..0.7)).max(0.05);
                vec![
                    (t, h0),
                    (t + fall, low),
                    (t + fall + hold, low),
                    (t + fall + hold + rise, h0),
                ]
            };
            let end = knots.last().map_or(t, |k| k.0);
            // Seen by the ultrasound one transit later (blood echogenicity follows Hct).
            let end_label = if has_us {
                end + line.transit_s(line.mean_velocity_m_s)
            } else {
                end
            };
            if end_label >= hi {
                continue;
            }
            busy_until = end + 1.0;
            // From its first knot: the Hct holds between changes (without it, the last
            // change's level ramped into the next change's over tens of unlabelled seconds).
            hct_knots.extend_from_slice(&knots);
            artifacts.push(Artifact {
                id: String::new(),
                kind: ArtifactKind::HctChange { knots },
                start_s: t,
                end_s: end_label,
                ultrasound: has_us,
                optical: has_opt,
            });
        }

        let emboli = Self::draw_emboli(rng, line, options, &hct_knots);

        let pick_sensors = |rng: &mut ChaCha8Rng| -> (bool, bool) {
            match (has_us, has_opt) {
                (true, true) => {
                    let u: f64 = rng.random();
                    if u < 0.6 {
                        (true, true)
                    } else if u < 0.85 {
                        (true, false)
                    } else {
                        (false, true)
                    }
                }
                other => other,
            }
        };
        let f_mean = line.mean_doppler_hz();
        for t in arrivals(rng, rates.knock, lo, hi) {
            let dur = rng.random_range(0.02..0.3);
            let (ultrasound, optical) = pick_sensors(rng);
            let kind = ArtifactKind::Knock {
                cutoff_hz: rng.random_range(30.0..150.0),
                level_db: rng.random_range(0.0..25.0),
                wobble_hz: rng.random_range(5.0..30.0),
                wobble: rng.random_range(0.005..0.05),
            };
            artifacts.push(Artifact {
                id: String::new(),
                kind,
                start_s: t,
                end_s: (t + dur).min(hi),
                ultrasound,
                optical,
            });
        }
        if has_us {
            for t in arrivals(rng, rates.diathermy, lo, hi) {
                let dur = rng.random_range(0.3..4.0);
                let kind = ArtifactKind::Diathermy {
                    level_db: rng.random_range(0.0..25.0),
                    burst_hz: rng.random_range(20.0..80.0),
                };
                artifacts.push(Artifact {
                    id: String::new(),
                    kind,
                    start_s: t,
                    end_s: (t + dur).min(hi),
                    ultrasound: true,
                    optical: false,
                });
            }
            for t in arrivals(rng, rates.coupling_loss, lo, hi) {
                let dur = rng.random_range(1.0..8.0);
                let kind = ArtifactKind::CouplingLoss {
                    drop_db: rng.random_range(15.0..30.0),
                    transition_s: rng.random_range(0.05..0.3),
                };
                artifacts.push(Artifact {
                    id: String::new(),
                    kind,
                    start_s: t,
                    end_s: (t + dur).min(hi),
                    ultrasound: true,
                    optical: false,
                });
            }
            for t in arrivals(rng, rates.speckle, lo, hi) {
                let dur = rng.random_range(0.01..0.08);
                let kind = ArtifactKind::Speckle {
                    frequency_hz: f_mean * rng.random_range(0.2..1.8),
                    bandwidth_hz: rng.random_range(30.0..150.0),
                    ebr_db: rng.random_range(3.0..8.0),
                };
                artifacts.push(Artifact {
                    id: String::new(),
                    kind,
                    start_s: t,
                    end_s: t + dur,
                    ultrasound: true,
                    optical: false,
                });
            }
        }
        if has_opt {
            for t in arrivals(rng, rates.ambient, lo, hi) {
                let dur = rng.random_range(2.0..20.0);
                let kind = ArtifactKind::Ambient {
                    level: rng.random_range(0.02..0.2),
                    flicker: rng.random_range(0.0..0.5),
                    rise_s: rng.random_range(0.02..0.2),
                };
                artifacts.push(Artifact {
                    id: String::new(),
                    kind,
                    start_s: t,
                    end_s: (t + dur).min(hi),
                    ultrasound: false,
                    optical: true,
                });
            }
            for t in arrivals(rng, rates.reseat, lo, hi) {
                let common = rng.random_range(0.85..1.15);
                let step = [
                    common * rng.random_range(0.98..1.02),
                    common * rng.random_range(0.98..1.02),
                ];
                let transition_s = rng.random_range(0.05..0.3);
                let kind = ArtifactKind::Reseat { step, transition_s };
                artifacts.push(Artifact {
                    id: String::new(),
                    kind,
                    start_s: t,
                    end_s: t + transition_s + 0.1,
                    ultrasound: false,
                    optical: true,
                });
            }
        }
        artifacts.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
        for (i, a) in artifacts.iter_mut().enumerate() {
            a.id = format!("a{}", i + 1);
        }
        Plan {
            emboli,
            artifacts,
            hct_knots,
        }
    }

    fn draw_emboli(
        rng: &mut ChaCha8Rng,
        line: &LineTruth,
        options: &SimOptions,
        hct_knots: &[(f64, f64)],
    ) -> Vec<Embolus> {
        let rates = &options.rates;
        let duration = line.duration_s;
        let (lo, hi) = (MARGIN_S, duration - MARGIN_S);
        let mut candidates: Vec<(f64, EmbolusKind)> = Vec::new();
        for (rate, kind) in [
            (rates.micro, EmbolusKind::Micro),
            (rates.bubble, EmbolusKind::Bubble),
            (rates.slug, EmbolusKind::Slug),
            (rates.shower, EmbolusKind::Shower),
            (rates.clot, EmbolusKind::Clot),
        ] {
            candidates.extend(arrivals(rng, rate, lo, hi).into_iter().map(|t| (t, kind)));
        }
        candidates.sort_by(|a, b| a.0.total_cmp(&b.0));

        let mut emboli: Vec<Embolus> = Vec::new();
        let mut taken: Vec<(f64, f64)> = Vec::new();
        for (t, kind) in candidates {
            let e = Self::draw_embolus(rng, line, hct_knots, t, kind);
            let (o0, o1) = e.optical_span();
            let (u0, u1) = e.ultrasound_span(line);
            if o1.max(u1) > hi {
                continue;
            }
            let clash = |a: f64, b: f64| {
                taken
                    .iter()
                    .any(|&(s, t)| a < t + MIN_GAP_S && s < b + MIN_GAP_S)
            };
            if clash(o0, o1) || clash(u0, u1) {
                continue;
            }
            taken.push((o0, o1));
            taken.push((u0, u1));
            emboli.push(e);
        }
        for (i, e) in emboli.iter_mut().enumerate() {
            e.id = format!("e{}", i + 1);
        }
        emboli
    }

    fn draw_embolus(
        rng: &mut ChaCha8Rng,
        line: &LineTruth,
        hct_knots: &[(f64, f64)],
        t: f64,
        kind: EmbolusKind,
    ) -> Embolus {
        let d_tube_mm = line.tube_id_mm;
        let v_flow = line.velocity_at(t);
        // Laminar profile, 0 at the wall to 2v at the centre (signal-model.md): bubbles ride
        // faster than the mean, clots tumble near the wall; a slug fills the lumen and moves
        // with the mean.
        let velocity_m_s = v_flow
            * match kind {
                EmbolusKind::Micro | EmbolusKind::Bubble | EmbolusKind::Shower => {
                    rng.random_range(1.0..1.9)
                }
                EmbolusKind::Slug => 1.0,
                EmbolusKind::Clot => rng.random_range(0.4..0.9),
            };
        let hct = interpolate(hct_knots, t);
        let transmission = blood_transmission(line, hct);
        let gas = kind != EmbolusKind::Clot;
        let part = |rng: &mut ChaCha8Rng, d_um: f64, offset_s: f64| -> Part {
            let d_mm = d_um * 1e-3;
            let t_us = ((line.beam_ultrasound_mm + d_mm) * 1e-3 / velocity_m_s)
                .clamp(ULTRASOUND_DURATION_S.0, ULTRASOUND_DURATION_S.1);
            let t_opt = ((line.beam_optical_mm + d_mm) * 1e-3 / velocity_m_s)
                .clamp(OPTICAL_DURATION_S.0, OPTICAL_DURATION_S.1);
            let coverage = (d_mm / line.beam_optical_mm).powi(2).min(1.0);
            let path_mm = d_mm.min(d_tube_mm);
            let (ebr_db, optical_delta, fluctuation, chirp) = if gas {
                // Gas above resonance scatters in proportion to its cross-section, ∝ d²:
                // +20 dB per decade of size; anchored at ~12 dB for 30 µm (assumption in line
                // with TCD microbubble EBRs of 10–20 dB), ±3 dB for position in the beam.
                let ebr = 12.0 + 20.0 * (d_um / 30.0).log10() + rng.random_range(-3.0..3.0);
                // Air displaces blood: Beer–Lambert with the blood path shortened by the
                // bubble, same colour ratio as a haematocrit drop.
                let delta = [
                    coverage * ((line.k_red_per_mm * hct * path_mm).exp() - 1.0),
                    coverage * ((line.k_ir_per_mm * hct * path_mm).exp() - 1.0),
                ];
                (ebr, delta, 0.0, rng.random_range(0.02..0.15))
            } else {
                // Clots: 3–30 dB (signal-model.md) rising with size over 50 µm–3 mm; ranges
                // overlap with gas (gas/solid discrimination from Doppler alone 81–89 %,
                // JCBFM 2004).
                let ebr = 3.0
                    + 27.0 * (d_um / 50.0).ln() / (3000.0f64 / 50.0).ln()
                    + rng.random_range(-3.0..3.0);
                // Never above the 30 dB top of the clot range; below 3 dB a clot is invisible.
                let ebr = ebr.min(30.0);
                // Scattering removes light nearly independently of wavelength (colour ratio
                // 0.95–1.15, unlike Hct's k_red/k_ir).
                let removed = 1.0 - (-rng.random_range(1.0..4.0) * path_mm).exp();
                let ratio = rng.random_range(0.95..1.15);
                (
                    ebr,
                    [-coverage * removed * ratio, -coverage * removed],
                    rng.random_range(0.3..0.8),
                    0.0,
                )
            };
            Part {
                offset_s,
                diameter_um: d_um,
                ebr_db,
                optical_s: t_opt,
                ultrasound_s: t_us,
                doppler_scale: 1.0,
                chirp,
                fluctuation,
                optical_delta,
            }
        };
        let max_bubble_um = 0.5 * d_tube_mm * 1e3;
        let mut slug_length_mm = 0.0;
        let parts = match kind {
            // Chung 2015: cardiac-surgery bubbles median 33 µm, up to 3.5 mm.
            EmbolusKind::Micro => {
                let d = log_uniform(rng, 10.0, 100.0);
                vec![part(rng, d, 0.0)]
            }
            EmbolusKind::Bubble => {
                let d = log_uniform(rng, 100.0, max_bubble_um.min(2000.0));
                vec![part(rng, d, 0.0)]
            }
            EmbolusKind::Clot => {
                let d = log_uniform(rng, 50.0, (0.7 * d_tube_mm * 1e3).min(3000.0));
                vec![part(rng, d, 0.0)]
            }
            EmbolusKind::Shower => {
                let n = rng.random_range(5..=40);
                let span = rng.random_range(0.3..1.0);
                let mut offsets: Vec<f64> = (0..n).map(|_| rng.random_range(0.0..span)).collect();
                offsets.sort_by(f64::total_cmp);
                offsets[0] = 0.0;
                offsets
                    .into_iter()
                    .map(|o| {
                        let d = log_uniform(rng, 20.0, 500.0);
                        let mut p = part(rng, d, o);
                        p.doppler_scale = rng.random_range(0.95..1.05);
                        p
                    })
                    .collect()
            }
            EmbolusKind::Slug => {
                // Up to tens of mL (Anesthesiology 2007: a 70–80 mL column from the bowl);
                // capped so the slug passes in ≤ 5 s and at least 1.5 tube diameters long.
                let area_mm2 = std::f64::consts::PI * d_tube_mm * d_tube_mm / 4.0;
                let v_min_ml = (area_mm2 * 1.5 * d_tube_mm * 1e-3).max(0.05);
                let v_max_ml = (area_mm2 * velocity_m_s * 5.0)
                    .min(20.0)
                    .max(v_min_ml * 1.01);
                let volume_ml = log_uniform(rng, v_min_ml, v_max_ml);
                slug_length_mm = volume_ml * 1e3 / area_mm2;
                let d_um = (6.0 * volume_ml * 1e3 / std::f64::consts::PI).cbrt() * 1e3;
                let t_opt = (slug_length_mm + line.beam_optical_mm) * 1e-3 / velocity_m_s;
                let t_us = (slug_length_mm + line.beam_ultrasound_mm) * 1e-3 / velocity_m_s;
                let empty = [1.0 / transmission[0] - 1.0, 1.0 / transmission[1] - 1.0];
                vec![Part {
                    offset_s: 0.0,
                    diameter_um: d_um,
                    // Specular reflection at the air interface: the receiver saturates.
                    ebr_db: rng.random_range(45.0..60.0),
                    optical_s: t_opt,
                    ultrasound_s: t_us,
                    doppler_scale: 1.0,
                    chirp: 0.0,
                    fluctuation: 0.0,
                    optical_delta: empty,
                }]
            }
        };
        Embolus {
            id: String::new(),
            kind,
            t_optical_s: t,
            velocity_m_s,
            slug_length_mm,
            parts,
        }
    }

    /// Whether an embolus can be seen by a sensor the recording has: EBR ≥ 3 dB on the
    /// Doppler, or an optical change of at least 3 noise standard deviations (sensor noise and
    /// the WAV quantisation step; a change shorter than a sample is averaged down).
    pub fn detectable(&self, e: &Embolus, line: &LineTruth, format: SampleFormat) -> bool {
        e.kind == EmbolusKind::Slug
            || self.visible_ultrasound(e, line)
            || self.visible_optical(e, line, format)
    }

    /// Whether the Doppler sensor can show `e`: EBR of at least 3 dB (1998 consensus).
    pub fn visible_ultrasound(&self, e: &Embolus, line: &LineTruth) -> bool {
        line.ultrasound_hz.is_some()
            && (e.kind == EmbolusKind::Slug || e.ebr_db() >= MIN_VISIBLE_EBR_DB)
    }

    /// Whether the optical sensor can show `e`: a change of at least three noise standard
    /// deviations on either wavelength.
    pub fn visible_optical(&self, e: &Embolus, line: &LineTruth, format: SampleFormat) -> bool {
        line.optical_hz.is_some_and(|fs| {
            if e.kind == EmbolusKind::Slug {
                return true;
            }
            let levels = self.optical_levels(e, line, format);
            e.parts.iter().any(|p| {
                levels
                    .iter()
                    .zip(p.optical_delta)
                    .any(|(&(reading, noise), delta)| {
                        let averaging = (p.optical_s * f64::from(fs) * 0.5).min(1.0);
                        (reading * delta * averaging).abs() >= 3.0 * noise
                    })
            })
        })
    }

    /// The blood reading of each optical channel when `e` passes and the standard deviation
    /// of the white noise on it (sensor noise and the WAV quantisation step).
    fn optical_levels(
        &self,
        e: &Embolus,
        line: &LineTruth,
        format: SampleFormat,
    ) -> [(f64, f64); 2] {
        let hct = interpolate(&self.hct_knots, e.t_optical_s);
        let tr = blood_transmission(line, hct);
        let lsb = match format {
            SampleFormat::Int16 => 1.0 / 32768.0,
            SampleFormat::Int24 => 1.0 / 8_388_608.0,
            SampleFormat::Float32 => 0.0,
        };
        [0, 1].map(|c| {
            let reading = line.empty_level[c] * tr[c];
            let noise = ((reading * 10f64.powf(-line.optical_snr_db / 20.0)).powi(2)
                + lsb * lsb / 12.0)
                .sqrt();
            (reading, noise)
        })
    }

    /// The optical change of `e` as an ideal observer would see it: the matched-filter
    /// signal-to-noise ratio (dB) of its strongest part, both wavelengths together, against the
    /// white sensor noise only (no pump ripple, drift or ambient light), with the lumps of a
    /// clot ignored. It is the optical counterpart of the EBR (an energy over a noise density)
    /// and an upper bound of what any detector can get from the change. `None` without an
    /// optical sensor.
    pub fn optical_snr_db(
        &self,
        e: &Embolus,
        line: &LineTruth,
        format: SampleFormat,
    ) -> Option<f64> {
        let fs = f64::from(line.optical_hz?);
        let levels = self.optical_levels(e, line, format);
        let b = line.beam_optical_mm;
        let energy = e
            .parts
            .iter()
            .map(|p| {
                let len_mm = if e.kind == EmbolusKind::Slug {
                    e.slug_length_mm
                } else {
                    p.diameter_um * 1e-3
                };
                // The passage's shape summed over the samples it touches, each sample the
                // mean over its period (as rendered): Σ shape².
                let t0 = e.t_optical_s + p.offset_s;
                let t1 = t0 + p.optical_s;
                let shape = |t: f64| {
                    let tau = (t - t0) / (t1 - t0);
                    super::optical::overlap((tau - 0.5) * (len_mm + b), len_mm, b)
                };
                let first = (t0 * fs).floor().max(0.0) as usize;
                let last = (t1 * fs).ceil().max(0.0) as usize;
                let shape_energy: f64 = (first..last)
                    .map(|i| super::optical::sample_mean(i, fs, t0, t1, 0.0, shape).powi(2))
                    .sum();
                levels
                    .iter()
                    .zip(p.optical_delta)
                    .map(|(&(reading, noise), delta)| (reading * delta / noise).powi(2))
                    .sum::<f64>()
                    * shape_energy
            })
            .fold(0.0, f64::max);
        Some(10.0 * energy.max(1e-30).log10())
    }

    /// The labels: per embolus one row per sensor present (sharing its id), per artifact one
    /// row; sorted by start.
    pub fn labels(&self, line: &LineTruth, format: SampleFormat) -> Vec<Label> {
        let mut labels = Vec::new();
        let round = |x: f64| (x * 1e6).round() / 1e6;
        for e in &self.emboli {
            let detectable = self.detectable(e, line, format);
            let optical_snr_db = self.optical_snr_db(e, line, format);
            let mut row = |sensor: &str, (start, end): (f64, f64)| {
                labels.push(Label {
                    class: e.kind.class(),
                    start_s: round(start),
                    end_s: round(end),
                    id: Some(e.id.clone()),
                    sensor: Some(sensor.into()),
                    size_um: Some(e.size_um()),
                    ebr_db: line.ultrasound_hz.map(|_| e.ebr_db()),
                    detectable: Some(detectable),
                    kind: Some(e.kind.as_str().into()),
                    velocity_m_s: Some(e.velocity_m_s),
                    optical_snr_db,
                });
            };
            // A row per sensor that can show the embolus, so that latency is measured from the
            // first sensor that could see it; an embolus no sensor shows keeps its rows, marked
            // not detectable.
            if line.optical_hz.is_some() && (!detectable || self.visible_optical(e, line, format)) {
                row("optical", e.optical_span());
            }
            if line.ultrasound_hz.is_some() && (!detectable || self.visible_ultrasound(e, line)) {
                row("ultrasound", e.ultrasound_span(line));
            }
        }
        for a in &self.artifacts {
            let sensor = match (a.ultrasound, a.optical) {
                (true, true) => "both",
                (true, false) => "ultrasound",
                _ => "optical",
            };
            let ebr_db = match a.kind {
                ArtifactKind::Speckle { ebr_db, .. } => Some(ebr_db),
                _ => None,
            };
            labels.push(Label {
                class: Class::Artifact,
                start_s: round(a.start_s),
                end_s: round(a.end_s),
                id: Some(a.id.clone()),
                sensor: Some(sensor.into()),
                size_um: None,
                ebr_db,
                detectable: None,
                kind: Some(a.kind.as_str().into()),
                velocity_m_s: None,
                optical_snr_db: None,
            });
        }
        labels.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
        labels
    }
}
