//! Sources: where snapshots come from.
//!
//! Each kind a `[[source]]` table can name is one folder, `sources/<kind>/`, with
//! everything about it: its config struct (its own keys, their defaults and checks, the
//! doc comments that document them), its puller (a [`Source`]) and its tests. The keys every
//! source has live in one shared [`SourceConfig`]; the config file reads both from the same
//! table. Adding a kind is its folder and one line in `source_kinds!` below; a kind behind a
//! Cargo feature carries its `#[cfg]` on that line and is named in [`left_out`].
//!
//! In-process sources (an application's own `snapbridge_core::MetricsSource`) are added in
//! code with a [`SourceConfig`] and run through [`InProcess`].

mod config;
pub mod document;
mod shared;

pub use config::{
    DEFAULT_DENY_LABELS, DEFAULT_MAX_SERIES, DEFAULT_TIMEOUT, KeyError, KindConfig, KindEntry,
    KindRules, SourceConfig, SourceEntry,
};
pub use shared::{Busy, BusyToken, DEFAULT_MAX_BYTES, FileStamp, own_deadline, scrub};

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use snapbridge_core::{MetricsSource, Sample, Snapshot, SourceError};

/// Declares the source kinds: each line `module => ConfigType` is the folder
/// `sources/<module>/` and the type of its keys, registered under the name `module`.
macro_rules! source_kinds {
    ($($(#[$attr:meta])* $module:ident => $config:ident,)*) => {
        $($(#[$attr])* pub mod $module;)*

        /// Every kind a `[[source]]` table can name, in the order the docs list them.
        pub fn kinds() -> &'static [KindEntry] {
            // One push per line, because a line may carry a `#[cfg]` and `vec![...]`
            // elements cannot.
            #[allow(clippy::vec_init_then_push)]
            static KINDS: std::sync::LazyLock<Vec<KindEntry>> = std::sync::LazyLock::new(|| {
                let mut kinds = Vec::new();
                $($(#[$attr])* kinds.push(KindEntry::of::<$module::$config>(stringify!($module)));)*
                kinds
            });
            &KINDS
        }
    };
}

source_kinds! {
    demo => DemoConfig,
    http => HttpConfig,
    file => FileConfig,
    batch_dir => BatchDirConfig,
    #[cfg(feature = "redis")]
    redis => RedisConfig,
    exec => ExecConfig,
    #[cfg(test)]
    echo => EchoConfig,
}

/// The registered kind named `name`.
pub fn kind(name: &str) -> Option<&'static KindEntry> {
    kinds().iter().find(|k| k.name == name)
}

/// The Cargo feature that brings in the kind named `name`, when this build left it out.
pub fn left_out(name: &str) -> Option<&'static str> {
    match name {
        "redis" if !cfg!(feature = "redis") => Some("redis"),
        _ => None,
    }
}

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
    /// `unchanged[i]`: sample `i` kept the key of sample `i` of the snapshot the pipeline
    /// last handed back ([`Source::recycle`]), so the pipeline may skip checking and
    /// comparing it again. Empty (or shorter than the snapshot): no promise for the rest.
    pub unchanged: Vec<bool>,
}

impl From<Snapshot> for Pulled {
    fn from(snapshot: Snapshot) -> Self {
        Pulled {
            snapshot,
            rejected: Vec::new(),
            unchanged: Vec::new(),
        }
    }
}

/// The future a pull returns: owned, so the pipeline can run pulls as tasks with timeouts.
pub type PullFuture = Pin<Box<dyn Future<Output = Result<Pulled, SourceError>> + Send>>;

/// Anything the pipeline can pull a snapshot from.
pub trait Source: Send + Sync {
    /// Starts taking one snapshot.
    fn pull(&self) -> PullFuture;

    /// Takes back a snapshot this source produced, once the pipeline is done with it, so
    /// the next pull can refill it in place instead of allocating every series' strings
    /// again. The default drops it.
    fn recycle(&self, snapshot: Snapshot) {
        drop(snapshot);
    }
}

/// Runs an in-process [`MetricsSource`] on tokio's blocking pool, so a slow `snapshot()`
/// never stalls the pipeline's threads.
pub struct InProcess {
    source: Arc<dyn MetricsSource>,
    busy: Busy,
    // The previous snapshot, handed back by the pipeline for `snapshot_into` to refill.
    spare: Spare,
}

impl InProcess {
    /// Wraps an in-process source.
    pub fn new(source: Arc<dyn MetricsSource>) -> Self {
        InProcess {
            source,
            busy: Busy::default(),
            spare: Spare::default(),
        }
    }
}

impl Source for InProcess {
    fn pull(&self) -> PullFuture {
        let source = self.source.clone();
        let mut snapshot = Snapshot {
            samples: self.spare.take(),
        };
        self.busy.pull_blocking("snapshot()", move || {
            source.snapshot_into(&mut snapshot)?;
            Ok(Pulled::from(snapshot))
        })
    }

    fn recycle(&self, snapshot: Snapshot) {
        self.spare.put(snapshot.samples);
    }
}

/// The samples of a source's previous snapshot, kept between pulls for the next one to
/// refill (see [`Source::recycle`]). Clones share the same place.
#[derive(Clone, Debug, Default)]
pub struct Spare(Arc<std::sync::Mutex<Vec<Sample>>>);

impl Spare {
    /// The kept samples, leaving none (a pull that overlaps another simply starts empty).
    pub fn take(&self) -> Vec<Sample> {
        self.0
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default()
    }

    /// Keeps `samples` for the next pull.
    pub fn put(&self, samples: Vec<Sample>) {
        if let Ok(mut s) = self.0.lock() {
            *s = samples;
        }
    }
}
