//! From a published view to the bytes of an OTLP `ExportMetricsServiceRequest`.
//!
//! Cumulative (the default) sends each series' reset-safe total with the start time the
//! tracker gave it, so a lost export loses nothing: the next one carries the right total.
//! Delta sends the increase since the last *delivered* export, computed from those totals
//! and the sink's [`DeltaBook`] rather than taken from the tracker's per-cycle delta: a view
//! that was skipped (the collector was slow), an export that failed, or a restart still has
//! its increase in the next delta.

use std::time::SystemTime;

use snapbridge_core::{Histogram, Kind, Number, TrackedValue};

mod attributes;

use crate::protowire::{
    WireType, bytes_field, fixed64_field, key, len_field_len, len_header, string_attribute,
    string_field, string_field_len, varint_field,
};
use crate::sinks::otlp::Temporality;
use crate::sinks::otlp::delta::{DeltaBook, Exported, Outcome, Sent};
use crate::view::{ByFamily, Family, View};
use attributes::Attributes;

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Builds requests; in delta mode its [`DeltaBook`] remembers what was delivered.
pub struct Encoder {
    temporality: Temporality,
    resource: Vec<u8>,
    scope: Vec<u8>,
    book: DeltaBook,
    attributes: Attributes,
}

/// The series of a built request, to settle once its outcome is known.
pub struct Pending(Sent);

impl Pending {
    /// Points sent again, identical, because their earlier send got no answer.
    pub fn resends(&self) -> usize {
        DeltaBook::resends(&self.0)
    }
}

/// OTLP `AggregationTemporality` values.
const DELTA: u64 = 1;
const CUMULATIVE: u64 = 2;

impl Encoder {
    /// An encoder for one sink, with no delta baselines yet.
    pub fn new(temporality: Temporality, resource: &[(String, String)]) -> Self {
        Encoder::with_book(temporality, resource, DeltaBook::default())
    }

    /// An encoder that continues from `book` (baselines restored from the state file, or
    /// carried over from the encoder of settings now replaced).
    pub fn with_book(
        temporality: Temporality,
        resource: &[(String, String)],
        book: DeltaBook,
    ) -> Self {
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
            book,
            attributes: Attributes::default(),
        }
    }

    /// Series whose delta baselines are kept (bounded by the series the tracker keeps).
    pub fn tracked(&self) -> usize {
        self.book.len()
    }

    /// The delta baselines.
    pub fn book(&self) -> &DeltaBook {
        &self.book
    }

    /// The delta baselines, to restore saved ones into.
    pub fn book_mut(&mut self) -> &mut DeltaBook {
        &mut self.book
    }

    /// The delta baselines, for an encoder of new settings ([`Encoder::with_book`]).
    pub fn into_book(self) -> DeltaBook {
        self.book
    }

    /// Records that the request built with `pending` was accepted.
    pub fn commit(&mut self, pending: Pending) {
        self.settle(pending, Outcome::Accepted);
    }

    /// Records what became of the request built with `pending`.
    pub fn settle(&mut self, pending: Pending, outcome: Outcome) {
        self.book.settle(pending.0, outcome);
    }

    /// The encoded request for `view`, and its series to settle once its outcome is known.
    /// In delta mode its points are marked sent now, before the request goes out.
    pub fn build(&mut self, view: &View) -> (Vec<u8>, Pending) {
        self.attributes.refresh(view);
        let now = nanos(view.time);
        let delta = self.temporality == Temporality::Delta;
        let families = &view.families;
        // Each family's data points, encoded as they come (points arrive in source order).
        let mut grouped = ByFamily::new(view);
        let mut pending = self.book.begin();
        grouped.write_all(view, |i, point, _, buf| {
            let attrs = self.attributes.get(i);
            let planned = if delta {
                self.book.plan(point, view.time, &mut pending)
            } else {
                None
            };
            match (&point.value, planned) {
                (TrackedValue::Gauge(v), _) => number_point(buf, attrs, 0, now, Number::Float(*v)),
                (_, Some(p)) => match &p.value {
                    Exported::Counter(n) => {
                        number_point(buf, attrs, nanos(p.start), nanos(p.end), *n)
                    }
                    Exported::Histogram(h) => {
                        histogram_point(buf, attrs, nanos(p.start), nanos(p.end), h)
                    }
                },
                (TrackedValue::Counter { total, .. }, None) => {
                    number_point(buf, attrs, nanos(point.start), now, *total)
                }
                (TrackedValue::Histogram { total, .. }, None) => {
                    histogram_point(buf, attrs, nanos(point.start), now, total)
                }
            }
        });
        if delta {
            self.book.prune(view.time);
        }
        let temporality = if delta { DELTA } else { CUMULATIVE };
        // Every length is known before a byte is written, so the request is written once,
        // straight into its final buffer, behind the headers that give those lengths.
        let metrics: Vec<Metric> = families
            .iter()
            .zip(grouped.buffers())
            .filter_map(|(family, points)| Metric::new(family, points))
            .collect();
        let metrics_len: usize = metrics.iter().map(|m| len_field_len(2, m.len)).sum();
        let scope_metrics_len = len_field_len(1, self.scope.len()) + metrics_len;
        let resource_metrics_len =
            len_field_len(1, self.resource.len()) + len_field_len(2, scope_metrics_len);
        let mut out = Vec::with_capacity(len_field_len(1, resource_metrics_len));
        len_header(&mut out, 1, resource_metrics_len); // request.resource_metrics = 1
        bytes_field(&mut out, 1, &self.resource); // ResourceMetrics.resource = 1
        len_header(&mut out, 2, scope_metrics_len); // ResourceMetrics.scope_metrics = 2
        bytes_field(&mut out, 1, &self.scope); // ScopeMetrics.scope = 1
        for metric in &metrics {
            metric.write(&mut out, temporality);
        }
        (out, Pending(pending))
    }
}

