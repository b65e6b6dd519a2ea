//! The exposition writers: Prometheus text format 0.0.4 and OpenMetrics 1.0.
//!
//! Hand-written rather than the `prometheus` crate's `TextEncoder`: that crate costs about
//! 1 µs per series to build and encode its `MetricFamily` protos (docs/BENCHMARKS.md), this
//! writer copies pre-rendered label bytes and formats one number per line. The `prometheus`
//! crate stays in the tests as the oracle: tests/exposition_oracle.rs checks both parse to
//! the same families.

use std::time::{SystemTime, UNIX_EPOCH};

use snapbridge_core::{Histogram, Kind, Number, TrackedValue};

use crate::labels::escape_into;
use crate::view::{Family, Point, View};

/// Content type of the text format.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Content type of OpenMetrics.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Which text format to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4.
    Text,
    /// OpenMetrics 1.0 (ends with `# EOF`).
    OpenMetrics,
    /// Length-delimited `io.prometheus.client.MetricFamily` protobuf messages (written by
    /// `super::protobuf`, which has no use for line prefixes or text headers).
    Protobuf,
}

/// Renders a whole view without line prefixes (the first cycle, a cycle whose series
/// changed).
///
/// Families must come out grouped, but points arrive in source order (families
/// interleaved). Rather than sort the points (random reads over the whole view, which at
/// 100k series is memory-bound), each point's lines go to its family's own buffer while the
/// points, and their metas allocated in the same order, are read front to back; the buffers
/// are then joined in name order behind their headers.
pub fn render_from_scratch(view: &View, format: Format, capacity: usize) -> Vec<u8> {
    if format == Format::Protobuf {
        return super::protobuf::render(view);
    }
    let families = &view.families;
    let ranks = view.family_ranks();
    let per_family = capacity / families.len().max(1) + 64;
    let mut bufs: Vec<Vec<u8>> = Vec::with_capacity(families.len());
    for point in &view.points {
        let family = &point.meta.family;
        let Some(r) = View::rank_of(&ranks, family) else {
            continue; // a family the view does not list: never built by the pipeline
        };
        if bufs.len() <= r {
            bufs.resize_with(families.len(), Vec::new);
        }
        let buf = &mut bufs[r];
        if buf.capacity() == 0 {
            buf.reserve(per_family);
        }
        write_point(buf, family, point, format);
    }
    let mut out = Vec::with_capacity(capacity.max(bufs.iter().map(Vec::len).sum::<usize>() + 4096));
    for (family, buf) in families.iter().zip(&bufs) {
        if buf.is_empty() {
            continue;
        }
        write_header(&mut out, family, format);
        out.extend_from_slice(buf);
    }
    if format == Format::OpenMetrics {
        out.extend_from_slice(b"# EOF\n");
    }
    out
}

pub(super) fn write_header(out: &mut Vec<u8>, family: &Family, format: Format) {
    let kind = family.kind.as_str();
    match format {
        Format::Text => {
            let name = family.exposed.as_bytes();
            out.extend_from_slice(b"# HELP ");
            out.extend_from_slice(name);
            out.push(b' ');
            escape_into(out, &family.help, false);
            out.extend_from_slice(b"\n# TYPE ");
            out.extend_from_slice(name);
            out.push(b' ');
            out.extend_from_slice(kind.as_bytes());
            out.push(b'\n');
        }
        // Families carry their own header fields in protobuf.
        Format::Protobuf => {}
        Format::OpenMetrics => {
            let name = family.openmetrics_name().as_bytes();
            out.extend_from_slice(b"# TYPE ");
            out.extend_from_slice(name);
            out.push(b' ');
            out.extend_from_slice(kind.as_bytes());
            out.push(b'\n');
            if let Some(unit) = openmetrics_unit(family) {
                out.extend_from_slice(b"# UNIT ");
                out.extend_from_slice(name);
                out.push(b' ');
                out.extend_from_slice(unit.as_bytes());
                out.push(b'\n');
            }
            out.extend_from_slice(b"# HELP ");
            out.extend_from_slice(name);
            out.push(b' ');
            escape_into(out, &family.help, true);
            out.push(b'\n');
        }
    }
}

/// OpenMetrics allows `# UNIT` only when the family name ends with `_<unit>`.
fn openmetrics_unit(family: &Family) -> Option<String> {
    let (main, _) = crate::names::unit_words(family.unit.as_deref()?);
    let main = main?;
    let name = family.openmetrics_name();
    name.strip_suffix(main.as_str())
        .is_some_and(|rest| rest.ends_with('_'))
        .then_some(main)
}

pub(super) fn write_point(out: &mut Vec<u8>, family: &Family, point: &Point, format: Format) {
    let labels = point.meta.rendered_labels.as_bytes();
    match (&point.value, family.kind) {
        (TrackedValue::Counter { total, .. }, Kind::Counter) => {
            // Text format: the family name already ends in _total; OpenMetrics: the sample
            // name is the family name plus _total, which is the same string.
            write_sample(out, family.exposed.as_bytes(), b"", labels, None);
            write_number(out, *total);
            out.push(b'\n');
            if format == Format::OpenMetrics {
                write_created(
                    out,
                    family.openmetrics_name().as_bytes(),
                    labels,
                    point.start,
                );
            }
        }
        (TrackedValue::Gauge(v), _) => {
            write_sample(out, family.exposed.as_bytes(), b"", labels, None);
            write_f64(out, *v);
            out.push(b'\n');
        }
        (TrackedValue::Histogram { total, .. }, _) => {
            write_histogram(out, family.exposed.as_bytes(), labels, total);
            out.push(b'\n');
            if format == Format::OpenMetrics {
                write_created(out, family.exposed.as_bytes(), labels, point.start);
            }
        }
        // A point whose value does not match its family's kind is never built (the
        // pipeline registers families by kind); skip rather than write a wrong line.
        _ => {}
    }
}

