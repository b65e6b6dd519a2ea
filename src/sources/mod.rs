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
mod shared;

pub use shared::{Busy, BusyToken, FileStamp, own_deadline, scrub};

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

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
    busy: Busy,
}

impl InProcess {
    /// Wraps an in-process source.
    pub fn new(source: Arc<dyn MetricsSource>) -> Self {
        InProcess {
            source,
            busy: Busy::default(),
        }
    }
}

impl Source for InProcess {
    fn pull(&self) -> PullFuture {
        let source = self.source.clone();
        let entered = self.busy.enter();
        Box::pin(async move {
            let token = entered.map_err(SourceError::new)?;
            tokio::task::spawn_blocking(move || {
                let _token = token;
                source.snapshot().map(Pulled::from)
            })
            .await
            .unwrap_or_else(|e| Err(SourceError::new(format!("snapshot() panicked: {e}"))))
        })
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