/// One family as a `Metric` of `ScopeMetrics.metrics` (field 2): its encoded points and
/// the lengths its headers give.
struct Metric<'a> {
    family: &'a Family,
    points: &'a [u8],
    /// `Gauge` = 5, `Sum` = 7, `Histogram` = 9.
    data_field: u32,
    /// Bytes after the points: the temporality (field 2) of a Sum or Histogram, and the
    /// monotonic flag (field 3) of a Sum.
    extra: usize,
    /// The encoded `Metric`, without its own header.
    len: usize,
}

impl<'a> Metric<'a> {
    /// None for a family without points, or of a kind added to the core later that has no
    /// OTLP mapping here yet (not sent).
    fn new(family: &'a Family, points: &'a [u8]) -> Option<Self> {
        if points.is_empty() {
            return None;
        }
        let (data_field, extra) = match family.kind {
            Kind::Gauge => (5, 0),
            Kind::Counter => (7, 4),
            Kind::Histogram => (9, 2),
            _ => return None,
        };
        let len = string_field_len(1, &family.base)
            + string_field_len(2, &family.help)
            + string_field_len(3, family.unit.as_deref().unwrap_or(""))
            + len_field_len(data_field, points.len() + extra);
        Some(Metric {
            family,
            points,
            data_field,
            extra,
            len,
        })
    }

    fn write(&self, out: &mut Vec<u8>, temporality: u64) {
        let family = self.family;
        len_header(out, 2, self.len); // ScopeMetrics.metrics = 2
        string_field(out, 1, &family.base);
        string_field(out, 2, &family.help);
        string_field(out, 3, family.unit.as_deref().unwrap_or(""));
        len_header(out, self.data_field, self.points.len() + self.extra);
        out.extend_from_slice(self.points);
        if family.kind != Kind::Gauge {
            varint_field(out, 2, temporality);
        }
        if family.kind == Kind::Counter {
            varint_field(out, 3, 1);
        }
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

#[cfg(test)]
mod tests;
