//! The exposition writers: Prometheus text format 0.0.4 and OpenMetrics 1.0.
//!
//! Hand-written rather than the `prometheus` crate's `TextEncoder`: that crate costs about
//! 1 µs per series to build and encode its `MetricFamily` protos (docs/BENCHMARKS.md), this
//! writer copies pre-rendered label bytes and formats one number per line. The `prometheus`
//! crate stays in the tests as the oracle: tests/exposition_oracle.rs checks both parse to
//! the same families.

use std::time::{SystemTime, UNIX_EPOCH};

use snapbridge_core::{Histogram, Kind, TrackedValue};

pub use super::numbers::go_float;
use super::numbers::{write_f64, write_number, write_u64};
use crate::labels::{escape_into, write_name};
use crate::view::{ByFamily, Family, Point, View};

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
/// changed): each family's lines written to its own buffer ([`ByFamily`]), then the
/// buffers joined in name order behind their headers.
pub fn render_from_scratch(view: &View, format: Format, capacity: usize) -> Vec<u8> {
    if format == Format::Protobuf {
        return super::protobuf::render(view);
    }
    let families = &view.families;
    // Worked out on a family's first point only: the view lists every family with state,
    // and under name churn most of them have no point this cycle.
    let mut quoted: Vec<Option<bool>> = vec![None; families.len()];
    let mut grouped = ByFamily::new(view);
    grouped.write_all(view, |_, point, r, buf| {
        let family = &point.meta.family;
        let quoted = *quoted[r].get_or_insert_with(|| needs_quotes(family, format));
        write_point(buf, family, point, format, quoted);
    });
    let bufs = grouped.buffers();
    let mut out = Vec::with_capacity(capacity.max(bufs.iter().map(Vec::len).sum::<usize>() + 4096));
    for (family, buf) in families.iter().zip(bufs) {
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
            let name = &family.exposed;
            out.extend_from_slice(b"# HELP ");
            write_name(out, name);
            out.push(b' ');
            escape_into(out, &family.help, false);
            out.extend_from_slice(b"\n# TYPE ");
            write_name(out, name);
            out.push(b' ');
            out.extend_from_slice(kind.as_bytes());
            out.push(b'\n');
        }
        // Families carry their own header fields in protobuf.
        Format::Protobuf => {}
        Format::OpenMetrics => {
            let name = family.openmetrics_name();
            out.extend_from_slice(b"# TYPE ");
            write_name(out, name);
            out.push(b' ');
            out.extend_from_slice(kind.as_bytes());
            out.push(b'\n');
            if let Some(unit) = openmetrics_unit(family) {
                out.extend_from_slice(b"# UNIT ");
                write_name(out, name);
                out.push(b' ');
                out.extend_from_slice(unit.as_bytes());
                out.push(b'\n');
            }
            out.extend_from_slice(b"# HELP ");
            write_name(out, name);
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

/// True when the sample names of `family` must go inside the braces, quoted (UTF-8 names).
pub(super) fn needs_quotes(family: &Family, format: Format) -> bool {
    let name = match format {
        Format::OpenMetrics => family.openmetrics_name(),
        _ => &family.exposed,
    };
    !crate::names::is_legacy_name(name)
}

/// The name of a counter's sample: the family name in the text format; in OpenMetrics the
/// family name and `_total`, which is the same string unless the name policy left the
/// suffix off (OpenMetrics requires it).
pub(super) fn counter_sample(family: &Family, format: Format) -> (&[u8], &'static [u8]) {
    match format {
        Format::OpenMetrics => (family.openmetrics_name().as_bytes(), b"_total"),
        _ => (family.exposed.as_bytes(), b""),
    }
}

/// Writes every sample line of one point. `quoted`: [`needs_quotes`] of its family.
pub(super) fn write_point(
    out: &mut Vec<u8>,
    family: &Family,
    point: &Point,
    format: Format,
    quoted: bool,
) {
    let labels = point.meta.rendered_labels.as_bytes();
    let name = Name {
        quoted,
        ..Name::default()
    };
    match (&point.value, family.kind) {
        (TrackedValue::Counter { total, .. }, Kind::Counter) => {
            let (base, suffix) = counter_sample(family, format);
            write_sample(
                out,
                Name {
                    base,
                    suffix,
                    quoted,
                },
                labels,
                None,
            );
            write_number(out, *total);
            out.push(b'\n');
            if format == Format::OpenMetrics {
                let base = family.openmetrics_name().as_bytes();
                write_created(out, Name { base, ..name }, labels, point.start);
            }
        }
        (TrackedValue::Gauge(v), _) => {
            let base = family.exposed.as_bytes();
            write_sample(out, Name { base, ..name }, labels, None);
            write_f64(out, *v);
            out.push(b'\n');
        }
        (TrackedValue::Histogram { total, .. }, _) => {
            let base = family.exposed.as_bytes();
            write_histogram(out, Name { base, ..name }, labels, total);
            out.push(b'\n');
            if format == Format::OpenMetrics {
                write_created(out, Name { base, ..name }, labels, point.start);
            }
        }
        // A point whose value does not match its family's kind is never built (the
        // pipeline registers families by kind); skip rather than write a wrong line.
        _ => {}
    }
}

/// A sample name: the family's, a suffix (`_bucket`, `_total`...), and whether it is written
/// quoted inside the braces (a name outside the legacy charset).
#[derive(Clone, Copy, Default)]
pub(super) struct Name<'a> {
    /// The family part.
    pub base: &'a [u8],
    /// Appended to it.
    pub suffix: &'a [u8],
    /// Quoted inside the braces.
    pub quoted: bool,
}

/// Writes OpenMetrics' `<family>_created{labels} <seconds>` line: when the series' total
/// began (constant while it lives), so a scraper that inserts a zero there (Prometheus'
/// created-timestamp zero ingestion) counts exactly what snapbridge counted, a counter born
/// between two scrapes included. Milliseconds, as Prometheus stores them.
pub(super) fn write_created(out: &mut Vec<u8>, family: Name, labels: &[u8], start: SystemTime) {
    let name = Name {
        suffix: b"_created",
        ..family
    };
    write_sample(out, name, labels, None);
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

fn write_histogram(out: &mut Vec<u8>, family: Name, labels: &[u8], h: &Histogram) {
    let mut le = String::new();
    let with = |suffix| Name { suffix, ..family };
    for (bound, count) in h.bounds().iter().zip(h.counts()) {
        le.clear();
        go_float(&mut le, *bound);
        write_sample(out, with(b"_bucket"), labels, Some(le.as_bytes()));
        write_u64(out, *count);
        out.push(b'\n');
    }
    write_sample(out, with(b"_bucket"), labels, Some(b"+Inf"));
    write_u64(out, h.count());
    out.push(b'\n');
    write_sample(out, with(b"_sum"), labels, None);
    write_f64(out, h.sum());
    out.push(b'\n');
    write_sample(out, with(b"_count"), labels, None);
    write_u64(out, h.count());
}

/// Writes `name suffix{labels[,le="..."]} ` (no braces when there is no label at all), or
/// for a quoted name `{"name suffix",labels[,le="..."]} `.
pub(super) fn write_sample(out: &mut Vec<u8>, name: Name, labels: &[u8], le: Option<&[u8]>) {
    if name.quoted {
        out.extend_from_slice(b"{\"");
        // Names are UTF-8 (they come from `String`s); escape as the text formats require.
        let text = std::str::from_utf8(name.base).unwrap_or_default();
        escape_into(out, text, true);
        escape_into(
            out,
            std::str::from_utf8(name.suffix).unwrap_or_default(),
            true,
        );
        out.push(b'"');
        if !labels.is_empty() {
            out.push(b',');
        }
    } else {
        out.extend_from_slice(name.base);
        out.extend_from_slice(name.suffix);
    }
    if name.quoted || !labels.is_empty() || le.is_some() {
        if !name.quoted {
            out.push(b'{');
        }
        out.extend_from_slice(labels);
        if let Some(le) = le {
            if !labels.is_empty() || name.quoted {
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
