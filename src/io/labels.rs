//! Ground truth: `NAME.labels.csv`.

use std::path::Path;

use super::{write_atomic, Error};
use crate::event::Class;

/// Slack when checking that label times lie inside the recording: labels are written with
/// 6 decimals and WAV lengths are whole samples, so a label may end a fraction of a sample
/// after the last one.
const TIME_SLACK_S: f64 = 1e-3;

/// One labelled event at one sensor (`recordings.md`, "Labels"). The optional fields are the
/// spec's optional columns plus three of the simulator's own: `kind`, `velocity_m_s` and
/// `optical_snr_db`.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    /// [`Class::Air`], [`Class::Clot`] or [`Class::Artifact`].
    pub class: Class,
    /// Start at this sensor, seconds from the start of the recording.
    pub start_s: f64,
    /// End at this sensor.
    pub end_s: f64,
    /// One physical event seen at several sensors shares one id.
    pub id: Option<String>,
    /// `ultrasound`, `optical`, or for artifacts a free word (the simulator writes `both`).
    pub sensor: Option<String>,
    /// Equivalent spherical diameter.
    pub size_um: Option<f64>,
    /// Embolus-to-blood ratio.
    pub ebr_db: Option<f64>,
    /// `false` when no sensor can show the event; scorers skip it as a positive.
    pub detectable: Option<bool>,
    /// What it is in more detail (simulator: `micro`, `bubble`, `slug`, `shower`, `clot`,
    /// `knock`, `diathermy`, `coupling_loss`, `speckle`, `hct_change`, `ambient`, `reseat`).
    pub kind: Option<String>,
    /// The embolus's true speed along the tube.
    pub velocity_m_s: Option<f64>,
    /// The optical change as an ideal observer sees it: matched-filter signal-to-noise ratio
    /// against the white sensor noise, both wavelengths (the optical counterpart of
    /// `ebr_db`, which is an energy over the blood's spectral density).
    pub optical_snr_db: Option<f64>,
}

impl Label {
    /// A label with only the required columns.
    pub fn new(class: Class, start_s: f64, end_s: f64) -> Self {
        Label {
            class,
            start_s,
            end_s,
            id: None,
            sensor: None,
            size_um: None,
            ebr_db: None,
            detectable: None,
            kind: None,
            velocity_m_s: None,
            optical_snr_db: None,
        }
    }
}

/// The columns [`write_labels`] writes, in order.
const COLUMNS: [&str; 11] = [
    "class",
    "start_s",
    "end_s",
    "id",
    "sensor",
    "size_um",
    "ebr_db",
    "detectable",
    "kind",
    "velocity_m_s",
    "optical_snr_db",
];

