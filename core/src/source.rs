//! The one trait an application implements to become exportable.

use std::fmt;

use crate::Snapshot;

/// Why a snapshot could not be taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceError {
    message: String,
}

impl SourceError {
    /// An error with a one-line message (it is shown on the status page and in logs).
    pub fn new(message: impl Into<String>) -> Self {
        SourceError {
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SourceError {}

/// Anything that can hand out a point-in-time snapshot of its metrics.
///
/// `snapshot` takes `&self` because the application keeps updating its metrics while the
/// exporter reads them: implementations use atomics or a lock inside, as a thread-safe
/// metrics object does anyway. It runs on a blocking thread with a timeout, so a slow
/// source delays only itself.
pub trait MetricsSource: Send + Sync {
    /// The current values of every series the source holds.
    fn snapshot(&self) -> Result<Snapshot, SourceError>;

    /// Fills `snapshot` with the current values, reusing what it holds: the exporter hands
    /// back the previous snapshot each time, so a source that overwrites the values of
    /// the series it listed last time (same order, same keys) allocates nothing per
    /// series. The default replaces it with [`snapshot`](Self::snapshot)'s answer.
    fn snapshot_into(&self, snapshot: &mut Snapshot) -> Result<(), SourceError> {
        *snapshot = self.snapshot()?;
        Ok(())
    }
}

impl<F> MetricsSource for F
where
    F: Fn() -> Result<Snapshot, SourceError> + Send + Sync,
{
    fn snapshot(&self) -> Result<Snapshot, SourceError> {
        self()
    }
}

impl<S: MetricsSource + ?Sized> MetricsSource for std::sync::Arc<S> {
    fn snapshot(&self) -> Result<Snapshot, SourceError> {
        (**self).snapshot()
    }

    fn snapshot_into(&self, snapshot: &mut Snapshot) -> Result<(), SourceError> {
        (**self).snapshot_into(snapshot)
    }
}
