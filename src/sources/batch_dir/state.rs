//! What a batch_dir source has counted, and its checkpoint on disk.
//!
//! The checkpoint holds both halves of "exactly once" in one file, replaced atomically
//! (written to a temporary file in the same directory, fsynced, renamed over the old one,
//! and the directory fsynced):
//! - `files`: for each batch file still in the directory, how many of its records were
//!   counted (and its size and mtime, so unchanged files are not read again);
//! - `series`: the cumulative totals those records produced.
//!
//! A crash before the rename leaves the previous checkpoint: the same files are read again
//! and counted once. A crash after it leaves the new one: the files are known and their
//! records are already in the totals. Either way each record is counted exactly once, and
//! after a restart the totals continue where they were (the tracker's first sighting keeps
//! them, so the exported `_total` does not go back).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use snapbridge_core::{Histogram, Labels, Sample, Snapshot};

/// Version of the checkpoint format.
const VERSION: u32 = 1;

/// What is known of one batch file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMark {
    /// Records counted (the index of the next record to count).
    pub records: u64,
    /// Size when last read.
    pub len: u64,
    /// Modification time when last read (ns since the epoch).
    pub mtime_ns: i128,
    /// The file's `batch_id` when last read: another id under the same name is another
    /// batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<String>,
}

/// Totals of one label set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Operations counted.
    pub operations: u64,
    /// Durations observed in the histogram (equal to `operations` unless the buckets
    /// changed, which restarts the histogram).
    #[serde(default)]
    pub observed: u64,
    /// Observations per bucket (not cumulative), one per bound.
    pub buckets: Vec<u64>,
    /// Sum of durations in seconds.
    pub sum: f64,
}

/// Everything counted so far.
#[derive(Clone, Debug, Default)]
pub struct State {
    /// Bucket bounds in seconds.
    pub bounds: Vec<f64>,
    /// Per batch file still in the directory.
    pub files: BTreeMap<String, FileMark>,
    /// Per label set (operation_type, operation_name, success, metadata labels).
    pub series: BTreeMap<Labels, Totals>,
}

#[derive(Serialize, Deserialize)]
struct OnDisk {
    version: u32,
    source: String,
    directory: PathBuf,
    bounds: Vec<f64>,
    files: BTreeMap<String, FileMark>,
    series: Vec<DiskSeries>,
}

#[derive(Serialize, Deserialize)]
struct DiskSeries {
    labels: BTreeMap<String, String>,
    #[serde(flatten)]
    totals: Totals,
}

impl State {
    /// An empty state with these bounds.
    pub fn new(bounds: Vec<f64>) -> Self {
        State {
            bounds,
            ..State::default()
        }
    }

    /// Counts one operation.
    pub fn add(&mut self, labels: Labels, seconds: f64) {
        let n = self.bounds.len();
        let t = self.series.entry(labels).or_insert_with(|| Totals {
            buckets: vec![0; n],
            ..Totals::default()
        });
        t.operations += 1;
        t.observed += 1;
        t.sum += seconds;
        if let Some(i) = self.bounds.iter().position(|b| seconds <= *b) {
            t.buckets[i] += 1;
        }
    }

    /// The totals as a snapshot: `operations` (counter) and `operation_duration` (histogram
    /// in seconds) per label set.
    pub fn snapshot(&self) -> Snapshot {
        let mut snap = Snapshot::with_capacity(self.series.len() * 2);
        for (labels, t) in &self.series {
            let mut ops = Sample::counter("operations", t.operations)
                .with_description("Operations recorded in batch files");
            ops.key.labels = labels.clone();
            snap.push(ops);
            let mut running = 0;
            let counts = t
                .buckets
                .iter()
                .map(|c| {
                    running += c;
                    running
                })
                .collect();
            let h = Histogram::from_parts(self.bounds.clone(), counts, t.observed, t.sum);
            let mut dur = Sample::histogram("operation_duration", h)
                .with_unit("s")
                .with_description("Duration of the operations recorded in batch files");
            dur.key.labels = labels.clone();
            snap.push(dur);
        }
        snap
    }

