//! Running the streaming detector over a recording on disk: the same [`Detector`] that runs on
//! the device, fed from the WAV files in stream-time order, chunk by chunk, never holding the
//! whole recording in memory.

use std::path::PathBuf;

use crate::detect::air::{AirLedger, AirLimits};
use crate::detect::{ConfigError, Detector, DetectorConfig, MEMORY_S};
use crate::event::{Class, Event, FaultKind, Sensor, STREAM_END_GAP_S};
use crate::io::{self, Recording, WavStream};

/// Signal time read per step from each sensor: both streams advance together so that the
/// detector's pending decisions stay few.
pub const CHUNK_S: f64 = 0.05;

/// Why a recording could not be processed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A file could not be read or is not in the contract's format.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The recording's parameters are outside what the detector accepts.
    #[error("{path}: {source}")]
    Config {
        /// The recording's base path.
        path: PathBuf,
        /// What is wrong.
        source: ConfigError,
    },
    /// The segment settings are out of range.
    #[error(transparent)]
    Segments(#[from] SegmentsError),
}

/// What the detector found in one recording.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The recording.
    pub recording: Recording,
    /// Events in order of alarm time.
    pub events: Vec<Event>,
    /// Length of the longer stream, s.
    pub duration_s: f64,
    /// How it was run.
    pub cut: Cut,
    /// What the user should know about how it was read (a header without a data length).
    pub notes: Vec<String>,
}

/// How a recording was run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// As one stream.
    Whole,
    /// In this many segments, whose overlaps agreed.
    Segments(usize),
    /// Cut in this many segments, two of which disagreed where they overlap, so it was run
    /// again as one stream (whose events are the ones given). Never seen with a warm-up of at
    /// least the detector's memory; a safety net, not a mode.
    Rerun(usize),
}

/// Options for a run.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Thresholds and limits; the rates, channels and geometry are taken from the recording.
    pub base: Option<DetectorConfig>,
    /// Signal time read per step from each sensor; [`CHUNK_S`] when `None`. The events do
    /// not depend on it (tested): it trades memory for calls.
    pub chunk_s: Option<f64>,
    /// Cut a long recording into segments run in parallel; one stream when `None`.
    pub segments: Option<Segments>,
    /// Pass NaN and infinite samples of float WAVs to the detector, which replaces them and
    /// reports `nan` faults while they last, instead of failing the recording at the first.
    pub nan_as_fault: bool,
}

/// How the WAVs are read: the step, and what a non-finite sample does.
#[derive(Clone, Copy, Debug)]
struct Reading {
    chunk_s: f64,
    nan_as_fault: bool,
}

impl Reading {
    #[cfg(test)]
    const DEFAULT: Reading = Reading {
        chunk_s: CHUNK_S,
        nan_as_fault: false,
    };
}

/// How one long recording is cut into segments that run in parallel.
///
/// Segment `k` reports the events that start in `[k·L, (k+1)·L)`; its detector is fed from
/// `W` seconds before that (the warm-up, at least [`MEMORY_S`]) to [`TAIL_S`] after it, so
/// that its state has forgotten where it started by the time its own part begins and the
/// events that start near its end are complete. The events then equal those of one stream
/// over the whole recording (tested on every field); the air accumulated over the sliding
/// window is summed again over the merged events, as it spans segments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segments {
    /// Recordings longer than this, s, are cut; into segments of at most about this length
    /// (`L`), as many as a multiple of the worker threads.
    pub length_s: u64,
    /// Signal fed before each segment's own part, s (`W`).
    pub warmup_s: u64,
}

impl Default for Segments {
    /// Ten-minute segments with a minute of warm-up: 10 % more work for a recording spread
    /// over every core.
    fn default() -> Self {
        Self {
            length_s: 600,
            warmup_s: 60,
        }
    }
}

