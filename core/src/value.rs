//! Metric values as a source reports them.

/// A number as the source gave it: integers stay exact (a `u64` counter never passes
/// through a float), everything else is a float.
///
/// More exact forms (signed integers, say) may be added; a `match` needs a `_` arm, and
/// [`Number::as_f64`] reads any of them.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Number {
    /// A non-negative integer, kept exact.
    Int(u64),
    /// Any other number, including negatives, NaN and infinities.
    Float(f64),
}

impl Number {
    /// The value as a float (integers above 2^53 round).
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }
}

impl From<u64> for Number {
    fn from(v: u64) -> Self {
        Number::Int(v)
    }
}

impl From<f64> for Number {
    fn from(v: f64) -> Self {
        Number::Float(v)
    }
}

/// Why a histogram's shape is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HistogramError {
    /// There are not as many bucket counts as bucket bounds.
    LengthMismatch,
    /// A bucket bound is NaN or infinite (the `+Inf` bucket is implicit).
    NonFiniteBound,
    /// The bucket bounds do not strictly increase.
    BoundsNotIncreasing,
    /// A bucket count is lower than the count of the bucket below it.
    CountsNotCumulative,
    /// A bucket count exceeds the total count.
    BucketAboveCount,
    /// The sum is NaN or infinite.
    NonFiniteSum,
}

impl std::fmt::Display for HistogramError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HistogramError::LengthMismatch => "bucket bounds and counts differ in length",
            HistogramError::NonFiniteBound => "bucket bound is not finite",
            HistogramError::BoundsNotIncreasing => "bucket bounds are not strictly increasing",
            HistogramError::CountsNotCumulative => "bucket counts are not cumulative",
            HistogramError::BucketAboveCount => "a bucket count exceeds the total count",
            HistogramError::NonFiniteSum => "sum is not finite",
        })
    }
}

impl std::error::Error for HistogramError {}

/// A histogram in cumulative form.
///
/// `counts()[i]` is the number of observations `<= bounds()[i]`; the implicit `+Inf`
/// bucket is `count()`. Bounds are strictly increasing and finite. Built with
/// [`Histogram::new`], which checks that shape, or [`Histogram::from_observations`].
///
/// ```
/// use snapbridge_core::{Histogram, HistogramError};
///
/// let h = Histogram::new(vec![0.1, 1.0], vec![2, 3], 4, 2.65)?;
/// assert_eq!((h.counts(), h.count()), (&[2, 3][..], 4));
/// assert_eq!(
///     Histogram::new(vec![1.0, 0.5], vec![1, 1], 1, 0.7),
///     Err(HistogramError::BoundsNotIncreasing)
/// );
/// # Ok::<(), HistogramError>(())
/// ```
#[derive(Clone, PartialEq)]
pub struct Histogram(
    // Private, so the representation can change; read through the accessors. Boxed: a
    // snapshot's every sample is as large as the largest `Value`, and most are counters
    // and gauges (an inline histogram made each sample 50 bytes larger).
    Box<Parts>,
);

#[derive(Clone, Debug, PartialEq)]
struct Parts {
    bounds: Vec<f64>,
    counts: Vec<u64>,
    count: u64,
    sum: f64,
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("bounds", &self.0.bounds)
            .field("counts", &self.0.counts)
            .field("count", &self.0.count)
            .field("sum", &self.0.sum)
            .finish()
    }
}

impl Histogram {
    /// A histogram from its cumulative form: `counts[i]` observations `<= bounds[i]`,
    /// `count` in all, summing to `sum`. Refused when the shape rules are broken.
    pub fn new(
        bounds: Vec<f64>,
        counts: Vec<u64>,
        count: u64,
        sum: f64,
    ) -> Result<Self, HistogramError> {
        let h = Histogram::from_parts(bounds, counts, count, sum);
        h.validate()?;
        Ok(h)
    }

    /// A histogram from its cumulative form without checking it: for readers that pass a
    /// source's histogram on as given and let the [`DeltaTracker`](crate::DeltaTracker)
    /// reject a broken one (counted as [`RejectReason::InvalidHistogram`](crate::RejectReason)).
    pub fn from_parts(bounds: Vec<f64>, counts: Vec<u64>, count: u64, sum: f64) -> Self {
        Histogram(Box::new(Parts {
            bounds,
            counts,
            count,
            sum,
        }))
    }

