//! Scoring detected events against labels, by the rules of `shared/spec/recordings.md`: an
//! alarm (an `air` or `clot` row) matches a labelled event when their time windows overlap
//! within 50 ms, and events are counted per physical event (`id`).

pub mod interval;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::detect::air::AirLimits;
use crate::event::{AirLimit, Class, Event, Sensor};
use crate::io::Label;

pub use interval::Interval;

/// Matching tolerance of the spec.
pub const TOLERANCE_S: f64 = 0.050;

/// Size bins (equivalent spherical diameter) for the breakdown, µm.
pub const SIZE_BINS_UM: [f64; 6] = [0.0, 50.0, 100.0, 300.0, 1000.0, 3000.0];
/// EBR bins for the breakdown, dB.
pub const EBR_BINS_DB: [f64; 6] = [-100.0, 3.0, 6.0, 10.0, 20.0, 30.0];

/// One detected event as the scorer sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Detection {
    /// Class.
    pub class: Class,
    /// Start, s.
    pub start_s: f64,
    /// End, s.
    pub end_s: f64,
    /// Alarm time, s.
    pub detected_s: f64,
    /// Estimated gas volume of an air alarm, µL (NaN when none).
    pub volume_ul: f64,
    /// Whether the alarm reached the single-bubble limit.
    pub single_limit: bool,
    /// Whether the alarm reached the cumulative limit.
    pub cumulative_limit: bool,
    /// The sensor(s) behind the alarm, when known.
    pub sensor: Option<Sensor>,
}

impl Detection {
    /// A detection with no volume.
    pub fn new(class: Class, start_s: f64, end_s: f64, detected_s: f64) -> Self {
        Self {
            class,
            start_s,
            end_s,
            detected_s,
            volume_ul: f64::NAN,
            single_limit: false,
            cumulative_limit: false,
            sensor: None,
        }
    }
}

impl From<&Event> for Detection {
    fn from(e: &Event) -> Self {
        Self {
            volume_ul: f64::from(e.features.volume_ul),
            single_limit: e.air_limit.is_some_and(AirLimit::single),
            cumulative_limit: e.air_limit.is_some_and(AirLimit::cumulative),
            sensor: Some(e.sensor),
            ..Self::new(
                e.class,
                e.start_us as f64 * 1e-6,
                e.end_us as f64 * 1e-6,
                e.detected_us as f64 * 1e-6,
            )
        }
    }
}

/// One labelled recording and what the detector found in it.
#[derive(Clone, Debug)]
pub struct Scored {
    /// Recording name.
    pub name: String,
    /// Length of the recording, s.
    pub duration_s: f64,
    /// Ground truth.
    pub labels: Vec<Label>,
    /// Detections.
    pub detections: Vec<Detection>,
}

/// One physical event: the label rows sharing an id.
#[derive(Clone, Debug)]
struct Truth {
    /// The label rows' `id` (`rowN` for a row without one).
    id: String,
    class: Class,
    /// (start, end) at each sensor that saw it.
    windows: Vec<(f64, f64)>,
    first_start_s: f64,
    detectable: bool,
    size_um: Option<f64>,
    ebr_db: Option<f64>,
    kind: Option<String>,
}

fn group(labels: &[Label]) -> Vec<Truth> {
    let mut by_id: BTreeMap<String, Truth> = BTreeMap::new();
    for (i, l) in labels.iter().enumerate() {
        let key = l.id.clone().unwrap_or_else(|| format!("row{i}"));
        let t = by_id.entry(key.clone()).or_insert_with(|| Truth {
            id: key,
            class: l.class,
            windows: Vec::new(),
            first_start_s: f64::INFINITY,
            detectable: true,
            size_um: None,
            ebr_db: None,
            kind: l.kind.clone(),
        });
        t.windows.push((l.start_s, l.end_s));
        t.first_start_s = t.first_start_s.min(l.start_s);
        if l.detectable == Some(false) {
            t.detectable = false;
        }
        t.size_um = t.size_um.or(l.size_um);
        if let Some(e) = l.ebr_db {
            t.ebr_db = Some(t.ebr_db.map_or(e, |x: f64| x.max(e)));
        }
    }
    by_id.into_values().collect()
}

