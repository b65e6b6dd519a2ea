//! What a tracker is told and what it tells: its settings, what it emits for each series,
//! and what it counted in a cycle.

use std::time::{Duration, SystemTime};

use crate::{Histogram, Kind, Number, SeriesKey};

/// What a counter's first sighting contributes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Initial {
    /// The first value counts in full (delta = value): nothing the source counted is lost.
    #[default]
    Keep,
    /// The first value only sets the baseline (delta = 0), for sources whose history was
    /// already exported elsewhere.
    Drop,
}

/// Settings of a tracker.
#[derive(Clone, Debug)]
pub struct TrackerConfig {
    /// First-sighting rule for counters and histograms.
    pub initial: Initial,
    /// How long the state of an absent series is kept.
    pub max_staleness: Duration,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            initial: Initial::Keep,
            max_staleness: Duration::from_secs(600),
        }
    }
}

/// Why a value was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// A counter value that is NaN.
    NotANumber,
    /// A counter value below zero.
    Negative,
    /// A counter value that is infinite.
    Infinite,
    /// A histogram that breaks the shape rules.
    InvalidHistogram,
    /// The same series twice in one snapshot (the first one is kept).
    Duplicate,
}

impl RejectReason {
    /// Every reason, in a fixed order (used to index counts).
    pub const ALL: [RejectReason; 5] = [
        RejectReason::NotANumber,
        RejectReason::Negative,
        RejectReason::Infinite,
        RejectReason::InvalidHistogram,
        RejectReason::Duplicate,
    ];

    /// Stable snake_case name, used as a label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::NotANumber => "nan",
            RejectReason::Negative => "negative",
            RejectReason::Infinite => "infinite",
            RejectReason::InvalidHistogram => "invalid_histogram",
            RejectReason::Duplicate => "duplicate",
        }
    }
}

/// The tracked value of one series in one cycle.
#[derive(Clone, Debug, PartialEq)]
pub enum TrackedValue {
    /// A counter's reset-safe total and the increase since the previous cycle.
    Counter {
        /// Sum of all deltas since the series was first seen.
        total: Number,
        /// Increase in this cycle.
        delta: Number,
    },
    /// A gauge, as observed.
    Gauge(f64),
    /// A histogram's reset-safe totals and this cycle's increase (boxed: most series are
    /// counters and gauges, and every point of a cycle is as large as the largest variant).
    Histogram {
        /// Sum of all deltas since the series was first seen.
        total: Box<Histogram>,
        /// Increase in this cycle.
        delta: Box<Histogram>,
    },
}

/// One series as the tracker emits it.
#[derive(Clone, Debug, PartialEq)]
pub struct Tracked<M> {
    /// Whatever the caller attached to the series when it was first seen.
    pub meta: M,
    /// When the tracker first saw the series (the OTLP cumulative start time).
    pub start: SystemTime,
    /// Total and delta, or the gauge value.
    pub value: TrackedValue,
}

/// What happened in one `observe` call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CycleStats {
    /// Series emitted.
    pub emitted: usize,
    /// Series seen for the first time (or again after expiry).
    pub new_series: usize,
    /// Counter and histogram resets detected.
    pub resets: u64,
    /// Rejected values, indexed like `RejectReason::ALL`.
    pub rejected: [u64; 5],
    /// Series the caller declined to track (its `attach` returned `None`).
    pub declined: u64,
    /// The first series that came twice in the snapshot (counted as `Duplicate`), so that
    /// the caller can name it.
    pub first_duplicate: Option<SeriesKey>,
}

impl CycleStats {
    /// Number of values rejected for `reason`.
    pub fn rejected(&self, reason: RejectReason) -> u64 {
        self.rejected[reason as usize]
    }
}

/// What `attach` is told about a series seen for the first time.
#[derive(Debug)]
pub struct SeriesInfo<'a> {
    /// Name and labels, as the tracker keys them.
    pub key: &'a SeriesKey,
    /// The kind it will be tracked as.
    pub kind: Kind,
    /// Unit from the sample, if any.
    pub unit: Option<&'a str>,
    /// Description from the sample, if any.
    pub description: Option<&'a str>,
}
