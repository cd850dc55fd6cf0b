//! The one error type of the file formats: every variant names the file.

use std::path::PathBuf;

/// A problem with a recording, label, event or sidecar file. Every variant carries the path,
/// and its message says what is wrong in words a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file does not exist.
    #[error("{path}: no such file")]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// Any other operating-system error while opening, reading, writing or renaming.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// Not a WAV file at all, or its header is corrupt.
    #[error("{path}: not a WAV file or corrupt header ({reason})")]
    NotWav {
        /// The file.
        path: PathBuf,
        /// What the WAV parser said.
        reason: String,
    },
    /// The data chunk ends before the length its header announces.
    #[error("{path}: truncated: the header announces {frames_expected} frames, the data ends after {frames_read}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Complete frames read before the end.
        frames_read: u64,
        /// Frames announced by the header.
        frames_expected: u64,
    },
    /// The channel count does not fit the file's role.
    #[error("{path}: {channels} channel{}, expected {expected}", if *.channels == 1 { "" } else { "s" })]
    ChannelCount {
        /// The file.
        path: PathBuf,
        /// Channels in the file.
        channels: u16,
        /// What the format allows, in words.
        expected: &'static str,
    },
    /// A sample format other than 16/24-bit integer or 32-bit float.
    #[error("{path}: unsupported sample format {bits}-bit {kind} (only 16-bit int, 24-bit int and 32-bit float)")]
    SampleFormat {
        /// The file.
        path: PathBuf,
        /// Bits per sample.
        bits: u16,
        /// `int` or `float`.
        kind: &'static str,
    },
    /// A sample rate outside 250 Hz..96 kHz.
    #[error("{path}: sample rate {rate_hz} Hz outside {min_hz}..{max_hz} Hz")]
    SampleRate {
        /// The file.
        path: PathBuf,
        /// The rate in the header.
        rate_hz: u32,
        /// Lowest rate accepted.
        min_hz: u32,
        /// Highest rate accepted.
        max_hz: u32,
    },
    /// A NaN or infinite sample in a float WAV (or handed to the writer).
    #[error(
        "{path}: non-finite sample {value} at frame {frame} (t = {time_s:.6} s), channel {channel}"
    )]
    NotFinite {
        /// The file.
        path: PathBuf,
        /// Frame index from the start of the file.
        frame: u64,
        /// The frame's time, frame / sample rate.
        time_s: f64,
        /// The channel.
        channel: u16,
        /// The value, NaN or ±inf.
        value: f32,
    },
    /// Arguments to a writer that cannot make a valid file.
    #[error("{path}: cannot write: {problem}")]
    BadWrite {
        /// The file.
        path: PathBuf,
        /// What is wrong with the arguments.
        problem: String,
    },
    /// The sidecar JSON does not parse or a key has a value of the wrong type or range.
    #[error("{path}: bad JSON sidecar: {problem}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A labels CSV that breaks the format.
    #[error("{path}: bad labels CSV{}: {problem}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Labels {
        /// The file.
        path: PathBuf,
        /// 1-based line in the file (the header is line 1), when the problem is in one row.
        line: Option<u64>,
        /// What is wrong.
        problem: String,
    },
    /// An events CSV that breaks the format.
    #[error("{path}: bad events CSV{}: {problem}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Events {
        /// The file.
        path: PathBuf,
        /// 1-based line in the file (the header is line 1), when the problem is in one row.
        line: Option<u64>,
        /// What is wrong.
        problem: String,
    },
    /// A path given as a recording that has neither `NAME.ultrasound.wav` nor `NAME.optical.wav`
    /// (or a directory that holds no recording).
    #[error(
        "{path}: no recording found (a recording needs NAME.ultrasound.wav or NAME.optical.wav)"
    )]
    NoRecording {
        /// The path as given.
        path: PathBuf,
    },
}

impl Error {
    /// The file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            Error::Missing { path }
            | Error::Io { path, .. }
            | Error::NotWav { path, .. }
            | Error::Truncated { path, .. }
            | Error::ChannelCount { path, .. }
            | Error::SampleFormat { path, .. }
            | Error::SampleRate { path, .. }
            | Error::NotFinite { path, .. }
            | Error::BadWrite { path, .. }
            | Error::Json { path, .. }
            | Error::Labels { path, .. }
            | Error::Events { path, .. }
            | Error::NoRecording { path } => path,
        }
    }

    /// An I/O error, turned into [`Error::Missing`] when the file is not there.
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            Error::Missing {
                path: path.to_path_buf(),
            }
        } else {
            Error::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    }
}
