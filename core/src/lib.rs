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

mod arith;
mod hash;
mod labels;
pub mod persist;
mod snapshot;
mod source;
mod tracker;
mod value;

pub use labels::Labels;
pub use snapshot::{Sample, SeriesKey, Snapshot};
pub use source::{MetricsSource, SourceError};
pub use tracker::{
    CycleStats, DeltaTracker, Initial, RejectReason, SeriesInfo, Tracked, TrackedValue,
    TrackerConfig,
};
pub use value::{Histogram, Kind, Number, Value};
