//! From a published view to an OTLP `ExportMetricsServiceRequest`.
//!
//! Cumulative (the default) sends each series' reset-safe total with the start time the
//! tracker gave it, so a lost export loses nothing: the next one carries the right total.
//! Delta sends the increase since the last *successful* export, computed here from those
//! totals rather than taken from the tracker's per-cycle delta: a view that was skipped (the
//! collector was slow) or an export that failed still has its increase in the next delta.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Histogram as OtlpHistogram, HistogramDataPoint, Metric,
    NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric::Data, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use snapbridge_core::{Histogram, Kind, Number, TrackedValue};

use crate::config::otlp::Temporality;
use crate::view::{SeriesMeta, View};

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        key_strindex: 0,
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_string())),
        }),
    }
}

fn number(n: Number) -> number_data_point::Value {
    match n {
        Number::Int(i) if i <= i64::MAX as u64 => number_data_point::Value::AsInt(i as i64),
        other => number_data_point::Value::AsDouble(other.as_f64()),
    }
}

/// The last exported total of a series, kept for delta temporality.
#[derive(Clone)]
enum Exported {
    Counter(Number),
    Histogram(Histogram),
}

struct DeltaEntry {
    // Holding the Arc keeps the pointer used as the map key unique and valid.
    _meta: Arc<SeriesMeta>,
    total: Exported,
    time: SystemTime,
}

/// Builds requests; remembers what delta temporality needs between exports.
pub struct Encoder {
    temporality: Temporality,
    resource: Resource,
    committed: HashMap<usize, DeltaEntry>,
}

/// Delta state to remember once the request it was built for has been accepted.
pub struct Pending(HashMap<usize, DeltaEntry>);

impl Encoder {
    /// An encoder for one sink.
    pub fn new(temporality: Temporality, resource: &[(String, String)]) -> Self {
        Encoder {
            temporality,
            resource: Resource {
                attributes: resource.iter().map(|(k, v)| kv(k, v)).collect(),
                dropped_attributes_count: 0,
                entity_refs: Vec::new(),
            },
            committed: HashMap::new(),
        }
    }

    /// Series whose delta state is kept (bounded by the series of the last export).
    pub fn tracked(&self) -> usize {
        self.committed.len()
    }

    /// Records that the request built with `pending` was accepted. Series absent from it
    /// are forgotten, so the state never outgrows the view.
    pub fn commit(&mut self, pending: Pending) {
        self.committed = pending.0;
    }