fn overlaps(d: &Detection, t: &Truth) -> bool {
    t.windows
        .iter()
        .any(|&(s, e)| d.start_s <= e + TOLERANCE_S && d.end_s >= s - TOLERANCE_S)
}

/// Per class figures.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ClassScore {
    /// Detectable labelled events of this class.
    pub positives: usize,
    /// Of those, matched by any alarm.
    pub detected: usize,
    /// Of those, matched with this class by the first matching alarm.
    pub detected_as_class: usize,
    /// Alarms of this class.
    pub alarms: usize,
    /// Alarms of this class matching a labelled embolus (air or clot).
    pub true_alarms: usize,
    /// detected / positives.
    pub sensitivity: f64,
    /// Its 95 % interval (Wilson score, [`interval`]).
    pub sensitivity_ci95: Interval,
    /// true_alarms / alarms.
    pub ppv: f64,
    /// Its 95 % interval (Wilson score).
    pub ppv_ci95: Interval,
    /// Harmonic mean of sensitivity and PPV.
    pub f1: f64,
    /// Alarm latency from the event's first appearance: median, s.
    pub latency_median_s: f64,
    /// 95th percentile, s.
    pub latency_p95_s: f64,
    /// 95 % interval of the median latency (order statistics, [`interval::quantile`]); a side
    /// too few alarms cannot bound is NaN.
    pub latency_median_ci95_s: Interval,
    /// 95 % interval of the 95th percentile.
    pub latency_p95_ci95_s: Interval,
}

/// False alarms of one cause seen by one sensor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FalseAlarmCause {
    /// The `kind` of the labelled artifact the alarm overlapped (the latest to begin, when it
    /// overlapped several: a knock during a haematocrit change is the knock's); `artifact`
    /// for an artifact label with no kind; `background` when it overlapped no label.
    pub cause: String,
    /// The alarm's sensor (`ultrasound`, `optical`, `both`), empty when not known.
    pub sensor: String,
    /// False alarms.
    pub count: usize,
}

/// One false alarm, for an audit of the figures: which recording, when, and what it fell on.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FalseAlarm {
    /// Recording name.
    pub recording: String,
    /// The alarm's class (`air` or `clot`).
    pub class: String,
    /// Start, s.
    pub start_s: f64,
    /// End, s.
    pub end_s: f64,
    /// Alarm time, s.
    pub detected_s: f64,
    /// The alarm's sensor (`ultrasound`, `optical`, `both`), empty when not known.
    pub sensor: String,
    /// As in [`FalseAlarmCause::cause`].
    pub cause: String,
    /// The `id` of the artifact label it fell on; empty on the background.
    pub artifact_id: String,
}

/// A `detectable` embolus that no alarm matched, or whose first matching alarm named the
/// other class: what the sensitivity and the discrimination count against.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EmbolusError {
    /// Recording name.
    pub recording: String,
    /// The labels' `id`.
    pub id: String,
    /// The labelled class (`air` or `clot`).
    pub class: String,
    /// `missed`, or the class the first matching alarm said (`said_air`, `said_clot`).
    pub outcome: String,
    /// The embolus's first appearance (its earliest label row), s.
    pub start_s: f64,
    /// The labels' `kind`, where given.
    pub kind: Option<String>,
    /// The labels' EBR (the largest of its rows), dB.
    pub ebr_db: Option<f64>,
    /// The labelled size, µm.
    pub size_um: Option<f64>,
}

/// Sensitivity in one bin of size or EBR.
#[derive(Clone, Debug, Serialize)]
pub struct BinScore {
    /// Class.
    pub class: String,
    /// Bin, e.g. "100–300 µm".
    pub bin: String,
    /// Detectable events in the bin.
    pub positives: usize,
    /// Detected.
    pub detected: usize,
    /// detected / positives.
    pub sensitivity: f64,
}

