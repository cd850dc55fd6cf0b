//! Deciding the class of a sighting, or of a pair of sightings of one embolus, from its
//! features.

use crate::event::Class;

use super::optical::OptFeatures;
use super::ultrasound::UsFeatures;

/// Number of entries of a [`FeatureVector`].
pub const N_FEATURES: usize = 23;

/// Names of the feature vector's entries, in order (for training and for reports).
pub const FEATURE_NAMES: [&str; N_FEATURES] = [
    "has_us",
    "us_ebr_db",
    "us_duration_ms",
    "us_peak_hz",
    "us_velocity_ratio",
    "us_direction_db",
    "us_low_freq_fraction",
    "us_fluctuation",
    "us_clip_fraction",
    "us_chirp_hz_per_s",
    "us_bandwidth_bins",
    "has_opt",
    "opt_delta",
    "opt_duration_ms",
    "opt_colour_ratio",
    "opt_rise_ms",
    "opt_sign_changes",
    "opt_snr_db",
    "opt_long",
    "opt_fill",
    "opt_colour_match",
    "opt_pre_level",
    "opt_pre_slope",
];

/// What a classifier sees: the features of an ultrasound sighting, an optical one, or both.
/// Missing values are NaN.
pub type FeatureVector = [f32; N_FEATURES];

/// Builds the feature vector of a sighting or a pair.
pub fn features(us: Option<&UsFeatures>, opt: Option<&OptFeatures>) -> FeatureVector {
    let mut v = [f32::NAN; N_FEATURES];
    v[0] = us.is_some() as u32 as f32;
    if let Some(u) = us {
        v[1] = u.ebr_db;
        v[2] = u.duration_ms;
        v[3] = u.peak_hz;
        v[4] = u.velocity_ratio;
        v[5] = u.direction_db;
        v[6] = u.low_freq_fraction;
        v[7] = u.fluctuation;
        v[8] = u.clip_fraction;
        v[9] = u.chirp_hz_per_s;
        v[10] = u.bandwidth_bins;
    }
    v[11] = opt.is_some() as u32 as f32;
    if let Some(o) = opt {
        v[12] = o.delta;
        v[13] = o.duration_ms;
        v[14] = o.colour_ratio;
        v[15] = o.rise_ms;
        v[16] = o.sign_changes;
        v[17] = o.snr_db;
        v[18] = o.long;
        v[19] = o.fill;
        v[20] = o.colour_match;
        v[21] = o.pre_level;
        v[22] = o.pre_slope;
    }
    v
}

/// A class decision with its confidence (0..1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decision {
    /// The class: air, clot or artifact.
    pub class: Class,
    /// 0..1.
    pub confidence: f32,
}

/// Classifies a sighting or pair from its feature vector: with the trees trained by
/// `clotair train` ([`super::model`]) when they are built in, else with [`rules`].
pub fn classify(v: &FeatureVector) -> Decision {
    classify_with(&super::model::TREES, v)
}

/// Classifies with the given bag of trees (an empty bag: the rules).
pub fn classify_with(trees: &[&[super::tree::Node]], v: &FeatureVector) -> Decision {
    let d = match super::tree::forest_shares(trees, v) {
        Some(share) => decide(share),
        None => rules(v),
    };
    physics(v, d)
}

/// Share of the trees' vote (air and clot together) that a sighting needs to raise an alarm:
/// four fifths.
///
/// Whether to alarm and which embolus it is are two questions: the first is embolus against
/// artifact, the second air against clot. Deciding by the plurality of three classes mixed
/// them (a clot leaf may hold 40 % clots, 30 % air). On the tuning sets (seeds 3003, 3005,
/// 3007: 6 h, 678 air and 254 clot emboli) this threshold traces the trade: at 0.5, 481 air
/// and 155 clots found, 28 false alarms; 0.6: 481, 153, 16; 0.7: 480, 149, 10; 0.8: 475, 145,
/// 4 (the plurality with a majority gate: 478, 140, 14).
pub const EMBOLUS_MIN_SHARE: f32 = 0.8;

/// A clot alarm is also raised when most of the vote says clot, whatever the embolus share:
/// clot leaves are the most mixed, and the four-fifths rule alone cost the most clots. On the
/// tuning sets (with the trees of this version): 8 more of 254 clots found (144 → 152), 3
/// more false alarms in 6 h (7 → 10).
pub const CLOT_MIN_SHARE: f32 = 0.5;

/// The decision from the trees' mean shares (air, clot, artifact): the detector's rule, also
/// what `clotair train` scores its fit with.
pub fn decide(share: [f32; 3]) -> Decision {
    let [air, clot, artifact] = share;
    if clot >= CLOT_MIN_SHARE && clot > air {
        Decision {
            class: Class::Clot,
            confidence: clot,
        }
    } else if air + clot >= EMBOLUS_MIN_SHARE {
        if air >= clot {
            Decision {
                class: Class::Air,
                confidence: air,
            }
        } else {
            Decision {
                class: Class::Clot,
                confidence: clot,
            }
        }
    } else {
        Decision {
            class: Class::Artifact,
            confidence: artifact,
        }
    }
}

/// Fraction of an ultrasound sighting's samples at full scale above which the receiver was
/// overloaded: a gas reflector's mark (signal model), seldom a clot's.
pub const CLIPPED_FRACTION: f32 = 0.002;

/// An unclipped echo under this EBR can be a clot's (3–30 dB, signal model) or a small
/// bubble's; a slug, the only gas whose front lowers the optical transmission, reflects far
/// more (on the 24-h tuning suite every slug paired with an optical fall read 21 dB or more).
pub const GAS_FALL_MIN_EBR_DB: f32 = 20.0;