    /// The request for `view`, and the delta state to commit if it is accepted.
    pub fn build(&self, view: &View) -> (ExportMetricsServiceRequest, Pending) {
        let now = nanos(view.time);
        let delta = self.temporality == Temporality::Delta;
        let temporality = if delta {
            AggregationTemporality::Delta
        } else {
            AggregationTemporality::Cumulative
        } as i32;
        let families = &view.families;
        let slots = families
            .iter()
            .map(|f| f.id as usize + 1)
            .max()
            .unwrap_or(0);
        let mut rank = vec![usize::MAX; slots];
        for (pos, f) in families.iter().enumerate() {
            rank[f.id as usize] = pos;
        }
        let mut metrics: Vec<Option<Metric>> = (0..families.len()).map(|_| None).collect();
        let mut pending = HashMap::with_capacity(if delta { view.points.len() } else { 0 });
        for point in &view.points {
            let family = &point.meta.family;
            let Some(&r) = rank.get(family.id as usize).filter(|&&r| r != usize::MAX) else {
                continue;
            };
            let metric = metrics[r].get_or_insert_with(|| Metric {
                name: family.base.clone(),
                description: family.help.clone(),
                unit: family.unit.clone().unwrap_or_default(),
                metadata: Vec::new(),
                data: Some(match family.kind {
                    Kind::Counter => Data::Sum(Sum {
                        data_points: Vec::new(),
                        aggregation_temporality: temporality,
                        is_monotonic: true,
                    }),
                    Kind::Gauge => Data::Gauge(Gauge {
                        data_points: Vec::new(),
                    }),
                    Kind::Histogram => Data::Histogram(OtlpHistogram {
                        data_points: Vec::new(),
                        aggregation_temporality: temporality,
                    }),
                }),
            });
            let attributes: Vec<KeyValue> =
                point.meta.labels.iter().map(|(k, v)| kv(k, v)).collect();
            let key = Arc::as_ptr(&point.meta) as usize;
            let last = if delta {
                self.committed.get(&key)
            } else {
                None
            };
            let start = match last {
                Some(e) => nanos(e.time),
                None => nanos(point.start),
            };
            match (&point.value, metric.data.as_mut()) {
                (TrackedValue::Counter { total, .. }, Some(Data::Sum(sum))) => {
                    let value = if delta {
                        pending.insert(key, entry(point, Exported::Counter(*total), view.time));
                        match last.map(|e| &e.total) {
                            Some(Exported::Counter(prev)) => counter_increase(*total, *prev),
                            _ => *total,
                        }
                    } else {
                        *total
                    };
                    sum.data_points.push(NumberDataPoint {
                        attributes,
                        start_time_unix_nano: start,
                        time_unix_nano: now,
                        exemplars: Vec::new(),
                        flags: 0,
                        value: Some(number(value)),
                    });
                }
                (TrackedValue::Gauge(v), Some(Data::Gauge(gauge))) => {
                    gauge.data_points.push(NumberDataPoint {
                        attributes,
                        start_time_unix_nano: 0,
                        time_unix_nano: now,
                        exemplars: Vec::new(),
                        flags: 0,
                        value: Some(number_data_point::Value::AsDouble(*v)),
                    });
                }
                (TrackedValue::Histogram { total, .. }, Some(Data::Histogram(hist))) => {
                    let shown = if delta {
                        pending.insert(
                            key,
                            entry(point, Exported::Histogram(total.clone()), view.time),
                        );
                        match last.map(|e| &e.total) {
                            Some(Exported::Histogram(prev)) => histogram_increase(total, prev),
                            _ => total.clone(),
                        }
                    } else {
                        total.clone()
                    };
                    hist.data_points
                        .push(histogram_point(attributes, start, now, &shown));
                }
                _ => {}
            }
        }
        let request = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(self.resource.clone()),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "snapbridge".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        attributes: Vec::new(),
                        dropped_attributes_count: 0,
                    }),
                    metrics: metrics.into_iter().flatten().collect(),
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        };
        (request, Pending(pending))
    }
}

fn entry(point: &crate::view::Point, total: Exported, time: SystemTime) -> DeltaEntry {
    DeltaEntry {
        _meta: point.meta.clone(),
        total,
        time,
    }
}

/// Totals never decrease while a series lives; a smaller one means a new series reused
/// the address, so the whole total is new.
fn counter_increase(total: Number, prev: Number) -> Number {
    match (total, prev) {
        (Number::Int(t), Number::Int(p)) if t >= p => Number::Int(t - p),
        (t, p) if t.as_f64() >= p.as_f64() => Number::Float(t.as_f64() - p.as_f64()),
        (t, _) => t,
    }
}

fn histogram_increase(total: &Histogram, prev: &Histogram) -> Histogram {
    if total.bounds != prev.bounds || total.count < prev.count {
        return total.clone();
    }
    Histogram {
        bounds: total.bounds.clone(),
        counts: total
            .counts
            .iter()
            .zip(&prev.counts)
            .map(|(t, p)| t.saturating_sub(*p))
            .collect(),
        count: total.count - prev.count,
        sum: total.sum - prev.sum,
    }
}

/// OTLP buckets are per bucket (not cumulative) and include the `+Inf` one.
fn histogram_point(
    attributes: Vec<KeyValue>,
    start: u64,
    now: u64,
    h: &Histogram,
) -> HistogramDataPoint {
    let mut bucket_counts = Vec::with_capacity(h.counts.len() + 1);
    let mut below = 0u64;
    for &c in &h.counts {
        bucket_counts.push(c.saturating_sub(below));
        below = c;
    }
    bucket_counts.push(h.count.saturating_sub(below));
    HistogramDataPoint {
        attributes,
        start_time_unix_nano: start,
        time_unix_nano: now,
        count: h.count,
        sum: Some(h.sum),
        bucket_counts,
        explicit_bounds: h.bounds.clone(),
        exemplars: Vec::new(),
        flags: 0,
        min: None,
        max: None,
    }
}