/// How the air alarms' volumes compare with the labelled ones: per detected air event with a
/// labelled size, the largest volume among the air alarms matching it over the labelled
/// volume (a sphere of the label's equivalent diameter).
#[derive(Clone, Debug, Default, Serialize)]
pub struct VolumeScore {
    /// Detected air events with a labelled size and an air alarm carrying a volume.
    pub events: usize,
    /// Estimated over labelled volume: 10th percentile.
    pub ratio_p10: f64,
    /// Median.
    pub ratio_median: f64,
    /// 90th percentile.
    pub ratio_p90: f64,
    /// Share of events estimated within a factor of 10 either way.
    pub within_10x: f64,
    /// The single-bubble limit the labels are compared with (the detector's default), µL.
    pub limit_ul: f64,
    /// Events labelled at or above the limit.
    pub over_limit: usize,
    /// Of those, matched by an alarm that reached the single-bubble limit.
    pub over_limit_flagged: usize,
    /// Events labelled under the limit whose alarms reached it.
    pub under_limit_flagged: usize,
    /// Of `events`, slugs (air filling the lumen, labelled kind `slug`).
    pub slugs: usize,
    /// Their estimated over labelled volume: median.
    pub slug_ratio_median: f64,
    /// Share of them estimated within a factor of 2 either way.
    pub slug_within_2x: f64,
}

/// The cumulative air limit per recording: when the labelled air first reaches it over the
/// sliding window (every labelled air event with a size, detectable or not: all of it
/// enters the line), and whether and when the detector's alarms reach it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CumulativeScore {
    /// The limit (the detector's default), µL, over `window_s`.
    pub limit_ul: f64,
    /// The sliding window, s.
    pub window_s: f64,
    /// Recordings whose labelled air reaches the limit.
    pub recordings_over: usize,
    /// Of those, recordings where an air alarm reached it.
    pub flagged: usize,
    /// Median of (first alarm reaching it − labelled crossing), s, over the flagged ones;
    /// negative when the alarm came first.
    pub delay_median_s: f64,
    /// Recordings whose labelled air never reaches the limit but whose alarms did.
    pub flagged_under: usize,
}

/// When the labelled air of `truths` first reaches `limit_ul` within any `window_s`.
fn labelled_crossing(truths: &[Truth], limit_ul: f64, window_s: f64) -> Option<f64> {
    let mut air: Vec<(f64, f64)> = truths
        .iter()
        .filter(|t| t.class == Class::Air)
        .filter_map(|t| {
            let d_mm = t.size_um? * 1e-3;
            Some((
                t.first_start_s,
                core::f64::consts::PI / 6.0 * d_mm * d_mm * d_mm,
            ))
        })
        .collect();
    air.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut from, mut total) = (0, 0.0);
    for (i, &(t, v)) in air.iter().enumerate() {
        total += v;
        while air[from].0 <= t - window_s && from < i {
            total -= air[from].1;
            from += 1;
        }
        if total >= limit_ul {
            return Some(t);
        }
    }
    None
}

/// The whole score.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// Recordings scored.
    pub recordings: usize,
    /// Hours of signal.
    pub hours: f64,
    /// Air.
    pub air: ClassScore,
    /// Clot.
    pub clot: ClassScore,
    /// Confusion of detected emboli: [true air, true clot] × [said air, said clot].
    pub confusion: [[usize; 2]; 2],
    /// Correct class among detected emboli.
    pub discrimination: f64,
    /// Its 95 % interval (Wilson score).
    pub discrimination_ci95: Interval,
    /// Alarms matching no embolus while overlapping a labelled artifact.
    pub false_alarms_on_artifacts: usize,
    /// Alarms matching nothing labelled.
    pub false_alarms_background: usize,
    /// All false alarms per hour of signal.
    pub false_alarms_per_hour: f64,
    /// Its 95 % interval (the count's exact Poisson interval over the hours).
    pub false_alarms_per_hour_ci95: Interval,
    /// The false alarms by cause and sensor, most frequent first.
    pub false_alarms_by_cause: Vec<FalseAlarmCause>,
    /// Every false alarm, in the order of the recordings and of their events.
    pub false_alarm_list: Vec<FalseAlarm>,
    /// Every `detectable` embolus missed or called the other class, in the order of the
    /// recordings and of their labels' ids.
    pub embolus_errors: Vec<EmbolusError>,
    /// Sensitivity by size bin.
    pub by_size: Vec<BinScore>,
    /// Sensitivity by EBR bin.
    pub by_ebr: Vec<BinScore>,
    /// Sensitivity by the label's `kind`, where given.
    pub by_kind: Vec<BinScore>,
    /// Air volume estimates against the labels.
    pub air_volume: VolumeScore,
    /// The cumulative air limit against the labels.
    pub cumulative: CumulativeScore,
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        f64::NAN
    } else {
        a as f64 / b as f64
    }
}

