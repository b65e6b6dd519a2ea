//! One key of a document: a plain number, or a typed entry.
//!
//! A typed entry is an object with a `type`, a `value` or `buckets` key:
//!
//! ```json
//! {"type": "counter", "value": 42, "labels": {"op": "read"}, "unit": "By", "description": "..."}
//! {"type": "histogram", "buckets": {"0.1": 3, "1": 5}, "count": 7, "sum": 2.5, "unit": "s"}
//! ```
//!
//! `name` inside the entry overrides the map key, so several entries of one metric with
//! different labels can live in one map. A missing `type` leaves the kind to the source's
//! rules (as for a plain number), or makes a histogram when `buckets` is present.
//!
//! Histograms take three forms: `buckets` as an object of cumulative counts keyed by upper
//! bound (`"+Inf"` optional, equal to `count`); `buckets` as an array of bounds with
//! `counts`, a same-length array of cumulative counts; or `buckets` with `samples`, the raw
//! observations (as registries that keep every sample hold them: `{buckets, samples}`).

use std::borrow::Cow;

use serde_json::Value as Json;
use snapbridge_core::{Histogram, Number, Value};

use super::node::{Fields, Node};
use super::{Collector, DocumentOptions, reason};
use crate::limits::MAX_LABEL_VALUE_BYTES;
use crate::text::shorten;

type Problem = (&'static str, String);

/// True when an object is a typed entry rather than a group of nested metrics.
pub fn is_typed(fields: &Fields<'_>) -> bool {
    fields
        .iter()
        .any(|(k, _)| k == "type" || k == "value" || k == "buckets")
}

/// A plain value of a map: a number (kind from the rules), a boolean (0 or 1), or a
/// rejection.
pub fn plain(name: Cow<'_, str>, value: &Node<'_>, opts: &DocumentOptions, out: &mut Collector) {
    if let Err((why, detail)) = check_name(&name) {
        return out.reject(name.into_owned(), why, detail);
    }
    match number(value) {
        Ok(n) => plain_number(name, n, opts, out),
        Err(None) => {
            let detail = format!("expected a number, found {}", value.describe());
            out.reject(name.into_owned(), reason::NON_NUMERIC, detail)
        }
        Err(Some((why, detail))) => out.reject(name.into_owned(), why, detail),
    }
}

/// A plain number already read (Redis hash fields are numbers in strings).
pub fn plain_number(name: Cow<'_, str>, n: Number, opts: &DocumentOptions, out: &mut Collector) {
    if let Err((why, detail)) = check_name(&name) {
        return out.reject(name.into_owned(), why, detail);
    }
    if opts.rules.is_counter(&name)
        && let Err((why, detail)) = check_counter(n)
    {
        return out.reject(name.into_owned(), why, detail);
    }
    out.push_series(&name, &mut Vec::new(), Value::Untyped(n), None, None);
}

/// A typed entry; `key` names it in rejections and is its name unless it has a `name`.
pub fn typed(key: Cow<'_, str>, fields: &Fields<'_>, opts: &DocumentOptions, out: &mut Collector) {
    if let Err((why, detail)) = build(&key, fields, opts, out) {
        out.reject(key.into_owned(), why, detail);
    }
}

fn build<'n>(
    key: &'n str,
    obj: &'n Fields<'_>,
    opts: &DocumentOptions,
    out: &mut Collector,
) -> Result<(), Problem> {
    let name = match Node::field(obj, "name") {
        None => key,
        Some(Node::Str(s)) if !s.is_empty() => s,
        Some(other) => {
            return Err((
                reason::INVALID_ENTRY,
                format!(
                    "\"name\" must be a non-empty string, found {}",
                    other.describe()
                ),
            ));
        }
    };
    check_name(name)?;
    let mut labels = out.take_scratch();
    let result =
        labels_of(Node::field(obj, "labels"), &mut labels).and_then(|()| value_of(name, obj, opts));
    let value = match result {
        Ok(value) => value,
        Err(e) => {
            out.give_scratch(labels);
            return Err(e);
        }
    };
    let text = |v: Option<&'n Node<'_>>| -> Option<&'n str> {
        match v {
            Some(Node::Str(s)) if !s.is_empty() => Some(s),
            _ => None,
        }
    };
    let unit = text(Node::field(obj, "unit"));
    let description = text(Node::field(obj, "description"));
    out.push_series(name, &mut labels, value, unit, description);
    out.give_scratch(labels);
    Ok(())
}

