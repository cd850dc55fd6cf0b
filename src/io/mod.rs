//! Reading and writing the recording, label and event formats of `shared/spec/recordings.md`.