fn bin_name(edges: &[f64], i: usize, unit: &str) -> String {
    if i + 1 < edges.len() {
        format!("{}–{} {unit}", edges[i], edges[i + 1])
    } else {
        format!("≥ {} {unit}", edges[i])
    }
}

fn bin_of(edges: &[f64], x: f64) -> usize {
    edges.iter().rposition(|&e| x >= e).unwrap_or(0)
}

#[derive(Default)]
struct Tally {
    positives: usize,
    detected: usize,
}

/// Scores every recording together.
pub fn score(recordings: &[Scored]) -> Report {
    let mut r = Report {
        recordings: recordings.len(),
        ..Report::default()
    };
    let mut latencies: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut size_tally: BTreeMap<(usize, usize), Tally> = BTreeMap::new();
    let mut ebr_tally: BTreeMap<(usize, usize), Tally> = BTreeMap::new();
    let mut kind_tally: BTreeMap<(usize, String), Tally> = BTreeMap::new();
    let mut causes: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut volume_ratios = Vec::new();
    let mut slug_ratios = Vec::new();
    let limits = AirLimits::default();
    let limit_ul = f64::from(limits.single_bubble_ul);
    r.air_volume.limit_ul = limit_ul;
    r.cumulative.limit_ul = f64::from(limits.cumulative_ul);
    r.cumulative.window_s = f64::from(limits.window_s);
    let mut cumulative_delays = Vec::new();
    let mut seconds = 0.0;
    for rec in recordings {
        seconds += rec.duration_s;
        let truths = group(&rec.labels);
        let alarms: Vec<&Detection> = rec
            .detections
            .iter()
            .filter(|d| d.class.is_alarm())
            .collect();
        let crossing = labelled_crossing(&truths, r.cumulative.limit_ul, r.cumulative.window_s);
        let reached = alarms
            .iter()
            .filter(|d| d.cumulative_limit)
            .map(|d| d.detected_s)
            .min_by(f64::total_cmp);
        let c = &mut r.cumulative;
        match (crossing, reached) {
            (Some(t), Some(d)) => {
                c.recordings_over += 1;
                c.flagged += 1;
                cumulative_delays.push(d - t);
            }
            (Some(_), None) => c.recordings_over += 1,
            (None, Some(_)) => c.flagged_under += 1,
            (None, None) => {}
        }
        for t in &truths {
            let ci = match t.class {
                Class::Air => 0,
                Class::Clot => 1,
                _ => continue,
            };
            if !t.detectable {
                continue;
            }
            let first = alarms
                .iter()
                .filter(|d| overlaps(d, t))
                .min_by(|a, b| a.detected_s.total_cmp(&b.detected_s));
            let score = if ci == 0 { &mut r.air } else { &mut r.clot };
            score.positives += 1;
            let hit = first.is_some();
            let outcome = match first {
                Some(d) => {
                    score.detected += 1;
                    let said = if d.class == Class::Air { 0 } else { 1 };
                    r.confusion[ci][said] += 1;
                    if said == ci {
                        score.detected_as_class += 1;
                    }
                    latencies[ci].push(d.detected_s - t.first_start_s);
                    (said != ci).then(|| format!("said_{}", d.class.as_str()))
                }
                None => Some("missed".to_string()),
            };
            if let Some(outcome) = outcome {
                r.embolus_errors.push(EmbolusError {
                    recording: rec.name.clone(),
                    id: t.id.clone(),
                    class: t.class.as_str().to_string(),
                    outcome,
                    start_s: t.first_start_s,
                    kind: t.kind.clone(),
                    ebr_db: t.ebr_db,
                    size_um: t.size_um,
                });
            }
            if let (true, Some(size_um)) = (hit && ci == 0, t.size_um) {
                let labelled_ul = core::f64::consts::PI / 6.0 * (size_um * 1e-3).powi(3);
                let matching = || {
                    alarms
                        .iter()
                        .filter(|d| d.class == Class::Air && overlaps(d, t))
                };
                let largest = matching()
                    .map(|d| d.volume_ul)
                    .filter(|v| v.is_finite())
                    .fold(f64::NAN, f64::max);
                let flagged = matching().any(|d| d.single_limit);
                if largest.is_finite() {
                    volume_ratios.push(largest / labelled_ul);
                    if t.kind.as_deref() == Some("slug") {
                        slug_ratios.push(largest / labelled_ul);
                    }
                }
                let v = &mut r.air_volume;
                if labelled_ul >= limit_ul {
                    v.over_limit += 1;
                    v.over_limit_flagged += flagged as usize;
                } else {
                    v.under_limit_flagged += flagged as usize;
                }
            }
            let tally = |map: &mut BTreeMap<(usize, usize), Tally>, b: usize| {
                let e = map.entry((ci, b)).or_default();
                e.positives += 1;
                e.detected += hit as usize;
            };
            if let Some(s) = t.size_um {
                tally(&mut size_tally, bin_of(&SIZE_BINS_UM, s));
            }
            if let Some(e) = t.ebr_db {
                tally(&mut ebr_tally, bin_of(&EBR_BINS_DB, e));
            }
            if let Some(k) = &t.kind {
                let e = kind_tally.entry((ci, k.clone())).or_default();
                e.positives += 1;
                e.detected += hit as usize;
            }
        }
        for d in &alarms {
            let score = if d.class == Class::Air {
                &mut r.air
            } else {
                &mut r.clot
            };
            score.alarms += 1;
            let embolus = truths.iter().any(|t| t.class.is_alarm() && overlaps(d, t));
            if embolus {
                score.true_alarms += 1;
                continue;
            }
            let artifact = truths
                .iter()
                .filter(|t| t.class == Class::Artifact && overlaps(d, t))
                .max_by(|a, b| a.first_start_s.total_cmp(&b.first_start_s));
            let cause = match artifact {
                Some(t) => {
                    r.false_alarms_on_artifacts += 1;
                    t.kind.clone().unwrap_or_else(|| "artifact".into())
                }
                None => {
                    r.false_alarms_background += 1;
                    "background".into()
                }
            };
            let sensor = d.sensor.map_or("", Sensor::as_str).to_string();
            r.false_alarm_list.push(FalseAlarm {
                recording: rec.name.clone(),
                class: d.class.as_str().to_string(),
                start_s: d.start_s,
                end_s: d.end_s,
                detected_s: d.detected_s,
                sensor: sensor.clone(),
                cause: cause.clone(),
                artifact_id: artifact.map(|t| t.id.clone()).unwrap_or_default(),
            });
            *causes.entry((cause, sensor)).or_default() += 1;
        }
    }
    r.hours = seconds / 3600.0;
    for (ci, score) in [&mut r.air, &mut r.clot].into_iter().enumerate() {
        score.sensitivity = ratio(score.detected, score.positives);
        score.ppv = ratio(score.true_alarms, score.alarms);
        score.sensitivity_ci95 = interval::wilson(score.detected, score.positives);
        score.ppv_ci95 = interval::wilson(score.true_alarms, score.alarms);
        score.f1 = 2.0 * score.sensitivity * score.ppv / (score.sensitivity + score.ppv);
        let lat = &mut latencies[ci];
        lat.sort_by(f64::total_cmp);
        score.latency_median_s = quantile(lat, 0.5);
        score.latency_p95_s = quantile(lat, 0.95);
        score.latency_median_ci95_s = interval::quantile(lat, 0.5);
        score.latency_p95_ci95_s = interval::quantile(lat, 0.95);
    }
    volume_ratios.sort_by(f64::total_cmp);
    let v = &mut r.air_volume;
    v.events = volume_ratios.len();
    v.ratio_p10 = quantile(&volume_ratios, 0.1);
    v.ratio_median = quantile(&volume_ratios, 0.5);
    v.ratio_p90 = quantile(&volume_ratios, 0.9);
    let within = volume_ratios
        .iter()
        .filter(|&&x| (0.1..=10.0).contains(&x))
        .count();
    v.within_10x = ratio(within, volume_ratios.len());
    cumulative_delays.sort_by(f64::total_cmp);
    r.cumulative.delay_median_s = quantile(&cumulative_delays, 0.5);
    slug_ratios.sort_by(f64::total_cmp);
    v.slugs = slug_ratios.len();
    v.slug_ratio_median = quantile(&slug_ratios, 0.5);
    let within = slug_ratios
        .iter()
        .filter(|&&x| (0.5..=2.0).contains(&x))
        .count();
    v.slug_within_2x = ratio(within, slug_ratios.len());
    let detected = r.confusion[0][0] + r.confusion[0][1] + r.confusion[1][0] + r.confusion[1][1];
    r.discrimination = ratio(r.confusion[0][0] + r.confusion[1][1], detected);
    r.discrimination_ci95 = interval::wilson(r.confusion[0][0] + r.confusion[1][1], detected);
    let false_alarms = r.false_alarms_on_artifacts + r.false_alarms_background;
    r.false_alarms_per_hour = false_alarms as f64 / r.hours;
    r.false_alarms_per_hour_ci95 = if r.hours > 0.0 {
        interval::poisson_exact(false_alarms as u64).scaled(1.0 / r.hours)
    } else {
        Interval::NONE
    };
    r.false_alarms_by_cause = causes
        .into_iter()
        .map(|((cause, sensor), count)| FalseAlarmCause {
            cause,
            sensor,
            count,
        })
        .collect();
    // Most frequent first; the map's order (cause, then sensor) breaks ties.
    r.false_alarms_by_cause
        .sort_by_key(|c| std::cmp::Reverse(c.count));
    let class_name = |ci: usize| if ci == 0 { "air" } else { "clot" }.to_string();
    let bins = |map: BTreeMap<(usize, usize), Tally>, edges: &[f64], unit: &str| {
        map.into_iter()
            .map(|((ci, b), t)| BinScore {
                class: class_name(ci),
                bin: bin_name(edges, b, unit),
                positives: t.positives,
                detected: t.detected,
                sensitivity: ratio(t.detected, t.positives),
            })
            .collect()
    };
    r.by_size = bins(size_tally, &SIZE_BINS_UM, "µm");
    r.by_ebr = bins(ebr_tally, &EBR_BINS_DB, "dB");
    r.by_kind = kind_tally
        .into_iter()
        .map(|((ci, k), t)| BinScore {
            class: class_name(ci),
            bin: k,
            positives: t.positives,
            detected: t.detected,
            sensitivity: ratio(t.detected, t.positives),
        })
        .collect();
    r
}

