//! Metric values as a source reports them.

/// A number as the source gave it: integers stay exact (a `u64` counter never passes
/// through a float), everything else is a float.
#[derive(Clone, Copy, Debug, PartialEq)]
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

/// A histogram in the source's cumulative form.
///
/// `counts[i]` is the number of observations `<= bounds[i]`; the implicit `+Inf` bucket is
/// `count`. Bounds are strictly increasing and finite.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    /// Upper bounds of the finite buckets, strictly increasing.
    pub bounds: Vec<f64>,
    /// Cumulative count per finite bound (same length as `bounds`).
    pub counts: Vec<u64>,
    /// Total number of observations (the `+Inf` bucket).
    pub count: u64,
    /// Sum of all observations.
    pub sum: f64,
}

impl Histogram {
    /// Builds a histogram from raw observations and bucket bounds (the form registries that
    /// keep every sample hand over).
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
        Histogram {
            bounds,
            counts,
            count: observations.len() as u64,
            sum,
        }
    }

    /// Checks the shape rules; returns the reason when broken.
    pub fn validate(&self) -> Result<(), &'static str> {
        if self.bounds.len() != self.counts.len() {
            return Err("bucket bounds and counts differ in length");
        }
        if self.bounds.iter().any(|b| !b.is_finite()) {
            return Err("bucket bound is not finite");
        }
        if !self.bounds.windows(2).all(|w| w[0] < w[1]) {
            return Err("bucket bounds are not strictly increasing");
        }
        if !self.counts.windows(2).all(|w| w[0] <= w[1]) {
            return Err("bucket counts are not cumulative");
        }
        if self.counts.last().is_some_and(|&c| c > self.count) {
            return Err("a bucket count exceeds the total count");
        }
        if !self.sum.is_finite() {
            return Err("sum is not finite");
        }
        Ok(())
    }
}

/// What a source says about one series.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A cumulative, monotonic counter (it may reset to a lower value when the source restarts).
    Counter(Number),
    /// A value that goes up and down; exported as observed.
    Gauge(f64),
    /// A cumulative histogram.
    Histogram(Histogram),
    /// A plain number whose kind is not known yet: the exporter's kind rules decide it.
    Untyped(Number),
}

/// The kind of a tracked series.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Monotonic counter.
    Counter,
    /// Gauge.
    Gauge,
    /// Histogram.
    Histogram,
}

impl Kind {
    /// Lower-case name, as in config files and exposition `# TYPE` lines.
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
        assert_eq!(h.counts, vec![2, 3]);
        assert_eq!(h.count, 4);
        assert!((h.sum - 2.65).abs() < 1e-9);
        assert!(h.validate().is_ok());
    }

    #[test]
    fn histogram_validation_names_the_problem() {
        let mut h = Histogram::from_observations(vec![1.0, 2.0], &[1.0]);
        h.bounds = vec![2.0, 1.0];
        assert_eq!(
            h.validate(),
            Err("bucket bounds are not strictly increasing")
        );
    }
}
