#![warn(missing_docs)]
//! snapbridge-core: everything an application needs to become exportable by snapbridge,
//! with no dependency beyond `std`.
//!
//! - the data model: [`Sample`] (a [`SeriesKey`] of name + sorted [`Labels`], a [`Value`],
//!   unit and description) gathered in a [`Snapshot`];
//! - the [`MetricsSource`] trait: a `snapshot()` that returns a `Snapshot` or an error;
//! - the [`DeltaTracker`], which turns successive snapshots of cumulative counters into
//!   exact deltas and reset-safe totals.
//!
//! ```
//! use snapbridge_core::{DeltaTracker, Sample, Snapshot, TrackedValue, Number, TrackerConfig};
//! use std::time::SystemTime;
//!
//! let mut tracker: DeltaTracker = DeltaTracker::new(TrackerConfig::default());
//! let mut out = Vec::new();
//! for raw in [10u64, 25, 4] {
//!     // 4 < 25: the source reset, so the delta is 4 and the total goes on to 29.
//!     out.clear();
//!     let snap: Snapshot = [Sample::counter("records_written", raw)].into_iter().collect();
//!     tracker.observe(SystemTime::now(), snap.samples, |s| Some(s.key.clone()), &mut out);
//! }
//! assert_eq!(out[0].value, TrackedValue::Counter { total: Number::Int(29), delta: Number::Int(4) });
//! ```
//!
//! # API stability
//!
//! An application depends on this crate alone, so its API changes only as semantic
//! versioning allows (Cargo's reading of it: while the version is 0.x, 0.x.y to 0.x.z is
//! compatible, 0.x to 0.(x+1) may break). Within a compatible range:
//!
//! - **What may grow.** Enums marked `#[non_exhaustive]` may gain variants ([`Value`],
//!   [`Kind`], [`Number`], [`HistogramError`]): a `match` on them needs a `_` arm. Any type
//!   may gain methods and trait implementations; the crate may gain items. A trait may gain
//!   methods only with a default implementation, so every existing [`MetricsSource`] keeps
//!   compiling and behaving as before.
//! - **What stays.** Types with private fields ([`Histogram`], [`Labels`], [`StateError`])
//!   are read through accessors and built through constructors, so their representation
//!   may change behind them; public fields of the other types keep their names and types.
//!   Counting rules do not change: a delta, a reset or a total computed from the same
//!   snapshots is the same number in every compatible version.
//! - **Saved state.** Text written by [`DeltaTracker::save_state`] is read back by every
//!   later compatible version.
//! - **Dependencies.** None beyond `std`, in every version.
//! - **Rust version.** The minimum supported Rust version is the `rust-version` in
//!   `Cargo.toml`; raising it is said in the changelog and never done in a release that
//!   only fixes bugs.

mod arith;
mod hash;
mod labels;
pub mod persist;
mod snapshot;
mod source;
mod tracker;
mod value;

pub use labels::{Labels, LabelsIter};
pub use persist::StateError;
pub use snapshot::{Sample, SampleRef, SeriesKey, Snapshot};
pub use source::{MetricsSource, SourceError};
pub use tracker::{
    CycleStats, DeltaTracker, Initial, RejectReason, SeriesInfo, Tracked, TrackedValue,
    TrackerConfig,
};
pub use value::{Histogram, HistogramError, Kind, Number, Value};