/// Writes OpenMetrics' `<family>_created{labels} <seconds>` line: when the series' total
/// began (constant while it lives), so a scraper that inserts a zero there (Prometheus'
/// created-timestamp zero ingestion) counts exactly what snapbridge counted, a counter born
/// between two scrapes included. Milliseconds, as Prometheus stores them.
pub(super) fn write_created(out: &mut Vec<u8>, family: &[u8], labels: &[u8], start: SystemTime) {
    write_sample(out, family, b"_created", labels, None);
    let since = start.duration_since(UNIX_EPOCH).unwrap_or_default();
    write_u64(out, since.as_secs());
    let ms = since.subsec_millis();
    out.extend_from_slice(&[
        b'.',
        b'0' + (ms / 100) as u8,
        b'0' + (ms / 10 % 10) as u8,
        b'0' + (ms % 10) as u8,
        b'\n',
    ]);
}

fn write_histogram(out: &mut Vec<u8>, name: &[u8], labels: &[u8], h: &Histogram) {
    let mut le = String::new();
    for (bound, count) in h.bounds().iter().zip(h.counts()) {
        le.clear();
        go_float(&mut le, *bound);
        write_sample(out, name, b"_bucket", labels, Some(le.as_bytes()));
        write_u64(out, *count);
        out.push(b'\n');
    }
    write_sample(out, name, b"_bucket", labels, Some(b"+Inf"));
    write_u64(out, h.count());
    out.push(b'\n');
    write_sample(out, name, b"_sum", labels, None);
    write_f64(out, h.sum());
    out.push(b'\n');
    write_sample(out, name, b"_count", labels, None);
    write_u64(out, h.count());
}

/// Formats a bucket bound as Go's `strconv.FormatFloat(v, 'g', -1, 64)` does (`1`, `0.25`,
/// `1e+06`): the form Go clients write and OTLP receivers such as VictoriaMetrics give the
/// `le` label, so a bucket series is the same whether it was scraped or pushed. Both text
/// parsers accept it.
pub fn go_float(out: &mut String, v: f64) {
    if !v.is_finite() {
        out.push_str(if v.is_nan() {
            "NaN"
        } else if v > 0.0 {
            "+Inf"
        } else {
            "-Inf"
        });
        return;
    }
    if v == 0.0 {
        out.push('0');
        return;
    }
    if v < 0.0 {
        out.push('-');
    }
    // Shortest round-trip digits and the decimal point position, from ryu's output.
    let mut buf = ryu::Buffer::new();
    let text = buf.format_finite(v.abs());
    let (mantissa, exp10) = match text.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (text, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all: String = format!("{int_part}{frac_part}");
    let lead = all.len() - all.trim_start_matches('0').len();
    let digits = all.trim_start_matches('0').trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    // Position of the decimal point relative to the first significant digit.
    let dp = int_part.len() as i32 - lead as i32 + exp10;
    let exp = dp - 1;
    // Go uses the exponent form below 1e-4 and from 1e6 on (precision 6 for shortest).
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        out.push_str(&e.to_string());
    } else if dp <= 0 {
        out.push_str("0.");
        for _ in 0..(-dp) {
            out.push('0');
        }
        out.push_str(digits);
    } else if digits.len() as i32 <= dp {
        out.push_str(digits);
        for _ in 0..(dp - digits.len() as i32) {
            out.push('0');
        }
    } else {
        out.push_str(&digits[..dp as usize]);
        out.push('.');
        out.push_str(&digits[dp as usize..]);
    }
}

/// Writes `name suffix{labels[,le="..."]} ` (no braces when there is no label at all).
pub(super) fn write_sample(
    out: &mut Vec<u8>,
    name: &[u8],
    suffix: &[u8],
    labels: &[u8],
    le: Option<&[u8]>,
) {
    out.extend_from_slice(name);
    out.extend_from_slice(suffix);
    if !labels.is_empty() || le.is_some() {
        out.push(b'{');
        out.extend_from_slice(labels);
        if let Some(le) = le {
            if !labels.is_empty() {
                out.push(b',');
            }
            out.extend_from_slice(b"le=\"");
            out.extend_from_slice(le);
            out.push(b'"');
        }
        out.push(b'}');
    }
    out.push(b' ');
}

pub(super) fn write_number(out: &mut Vec<u8>, n: Number) {
    match n {
        Number::Int(i) => write_u64(out, i),
        Number::Float(f) => write_f64(out, f),
        other => write_f64(out, other.as_f64()),
    }
}

fn write_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Floats in the shortest form that reads back exactly; NaN and infinities as both formats
/// spell them.
pub fn write_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        // Whole numbers (queue sizes, bytes, counts: most gauges) as integers: exact below
        // 2^53, the same value to every parser, and about 5x cheaper than the shortest
        // round-trip float form, which was a third of the render time.
        out.extend_from_slice(itoa::Buffer::new().format(v as i64).as_bytes());
    } else {
        out.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::go_float;

    #[test]
    fn bucket_bounds_are_written_like_go() {
        let cases = [
            (1.0, "1"),
            (10.0, "10"),
            (0.005, "0.005"),
            (0.25, "0.25"),
            (2.5, "2.5"),
            (100000.0, "100000"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e21, "1e+21"),
            (-3.0, "-3"),
            (0.0, "0"),
        ];
        for (v, want) in cases {
            let mut s = String::new();
            go_float(&mut s, v);
            assert_eq!(s, want, "{v}");
        }
    }
}
