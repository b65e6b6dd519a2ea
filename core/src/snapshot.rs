//! A snapshot: every series a source holds at one instant.

use std::borrow::Cow;

use crate::{Histogram, Labels, Number, Value};

/// Identity of a series within one source: its name and sorted label set.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    /// Metric name as the source spells it (normalisation happens in the exporter).
    pub name: String,
    /// Labels, sorted by key.
    pub labels: Labels,
}

impl SeriesKey {
    /// A key from a name and labels.
    pub fn new(name: impl Into<String>, labels: Labels) -> Self {
        SeriesKey {
            name: name.into(),
            labels,
        }
    }
}

/// One series in a snapshot: identity, value and optional metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Name and labels.
    pub key: SeriesKey,
    /// The reported value.
    pub value: Value,
    /// Unit in UCUM form as OpenTelemetry uses it (`s`, `By`, `ms`, `1`, ...).
    pub unit: Option<String>,
    /// One-line description, exported as `# HELP` and OTLP description.
    pub description: Option<String>,
}

impl Sample {
    /// A sample with no labels and no metadata.
    pub fn new(name: impl Into<String>, value: Value) -> Self {
        Sample {
            key: SeriesKey::new(name, Labels::new()),
            value,
            unit: None,
            description: None,
        }
    }

    /// A monotonic integer counter.
    pub fn counter(name: impl Into<String>, value: u64) -> Self {
        Sample::new(name, Value::Counter(Number::Int(value)))
    }

    /// A monotonic float counter.
    pub fn counter_f64(name: impl Into<String>, value: f64) -> Self {
        Sample::new(name, Value::Counter(Number::Float(value)))
    }

    /// A gauge.
    pub fn gauge(name: impl Into<String>, value: f64) -> Self {
        Sample::new(name, Value::Gauge(value))
    }

    /// A histogram.
    pub fn histogram(name: impl Into<String>, value: Histogram) -> Self {
        Sample::new(name, Value::Histogram(value))
    }

    /// A plain number whose kind the exporter's rules decide.
    pub fn untyped(name: impl Into<String>, value: impl Into<Number>) -> Self {
        Sample::new(name, Value::Untyped(value.into()))
    }

    /// Adds a label (replacing one with the same key).
    pub fn with_label(mut self, key: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        self.key.labels.insert(key, value);
        self
    }

    /// Sets the unit.
    pub fn with_unit(mut self, unit: impl Into<String>) -> Self {
        self.unit = Some(unit.into());
        self
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}

/// One series lent to the tracker (`DeltaTracker::observe_borrowed`): the caller keeps the
/// strings, and the tracker copies the key only when the series is new to it.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleRef<'a> {
    /// Name and labels: borrowed from a sample, or owned when rewritten for this cycle.
    pub key: Cow<'a, SeriesKey>,
    /// The reported value.
    pub value: Value,
    /// Unit, as in [`Sample::unit`].
    pub unit: Option<&'a str>,
    /// Description, as in [`Sample::description`].
    pub description: Option<&'a str>,
    /// The caller's promise that `key` is the key of the sample at the same position in the
    /// tracker's previous `observe` or `observe_borrowed` (a source that refills its snapshot in place
    /// knows which keys it kept). The tracker then takes the series it found at that
    /// position last time without comparing the keys again, which spares reading every
    /// key's strings in a steady cycle. A false promise attributes the value to the wrong
    /// series; when unsure, leave it `false` (what [`SampleRef::new`] sets).
    pub unchanged: bool,
}

impl<'a> SampleRef<'a> {
    /// Lends `sample`'s key and metadata with `value`.
    pub fn new(sample: &'a Sample, value: Value) -> Self {
        SampleRef {
            key: Cow::Borrowed(&sample.key),
            value,
            unit: sample.unit.as_deref(),
            description: sample.description.as_deref(),
            unchanged: false,
        }
    }
}

/// Every series a source holds at one instant.
///
/// An empty snapshot is a valid answer: a backend without metrics ("nothing breaks") simply
/// reports none.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// The series, in the source's order.
    pub samples: Vec<Sample>,
}

impl Snapshot {
    /// An empty snapshot.
    pub fn new() -> Self {
        Snapshot::default()
    }

    /// An empty snapshot with room for `n` series.
    pub fn with_capacity(n: usize) -> Self {
        Snapshot {
            samples: Vec::with_capacity(n),
        }
    }

    /// Adds a sample.
    pub fn push(&mut self, sample: Sample) -> &mut Self {
        self.samples.push(sample);
        self
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when the snapshot holds no series.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

impl FromIterator<Sample> for Snapshot {
    fn from_iter<I: IntoIterator<Item = Sample>>(iter: I) -> Self {
        Snapshot {
            samples: iter.into_iter().collect(),
        }
    }
}

impl<'a> FromIterator<(&'a str, u64)> for Snapshot {
    /// A plain map of integers, the dictionary most metrics objects' `snapshot()` returns:
    /// kinds come later.
    fn from_iter<I: IntoIterator<Item = (&'a str, u64)>>(iter: I) -> Self {
        iter.into_iter()
            .map(|(name, v)| Sample::untyped(name, v))
            .collect()
    }
}
