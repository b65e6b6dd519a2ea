//! `kind = "file"`: a JSON snapshot file read each cycle, as applications write when they
//! dump their counters to disk (a storage layer's JSON backend, say, or one that rotates
//! to a new file now and then).
//!
//! Decisions:
//! - `path` names one file; `path_glob` (a pattern in the file name only) reads the newest
//!   match by modification time (then by name), which follows rotation: when the writer
//!   moves on to `metrics-2.json`, so does the source.
//! - Safe against the ways files change under a reader: an atomic rename is seen whole
//!   (the open file keeps the old inode or gets the new one); a writer that truncates and
//!   rewrites in place may be caught half-way, so a document that does not parse while the
//!   file changed during the read is read again (up to 3 times, 25 ms apart). A document
//!   that is still bad fails this cycle's snapshot with one line ("truncated JSON ..."): it
//!   never crashes, and no value of a half-written file is exported.
//! - Reading and parsing run on tokio's blocking pool; a pull still running when the next
//!   one starts makes that one fail at once instead of piling up threads.
//! - Size limit: `max_bytes` (16 MiB by default).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use globset::GlobMatcher;
use snapbridge_core::{Snapshot, SourceError};

mod config;

pub use config::FileConfig;

use super::document::{self, DocumentOptions};
use super::{Busy, FileStamp, PullFuture, Pulled, Source, SourceConfig};

/// Attempts at reading a file that changes while it is read.
const ATTEMPTS: usize = 3;

/// A JSON file, or the newest of the files matching a glob.
pub struct FileSource {
    inner: Arc<Inner>,
}

struct Inner {
    target: Target,
    // The file read last by a glob source (mtime, name): rotation only moves forward.
    last: std::sync::Mutex<Option<(SystemTime, std::ffi::OsString)>>,
    opts: DocumentOptions,
    busy: Busy,
}

enum Target {
    Path(PathBuf),
    Glob {
        dir: PathBuf,
        matcher: GlobMatcher,
        shown: String,
    },
}

impl FileSource {
    /// The source a `file` entry describes.
    pub fn new(config: &FileConfig, common: &SourceConfig) -> Result<Self, String> {
        let target = match (&config.path, &config.path_glob) {
            (Some(p), _) => Target::Path(p.clone()),
            (None, Some(g)) => {
                let p = Path::new(g);
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("*");
                let dir = match p.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                let matcher = globset::Glob::new(name)
                    .map_err(|e| format!("path_glob {g:?}: {e}"))?
                    .compile_matcher();
                Target::Glob {
                    dir,
                    matcher,
                    shown: g.clone(),
                }
            }
            (None, None) => return Err("kind = \"file\" needs `path` or `path_glob`".into()),
        };
        Ok(FileSource {
            inner: Arc::new(Inner {
                target,
                last: std::sync::Mutex::new(None),
                opts: DocumentOptions::new(config.pointer.as_ref(), config.max_bytes, common),
                busy: Busy::default(),
            }),
        })
    }
}

impl Source for FileSource {
    fn pull(&self) -> PullFuture {
        let inner = self.inner.clone();
        self.inner
            .busy
            .pull_blocking("the file reader", move || inner.read().map_err(SourceError::new))
    }

    fn recycle(&self, snapshot: Snapshot) {
        self.inner.opts.spare.put(snapshot.samples);
    }
}

impl Inner {
    fn read(&self) -> Result<Pulled, String> {
        let path = match &self.target {
            Target::Path(p) => p.clone(),
            Target::Glob {
                dir,
                matcher,
                shown,
            } => self
                .newest_forward(dir, matcher)
                .map_err(|e| format!("path_glob {shown}: {e}"))?,
        };
        read_stable(&path, &self.opts)
            .map_err(|e| format!("file {}: {e}", path.display()))
    }
}

