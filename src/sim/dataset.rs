//! A whole data set: recordings simulated in parallel, each from its own seeded stream.

use std::path::Path;

use rayon::prelude::*;

use super::options::SimOptions;
use super::recording::simulate_recording;
use crate::io;

/// What a data set run produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DatasetSummary {
    /// Recordings written.
    pub recordings: usize,
    /// Total signal length.
    pub duration_s: f64,
    /// Emboli (air and clot, one per id).
    pub emboli: usize,
    /// Of which detectable.
    pub detectable: usize,
    /// Artifacts.
    pub artifacts: usize,
}

/// Simulates recordings `0..count` of data set `seed` into `dir` (created if missing), in
/// parallel on the current rayon pool; `progress` is called once per finished recording.
/// The files are byte-identical whatever the number of threads.
pub fn simulate_dataset(
    dir: &Path,
    options: &SimOptions,
    seed: u64,
    count: u64,
    progress: &(dyn Fn() + Sync),
) -> Result<DatasetSummary, io::Error> {
    std::fs::create_dir_all(dir).map_err(|source| io::Error::Io {
        path: dir.into(),
        source,
    })?;
    let parts: Vec<Result<DatasetSummary, io::Error>> = (0..count)
        .into_par_iter()
        .map(|index| {
            let rec = simulate_recording(options, seed, index);
            rec.write(dir, options.format)?;
            progress();
            let detectable = rec
                .plan
                .emboli
                .iter()
                .filter(|e| rec.plan.detectable(e, &rec.line, options.format))
                .count();
            Ok(DatasetSummary {
                recordings: 1,
                duration_s: rec.duration_s(),
                emboli: rec.plan.emboli.len(),
                detectable,
                artifacts: rec.plan.artifacts.len(),
            })
        })
        .collect();
    let mut total = DatasetSummary::default();
    for p in parts {
        let p = p?;
        total.recordings += p.recordings;
        total.duration_s += p.duration_s;
        total.emboli += p.emboli;
        total.detectable += p.detectable;
        total.artifacts += p.artifacts;
    }
    Ok(total)
}
