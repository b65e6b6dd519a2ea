//! From a published view to the bytes of an OTLP `ExportMetricsServiceRequest`.
//!
//! Cumulative (the default) sends each series' reset-safe total with the start time the
//! tracker gave it, so a lost export loses nothing: the next one carries the right total.
//! Delta sends the increase since the last *successful* export, computed here from those
//! totals rather than taken from the tracker's per-cycle delta: a view that was skipped (the
//! collector was slow) or an export that failed still has its increase in the next delta.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use snapbridge_core::{Histogram, Kind, Number, TrackedValue};

mod attributes;

use crate::protowire::{
    WireType, bytes_field, fixed64_field, key, len_field_len, len_header, string_attribute,
    string_field, string_field_len, varint_field,
};
use crate::sinks::otlp::Temporality;
use crate::view::{Point, SeriesMeta, View};
use attributes::Attributes;

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// The last exported total of a series, kept for delta temporality.
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
    resource: Vec<u8>,
    scope: Vec<u8>,
    committed: HashMap<usize, DeltaEntry>,
    attributes: Attributes,
}

/// Delta state to remember once the request it was built for has been accepted.
pub struct Pending(HashMap<usize, DeltaEntry>);

/// OTLP `AggregationTemporality` values.
const DELTA: u64 = 1;
const CUMULATIVE: u64 = 2;