/// Signal fed after a segment's own part, so that events starting just before its end are
/// decided as in the whole stream: far longer than an embolus (< 300 ms), a fault's
/// recognition (< 1 s) or a decision's wait for the other sensor.
pub const TAIL_S: u64 = 5;
/// The first seconds of each segment's tail are also the start of the next segment's own
/// part: the events both find there must agree, field for field (the air totals apart, which
/// are summed again), or the recording is run again as one stream.
pub const CHECK_S: u64 = TAIL_S - 1;

/// Why segments cannot be used as given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SegmentsError {
    /// The segment length is zero.
    #[error("segment length must be at least 1 s")]
    Length,
    /// The warm-up is shorter than the detector's memory.
    #[error("segment warm-up must be at least {MEMORY_S} s, the detector's memory")]
    Warmup,
}

impl Segments {
    /// Checks the lengths.
    pub fn validate(&self) -> Result<(), SegmentsError> {
        if self.length_s == 0 {
            return Err(SegmentsError::Length);
        }
        if self.warmup_s < MEMORY_S {
            return Err(SegmentsError::Warmup);
        }
        Ok(())
    }
}

/// The detector configuration for a recording, where its streams end, and the notes on how
/// its files were read.
fn configure(
    rec: &Recording,
    options: &RunOptions,
) -> Result<(DetectorConfig, Lengths, Vec<String>), RunError> {
    let us = rec.ultrasound.as_deref().map(WavStream::open).transpose()?;
    let opt = rec.optical.as_deref().map(WavStream::open).transpose()?;
    let line = match &rec.sidecar {
        Some(p) => io::read_sidecar(p)?.line,
        None => Default::default(),
    };
    let mut config = options.base.unwrap_or_default();
    config.line = line;
    config.ultrasound_rate_hz = us.as_ref().map(|s| s.info().sample_rate_hz);
    config.optical_rate_hz = opt.as_ref().map(|s| s.info().sample_rate_hz);
    if let Some(s) = &opt {
        config.optical_channels = s.info().channels as usize;
    }
    let length_s = |s: &WavStream| s.info().frames as f64 / s.info().sample_rate_hz as f64;
    let lengths = Lengths {
        ultrasound_s: us.as_ref().map(length_s),
        optical_s: opt.as_ref().map(length_s),
    };
    let notes = us
        .iter()
        .chain(&opt)
        .filter(|s| s.length_from_file())
        .map(|s| {
            format!(
                "{}: the header states no data length (0 or 0xFFFFFFFF, as a recorder leaves a file it did not close): read the {:.1} s the file holds",
                s.path().display(),
                s.info().duration_s()
            )
        })
        .collect();
    Ok((config, lengths, notes))
}

/// Where each sensor's recording ends, s.
#[derive(Clone, Copy, Debug)]
struct Lengths {
    ultrasound_s: Option<f64>,
    optical_s: Option<f64>,
}

impl Lengths {
    /// The longer stream's length.
    fn duration_s(&self) -> f64 {
        self.ultrasound_s
            .unwrap_or(0.0)
            .max(self.optical_s.unwrap_or(0.0))
    }

    /// The fault of a stream that ends [`STREAM_END_GAP_S`] or more before the other: from
    /// its end to the other's, recognised at its end, and the row of its end, at the other's
    /// (as the detector reports a fault's end).
    fn stream_ended(&self) -> Vec<Event> {
        let Some(fault) = self.stream_ended_fault() else {
            return Vec::new();
        };
        let mut cleared = Event {
            detected_us: fault.end_us,
            cleared: true,
            ..fault
        };
        cleared.detected_us = fault.end_us;
        vec![fault, cleared]
    }

    fn stream_ended_fault(&self) -> Option<Event> {
        let (us, opt) = (self.ultrasound_s?, self.optical_s?);
        let (sensor, from_s, to_s) = if us < opt {
            (Sensor::Ultrasound, us, opt)
        } else {
            (Sensor::Optical, opt, us)
        };
        if to_s - from_s < STREAM_END_GAP_S {
            return None;
        }
        let to_us = |s: f64| (s * 1e6).round() as u64;
        Some(Event::fault(
            sensor,
            FaultKind::StreamEnded,
            to_us(from_s),
            to_us(to_s),
            to_us(from_s),
        ))
    }
}

