//! Reading and writing the recording, label and event formats of `shared/spec/recordings.md`.
//!
//! Every function names the file in its error: a recording set is hundreds of files, and an
//! error without a path is useless on the command line. Every output is written atomically
//! (temporary file in the same directory, fsync, rename), so an interrupted run never leaves a
//! half-written file that looks complete.

mod atomic;
mod error;
mod events;
mod labels;
mod recording;
mod sidecar;
mod wav;

pub use atomic::write_atomic;
pub use error::Error;
pub use events::{read_events, write_events, EventRow};
pub use labels::{read_labels, write_labels, Label};
pub use recording::{discover, Recording};
pub use sidecar::{read_sidecar, write_sidecar, write_sidecar_with_extra, Sidecar};
pub use wav::{
    write_wav, SampleFormat, WavInfo, WavStream, MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ,
};
