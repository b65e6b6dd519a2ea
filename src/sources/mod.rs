//! Sources: where snapshots come from. One folder per kind, each with the same shape: a
//! type that implements [`Source`] (or `snapbridge_core::MetricsSource` for in-process
//! ones) and a `from_config` constructor.

pub mod demo;

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
        SourceKind::Http
        | SourceKind::File
        | SourceKind::BatchDir
        | SourceKind::Redis
        | SourceKind::Exec => Err(format!("kind {} is not built yet", config.kind)),
        SourceKind::InProcess => {
            Err("in-process sources are added in code with Pipeline::add_metrics_source".into())
        }
    }
}