fn new_detector(rec: &Recording, config: &DetectorConfig) -> Result<Detector, RunError> {
    Detector::new(config).map_err(|source| RunError::Config {
        path: rec.base.clone(),
        source,
    })
}

/// Streams one recording through the detector: as one stream, or in segments run in
/// parallel when [`RunOptions::segments`] is set and the recording is long enough.
pub fn detect_recording(rec: &Recording, options: &RunOptions) -> Result<Outcome, RunError> {
    detect_recording_with(rec, options, &|_| {})
}

/// [`detect_recording`], calling `on_signal` with the seconds of signal done as each segment
/// (or the whole recording) finishes, from worker threads: for progress.
pub fn detect_recording_with(
    rec: &Recording,
    options: &RunOptions,
    on_signal: &(dyn Fn(f64) + Sync),
) -> Result<Outcome, RunError> {
    if let Some(s) = &options.segments {
        s.validate()?;
    }
    let (config, lengths, notes) = configure(rec, options)?;
    let duration_s = lengths.duration_s();
    let reading = Reading {
        chunk_s: options.chunk_s.unwrap_or(CHUNK_S),
        nan_as_fault: options.nan_as_fault,
    };
    let detector = new_detector(rec, &config)?;
    let plan = options.segments.and_then(|s| {
        let workers = rayon::current_num_threads() as u64;
        plan_segments(&s, detector.period_s()?, duration_s, workers)
    });
    let whole = |detector| -> Result<Vec<Event>, RunError> {
        let events = stream_range(rec, detector, (0, None), None, reading)?;
        on_signal(duration_s);
        Ok(events)
    };
    let (mut events, cut) = match plan {
        None => (whole(detector)?, Cut::Whole),
        Some(plan) => match run_segments(rec, &config, &plan, duration_s, reading, on_signal)? {
            Some(events) => (events, Cut::Segments(plan.len())),
            None => (whole(new_detector(rec, &config)?)?, Cut::Rerun(plan.len())),
        },
    };
    events.extend(lengths.stream_ended());
    events.sort_by_key(|e| (e.detected_us, e.start_us));
    Ok(Outcome {
        recording: rec.clone(),
        events,
        duration_s,
        cut,
        notes,
    })
}

/// Runs the segments of `plan` in parallel and merges their events; `None` when two
/// neighbours disagree on the events of their overlap.
fn run_segments(
    rec: &Recording,
    config: &DetectorConfig,
    plan: &[Segment],
    duration_s: f64,
    reading: Reading,
    on_signal: &(dyn Fn(f64) + Sync),
) -> Result<Option<Vec<Event>>, RunError> {
    use rayon::prelude::*;
    let parts = plan
        .par_iter()
        .map(|seg| {
            let detector = new_detector(rec, config)?;
            // Fed on until the faults that start in its own part or the check have ended.
            let hold_us = seg.to_us.saturating_add(CHECK_S * 1_000_000);
            let feed = (seg.feed_from_s, seg.feed_to_s);
            let events = stream_range(rec, detector, feed, Some(hold_us), reading)?;
            let own_to_s = (seg.to_us as f64 * 1e-6).min(duration_s);
            on_signal(own_to_s - seg.from_us as f64 * 1e-6);
            let check = seg.to_us..seg.to_us.saturating_add(CHECK_S * 1_000_000);
            let (own, beyond): (Vec<Event>, Vec<Event>) = events
                .into_iter()
                .filter(|e| seg.owns(owner_us(e)) || check.contains(&owner_us(e)))
                .partition(|e| seg.owns(owner_us(e)));
            Ok((own, beyond))
        })
        .collect::<Result<Vec<_>, RunError>>()?;
    for (k, pair) in parts.windows(2).enumerate() {
        let end = plan[k].to_us.saturating_add(CHECK_S * 1_000_000);
        let next: Vec<&Event> = pair[1].0.iter().filter(|e| owner_us(e) < end).collect();
        let beyond = &pair[0].1;
        if next.len() != beyond.len() || next.iter().zip(beyond).any(|(a, b)| !same(a, b)) {
            return Ok(None);
        }
    }
    let mut events: Vec<Event> = parts.into_iter().flat_map(|(own, _)| own).collect();
    accumulate_air(&mut events, &config.air_limits);
    Ok(Some(events))
}

