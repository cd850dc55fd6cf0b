//! Detector output: `NAME.events.csv`.

use std::path::Path;

use super::labels::csv_problem;
use super::{write_atomic, Error};
use crate::event::{AirLimit, Class, Event};

/// The columns [`write_events`] writes, in order: the spec's six, then the features.
const COLUMNS: [&str; 16] = [
    "class",
    "start_s",
    "end_s",
    "detected_s",
    "confidence",
    "sensor",
    "ebr_db",
    "duration_ms",
    "peak_hz",
    "optical_delta",
    "volume_ul",
    "fault",
    "cumulative_ul",
    "air_limit",
    "passage",
    "cleared",
];

/// Integer microseconds as seconds with exactly 6 decimals, without going through floating
/// point.
fn seconds(us: u64) -> String {
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

/// A feature: the shortest decimal that reads back to the same `f32`; NaN is an empty cell.
fn feature(x: f32) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        String::new()
    }
}

/// Writes detected events as CSV, atomically, in order of `detected_s` (stable: events with
/// the same alarm time keep their order).
pub fn write_events(path: &Path, events: &[Event]) -> Result<(), Error> {
    let mut order: Vec<&Event> = events.iter().collect();
    order.sort_by_key(|e| e.detected_us);
    write_atomic(path, |w| {
        writeln!(w, "{}", COLUMNS.join(","))?;
        for e in order {
            let f = &e.features;
            writeln!(
                w,
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                e.class.as_str(),
                seconds(e.start_us),
                seconds(e.end_us),
                seconds(e.detected_us),
                feature(e.confidence),
                e.sensor.as_str(),
                feature(f.ebr_db),
                feature(f.duration_ms),
                feature(f.peak_hz),
                feature(f.optical_delta),
                feature(f.volume_ul),
                e.fault.map(|k| k.as_str()).unwrap_or(""),
                feature(f.cumulative_ul),
                e.air_limit.map(|l| l.as_str()).unwrap_or(""),
                if e.passage { "1" } else { "" },
                if e.cleared { "1" } else { "" },
            )?;
        }
        Ok(())
    })
}

/// One row of an events CSV, as an outside tool sees it: the spec's required columns.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    /// `air`, `clot`, `artifact` or `fault`.
    pub class: Class,
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// Alarm time, seconds.
    pub detected_s: f64,
    /// 0..1.
    pub confidence: f64,
    /// `ultrasound`, `optical` or `both` (kept as written).
    pub sensor: String,
    /// Estimated gas volume, µL: NaN when the column is absent or empty.
    pub volume_ul: f64,
    /// Whether `air_limit` names the single-bubble limit.
    pub single_limit: bool,
    /// Whether `passage` is 1: a slug's whole volume once it has passed, after its alarm
    /// (see [`Event::passage`]).
    pub passage: bool,
    /// The `fault` column (`reversed_flow`, `nan`, ...): empty when there is none.
    pub fault: String,
    /// Whether `cleared` is 1: a fault's end, after the row of its start (see
    /// [`Event::cleared`]).
    pub cleared: bool,
}

/// Reads an events CSV: columns `class,start_s,end_s,detected_s,confidence,sensor` required,
/// in any order; others ignored. Every error names the file and the line.
pub fn read_events(path: &Path) -> Result<Vec<EventRow>, Error> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let err = |line: Option<u64>, problem: String| Error::Events {
        path: path.into(),
        line,
        problem,
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(std::io::BufReader::new(file));
    let headers = reader
        .headers()
        .map_err(|e| err(Some(1), csv_problem(&e)))?
        .clone();
    let mut cols = [0usize; 6];
    for (c, name) in cols.iter_mut().zip(&COLUMNS[..6]) {
        *c = headers
            .iter()
            .position(|h| h == *name)
            .ok_or_else(|| err(Some(1), format!("missing column \"{name}\"")))?;
    }
    let optional = |name: &str| headers.iter().position(|h| h == name);
    let (volume_col, limit_col) = (optional("volume_ul"), optional("air_limit"));
    let (passage_col, fault_col) = (optional("passage"), optional("fault"));
    let cleared_col = optional("cleared");
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| err(e.position().map(|p| p.line()), csv_problem(&e)))?;
        let line = record.position().map(|p| p.line());
        let get = |i: usize| record.get(cols[i]).unwrap_or("");
        let number = |i: usize| -> Result<f64, Error> {
            get(i)
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| {
                    err(
                        line,
                        format!("{} \"{}\" is not a finite number", COLUMNS[i], get(i)),
                    )
                })
        };
        let class = Class::parse(get(0)).ok_or_else(|| {
            err(
                line,
                format!(
                    "unknown class \"{}\" (air, clot, artifact or fault)",
                    get(0)
                ),
            )
        })?;
        let (start_s, end_s, detected_s, confidence) =
            (number(1)?, number(2)?, number(3)?, number(4)?);
        if start_s > end_s {
            return Err(err(
                line,
                format!("start_s {start_s} is after end_s {end_s}"),
            ));
        }
        rows.push(EventRow {
            class,
            start_s,
            end_s,
            detected_s,
            confidence,
            sensor: get(5).to_owned(),
            volume_ul: volume_col
                .and_then(|c| record.get(c))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(f64::NAN),
            single_limit: limit_col
                .and_then(|c| record.get(c))
                .and_then(AirLimit::parse)
                .is_some_and(AirLimit::single),
            passage: passage_col.and_then(|c| record.get(c)) == Some("1"),
            cleared: cleared_col.and_then(|c| record.get(c)) == Some("1"),
            fault: fault_col
                .and_then(|c| record.get(c))
                .unwrap_or("")
                .to_owned(),
        });
    }
    Ok(rows)
}