fn value_of(name: &str, obj: &Fields<'_>, opts: &DocumentOptions) -> Result<Value, Problem> {
    let kind: Cow<'_, str> = match Node::field(obj, "type") {
        None if Node::field(obj, "buckets").is_some() => "histogram".into(),
        None => "untyped".into(),
        Some(Node::Str(t)) if t.bytes().any(|b| b.is_ascii_uppercase()) => {
            t.to_ascii_lowercase().into()
        }
        Some(Node::Str(t)) => Cow::Borrowed(&**t),
        Some(other) => {
            return Err((
                reason::UNKNOWN_TYPE,
                format!("\"type\" must be a string, found {}", other.describe()),
            ));
        }
    };
    let value = match &*kind {
        "histogram" => Value::Histogram(histogram(obj)?),
        "counter" | "gauge" | "untyped" => {
            let raw = Node::field(obj, "value").ok_or_else(|| {
                (
                    reason::INVALID_ENTRY,
                    "the entry has no \"value\"".to_string(),
                )
            })?;
            let n = number(raw).map_err(|problem| {
                problem.unwrap_or_else(|| {
                    (
                        reason::NON_NUMERIC,
                        format!("expected a number as \"value\", found {}", raw.describe()),
                    )
                })
            })?;
            match &*kind {
                "counter" => Value::Counter(check_counter(n)?),
                "gauge" => Value::Gauge(n.as_f64()),
                _ => {
                    if opts.rules.is_counter(name) {
                        check_counter(n)?;
                    }
                    Value::Untyped(n)
                }
            }
        }
        other => {
            return Err((
                reason::UNKNOWN_TYPE,
                format!(
                    "type {:?} is not \"counter\", \"gauge\" or \"histogram\"",
                    shorten(other, 40)
                ),
            ));
        }
    };
    Ok(value)
}

fn check_name(name: &str) -> Result<(), Problem> {
    if name.len() > MAX_LABEL_VALUE_BYTES {
        return Err((
            reason::TOO_LONG,
            format!(
                "the name is {} bytes long (at most {MAX_LABEL_VALUE_BYTES})",
                name.len()
            ),
        ));
    }
    Ok(())
}

/// Reads `labels` into `pairs` (document order; sorting is the collector's).
fn labels_of<'n>(
    raw: Option<&'n Node<'_>>,
    pairs: &mut Vec<(Cow<'n, str>, Cow<'n, str>)>,
) -> Result<(), Problem> {
    let map = match raw {
        None | Some(Node::Null) => return Ok(()),
        Some(Node::Object(map)) => map,
        Some(other) => {
            return Err((
                reason::INVALID_ENTRY,
                format!("\"labels\" must be an object, found {}", other.describe()),
            ));
        }
    };
    for (k, v) in map {
        let v: Cow<'n, str> = match v {
            Node::Str(s) => Cow::Borrowed(&**s),
            Node::U64(_) | Node::I64(_) | Node::F64(_) | Node::OutOfRange(_) => {
                v.number_text().into()
            }
            Node::Bool(b) => b.to_string().into(),
            Node::Null => continue,
            other => {
                return Err((
                    reason::INVALID_ENTRY,
                    format!(
                        "label {:?} must be a string, found {}",
                        shorten(k, 60),
                        other.describe()
                    ),
                ));
            }
        };
        if v.len() > MAX_LABEL_VALUE_BYTES {
            return Err((
                reason::TOO_LONG,
                format!(
                    "label {:?} is {} bytes long (at most {MAX_LABEL_VALUE_BYTES})",
                    shorten(k, 60),
                    v.len()
                ),
            ));
        }
        pairs.push((Cow::Borrowed(&**k), v));
    }
    Ok(())
}

/// A number as JSON gives it: integers exact, the strings Python and Go use for NaN and
/// infinities as floats, booleans as 0 or 1. `Err(None)`: not a number at all;
/// `Err(Some(problem))`: a number that cannot be read (beyond an f64's range).
pub fn number(value: &Node<'_>) -> Result<Number, Option<Problem>> {
    match value {
        Node::U64(u) => Ok(Number::Int(*u)),
        Node::I64(i) => Ok(Number::Float(*i as f64)),
        Node::F64(f) => Ok(Number::Float(*f)),
        Node::Str(s) => special_float(s).map(Number::Float).ok_or(None),
        Node::Bool(b) => Ok(Number::Int(u64::from(*b))),
        Node::OutOfRange(t) => Err(Some((
            reason::OUT_OF_RANGE,
            format!(
                "the number {} is beyond the range of a 64-bit float (±1.8e308)",
                shorten(t, 40)
            ),
        ))),
        _ => Err(None),
    }
}