/// The time that says which segment an event belongs to: its start, but a slug's passage's
/// alarm time (its end). A passage is reported only once seen to its end, which may lie beyond
/// the tail of the segment it began in; the segment it ends in was fed from far enough back
/// (the warm-up, at least [`MEMORY_S`], beyond the longest passage followed) to have seen it
/// whole.
fn owner_us(e: &Event) -> u64 {
    if e.passage {
        e.detected_us
    } else {
        e.start_us
    }
}

/// Two events equal in every field, floats by their bits, but the sliding-window air total
/// and its limit (a segment sums only the air it has seen).
fn same(a: &Event, b: &Event) -> bool {
    let strip = |e: &Event| {
        let mut e = *e;
        e.features.cumulative_ul = 0.0;
        e.air_limit = None;
        format!("{e:?}")
    };
    strip(a) == strip(b)
}

/// One segment of a recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Segment {
    /// Its own part, µs: events starting in `[from_us, to_us)` are its.
    from_us: u64,
    to_us: u64,
    /// What its detector is fed, s (to the end of the recording when `None`).
    feed_from_s: u64,
    feed_to_s: Option<u64>,
}

impl Segment {
    fn owns(&self, start_us: u64) -> bool {
        (self.from_us..self.to_us).contains(&start_us)
    }
}

/// The segments of a recording `duration_s` long whose detector grids repeat every
/// `period_s`; `None` when it is too short to gain from cutting.
///
/// There are as many segments as segments of `seg.length_s` would cover it, rounded up to a
/// multiple of `workers` so that no worker idles through the last round; each is then as
/// long as that count allows (rounded up to the period). The events do not depend on it.
fn plan_segments(
    seg: &Segments,
    period_s: u64,
    duration_s: f64,
    workers: u64,
) -> Option<Vec<Segment>> {
    let round_up = |s: u64| s.div_ceil(period_s) * period_s;
    let warmup_s = round_up(seg.warmup_s);
    let wanted = (duration_s / seg.length_s.max(1) as f64).ceil() as u64;
    if wanted < 2 {
        return None;
    }
    let wanted = wanted.div_ceil(workers.max(1)) * workers.max(1);
    let length_s = round_up((duration_s / wanted as f64).ceil() as u64).max(period_s);
    let count = (duration_s / length_s as f64).ceil() as u64;
    if count < 2 {
        return None;
    }
    Some(
        (0..count)
            .map(|k| {
                let last = k + 1 == count;
                let from_s = k * length_s;
                let to_s = from_s + length_s;
                Segment {
                    from_us: if k == 0 { 0 } else { from_s * 1_000_000 },
                    to_us: if last { u64::MAX } else { to_s * 1_000_000 },
                    feed_from_s: from_s.saturating_sub(warmup_s),
                    feed_to_s: (!last).then_some(to_s + TAIL_S),
                }
            })
            .collect(),
    )
}

