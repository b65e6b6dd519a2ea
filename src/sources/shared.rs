//! What several source kinds share: the busy flag of pulls that run on blocking threads,
//! the stamp that tells one version of a file from the next, their own deadline, and the
//! scrubbing of secrets from error messages.

use std::os::unix::fs::MetadataExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use snapbridge_core::SourceError;

use super::{PullFuture, Pulled, SourceConfig};

/// Replaces every secret (a password, a token) found in `message` with `***`, then masks
/// what [`crate::redact::text`] masks by structure: errors of libraries and servers
/// sometimes echo what they were given.
pub fn scrub(message: &str, secrets: &[String]) -> String {
    let mut out = message.to_string();
    for secret in secrets {
        if secret.len() >= 3 && out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "***");
        }
    }
    crate::redact::text(&out)
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

impl Busy {
    /// A pull that runs `work` on tokio's blocking pool, holding the flag until `work`
    /// returns (even when the pull itself was given up); `what` names the work if it
    /// panics.
    pub fn pull_blocking<F>(&self, what: &'static str, work: F) -> PullFuture
    where
        F: FnOnce() -> Result<Pulled, SourceError> + Send + 'static,
    {
        let entered = self.enter();
        Box::pin(async move {
            let token = entered.map_err(SourceError::new)?;
            tokio::task::spawn_blocking(move || {
                let _token = token;
                work()
            })
            .await
            .unwrap_or_else(|e| Err(SourceError::new(format!("{what} failed: {e}"))))
        })
    }
}

/// Held while a pull runs; releases the flag when dropped.
pub struct BusyToken(Arc<AtomicBool>);

impl Drop for BusyToken {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// The largest document a source reads when its `max_bytes` is not set.
pub const DEFAULT_MAX_BYTES: u64 = 16 << 20;

/// A timeout a source applies to its own work: a little shorter than the pipeline's, so the
/// source's own message (which names its target) wins the race.
pub fn own_deadline(config: &SourceConfig) -> std::time::Duration {
    let t = config.timeout();
    t.saturating_sub(t / 20)
}

/// One version of a file: a rename gives another inode, a rewrite another size or
/// modification time. Two stamps that differ mean the file changed in between.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileStamp {
    /// Inode number.
    pub ino: u64,
    /// Size in bytes.
    pub len: u64,
    /// Modification time, in nanoseconds since the epoch.
    pub mtime_ns: i128,
}

impl FileStamp {
    /// The stamp of a file's metadata.
    pub fn of(meta: &std::fs::Metadata) -> Self {
        FileStamp {
            ino: meta.ino(),
            len: meta.len(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        }
    }
}
