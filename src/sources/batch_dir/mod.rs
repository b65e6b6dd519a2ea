//! `kind = "batch_dir"`: a directory of batch files of operation records, each record
//! counted once.
//!
//! Some applications record each operation they run (a query, an API call) and an async
//! writer flushes the records in batches: `metrics_YYYYMMDD_HHMMSS_micro.json` files
//! (written to a temporary file and renamed), each `{"records": [{"operation_type",
//! "operation_name", "duration_ms", "success", "metadata", ...}], "batch_id",
//! "total_records"}`. Records are events, not a snapshot: this source turns them into
//! cumulative totals,
//! `operations{operation_type, operation_name, success}` (a counter, exported as
//! `operations_total`) and `operation_duration` (a histogram in seconds, exported as
//! `operation_duration_seconds_*`), and hands those totals to the pipeline as a snapshot.
//!
//! What identifies "already counted": the file name, its `batch_id`, and the index of the
//! record in it (a file replaced by another batch under the same name counts from 0).
//! Names carry the writer's timestamp but files may appear out of order (two writers, a
//! slow rename), so there is no high-water mark: every file still in the directory has an
//! entry (records counted, size, mtime). A file seen again unchanged is not read; one that
//! grew is read from its first uncounted record. Entries of files deleted from the directory
//! (the writer's retention cleanup) are dropped, so the checkpoint stays as small as the
//! directory. A file deleted before snapbridge ever read it is lost to it.
//!
//! A file that does not parse (a writer that is not atomic, a broken file) is not marked:
//! it is reported once per version as a rejection and read again when it changes. A record
//! without `operation_type`/`operation_name` or with a bad `duration_ms` is skipped and
//! reported, and counts nowhere (so the histogram count equals `operations_total`).
//! Metadata keys become labels only when listed in `metadata_labels` (metadata values are
//! often unbounded), and never when on the deny-list (refused by the config check).
//!
//! The checkpoint and its atomic replacement are described in `state.rs`. A checkpoint that
//! cannot be written fails the snapshot and nothing of that pull is counted (the in-memory
//! totals move only after the checkpoint is on disk), so a restart cannot count twice.

mod config;
mod state;

pub use config::BatchDirConfig;

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value as Json};
use snapbridge_core::{Labels, SourceError};

use super::document::entry::describe;
use super::{Busy, DEFAULT_MAX_BYTES, FileStamp, PullFuture, Pulled, Rejection, Source, SourceConfig};
use crate::limits::MAX_LABEL_VALUE_BYTES;
use crate::text::shorten;
use state::{FileMark, State};

/// Default bucket bounds (seconds): 1 ms to 10 s, for API requests and queries.
pub const DEFAULT_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Batch files read in one pull at most; a backlog is worked off over several cycles.
const MAX_FILES_PER_PULL: usize = 500;

/// A directory of batch files.
pub struct BatchDirSource {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    dir: PathBuf,
    checkpoint: PathBuf,
    // Count from the checkpoint but never write it (`check` and `once`).
    read_only: bool,
    bounds: Vec<f64>,
    metadata_labels: Vec<String>,
    max_bytes: u64,
    busy: Busy,
    state: Mutex<Option<State>>,
    // Broken files already reported, by (size, mtime): reported again only when they change.
    reported: Mutex<HashMap<String, (u64, i128)>>,
}

impl BatchDirSource {
    /// The source a `batch_dir` entry describes.
    pub fn new(config: &BatchDirConfig, common: &SourceConfig) -> Self {
        Self::with_mode(config, common, false)
    }

    /// The same source, reading its checkpoint but never writing it: the totals of one
    /// pull are right, and the checkpoint stays the running instance's.
    pub fn new_read_only(config: &BatchDirConfig, common: &SourceConfig) -> Self {
        Self::with_mode(config, common, true)
    }

    fn with_mode(config: &BatchDirConfig, common: &SourceConfig, read_only: bool) -> Self {
        let dir = config.path.clone();
        let safe = common
            .name
            .replace(|c: char| !(c.is_ascii_alphanumeric() || c == '-'), "_");
        let checkpoint = config
            .checkpoint
            .clone()
            .unwrap_or_else(|| dir.join(format!(".snapbridge-{safe}.checkpoint.json")));
        BatchDirSource {
            inner: Arc::new(Inner {
                name: common.name.clone(),
                dir,
                checkpoint,
                read_only,
                bounds: config
                    .buckets
                    .clone()
                    .unwrap_or_else(|| DEFAULT_BUCKETS.to_vec()),
                metadata_labels: config.metadata_labels.clone(),
                max_bytes: config.max_bytes.map_or(DEFAULT_MAX_BYTES, |b| b.0),
                busy: Busy::default(),
                state: Mutex::new(None),
                reported: Mutex::new(HashMap::new()),
            }),
        }
    }
}