impl Encoder {
    /// An encoder for one sink.
    pub fn new(temporality: Temporality, resource: &[(String, String)]) -> Self {
        let mut res = Vec::new();
        for (k, v) in resource {
            string_attribute(&mut res, 1, k, v); // Resource.attributes = 1
        }
        let mut scope = Vec::new();
        string_field(&mut scope, 1, "snapbridge"); // InstrumentationScope.name
        string_field(&mut scope, 2, env!("CARGO_PKG_VERSION")); // .version
        Encoder {
            temporality,
            resource: res,
            scope,
            committed: HashMap::new(),
            attributes: Attributes::default(),
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

    /// The encoded request for `view`, and the delta state to commit if it is accepted.
    pub fn build(&mut self, view: &View) -> (Vec<u8>, Pending) {
        self.attributes.refresh(view);
        let now = nanos(view.time);
        let delta = self.temporality == Temporality::Delta;
        let families = &view.families;
        let ranks = view.family_ranks();
        // Each family's data points, encoded as they come (points arrive in source order).
        let mut points: Vec<Vec<u8>> = (0..families.len()).map(|_| Vec::new()).collect();
        let mut pending = HashMap::with_capacity(if delta { view.points.len() } else { 0 });
        for (i, point) in view.points.iter().enumerate() {
            let family = &point.meta.family;
            let Some(r) = View::rank_of(&ranks, family) else {
                continue;
            };
            let buf = &mut points[r];
            let attrs = self.attributes.get(i);
            let ptr = Arc::as_ptr(&point.meta) as usize;
            let last = if delta {
                self.committed.get(&ptr)
            } else {
                None
            };
            let start = match last {
                Some(e) => nanos(e.time),
                None => nanos(point.start),
            };
            match &point.value {
                TrackedValue::Counter { total, .. } => {
                    let value = match (delta, last.map(|e| &e.total)) {
                        (false, _) => *total,
                        (true, Some(Exported::Counter(prev))) => counter_increase(*total, *prev),
                        (true, _) => *total,
                    };
                    if delta {
                        pending.insert(ptr, entry(point, Exported::Counter(*total), view.time));
                    }
                    number_point(buf, attrs, start, now, value);
                }
                TrackedValue::Gauge(v) => number_point(buf, attrs, 0, now, Number::Float(*v)),
                TrackedValue::Histogram { total, .. } => {
                    let shown = match (delta, last.map(|e| &e.total)) {
                        (true, Some(Exported::Histogram(prev))) => histogram_increase(total, prev),
                        _ => (**total).clone(),
                    };
                    if delta {
                        let saved = Exported::Histogram((**total).clone());
                        pending.insert(ptr, entry(point, saved, view.time));
                    }
                    histogram_point(buf, attrs, start, now, &shown);
                }
            }
        }
        let temporality = if delta { DELTA } else { CUMULATIVE };
        let mut metrics = Vec::with_capacity(points.iter().map(Vec::len).sum::<usize>() + 4096);
        for (family, buf) in families.iter().zip(&points) {
            if buf.is_empty() {
                continue;
            }
            // Gauge = 5, Sum = 7, Histogram = 9; Sum and Histogram carry the temporality
            // (field 2) and Sum is monotonic (field 3).
            let (data_field, extra) = match family.kind {
                Kind::Gauge => (5, 0),
                Kind::Counter => (7, 4),
                Kind::Histogram => (9, 2),
                // A kind added to the core later has no OTLP mapping here yet: not sent.
                _ => continue,
            };
            let data_len = buf.len() + extra;
            let unit = family.unit.as_deref().unwrap_or("");
            let metric_len = string_field_len(1, &family.base)
                + string_field_len(2, &family.help)
                + string_field_len(3, unit)
                + len_field_len(data_field, data_len);
            len_header(&mut metrics, 2, metric_len); // ScopeMetrics.metrics = 2
            string_field(&mut metrics, 1, &family.base);
            string_field(&mut metrics, 2, &family.help);
            string_field(&mut metrics, 3, unit);
            len_header(&mut metrics, data_field, data_len);
            metrics.extend_from_slice(buf);
            if family.kind != Kind::Gauge {
                varint_field(&mut metrics, 2, temporality);
            }
            if family.kind == Kind::Counter {
                varint_field(&mut metrics, 3, 1);
            }
        }
        let scope_metrics_len = len_field_len(1, self.scope.len()) + metrics.len();
        let resource_metrics_len =
            len_field_len(1, self.resource.len()) + len_field_len(2, scope_metrics_len);
        let mut out = Vec::with_capacity(len_field_len(1, resource_metrics_len));
        len_header(&mut out, 1, resource_metrics_len); // request.resource_metrics = 1
        bytes_field(&mut out, 1, &self.resource); // ResourceMetrics.resource = 1
        len_header(&mut out, 2, scope_metrics_len); // ResourceMetrics.scope_metrics = 2
        bytes_field(&mut out, 1, &self.scope); // ScopeMetrics.scope = 1
        out.extend_from_slice(&metrics);
        (out, Pending(pending))
    }
}

fn entry(point: &Point, total: Exported, time: SystemTime) -> DeltaEntry {
    DeltaEntry {
        _meta: point.meta.clone(),
        total,
        time,
    }
}

/// One `NumberDataPoint` as an element of `data_points` (field 1).
fn number_point(buf: &mut Vec<u8>, attrs: &[u8], start: u64, now: u64, value: Number) {
    let len = attrs.len() + if start != 0 { 9 } else { 0 } + 9 + 9;
    len_header(buf, 1, len);
    buf.extend_from_slice(attrs);
    if start != 0 {
        fixed64_field(buf, 2, start);
    }
    fixed64_field(buf, 3, now);
    match value {
        // as_int = 6 (sfixed64); totals above i64::MAX go as doubles.
        Number::Int(i) if i <= i64::MAX as u64 => fixed64_field(buf, 6, i),
        other => {
            key(buf, 4, WireType::Fixed64); // as_double = 4
            buf.extend_from_slice(&other.as_f64().to_bits().to_le_bytes());
        }
    }
}

/// One `HistogramDataPoint`; OTLP buckets are per bucket (not cumulative) and include `+Inf`.
fn histogram_point(buf: &mut Vec<u8>, attrs: &[u8], start: u64, now: u64, h: &Histogram) {
    let buckets = h.counts().len() + 1;
    let bounds = h.bounds().len();
    let mut len = attrs.len() + 9 * 4 + len_field_len(6, 8 * buckets);
    if bounds > 0 {
        len += len_field_len(7, 8 * bounds);
    }
    len_header(buf, 1, len);
    buf.extend_from_slice(attrs);
    fixed64_field(buf, 2, start);
    fixed64_field(buf, 3, now);
    fixed64_field(buf, 4, h.count());
    key(buf, 5, WireType::Fixed64); // sum
    buf.extend_from_slice(&h.sum().to_bits().to_le_bytes());
    len_header(buf, 6, 8 * buckets); // bucket_counts, packed fixed64
    let mut below = 0u64;
    for &c in h.counts() {
        buf.extend_from_slice(&c.saturating_sub(below).to_le_bytes());
        below = c;
    }
    buf.extend_from_slice(&h.count().saturating_sub(below).to_le_bytes());
    if bounds > 0 {
        len_header(buf, 7, 8 * bounds); // explicit_bounds, packed double
        for b in h.bounds() {
            buf.extend_from_slice(&b.to_bits().to_le_bytes());
        }
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
    if total.bounds() != prev.bounds() || total.count() < prev.count() {
        return total.clone();
    }
    Histogram::from_parts(
        total.bounds().to_vec(),
        total
            .counts()
            .iter()
            .zip(prev.counts())
            .map(|(t, p)| t.saturating_sub(*p))
            .collect(),
        total.count() - prev.count(),
        total.sum() - prev.sum(),
    )
}

#[cfg(test)]
mod tests;
