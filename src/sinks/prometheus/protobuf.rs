//! The Prometheus protobuf exposition: length-delimited `io.prometheus.client.MetricFamily`
//! messages, the format Prometheus prefers when it ingests created timestamps (and the only
//! one Prometheus 2.x reads them from).
//!
//! Written with the same hand-rolled wire helpers as the OTLP request (src/protowire.rs)
//! rather than the `prometheus` crate's generated types: those would be built and freed per
//! series on every render. The crate's types stay in the tests as the oracle
//! (tests/exposition_protobuf.rs decodes every body with them).

use std::time::{SystemTime, UNIX_EPOCH};

use snapbridge_core::{Histogram, Kind, TrackedValue};

use crate::protowire::{
    WireType, bytes_field, fixed64_field, key, len_header, string_field, varint,
};
use crate::view::{ByFamily, Family, Point, View};

/// Content type of the delimited protobuf format.
pub const PROTOBUF_CONTENT_TYPE: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

// metrics.proto's MetricType values.
const COUNTER: u64 = 0;
const GAUGE: u64 = 1;
const UNTYPED: u64 = 3;
const HISTOGRAM: u64 = 4;

/// Renders every family of `view` as length-delimited `MetricFamily` messages, families in
/// name order and series in view order, as the text formats list them.
pub fn render(view: &View) -> Vec<u8> {
    // Each family's `metric` fields (4) in its own buffer ([`ByFamily`]); a family's
    // message is its header and that buffer, behind their length.
    let mut grouped = ByFamily::new(view);
    let (mut metric_buf, mut scratch) = (Vec::new(), Vec::new());
    grouped.write_all(view, |_, point, _, buf| {
        metric_buf.clear();
        if write_metric(&mut metric_buf, &mut scratch, &point.meta.family, point) {
            bytes_field(buf, 4, &metric_buf);
        }
    });
    let bufs = grouped.buffers();
    let mut out = Vec::with_capacity(bufs.iter().map(Vec::len).sum::<usize>() + 4096);
    let mut header = Vec::new();
    for (family, metrics) in view.families.iter().zip(bufs) {
        if metrics.is_empty() {
            continue;
        }
        header.clear();
        write_family_header(&mut header, family);
        varint(&mut out, (header.len() + metrics.len()) as u64);
        out.extend_from_slice(&header);
        out.extend_from_slice(metrics);
    }
    out
}

fn write_family_header(out: &mut Vec<u8>, family: &Family) {
    string_field(out, 1, &family.exposed);
    string_field(out, 2, &family.help);
    let kind = match family.kind {
        Kind::Counter => COUNTER,
        Kind::Gauge => GAUGE,
        Kind::Histogram => HISTOGRAM,
        // A kind added to the core later: declared untyped until it has a mapping.
        _ => UNTYPED,
    };
    // proto2: the type is written even when it is COUNTER (0).
    key(out, 3, WireType::Varint);
    varint(out, kind);
}

/// One `Metric`: labels, then the value of the family's kind; false when the point's value
/// does not match its family (never built by the pipeline).
fn write_metric(out: &mut Vec<u8>, scratch: &mut Vec<u8>, family: &Family, point: &Point) -> bool {
    // Read straight from the view's label bytes: borrowed, no per-series strings.
    for (name, value) in crate::labels::pairs(&point.meta.rendered_labels) {
        scratch.clear();
        string_field(scratch, 1, &name);
        string_field(scratch, 2, &value);
        bytes_field(out, 1, scratch);
    }
    scratch.clear();
    match (&point.value, family.kind) {
        (TrackedValue::Counter { total, .. }, Kind::Counter) => {
            // Counter { value = 1; created_timestamp = 3 }
            fixed64_field(scratch, 1, total.as_f64().to_bits());
            write_timestamp(scratch, 3, point.start);
            bytes_field(out, 3, scratch);
        }
        (TrackedValue::Gauge(v), Kind::Gauge | Kind::Counter) => {
            // Gauge { value = 1 }
            fixed64_field(scratch, 1, v.to_bits());
            bytes_field(out, 2, scratch);
        }
        (TrackedValue::Histogram { total, .. }, Kind::Histogram) => {
            write_histogram(scratch, total, point.start);
            bytes_field(out, 7, scratch);
        }
        _ => return false,
    }
    true
}

/// Histogram { sample_count = 1; sample_sum = 2; bucket = 3; created_timestamp = 15 }, with
/// the finite buckets only: the `+Inf` bucket is the sample count, as parsers know.
fn write_histogram(out: &mut Vec<u8>, h: &Histogram, start: SystemTime) {
    key(out, 1, WireType::Varint);
    varint(out, h.count());
    fixed64_field(out, 2, h.sum().to_bits());
    let mut bucket = Vec::with_capacity(16);
    for (bound, count) in h.bounds().iter().zip(h.counts()) {
        bucket.clear();
        // Bucket { cumulative_count = 1; upper_bound = 2 }
        key(&mut bucket, 1, WireType::Varint);
        varint(&mut bucket, *count);
        fixed64_field(&mut bucket, 2, bound.to_bits());
        bytes_field(out, 3, &bucket);
    }
    write_timestamp(out, 15, start);
}

/// google.protobuf.Timestamp { seconds = 1; nanos = 2 } as field `field`.
fn write_timestamp(out: &mut Vec<u8>, field: u32, t: SystemTime) {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut ts = Vec::with_capacity(12);
    key(&mut ts, 1, WireType::Varint);
    varint(&mut ts, since.as_secs());
    if since.subsec_nanos() > 0 {
        key(&mut ts, 2, WireType::Varint);
        varint(&mut ts, u64::from(since.subsec_nanos()));
    }
    len_header(out, field, ts.len());
    out.extend_from_slice(&ts);
}
