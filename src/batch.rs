//! Splitting a recording set across independent jobs: `--shard I/N`, `--manifest FILE` and
//! `--resume` of `clotair detect`. See `docs/batch.md` for Slurm and Kubernetes recipes.
//!
//! Shards are *strided*: after sorting by base path, shard `I` of `N` takes every recording
//! whose 0-based index `k` satisfies `k % N == I - 1`. Striding rather than contiguous blocks
//! keeps shards balanced when the names group recordings of similar length (a night's files
//! named by time, one machine's files sharing a prefix), and a shard's list depends only on the
//! sorted set and `N`, so the shards of one set cover it exactly once.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// One shard of a set: `index` in `1..=count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 1-based, as Slurm's `SLURM_ARRAY_TASK_ID` with `--array=1-N`.
    pub index: usize,
    /// How many shards the set is cut into.
    pub count: usize,
}

impl Shard {
    /// The whole set as one shard.
    pub const ALL: Shard = Shard { index: 1, count: 1 };

    /// Whether the recording at 0-based position `k` of the sorted set belongs to this shard.
    pub fn takes(&self, k: usize) -> bool {
        k % self.count == self.index - 1
    }

    /// The items of `sorted` that belong to this shard, in order.
    pub fn select<T>(&self, sorted: Vec<T>) -> Vec<T> {
        sorted
            .into_iter()
            .enumerate()
            .filter(|(k, _)| self.takes(*k))
            .map(|(_, x)| x)
            .collect()
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// Parses `I/N` with `1 <= I <= N`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("shard \"{s}\": expected I/N with 1 <= I <= N, e.g. 3/8");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// A problem with a manifest, naming the file (and line).
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The manifest cannot be read.
    #[error("{path}: cannot read manifest: {source}")]
    Read {
        /// The manifest.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The manifest lists nothing.
    #[error("{path}: manifest lists no recording (one path per line, # starts a comment)")]
    Empty {
        /// The manifest.
        path: PathBuf,
    },
}

/// Reads a manifest: one recording path per line (a base path `DIR/NAME`, any of its files, or
/// a directory); blank lines and lines starting with `#` are skipped, surrounding whitespace is
/// trimmed. Relative paths are taken relative to the manifest's own directory, so a manifest
/// travels with the data it lists.
pub fn read_manifest(path: &Path) -> Result<Vec<PathBuf>, ManifestError> {
    let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
        path: path.into(),
        source,
    })?;
    let dir = path.parent().unwrap_or(Path::new(""));
    let entries: Vec<PathBuf> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| dir.join(l))
        .collect();
    if entries.is_empty() {
        return Err(ManifestError::Empty { path: path.into() });
    }
    Ok(entries)
}

/// Where `detect` writes the events of recording `name`. The file is written atomically
/// (temporary file, fsync, rename), so its existence means it is complete: `--resume` skips
/// every recording whose events file exists.
pub fn events_path(out: &Path, name: &str) -> PathBuf {
    out.join(format!("{name}.events.csv"))
}

/// File in an output folder naming the detector settings its events were made with, so that
/// `--resume` never mixes events made with different settings.
pub const SETTINGS_FILE: &str = "clotair-settings.txt";

/// The settings that decide a run's events, as text: the crate version, the thresholds and
/// limits, and a digest of the classifier's tree. (How recordings are cut into segments is
/// not part of it: the events do not depend on it.)
pub fn settings_text(options: &crate::run::RunOptions) -> String {
    let config = options.base.unwrap_or_default();
    let tree = format!("{:?}", crate::detect::model::TREES);
    // FNV-1a: a digest that is the same on every machine and build.
    let digest = tree.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!(
        "clotair {}\nultrasound {:?}\noptical {:?}\nair limits {:?}\nrules only {}\ntree {digest:016x}\n",
        env!("CARGO_PKG_VERSION"),
        config.ultrasound,
        config.optical,
        config.air_limits,
        config.rules_only,
    )
}

/// Checks the settings an output folder's events were made with against `settings`: with
/// `resume`, a folder whose events were made with other settings is refused; otherwise (or
/// when the folder has none yet) the settings file is (re)written.
pub fn check_settings(out: &Path, settings: &str, resume: bool) -> Result<(), String> {
    let path = out.join(SETTINGS_FILE);
    if resume {
        match std::fs::read_to_string(&path) {
            Ok(old) if old == settings => return Ok(()),
            Ok(_) => {
                return Err(format!(
                    "{}: the events in {} were made with other detector settings; --resume \
                     would mix them with new ones: delete the folder or run without --resume",
                    path.display(),
                    out.display()
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
    }
    crate::io::write_atomic(&path, |w| w.write_all(settings.as_bytes())).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_parses_and_rejects() {
        assert_eq!("2/5".parse::<Shard>(), Ok(Shard { index: 2, count: 5 }));
        for bad in ["0/3", "4/3", "1/0", "x/2", "3", "1/2/3", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn shards_cover_the_set_once() {
        for n in 1..6 {
            let mut seen: Vec<usize> = (1..=n)
                .flat_map(|i| Shard { index: i, count: n }.select((0..13).collect()))
                .collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..13).collect::<Vec<_>>());
        }
    }

    #[test]
    fn manifest_skips_comments_and_resolves_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("list.txt");
        std::fs::write(&m, "# night 1\n\n  a/rec1  \n/abs/rec2\n#x\n").unwrap();
        assert_eq!(
            read_manifest(&m).unwrap(),
            vec![dir.path().join("a/rec1"), PathBuf::from("/abs/rec2")]
        );
        std::fs::write(&m, "# nothing\n").unwrap();
        assert!(read_manifest(&m)
            .unwrap_err()
            .to_string()
            .contains("list.txt"));
        let missing = dir.path().join("nope.txt");
        assert!(read_manifest(&missing)
            .unwrap_err()
            .to_string()
            .contains("nope.txt"));
    }
}