/// An optical rise whose red and near-IR absorbance changes stand in a ratio within this of 1
/// is colour-blind, and no air bubble: air shortens the light's path through blood, so its ratio
/// is the blood's own `k_red / k_ir` (signal model: as a haematocrit change; 1.4–2.5 in the
/// simulator, and no optical air alarm on air under 1.3 on the 24-h tuning suite), while light
/// added by a lamp raises both colours alike (1.0) and scattering is nearly colour-blind
/// (0.95–1.15). A slug's rise to the empty tube's level can give any ratio, negative ones too
/// (the two colours' empty levels differ), and is left to the trees.
pub const COLOUR_BLIND_TOLERANCE: f32 = 0.2;

/// A rise of more than this (the light doubled) is a slug's: the tube empties and reads its
/// own level, not a Beer–Lambert change of the blood, and the colour ratio says nothing.
pub const SLUG_RISE: f32 = 1.0;

/// What the sensors can never mean, whatever a trained model says.
///
/// Air lets more light through and a clot less (signal model, Beer–Lambert): an optical
/// sighting alone that rises is no clot and one that falls no air; it is called an artifact.
/// Nor is a colour-blind rise air ([`COLOUR_BLIND_TOLERANCE`]): a lamp switched on near the clamp,
/// its light flickering at twice the mains, had alarmed as air once per flicker peak.
///
/// A pair called air whose optical sighting fell is a clot when its echo is nothing like
/// gas: unclipped, under [`GAS_FALL_MIN_EBR_DB`], slower than the blood's mean (bubbles ride
/// the fast centre of laminar flow, clots tumble near the wall). The only gas that lowers the
/// transmission is a slug's front meniscus, and slugs reflect strongly; but slugs dominate
/// the training pairs with an optical fall, and the trees called such clots air (8 of the 60
/// air/clot errors on the 24-h tuning suite; no air pair there meets all three conditions).
/// The confidence stays the trees' (that it is an embolus).
fn physics(v: &FeatureVector, d: Decision) -> Decision {
    let has_us = v[0] > 0.5;
    let has_opt = v[11] > 0.5;
    let delta = v[12];
    let contradicts =
        (d.class == Class::Clot && delta > 0.0) || (d.class == Class::Air && delta < 0.0);
    let colour_blind_rise = d.class == Class::Air
        && delta > 0.0
        && delta < SLUG_RISE
        && libm::fabsf(v[14] - 1.0) < COLOUR_BLIND_TOLERANCE;
    if has_opt && !has_us && (contradicts || colour_blind_rise) {
        return Decision {
            class: Class::Artifact,
            confidence: d.confidence,
        };
    }
    let unlike_gas = v[8] <= CLIPPED_FRACTION && v[1] < GAS_FALL_MIN_EBR_DB && v[4] < 1.0;
    if has_opt && has_us && d.class == Class::Air && delta < 0.0 && unlike_gas {
        return Decision {
            class: Class::Clot,
            confidence: d.confidence,
        };
    }
    d
}

/// Physically motivated rules: the reference the trained model is compared with.
pub fn rules(v: &FeatureVector) -> Decision {
    let has_us = v[0] > 0.5;
    let has_opt = v[11] > 0.5;
    let artifact = |c: f32| Decision {
        class: Class::Artifact,
        confidence: c,
    };

    // Optical evidence: the sign of the transmission change is physics (air lets more light
    // through, a clot less), and the strongest single cue there is.
    let mut opt_vote = 0.0f32;
    if has_opt {
        let delta = v[12];
        let sign_changes = v[16];
        let long = v[18] > 0.5;
        let duration_ms = v[13];
        if long || duration_ms > 400.0 {
            // A level change that did not come back: haematocrit, lamp, reseat; or a slug,
            // which sends transmission up and stays there.
            if delta > 0.15 && v[15] < 20.0 {
                opt_vote = 1.0;
            } else if !has_us {
                return artifact(0.7);
            }
        } else if sign_changes >= 3.0 {
            if !has_us {
                return artifact(0.6);
            }
        } else {
            opt_vote = if delta > 0.0 { 1.0 } else { -1.0 };
        }
    }

    let mut us_vote = 0.0f32;
    if has_us {
        let direction_db = v[5];
        let low = v[6];
        let clip = v[8];
        let duration_ms = v[2];
        let clipped = clip > CLIPPED_FRACTION;
        if !clipped && direction_db < -3.0 {
            // Emboli travel with the flow: a reverse-only event is not one.
            return artifact(0.7);
        }
        if !clipped && direction_db.abs() < 4.0 && low > 0.3 {
            return artifact(0.8);
        }
        if !clipped && duration_ms > 300.0 {
            return artifact(0.6);
        }
        let mut score = 0.0f32;
        if clipped {
            score += 2.0;
        }
        let vr = v[4];
        if vr.is_finite() {
            score += ((vr - 1.0) * 4.0).clamp(-2.0, 2.0);
        }
        let ebr = v[1];
        score += ((ebr - 18.0) / 6.0).clamp(-1.0, 1.5);
        let fluct = v[7];
        if fluct.is_finite() {
            score -= ((fluct - 1.3) * 2.0).clamp(-0.5, 1.5);
        }
        us_vote = score;
    }

    let total = us_vote + 3.0 * opt_vote;
    // A tie is called a clot: both are alarms, and a clot is the one the air logic misses.
    let class = if total > 0.0 { Class::Air } else { Class::Clot };
    let confidence = 0.5 + 0.5 * (libm::fabsf(total) / 3.0).min(1.0);
    Decision { class, confidence }
}