fn pct(x: f64) -> String {
    if x.is_nan() {
        "  n/a".into()
    } else {
        format!("{:5.1}", 100.0 * x)
    }
}

fn ms(x: f64) -> String {
    if x.is_nan() {
        "n/a".into()
    } else {
        format!("{:.0}", 1e3 * x)
    }
}

impl Report {
    /// A plain-text table for people.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} recordings, {:.2} h of signal",
            self.recordings, self.hours
        );
        let _ = writeln!(
            s,
            "class  events  detected  sens %   alarms  PPV %    F1 %   latency median / p95 ms"
        );
        for (name, c) in [("air", &self.air), ("clot", &self.clot)] {
            let _ = writeln!(
                s,
                "{name:<5}  {:>6}  {:>8}  {}  {:>7}  {}  {}   {} / {}",
                c.positives,
                c.detected,
                pct(c.sensitivity),
                c.alarms,
                pct(c.ppv),
                pct(c.f1),
                ms(c.latency_median_s),
                ms(c.latency_p95_s)
            );
        }
        let _ = writeln!(
            s,
            "air/clot discrimination: {} % of detected emboli (true air → said air {}, clot {}; true clot → said air {}, clot {})",
            pct(self.discrimination).trim(),
            self.confusion[0][0],
            self.confusion[0][1],
            self.confusion[1][0],
            self.confusion[1][1]
        );
        let _ = writeln!(
            s,
            "false alarms: {:.2} per hour ({} on artifacts, {} on background)",
            self.false_alarms_per_hour,
            self.false_alarms_on_artifacts,
            self.false_alarms_background
        );
        let _ = writeln!(
            s,
            "95 % intervals: air sens {}, PPV {}; clot sens {}, PPV {}; discrimination {}; false alarms {} per hour",
            self.air.sensitivity_ci95.percent(),
            self.air.ppv_ci95.percent(),
            self.clot.sensitivity_ci95.percent(),
            self.clot.ppv_ci95.percent(),
            self.discrimination_ci95.percent(),
            self.false_alarms_per_hour_ci95.rate(),
        );
        let _ = writeln!(
            s,
            "95 % intervals of the latency: air median {}, p95 {}; clot median {}, p95 {}",
            self.air.latency_median_ci95_s.millis(),
            self.air.latency_p95_ci95_s.millis(),
            self.clot.latency_median_ci95_s.millis(),
            self.clot.latency_p95_ci95_s.millis(),
        );
        if !self.false_alarms_by_cause.is_empty() {
            let causes: Vec<String> = self
                .false_alarms_by_cause
                .iter()
                .map(|c| match c.sensor.as_str() {
                    "" => format!("{} {}", c.cause, c.count),
                    sensor => format!("{} ({sensor}) {}", c.cause, c.count),
                })
                .collect();
            let _ = writeln!(s, "false alarms by cause: {}", causes.join(", "));
        }
        let v = &self.air_volume;
        if v.events > 0 {
            let _ = writeln!(
                s,
                "air volume, largest matching alarm over labelled ({} events): p10 {:.1e}×, median {:.1e}×, p90 {:.1e}×, within 10× {} %",
                v.events,
                v.ratio_p10,
                v.ratio_median,
                v.ratio_p90,
                pct(v.within_10x).trim()
            );
            let _ = writeln!(
                s,
                "single-bubble limit ({} µL): {} of {} labelled at or over it flagged, {} under it flagged",
                v.limit_ul, v.over_limit_flagged, v.over_limit, v.under_limit_flagged
            );
        }
        let c = &self.cumulative;
        if c.recordings_over + c.flagged_under > 0 {
            let _ = writeln!(
                s,
                "cumulative limit ({} µL per {} min): {} of {} recordings whose labelled air reached it flagged (median {:.1} s after), {} others flagged",
                c.limit_ul,
                c.window_s / 60.0,
                c.flagged,
                c.recordings_over,
                c.delay_median_s,
                c.flagged_under
            );
        }
        if v.slugs > 0 {
            let _ = writeln!(
                s,
                "slug volume ({} slugs): median {:.2}× the labelled, within 2× {} %",
                v.slugs,
                v.slug_ratio_median,
                pct(v.slug_within_2x).trim()
            );
        }
        for (title, bins) in [
            ("by size", &self.by_size),
            ("by EBR", &self.by_ebr),
            ("by kind", &self.by_kind),
        ] {
            if bins.is_empty() {
                continue;
            }
            let _ = writeln!(s, "sensitivity {title}:");
            for b in bins {
                let _ = writeln!(
                    s,
                    "  {:<5} {:<14} {:>5} / {:<5} {} %",
                    b.class,
                    b.bin,
                    b.detected,
                    b.positives,
                    pct(b.sensitivity)
                );
            }
        }
        s
    }
}