/// `NaN`, `Infinity`, `+Inf`, `-Inf` and their usual spellings.
pub fn special_float(s: &str) -> Option<f64> {
    match s {
        "NaN" | "nan" | "NAN" => Some(f64::NAN),
        "Infinity" | "+Infinity" | "Inf" | "+Inf" | "inf" | "+inf" => Some(f64::INFINITY),
        "-Infinity" | "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

/// A counter value is a non-negative finite number.
pub fn check_counter(n: Number) -> Result<Number, Problem> {
    match n {
        Number::Int(_) => Ok(n),
        Number::Float(f) if f.is_nan() => Err((reason::NAN, "the counter is NaN".into())),
        Number::Float(f) if f.is_infinite() => Err((
            reason::INFINITE,
            format!("the counter is {}", if f > 0.0 { "+Inf" } else { "-Inf" }),
        )),
        Number::Float(f) if f < 0.0 => Err((
            reason::NEGATIVE,
            format!("the counter is {f}: counters never go below 0"),
        )),
        Number::Float(_) => Ok(n),
        other => check_counter(Number::Float(other.as_f64())),
    }
}

fn histogram(obj: &Fields<'_>) -> Result<Histogram, Problem> {
    let bad = |detail: String| (reason::INVALID_HISTOGRAM, detail);
    let count_of = |v: &Node<'_>, what: &str| {
        v.as_u64().ok_or_else(|| {
            bad(format!(
                "{what} must be a whole number ≥ 0, found {}",
                v.describe()
            ))
        })
    };
    let float_of = |v: &Node<'_>| number(v).ok().map(Number::as_f64);
    let sum = match Node::field(obj, "sum") {
        None => None,
        Some(v) => Some(
            float_of(v)
                .ok_or_else(|| bad(format!("\"sum\" must be a number, found {}", v.describe())))?,
        ),
    };
    let count = Node::field(obj, "count")
        .map(|v| count_of(v, "\"count\""))
        .transpose()?;
    let h = match Node::field(obj, "buckets") {
        Some(Node::Object(buckets)) => {
            // A repeated bound key is last-wins, as for any repeated key of an object.
            let mut pairs: Vec<(f64, u64)> = Vec::with_capacity(buckets.len());
            let mut inf = None;
            let mut seen = std::collections::HashSet::with_capacity(buckets.len());
            for (bound, c) in buckets.iter().rev() {
                if !seen.insert(&**bound) {
                    continue;
                }
                let b = special_float(bound)
                    .or_else(|| bound.trim().parse::<f64>().ok())
                    .ok_or_else(|| {
                        bad(format!(
                            "bucket bound {:?} is not a number",
                            shorten(bound, 40)
                        ))
                    })?;
                let c = count_of(c, &format!("bucket {bound:?}"))?;
                if b == f64::INFINITY {
                    inf = Some(c);
                } else {
                    pairs.push((b, c));
                }
            }
            pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
            let count = match (count, inf) {
                (Some(c), Some(i)) if c != i => {
                    return Err(bad(format!("\"count\" is {c} but the +Inf bucket is {i}")));
                }
                (Some(c), _) | (None, Some(c)) => c,
                (None, None) => return Err(bad("no \"count\" (or \"+Inf\" bucket)".into())),
            };
            let sum = sum.ok_or_else(|| bad("no \"sum\"".into()))?;
            let (bounds, counts) = pairs.into_iter().unzip();
            Histogram::from_parts(bounds, counts, count, sum)
        }
        Some(Node::Array(bounds)) => {
            let bounds: Vec<f64> = bounds
                .iter()
                .map(float_of)
                .collect::<Option<_>>()
                .ok_or_else(|| bad("\"buckets\" must be an array of numbers".into()))?;
            if let Some(Node::Array(samples)) = Node::field(obj, "samples") {
                let samples: Vec<f64> = samples
                    .iter()
                    .map(float_of)
                    .collect::<Option<_>>()
                    .ok_or_else(|| bad("\"samples\" must be an array of numbers".into()))?;
                Histogram::from_observations(bounds, &samples)
            } else {
                let Some(Node::Array(counts)) = Node::field(obj, "counts") else {
                    return Err(bad(
                        "with \"buckets\" as an array of bounds, give \"counts\" (cumulative) or \"samples\"".into(),
                    ));
                };
                let counts = counts
                    .iter()
                    .map(|c| count_of(c, "a bucket count"))
                    .collect::<Result<Vec<u64>, _>>()?;
                let count = count.ok_or_else(|| bad("no \"count\"".into()))?;
                let sum = sum.ok_or_else(|| bad("no \"sum\"".into()))?;
                Histogram::from_parts(bounds, counts, count, sum)
            }
        }
        Some(other) => {
            return Err(bad(format!(
                "\"buckets\" must be an object or an array, found {}",
                other.describe()
            )));
        }
        None => return Err(bad("a histogram needs \"buckets\"".into())),
    };
    h.validate().map_err(|e| bad(e.to_string()))?;
    Ok(h)
}

/// What a JSON value is, for messages: `the string "abc"`, `an array`, ...
pub fn describe(v: &Json) -> String {
    match v {
        Json::Null => "null".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => format!("the number {n}"),
        Json::String(s) => format!("the string {:?}", shorten(s, 40)),
        Json::Array(_) => "an array".into(),
        Json::Object(_) => "an object".into(),
    }
}