impl Inner {
    /// The newest match, listing again when the listing may have raced a rename: a
    /// directory listing taken while a file is renamed into place can miss it (POSIX leaves
    /// that unspecified), and picking an older rotated file would look like a counter
    /// reset and count its values twice.
    fn newest_forward(&self, dir: &Path, matcher: &GlobMatcher) -> Result<PathBuf, String> {
        let last = self.last.lock().map(|l| l.clone()).unwrap_or(None);
        let mut found = Err(String::new());
        for attempt in 0..ATTEMPTS * 2 {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(10));
            }
            found = newest(dir, matcher);
            match (&found, &last) {
                (Ok((mtime, name, _)), Some(prev)) if (*mtime, name) < (prev.0, &prev.1) => {}
                (Ok(_), _) => break,
                (Err(_), _) => {}
            }
        }
        let (mtime, name, path) = found?;
        if let Ok(mut l) = self.last.lock() {
            *l = Some((mtime, name));
        }
        Ok(path)
    }
}

type Found = (SystemTime, std::ffi::OsString, PathBuf);

/// The newest regular file in `dir` whose name matches.
fn newest(dir: &Path, matcher: &GlobMatcher) -> Result<Found, String> {
    let entries = fs::read_dir(dir)
        .map_err(|e| format!("cannot list the directory {}: {e}", dir.display()))?;
    let mut best: Option<(SystemTime, std::ffi::OsString)> = None;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !matcher.is_match(Path::new(&name)) {
            continue;
        }
        // Follows symlinks; a file that vanished since the listing is skipped.
        let Ok(meta) = fs::metadata(entry.path()) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        if best.as_ref().is_none_or(|(t, n)| (mtime, &name) > (*t, n)) {
            best = Some((mtime, name));
        }
    }
    best.map(|(t, n)| {
        let path = dir.join(&n);
        (t, n, path)
    })
    .ok_or_else(|| "no file matches".to_string())
}

/// Reads and parses `path`, again when it changed during a read that did not parse.
fn read_stable(path: &Path, opts: &DocumentOptions) -> Result<Pulled, String> {
    let max_bytes = opts.max_bytes;
    let mut last_error = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(25));
        }
        // Non-blocking: a FIFO at the path would block the open until a writer comes.
        let (mut file, before) =
            crate::regular_file::open(path).map_err(|e| format!("cannot open: {e}"))?;
        if before.len() > max_bytes {
            return Err(format!(
                "the file is {} bytes, more than max_bytes = {max_bytes}",
                before.len()
            ));
        }
        let mut bytes = opts.buffer.take();
        bytes.reserve(before.len() as usize + 1);
        (&mut file)
            .take(max_bytes + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read: {e}"))?;
        if bytes.len() as u64 > max_bytes {
            return Err(format!(
                "the file grew past max_bytes = {max_bytes} while being read"
            ));
        }
        match document::parse_and_keep(bytes, opts) {
            Ok(pulled) => return Ok(pulled),
            Err(e) => last_error = e,
        }
        // Did the file change while we read it (in place, or replaced by a rename)?
        let after_fd = file.metadata().map(|m| FileStamp::of(&m)).ok();
        let after_path = fs::metadata(path).map(|m| FileStamp::of(&m)).ok();
        let start = Some(FileStamp::of(&before));
        if after_fd == start && after_path == start {
            break;
        }
    }
    Err(last_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_match_wins_and_half_files_fail() {
        let dir = tempfile::tempdir().unwrap();
        let m = globset::Glob::new("m-*.json").unwrap().compile_matcher();
        assert!(newest(dir.path(), &m).is_err());
        fs::write(dir.path().join("m-1.json"), "{\"a\": 1}").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        fs::write(dir.path().join("m-2.json"), "{\"a\": 2").unwrap();
        fs::write(dir.path().join("other.json"), "{}").unwrap();
        let (_, _, p) = newest(dir.path(), &m).unwrap();
        assert!(p.ends_with("m-2.json"));
        let e = read_stable(&p, &DocumentOptions::default()).unwrap_err();
        assert!(e.contains("truncated JSON"), "{e}");
        let tiny = DocumentOptions {
            max_bytes: 3,
            ..DocumentOptions::default()
        };
        let e = read_stable(&p, &tiny).unwrap_err();
        assert!(e.contains("max_bytes"), "{e}");
    }
}