/// Sums the air of the sliding window again over merged events, in the order the detector
/// decides them (decision time; optical before ultrasound before a slug's passage; start),
/// as one stream would have.
fn accumulate_air(events: &mut [Event], limits: &AirLimits) {
    let mut order: Vec<usize> = (0..events.len())
        .filter(|&i| events[i].class == Class::Air && events[i].features.volume_ul.is_finite())
        .collect();
    let rank = |e: &Event| match (e.passage, e.sensor) {
        (true, _) => 2,
        (false, Sensor::Optical) => 0,
        (false, _) => 1,
    };
    order.sort_by_key(|&i| (events[i].detected_us, rank(&events[i]), events[i].start_us));
    let mut ledger = AirLedger::new(limits.window_s);
    for i in order {
        let e = &mut events[i];
        let total = ledger.add(e.start_us, e.end_us, e.features.volume_ul, e.passage);
        e.features.cumulative_ul = total;
        e.air_limit = limits.reached(e.features.volume_ul, total);
    }
}

/// Feeds a detector the recording's samples from `from_s` to `to_s` (the end when `None`),
/// and on past `to_s`, a second at a time, while a fault that started before `hold_us` (stream
/// time) has not been reported cleared.
fn stream_range(
    rec: &Recording,
    mut detector: Detector,
    (from_s, to_s): (u64, Option<u64>),
    hold_us: Option<u64>,
    reading: Reading,
) -> Result<Vec<Event>, RunError> {
    let open = |path: Option<&std::path::Path>| -> Result<Option<(WavStream, u64)>, RunError> {
        let Some(path) = path else { return Ok(None) };
        let mut s = WavStream::open(path)?;
        if reading.nan_as_fault {
            s.pass_nonfinite();
        }
        let rate = u64::from(s.info().sample_rate_hz);
        s.seek(from_s * rate)?;
        let end = to_s.map_or(s.info().frames, |t| (t * rate).min(s.info().frames));
        Ok(Some((s, end)))
    };
    let mut us = open(rec.ultrasound.as_deref())?;
    let mut opt = open(rec.optical.as_deref())?;
    detector.start_at(from_s);

    let mut events = Vec::new();
    let mut emit = |e: &Event| events.push(*e);
    let chunk = |s: &WavStream| {
        let info = s.info();
        ((reading.chunk_s * info.sample_rate_hz as f64).ceil() as usize).max(1)
            * info.channels as usize
    };
    let mut us_buf = vec![0.0f32; us.as_ref().map_or(0, |(s, _)| chunk(s))];
    let mut opt_buf = vec![0.0f32; opt.as_ref().map_or(0, |(s, _)| chunk(s))];
    // Reads the next block of a stream, up to its end frame.
    let read = |stream: &mut WavStream,
                end: &mut u64,
                detector: &Detector,
                buf: &mut [f32]|
     -> Result<usize, RunError> {
        let info = stream.info();
        if stream.frames_read() >= *end && hold_us.is_some_and(|t| detector.fault_open_since(t)) {
            *end = (*end + u64::from(info.sample_rate_hz)).min(info.frames);
        }
        let channels = info.channels as usize;
        let left = end.saturating_sub(stream.frames_read()) as usize;
        let frames = (buf.len() / channels).min(left);
        Ok(stream.read_frames(&mut buf[..frames * channels])?)
    };
    loop {
        let mut progressed = false;
        if let Some((stream, end)) = us.as_mut() {
            let frames = read(stream, end, &detector, &mut us_buf)?;
            if frames == 0 {
                us = None;
                detector.end_stream(Sensor::Ultrasound, &mut emit);
            } else {
                detector.push_ultrasound(&us_buf[..frames * 2], &mut emit);
                progressed = true;
            }
        }
        if let Some((stream, end)) = opt.as_mut() {
            let channels = stream.info().channels as usize;
            let frames = read(stream, end, &detector, &mut opt_buf)?;
            if frames == 0 {
                opt = None;
                detector.end_stream(Sensor::Optical, &mut emit);
            } else {
                detector.push_optical(&opt_buf[..frames * channels], &mut emit);
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
    }
    detector.finish(&mut emit);
    Ok(events)
}

/// Streams many recordings in parallel (rayon), in input order; `on_done` is called as each
/// finishes and `on_signal` as each segment does (for progress), from worker threads.
pub fn detect_many(
    recordings: &[Recording],
    options: &RunOptions,
    on_done: &(dyn Fn(&Recording, &Result<Outcome, RunError>) + Sync),
    on_signal: &(dyn Fn(f64) + Sync),
) -> Vec<Result<Outcome, RunError>> {
    use rayon::prelude::*;
    recordings
        .par_iter()
        .map(|rec| {
            let result = detect_recording_with(rec, options, on_signal);
            on_done(rec, &result);
            result
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The segments tile the recording's time exactly once, each fed at least the warm-up
    /// before its part and the tail after it, on the detector's grid; their number is a
    /// multiple of the workers.
    #[test]
    fn segments_tile_the_recording() {
        let seg = Segments {
            length_s: 600,
            warmup_s: 60,
        };
        for (duration_s, period_s, workers) in [
            (1800.0, 2, 2),
            (1800.5, 48, 3),
            (7201.0, 2, 8),
            (601.0, 1, 1),
        ] {
            let plan = plan_segments(&seg, period_s, duration_s, workers).unwrap();
            assert_eq!(
                plan.len() as u64 % workers,
                0,
                "{duration_s} s on {workers}"
            );
            assert_eq!(plan[0].from_us, 0);
            assert_eq!(plan.last().unwrap().to_us, u64::MAX);
            for pair in plan.windows(2) {
                assert_eq!(pair[0].to_us, pair[1].from_us);
            }
            for s in &plan {
                assert_eq!(s.feed_from_s % period_s, 0);
                assert!(
                    s.feed_from_s * 1_000_000 + seg.warmup_s * 1_000_000 <= s.from_us
                        || s.feed_from_s == 0
                );
                if let Some(to_s) = s.feed_to_s {
                    assert_eq!(to_s * 1_000_000, s.to_us + TAIL_S * 1_000_000);
                }
            }
        }
        assert!(plan_segments(&seg, 2, 600.0, 2).is_none());
    }

    /// Segments without a warm-up (each detector blind for its first seconds) disagree with
    /// their neighbours where they overlap, and the check says so; with the warm-up they
    /// agree and give the events of one stream.
    #[test]
    fn the_overlap_check_catches_a_short_warm_up() {
        use crate::sim::{simulate_dataset, Preset, SensorMix, SimOptions};
        let dir = tempfile::tempdir().unwrap();
        let options = SimOptions {
            sensors: SensorMix::Cycle,
            ..Preset::Dense.options(120.0)
        };
        simulate_dataset(dir.path(), &options, 91, 1, &|| {}).unwrap();
        let rec = &io::discover(&[dir.path().to_path_buf()]).unwrap()[0];
        let (config, lengths, _) = configure(rec, &RunOptions::default()).unwrap();
        let duration_s = lengths.duration_s();
        let period_s = new_detector(rec, &config).unwrap().period_s().unwrap();
        let plan = |warmup_s| {
            let seg = Segments {
                length_s: 10,
                warmup_s,
            };
            plan_segments(&seg, period_s, duration_s, 1).unwrap()
        };
        let run = |warmup_s| {
            run_segments(
                rec,
                &config,
                &plan(warmup_s),
                duration_s,
                Reading::DEFAULT,
                &|_| {},
            )
        };
        assert!(run(0).unwrap().is_none());
        let mut events = run(MEMORY_S).unwrap().expect("segments agree");
        events.sort_by_key(|e| (e.detected_us, e.start_us));
        let whole = detect_recording(rec, &RunOptions::default())
            .unwrap()
            .events;
        assert!(whole.len() > 20);
        let text = |v: &[Event]| v.iter().map(|e| format!("{e:?}")).collect::<Vec<_>>();
        assert_eq!(text(&events), text(&whole));
    }
}