impl Source for BatchDirSource {
    fn pull(&self) -> PullFuture {
        let inner = self.inner.clone();
        self.inner.busy.pull_blocking("the batch reader", move || {
            inner.pull().map_err(|e| {
                SourceError::new(format!("batch directory {}: {e}", inner.dir.display()))
            })
        })
    }
}

/// True for `metrics_YYYYMMDD_HHMMSS.json` and `metrics_YYYYMMDD_HHMMSS_<micro>.json`.
pub fn is_batch_name(name: &str) -> bool {
    let Some(stem) = name
        .strip_prefix("metrics_")
        .and_then(|s| s.strip_suffix(".json"))
    else {
        return false;
    };
    let parts: Vec<&str> = stem.split('_').collect();
    let digits = |s: &str, min: usize, max: usize| {
        (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    match parts.as_slice() {
        [d, t] => digits(d, 8, 8) && digits(t, 6, 6),
        [d, t, us] => digits(d, 8, 8) && digits(t, 6, 6) && digits(us, 1, 6),
        _ => false,
    }
}

impl Inner {
    fn pull(&self) -> Result<Pulled, String> {
        let mut slot = self
            .state
            .lock()
            .map_err(|_| "state lock poisoned".to_string())?;
        if slot.is_none() {
            let loaded = State::load(&self.checkpoint, &self.bounds)?;
            *slot = Some(loaded.unwrap_or_else(|| State::new(self.bounds.clone())));
        }
        let Some(state) = slot.as_mut() else {
            return Err("no state".into());
        };
        let mut present = Vec::new();
        let entries =
            fs::read_dir(&self.dir).map_err(|e| format!("cannot list the directory: {e}"))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot list the directory: {e}"))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_batch_name(&name) {
                present.push(name);
            }
        }
        present.sort();
        let mut rejected = Vec::new();
        let mut next: Option<State> = None;
        let gone: Vec<String> = state
            .files
            .keys()
            .filter(|k| present.binary_search(k).is_err())
            .cloned()
            .collect();
        if !gone.is_empty() {
            let n = next.get_or_insert_with(|| state.clone());
            for k in gone {
                n.files.remove(&k);
            }
        }
        if let Ok(mut reported) = self.reported.lock() {
            reported.retain(|k, _| present.binary_search(k).is_ok());
        }
        let mut read = 0;
        for name in &present {
            if read >= MAX_FILES_PER_PULL {
                break;
            }
            let path = self.dir.join(name);
            let Ok(meta) = fs::metadata(&path) else {
                continue;
            };
            // Only regular files are batches: opening a FIFO would block the whole pull (so
            // the good files too) until a writer came.
            if !meta.is_file() {
                continue;
            }
            let FileStamp { len, mtime_ns, .. } = FileStamp::of(&meta);
            let known = state.files.get(name);
            if known.is_some_and(|m| m.len == len && m.mtime_ns == mtime_ns) {
                continue;
            }
            read += 1;
            let mut done = known.map_or(0, |m| m.records);
            let (records, batch_id) = match self.read_records(&path, len) {
                Ok(r) => r,
                Err(e) => {
                    let mut reported = self.reported.lock().map_err(|_| "lock poisoned")?;
                    if reported.get(name) != Some(&(len, mtime_ns)) {
                        reported.insert(name.clone(), (len, mtime_ns));
                        rejected.push(Rejection {
                            key: name.clone(),
                            reason: "malformed_batch",
                            detail: format!("{e} (read again when the file changes)"),
                        });
                    }
                    continue;
                }
            };
            // Same name, another batch (the file was replaced): none of it was counted.
            if let (Some(old), Some(new)) = (known.and_then(|m| m.batch_id.as_ref()), &batch_id)
                && old != new
            {
                done = 0;
            }
            let n = next.get_or_insert_with(|| state.clone());
            let total = records.len() as u64;
            if total < done {
                rejected.push(Rejection {
                    key: name.clone(),
                    reason: "batch_shrank",
                    detail: format!(
                        "the file now holds {total} records, {done} were counted before: none counted again"
                    ),
                });
            }
            for (i, record) in records.into_iter().enumerate().skip(done as usize) {
                match self.record(record) {
                    Ok((labels, seconds)) => n.add(labels, seconds),
                    Err((reason, detail)) => rejected.push(Rejection {
                        key: format!("{name}#{i}"),
                        reason,
                        detail,
                    }),
                }
            }
            n.files.insert(
                name.clone(),
                FileMark {
                    records: total.max(done),
                    len,
                    mtime_ns,
                    batch_id,
                },
            );
        }
        if let Some(n) = next {
            // On disk first: only then do the new totals count.
            if !self.read_only {
                n.save(&self.checkpoint, &self.name, &self.dir)?;
            }
            *state = n;
        }
        Ok(Pulled {
            snapshot: state.snapshot(),
            rejected,
            unchanged: Vec::new(),
        })
    }

    /// The records of a batch file and its `batch_id`, if it has one.
    fn read_records(&self, path: &Path, len: u64) -> Result<(Vec<Json>, Option<String>), String> {
        if len > self.max_bytes {
            return Err(format!(
                "the file is {len} bytes, more than max_bytes = {}",
                self.max_bytes
            ));
        }
        let mut bytes = Vec::with_capacity(len as usize);
        // Non-blocking and regular only: the name may have been replaced since the listing.
        crate::regular_file::open(path)
            .and_then(|(f, _)| f.take(self.max_bytes + 1).read_to_end(&mut bytes))
            .map_err(|e| format!("cannot read: {e}"))?;
        let doc: Json = serde_json::from_slice(&bytes).map_err(|e| match e.classify() {
            serde_json::error::Category::Eof => format!("truncated JSON ({e})"),
            _ => format!("malformed JSON: {e}"),
        })?;
        match doc {
            Json::Object(mut m) => match m.remove("records") {
                Some(Json::Array(records)) => {
                    let id = match m.remove("batch_id") {
                        Some(Json::String(id)) => Some(id),
                        _ => None,
                    };
                    Ok((records, id))
                }
                Some(other) => Err(format!(
                    "\"records\" is {}, expected an array",
                    describe(&other)
                )),
                None => Err("no \"records\" array".into()),
            },
            other => Err(format!(
                "the document is {}, expected an object",
                describe(&other)
            )),
        }
    }

    /// One record's labels and duration in seconds, or why it is skipped.
    fn record(&self, record: Json) -> Result<(Labels, f64), (&'static str, String)> {
        let Json::Object(mut r) = record else {
            return Err((
                "invalid_record",
                format!("a record is {}, expected an object", describe(&record)),
            ));
        };
        let text = |r: &mut Map<String, Json>, key: &str| match r.remove(key) {
            Some(Json::String(s)) if !s.is_empty() => Ok(s),
            other => Err((
                "invalid_record",
                format!(
                    "{key:?} must be a non-empty string, found {}",
                    other.as_ref().map_or("nothing".into(), describe)
                ),
            )),
        };
        let op_type = text(&mut r, "operation_type")?;
        let op_name = text(&mut r, "operation_name")?;
        let success = match r.remove("success") {
            None | Some(Json::Null) => true,
            Some(Json::Bool(b)) => b,
            Some(other) => {
                return Err((
                    "invalid_record",
                    format!(
                        "\"success\" must be true or false, found {}",
                        describe(&other)
                    ),
                ));
            }
        };
        let seconds = match r.get("duration_ms").and_then(Json::as_f64) {
            Some(ms) if ms.is_finite() && ms >= 0.0 => ms / 1000.0,
            Some(ms) => {
                return Err((
                    "negative",
                    format!("\"duration_ms\" is {ms}: durations are ≥ 0"),
                ));
            }
            None => {
                let found = r.get("duration_ms").map_or("nothing".into(), describe);
                return Err((
                    "non_numeric",
                    format!("\"duration_ms\" must be a number, found {found}"),
                ));
            }
        };
        let mut pairs = vec![
            ("operation_type".to_string(), op_type),
            ("operation_name".to_string(), op_name),
            ("success".to_string(), success.to_string()),
        ];
        if !self.metadata_labels.is_empty()
            && let Some(Json::Object(meta)) = r.get("metadata")
        {
            for key in &self.metadata_labels {
                let v = match meta.get(key) {
                    Some(Json::String(s)) => s.clone(),
                    Some(Json::Number(n)) => n.to_string(),
                    Some(Json::Bool(b)) => b.to_string(),
                    _ => continue,
                };
                pairs.push((key.clone(), v));
            }
        }
        if let Some((k, v)) = pairs.iter().find(|(_, v)| v.len() > MAX_LABEL_VALUE_BYTES) {
            return Err((
                "label_value_too_long",
                format!(
                    "{k:?} is {} bytes long (at most {MAX_LABEL_VALUE_BYTES}): {}",
                    v.len(),
                    shorten(v, 40)
                ),
            ));
        }
        Ok((Labels::from_vec(pairs), seconds))
    }
}

#[cfg(test)]
mod tests;