    /// Loads a checkpoint; `Ok(None)` when there is none yet. When the bounds changed since
    /// it was written, the histograms start again (a change of bounds is a reset) while
    /// the operation counts are kept.
    pub fn load(path: &Path, bounds: &[f64]) -> Result<Option<State>, String> {
        let text = match fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(format!(
                    "cannot read the checkpoint {}: {e}",
                    path.display()
                ));
            }
        };
        let disk: OnDisk = serde_json::from_slice(&text).map_err(|e| {
            format!(
                "the checkpoint {} is unreadable ({e}); nothing is counted until it is fixed or moved away (moving it away counts every batch file again)",
                path.display()
            )
        })?;
        if disk.version != VERSION {
            return Err(format!(
                "the checkpoint {} has version {}, this snapbridge reads version {VERSION}",
                path.display(),
                disk.version
            ));
        }
        let same_bounds = disk.bounds == bounds;
        if !same_bounds {
            tracing::warn!(checkpoint = %path.display(), "histogram buckets changed: operation_duration starts again");
        }
        let mut state = State::new(bounds.to_vec());
        state.files = disk.files;
        for s in disk.series {
            let mut totals = s.totals;
            if !same_bounds || totals.buckets.len() != bounds.len() {
                totals.buckets = vec![0; bounds.len()];
                totals.sum = 0.0;
                totals.observed = 0;
            }
            state.series.insert(Labels::from_pairs(s.labels), totals);
        }
        Ok(Some(state))
    }

    /// Writes the checkpoint atomically (temp file, fsync, rename, fsync of the directory).
    pub fn save(&self, path: &Path, source: &str, directory: &Path) -> Result<(), String> {
        let disk = OnDisk {
            version: VERSION,
            source: source.to_string(),
            directory: directory.to_path_buf(),
            bounds: self.bounds.clone(),
            files: self.files.clone(),
            series: self
                .series
                .iter()
                .map(|(labels, totals)| DiskSeries {
                    labels: labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    totals: totals.clone(),
                })
                .collect(),
        };
        let bytes =
            serde_json::to_vec(&disk).map_err(|e| format!("cannot encode the checkpoint: {e}"))?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let fail = |what: &str, e: std::io::Error| {
            format!("cannot {what} the checkpoint {}: {e}", path.display())
        };
        let result = (|| {
            let mut f = File::create(&tmp).map_err(|e| fail("create a temporary file for", e))?;
            f.write_all(&bytes).map_err(|e| fail("write", e))?;
            f.sync_all().map_err(|e| fail("sync", e))?;
            fs::rename(&tmp, path).map_err(|e| fail("rename over", e))?;
            if let Ok(d) = File::open(&dir) {
                let _ = d.sync_all();
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bucket_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        assert!(State::load(&path, &[1.0]).unwrap().is_none());
        let mut s = State::new(vec![0.1, 1.0]);
        let l = Labels::from_pairs([("operation_type", "db"), ("success", "true")]);
        s.add(l.clone(), 0.05);
        s.add(l.clone(), 5.0);
        s.files.insert(
            "metrics_20250101_000000_000001.json".into(),
            FileMark {
                records: 2,
                len: 10,
                mtime_ns: 1,
                batch_id: Some("20250101_000000_000001".into()),
            },
        );
        s.save(&path, "ops", dir.path()).unwrap();
        let back = State::load(&path, &[0.1, 1.0]).unwrap().unwrap();
        assert_eq!(back.series[&l], s.series[&l]);
        assert_eq!(back.files, s.files);
        let snap = back.snapshot();
        assert_eq!(snap.len(), 2);
        let rebucketed = State::load(&path, &[0.5]).unwrap().unwrap();
        assert_eq!(rebucketed.series[&l].operations, 2);
        assert_eq!(rebucketed.series[&l].buckets, vec![0]);
        fs::write(&path, "{broken").unwrap();
        assert!(
            State::load(&path, &[1.0])
                .unwrap_err()
                .contains("unreadable")
        );
    }
}