    /// Builds a histogram from raw observations and bucket bounds (the form registries that
    /// keep every sample hand over). The bounds are taken as given: [`Histogram::validate`]
    /// tells whether they are usable.
    pub fn from_observations(bounds: Vec<f64>, observations: &[f64]) -> Self {
        let mut counts = vec![0u64; bounds.len()];
        let mut sum = 0.0;
        for &o in observations {
            sum += o;
            for (bound, c) in bounds.iter().zip(counts.iter_mut()) {
                if o <= *bound {
                    *c += 1;
                }
            }
        }
        Histogram::from_parts(bounds, counts, observations.len() as u64, sum)
    }

    /// Upper bounds of the finite buckets, strictly increasing.
    pub fn bounds(&self) -> &[f64] {
        &self.0.bounds
    }

    /// Cumulative count per finite bound (as many as [`bounds`](Self::bounds)).
    pub fn counts(&self) -> &[u64] {
        &self.0.counts
    }

    /// Total number of observations (the `+Inf` bucket).
    pub fn count(&self) -> u64 {
        self.0.count
    }

    /// Sum of all observations.
    pub fn sum(&self) -> f64 {
        self.0.sum
    }

    /// Checks the shape rules; returns the first one broken.
    pub fn validate(&self) -> Result<(), HistogramError> {
        if self.0.bounds.len() != self.0.counts.len() {
            return Err(HistogramError::LengthMismatch);
        }
        if self.0.bounds.iter().any(|b| !b.is_finite()) {
            return Err(HistogramError::NonFiniteBound);
        }
        if !self.0.bounds.windows(2).all(|w| w[0] < w[1]) {
            return Err(HistogramError::BoundsNotIncreasing);
        }
        if !self.0.counts.windows(2).all(|w| w[0] <= w[1]) {
            return Err(HistogramError::CountsNotCumulative);
        }
        if self.0.counts.last().is_some_and(|&c| c > self.0.count) {
            return Err(HistogramError::BucketAboveCount);
        }
        if !self.0.sum.is_finite() {
            return Err(HistogramError::NonFiniteSum);
        }
        Ok(())
    }
}

/// What a source says about one series.
///
/// More kinds of value may be added (a summary, say); a `match` needs a `_` arm.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// A cumulative, monotonic counter (it may reset to a lower value when the source restarts).
    Counter(Number),
    /// A value that goes up and down; exported as observed.
    Gauge(f64),
    /// A cumulative histogram.
    Histogram(Histogram),
    /// A plain number whose kind the source does not say: whoever reads the snapshot
    /// decides it (by the metric's name, say).
    Untyped(Number),
}

/// The kind of a tracked series.
///
/// More kinds may be added along with [`Value`]'s; a `match` needs a `_` arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// Monotonic counter.
    Counter,
    /// Gauge.
    Gauge,
    /// Histogram.
    Histogram,
}

impl Kind {
    /// The lower-case name: `counter`, `gauge` or `histogram`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_from_observations_is_cumulative() {
        let h = Histogram::from_observations(vec![0.1, 1.0], &[0.05, 0.5, 2.0, 0.1]);
        assert_eq!(h.counts(), [2, 3]);
        assert_eq!(h.count(), 4);
        assert!((h.sum() - 2.65).abs() < 1e-9);
        assert!(h.validate().is_ok());
    }

    #[test]
    fn histogram_validation_names_the_problem() {
        let h = Histogram::from_parts(vec![2.0, 1.0], vec![1, 1], 1, 1.0);
        assert_eq!(h.validate(), Err(HistogramError::BoundsNotIncreasing));
        assert_eq!(
            HistogramError::BoundsNotIncreasing.to_string(),
            "bucket bounds are not strictly increasing"
        );
        assert_eq!(
            Histogram::new(vec![1.0], vec![2], 1, 0.5),
            Err(HistogramError::BucketAboveCount)
        );
    }
}
