//! Atomic file output: a reader never sees a half-written file.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::Error;

/// Writes a file atomically: `write` fills a temporary file in the same directory, which is
/// flushed, fsynced and renamed over `path`. On any error the temporary file is removed and
/// `path` is untouched.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("hello.txt");
/// clotair::io::write_atomic(&path, |w| w.write_all(b"hello\n")).unwrap();
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "hello\n");
/// ```
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), Error> {
    with_temp_file(path, |file| {
        let mut out = BufWriter::new(file);
        write(&mut out)?;
        out.flush()?;
        Ok(())
    })
}

/// The temporary-file-then-rename dance, for writers that need the `File` itself (a WAV
/// writer seeks back to patch the header).
pub(crate) fn with_temp_file(
    path: &Path,
    write: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<(), Error> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut file = File::create(&tmp)?;
        write(&mut file)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if let Err(source) = result {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(path, source));
    }
    Ok(())
}

/// `DIR/.NAME.PID.N.tmp`: hidden, unique per process and call, in the target's directory so
/// that the rename stays on one file system.
fn temp_path(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp_name = format!(".{name}.{}.{n}.tmp", std::process::id());
    match path.parent() {
        Some(dir) => dir.join(tmp_name),
        None => PathBuf::from(tmp_name),
    }
}