/// Reads a labels CSV. Required columns `class,start_s,end_s`; the optional ones in any order;
/// unknown columns ignored; empty optional cells are `None`. With `duration_s`, labels that
/// reach outside `0..duration_s` are errors. Every error names the file and the line.
pub fn read_labels(path: &Path, duration_s: Option<f64>) -> Result<Vec<Label>, Error> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let err = |line: Option<u64>, problem: String| Error::Labels {
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
    let col = |name: &str| headers.iter().position(|h| h == name);
    let required =
        |name: &str| col(name).ok_or_else(|| err(Some(1), format!("missing column \"{name}\"")));
    let (c_class, c_start, c_end) = (required("class")?, required("start_s")?, required("end_s")?);
    let [c_id, c_sensor, c_size, c_ebr, c_det, c_kind, c_vel, c_osnr] = [
        "id",
        "sensor",
        "size_um",
        "ebr_db",
        "detectable",
        "kind",
        "velocity_m_s",
        "optical_snr_db",
    ]
    .map(col);

    let mut labels = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| err(e.position().map(|p| p.line()), csv_problem(&e)))?;
        let line = record.position().map(|p| p.line());
        let cell = |c: Option<usize>| c.and_then(|c| record.get(c)).filter(|s| !s.is_empty());
        let number = |c: Option<usize>, name: &str| -> Result<Option<f64>, Error> {
            match cell(c) {
                None => Ok(None),
                Some(s) => match s.parse::<f64>() {
                    Ok(x) if x.is_finite() => Ok(Some(x)),
                    _ => Err(err(line, format!("{name} \"{s}\" is not a finite number"))),
                },
            }
        };
        let word = cell(Some(c_class)).unwrap_or("");
        let class = match Class::parse(word) {
            Some(c @ (Class::Air | Class::Clot | Class::Artifact)) => c,
            _ => {
                return Err(err(
                    line,
                    format!("unknown class \"{word}\" (air, clot or artifact)"),
                ))
            }
        };
        let start_s =
            number(Some(c_start), "start_s")?.ok_or_else(|| err(line, "empty start_s".into()))?;
        let end_s = number(Some(c_end), "end_s")?.ok_or_else(|| err(line, "empty end_s".into()))?;
        if start_s > end_s {
            return Err(err(
                line,
                format!("start_s {start_s} is after end_s {end_s}"),
            ));
        }
        if start_s < 0.0 {
            return Err(err(
                line,
                format!("start_s {start_s} is before the start of the recording"),
            ));
        }
        if let Some(d) = duration_s {
            if end_s > d + TIME_SLACK_S {
                return Err(err(
                    line,
                    format!("end_s {end_s} is after the end of the recording ({d:.6} s)"),
                ));
            }
        }
        let detectable = match cell(c_det) {
            None => None,
            Some("1" | "true" | "yes") => Some(true),
            Some("0" | "false" | "no") => Some(false),
            Some(s) => return Err(err(line, format!("detectable \"{s}\" is not 0 or 1"))),
        };
        labels.push(Label {
            class,
            start_s,
            end_s,
            id: cell(c_id).map(str::to_owned),
            sensor: cell(c_sensor).map(str::to_owned),
            size_um: number(c_size, "size_um")?,
            ebr_db: number(c_ebr, "ebr_db")?,
            detectable,
            kind: cell(c_kind).map(str::to_owned),
            velocity_m_s: number(c_vel, "velocity_m_s")?,
            optical_snr_db: number(c_osnr, "optical_snr_db")?,
        });
    }
    Ok(labels)
}

/// A csv error without the position (which [`Error::Labels`] carries itself).
pub(super) fn csv_problem(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("{len} fields where the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".into(),
        _ => e.to_string(),
    }
}

/// Writes labels as CSV, atomically: all eleven columns, empty cells for `None`, times with
/// 6 decimals (µs).
pub fn write_labels(path: &Path, labels: &[Label]) -> Result<(), Error> {
    write_atomic(path, |w| {
        writeln!(w, "{}", COLUMNS.join(","))?;
        for l in labels {
            let opt = |x: Option<f64>, decimals: usize| {
                x.map(|x| format!("{x:.decimals$}")).unwrap_or_default()
            };
            writeln!(
                w,
                "{},{:.6},{:.6},{},{},{},{},{},{},{},{}",
                l.class.as_str(),
                l.start_s,
                l.end_s,
                csv_word(l.id.as_deref()),
                csv_word(l.sensor.as_deref()),
                opt(l.size_um, 1),
                opt(l.ebr_db, 2),
                l.detectable
                    .map(|d| if d { "1" } else { "0" })
                    .unwrap_or(""),
                csv_word(l.kind.as_deref()),
                opt(l.velocity_m_s, 6),
                opt(l.optical_snr_db, 2),
            )?;
        }
        Ok(())
    })
}

/// A free-text cell, quoted when it holds a comma, quote or line break.
pub(super) fn csv_word(s: Option<&str>) -> String {
    match s {
        None => String::new(),
        Some(s) if s.contains([',', '"', '\n', '\r']) => format!("\"{}\"", s.replace('"', "\"\"")),
        Some(s) => s.to_owned(),
    }
}
