//! Finding recordings: a base path `DIR/NAME`, any one of its files, or a directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Error;

/// The file-name suffixes of a recording's files, in the order of [`Recording`]'s fields.
const ULTRASOUND: &str = ".ultrasound.wav";
const OPTICAL: &str = ".optical.wav";
const SIDECAR: &str = ".json";
const LABELS: &str = ".labels.csv";
/// Suffixes that identify a file as part of recording `NAME` (the detector's output too, so
/// that `clotair plot out/NAME.events.csv` finds the recording).
const SUFFIXES: [&str; 5] = [ULTRASOUND, OPTICAL, LABELS, ".events.csv", SIDECAR];

/// The files of one recording `DIR/NAME`; the ones that exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recording {
    /// `NAME`.
    pub name: String,
    /// `DIR/NAME`.
    pub base: PathBuf,
    /// `DIR/NAME.ultrasound.wav`.
    pub ultrasound: Option<PathBuf>,
    /// `DIR/NAME.optical.wav`.
    pub optical: Option<PathBuf>,
    /// `DIR/NAME.json`.
    pub sidecar: Option<PathBuf>,
    /// `DIR/NAME.labels.csv`.
    pub labels: Option<PathBuf>,
}

impl Recording {
    /// The recording at base path `DIR/NAME`, if it has at least one of the two WAVs.
    pub fn at_base(base: &Path) -> Option<Recording> {
        let name = base.file_name()?.to_string_lossy().into_owned();
        let with = |suffix: &str| {
            let mut p = base.as_os_str().to_owned();
            p.push(suffix);
            let p = PathBuf::from(p);
            p.is_file().then_some(p)
        };
        let recording = Recording {
            name,
            base: base.to_path_buf(),
            ultrasound: with(ULTRASOUND),
            optical: with(OPTICAL),
            sidecar: with(SIDECAR),
            labels: with(LABELS),
        };
        (recording.ultrasound.is_some() || recording.optical.is_some()).then_some(recording)
    }
}

/// `NAME` when `file_name` ends in one of a recording's suffixes.
fn strip_suffix(file_name: &str) -> Option<&str> {
    SUFFIXES
        .iter()
        .find_map(|s| file_name.strip_suffix(s))
        .filter(|n| !n.is_empty())
}

/// Resolves command-line inputs to recordings: each input is a base path `DIR/NAME`, any one of
/// its files, or a directory (every recording in it, sorted by name). Recordings named twice
/// are listed once, in first-seen order. An input with no recording is an error naming it.
pub fn discover(inputs: &[PathBuf]) -> Result<Vec<Recording>, Error> {
    let mut found: Vec<Recording> = Vec::new();
    let mut push = |r: Recording| {
        if !found.iter().any(|f| f.base == r.base) {
            found.push(r);
        }
    };
    for input in inputs {
        if input.is_dir() {
            let mut bases = BTreeMap::new();
            let entries = std::fs::read_dir(input).map_err(|e| Error::io(input, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| Error::io(input, e))?;
                let file_name = entry.file_name().to_string_lossy().into_owned();
                let name = file_name
                    .strip_suffix(ULTRASOUND)
                    .or_else(|| file_name.strip_suffix(OPTICAL));
                if let Some(name) = name.filter(|n| !n.is_empty() && !n.starts_with('.')) {
                    bases.insert(name.to_owned(), input.join(name));
                }
            }
            let before = bases.len();
            for base in bases.into_values() {
                if let Some(r) = Recording::at_base(&base) {
                    push(r);
                }
            }
            if before == 0 {
                return Err(Error::NoRecording {
                    path: input.clone(),
                });
            }
            continue;
        }
        let from_file = input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .and_then(|n| strip_suffix(&n).map(|name| input.with_file_name(name)))
            .and_then(|base| Recording::at_base(&base));
        match from_file.or_else(|| Recording::at_base(input)) {
            Some(r) => push(r),
            None => {
                return Err(Error::NoRecording {
                    path: input.clone(),
                })
            }
        }
    }
    Ok(found)
}
