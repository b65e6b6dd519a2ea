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

use serde_json::{Map, Value as Json};
use snapbridge_core::{Histogram, Labels, Number, Sample, SeriesKey, Value};

use super::{Collector, DocumentOptions, reason};
use crate::limits::MAX_LABEL_VALUE_BYTES;
use crate::text::shorten;

type Problem = (&'static str, String);

/// True when an object is a typed entry rather than a group of nested metrics.
pub fn is_typed(obj: &Map<String, Json>) -> bool {
    obj.contains_key("type") || obj.contains_key("value") || obj.contains_key("buckets")
}

/// A plain value of a map: a number (kind from the rules), a boolean (0 or 1), or a
/// rejection.
pub fn plain(name: String, value: &Json, opts: &DocumentOptions, out: &mut Collector) {
    if let Err((why, detail)) = check_name(&name) {
        return out.reject(name, why, detail);
    }
    let Some(n) = number(value) else {
        let detail = format!("expected a number, found {}", describe(value));
        return out.reject(name, reason::NON_NUMERIC, detail);
    };
    plain_number(name, n, opts, out);
}

/// A plain number already read (Redis hash fields are numbers in strings).
pub fn plain_number(name: String, n: Number, opts: &DocumentOptions, out: &mut Collector) {
    if let Err((why, detail)) = check_name(&name) {
        return out.reject(name, why, detail);
    }
    if opts.rules.is_counter(&name)
        && let Err((why, detail)) = check_counter(n)
    {
        return out.reject(name, why, detail);
    }
    out.push(Sample::new(name, Value::Untyped(n)));
}

/// A typed entry; `key` names it in rejections and is its name unless it has a `name`.
pub fn typed(key: String, mut obj: Map<String, Json>, opts: &DocumentOptions, out: &mut Collector) {
    match build(&key, &mut obj, opts) {
        Ok(sample) => out.push(sample),
        Err((why, detail)) => out.reject(key, why, detail),
    }
}

fn build(
    key: &str,
    obj: &mut Map<String, Json>,
    opts: &DocumentOptions,
) -> Result<Sample, Problem> {
    let name = match obj.remove("name") {
        None => key.to_string(),
        Some(Json::String(s)) if !s.is_empty() => s,
        Some(other) => {
            return Err((
                reason::INVALID_ENTRY,
                format!(
                    "\"name\" must be a non-empty string, found {}",
                    describe(&other)
                ),
            ));
        }
    };
    check_name(&name)?;
    let labels = labels(obj.remove("labels"))?;
    let kind = match obj.get("type") {
        None if obj.contains_key("buckets") => "histogram".to_string(),
        None => "untyped".to_string(),
        Some(Json::String(t)) => t.to_ascii_lowercase(),
        Some(other) => {
            return Err((
                reason::UNKNOWN_TYPE,
                format!("\"type\" must be a string, found {}", describe(other)),
            ));
        }
    };
    let value = match kind.as_str() {
        "histogram" => Value::Histogram(histogram(obj)?),
        "counter" | "gauge" | "untyped" => {
            let raw = obj.get("value").ok_or_else(|| {
                (
                    reason::INVALID_ENTRY,
                    "the entry has no \"value\"".to_string(),
                )
            })?;
            let n = number(raw).ok_or_else(|| {
                (
                    reason::NON_NUMERIC,
                    format!("expected a number as \"value\", found {}", describe(raw)),
                )
            })?;
            match kind.as_str() {
                "counter" => Value::Counter(check_counter(n)?),
                "gauge" => Value::Gauge(n.as_f64()),
                _ => {
                    if opts.rules.is_counter(&name) {
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
    let text = |v: Option<Json>| match v {
        Some(Json::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    };
    Ok(Sample {
        key: SeriesKey::new(name, labels),
        value,
        unit: text(obj.remove("unit")),
        description: text(obj.remove("description")),
    })
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

fn labels(raw: Option<Json>) -> Result<Labels, Problem> {
    let map = match raw {
        None | Some(Json::Null) => return Ok(Labels::new()),
        Some(Json::Object(map)) => map,
        Some(other) => {
            return Err((
                reason::INVALID_ENTRY,
                format!("\"labels\" must be an object, found {}", describe(&other)),
            ));
        }
    };
    let mut pairs = Vec::with_capacity(map.len());
    for (k, v) in map {
        let v = match v {
            Json::String(s) => s,
            Json::Number(n) => n.to_string(),
            Json::Bool(b) => b.to_string(),
            Json::Null => continue,
            other => {
                return Err((
                    reason::INVALID_ENTRY,
                    format!(
                        "label {:?} must be a string, found {}",
                        shorten(&k, 60),
                        describe(&other)
                    ),
                ));
            }
        };
        if v.len() > MAX_LABEL_VALUE_BYTES {
            return Err((
                reason::TOO_LONG,
                format!(
                    "label {:?} is {} bytes long (at most {MAX_LABEL_VALUE_BYTES})",
                    shorten(&k, 60),
                    v.len()
                ),
            ));
        }
        pairs.push((k, v));
    }
    Ok(Labels::from_vec(pairs))
}

/// A number as JSON gives it: integers exact, the strings Python and Go use for NaN and
/// infinities as floats, booleans as 0 or 1.
pub fn number(value: &Json) -> Option<Number> {
    match value {
        Json::Number(n) => match n.as_u64() {
            Some(u) => Some(Number::Int(u)),
            None => n.as_f64().map(Number::Float),
        },
        Json::String(s) => special_float(s).map(Number::Float),
        Json::Bool(b) => Some(Number::Int(u64::from(*b))),
        _ => None,
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

fn histogram(obj: &Map<String, Json>) -> Result<Histogram, Problem> {
    let bad = |detail: String| (reason::INVALID_HISTOGRAM, detail);
    let count_of = |v: &Json, what: &str| {
        v.as_u64().ok_or_else(|| {
            bad(format!(
                "{what} must be a whole number ≥ 0, found {}",
                describe(v)
            ))
        })
    };
    let sum = match obj.get("sum") {
        None => None,
        Some(v) => Some(
            number(v)
                .map(Number::as_f64)
                .ok_or_else(|| bad(format!("\"sum\" must be a number, found {}", describe(v))))?,
        ),
    };
    let count = obj
        .get("count")
        .map(|v| count_of(v, "\"count\""))
        .transpose()?;
    let h = match obj.get("buckets") {
        Some(Json::Object(buckets)) => {
            let mut pairs = Vec::with_capacity(buckets.len());
            let mut inf = None;
            for (bound, c) in buckets {
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
        Some(Json::Array(bounds)) => {
            let bounds: Vec<f64> = bounds
                .iter()
                .map(|b| number(b).map(Number::as_f64))
                .collect::<Option<_>>()
                .ok_or_else(|| bad("\"buckets\" must be an array of numbers".into()))?;
            if let Some(Json::Array(samples)) = obj.get("samples") {
                let samples: Vec<f64> = samples
                    .iter()
                    .map(|s| number(s).map(Number::as_f64))
                    .collect::<Option<_>>()
                    .ok_or_else(|| bad("\"samples\" must be an array of numbers".into()))?;
                Histogram::from_observations(bounds, &samples)
            } else {
                let Some(Json::Array(counts)) = obj.get("counts") else {
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
                describe(other)
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
