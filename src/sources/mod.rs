//! Sources: where snapshots come from. One folder per kind, each with the same shape: a
//! type that implements [`Source`] (or `snapbridge_core::MetricsSource` for in-process
//! ones) and a `from_config` constructor.

pub mod batch_dir;
pub mod demo;
pub mod document;
pub mod exec;
pub mod file;
pub mod http;
pub mod redis;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use snapbridge_core::{MetricsSource, Snapshot, SourceError};

use crate::config::{SourceConfig, SourceKind};

/// A value a source could not turn into a sample (a string where a number belongs, say).
/// The rest of the snapshot is still exported; the rejection is counted and shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The key in the source's document.
    pub key: String,
    /// Stable snake_case reason, used as the `reason` label (`non_numeric`, ...).
    pub reason: &'static str,
    /// One line for people: what was found and what was expected.
    pub detail: String,
}

/// What one successful pull produced.
#[derive(Clone, Debug, Default)]
pub struct Pulled {
    /// The series.
    pub snapshot: Snapshot,
    /// Values that were skipped, with why.
    pub rejected: Vec<Rejection>,
}

impl From<Snapshot> for Pulled {
    fn from(snapshot: Snapshot) -> Self {
        Pulled {
            snapshot,
            rejected: Vec::new(),
        }
    }
}

/// The future a pull returns: owned, so the pipeline can run pulls as tasks with timeouts.
pub type PullFuture = Pin<Box<dyn Future<Output = Result<Pulled, SourceError>> + Send>>;

/// Anything the pipeline can pull a snapshot from.
pub trait Source: Send + Sync {
    /// Starts taking one snapshot.
    fn pull(&self) -> PullFuture;
}

/// Runs an in-process [`MetricsSource`] on tokio's blocking pool, so a slow `snapshot()`
/// never stalls the pipeline's threads.
pub struct InProcess {
    source: Arc<dyn MetricsSource>,
    // A snapshot that outlives its timeout keeps its blocking thread; while it is still
    // running, later pulls fail at once instead of piling up more threads behind it.
    busy: Arc<AtomicBool>,
}

impl InProcess {
    /// Wraps an in-process source.
    pub fn new(source: Arc<dyn MetricsSource>) -> Self {
        InProcess {
            source,
            busy: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl Source for InProcess {
    fn pull(&self) -> PullFuture {
        let source = self.source.clone();
        let busy = self.busy.clone();
        Box::pin(async move {
            if busy.swap(true, Ordering::AcqRel) {
                return Err(SourceError::new(
                    "the previous snapshot() is still running (it exceeded its timeout)",
                ));
            }
            let guard = BusyGuard(busy);
            tokio::task::spawn_blocking(move || {
                let _guard = guard;
                source.snapshot().map(Pulled::from)
            })
            .await
            .unwrap_or_else(|e| Err(SourceError::new(format!("snapshot() panicked: {e}"))))
        })
    }
}

struct BusyGuard(Arc<AtomicBool>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Builds the source a config entry describes.
pub fn from_config(config: &SourceConfig) -> Result<Arc<dyn Source>, String> {
    match config.kind {
        SourceKind::Demo => Ok(Arc::new(InProcess::new(Arc::new(
            demo::DemoPersistence::from_config(config),
        )))),
        SourceKind::Http => Ok(Arc::new(http::HttpSource::from_config(config)?)),
        SourceKind::File => Ok(Arc::new(file::FileSource::from_config(config)?)),
        SourceKind::BatchDir => Ok(Arc::new(batch_dir::BatchDirSource::from_config(config)?)),
        SourceKind::Redis => Ok(Arc::new(redis::RedisSource::from_config(config)?)),
        SourceKind::Exec => Ok(Arc::new(exec::ExecSource::from_config(config)?)),
        SourceKind::InProcess => {
            Err("in-process sources are added in code with Pipeline::add_metrics_source".into())
        }
    }
}

/// Replaces every secret (a password, a token) found in `message` with `***`: errors of
/// libraries sometimes echo what they were given.
pub fn scrub(message: &str, secrets: &[String]) -> String {
    let mut out = message.to_string();
    for secret in secrets {
        if secret.len() >= 3 && out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "***");
        }
    }
    out
}

/// An error and its causes on one line (`client error (Connect): tcp connect error: ...`).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = inner.source();
    }
    s
}

/// Marks a source busy while a pull runs, so that a pull which outlived its timeout (its
/// blocking work still going) makes the next one fail at once instead of piling up.
#[derive(Default)]
pub struct Busy(Arc<AtomicBool>);

impl Busy {
    /// Takes the flag, or says the previous pull is still running.
    pub fn enter(&self) -> Result<BusyToken, String> {
        if self.0.swap(true, Ordering::AcqRel) {
            return Err("the previous pull is still running (it exceeded its timeout)".into());
        }
        Ok(BusyToken(self.0.clone()))
    }
}

/// Held while a pull runs; releases the flag when dropped.
pub struct BusyToken(Arc<AtomicBool>);

impl Drop for BusyToken {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// A timeout a source applies to its own work: a little shorter than the pipeline's, so the
/// source's own message (which names its target) wins the race.
pub fn own_deadline(config: &SourceConfig) -> std::time::Duration {
    let t = config.timeout();
    t.saturating_sub(t / 20)
}
