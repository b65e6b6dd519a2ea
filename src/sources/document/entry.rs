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
use snapbridge_core::{Number, Value};

pub use super::fields::{Fieldset, Problem, number, special_float};
use super::node::{Fields, Node, RawLabels};
use super::{Collector, DocumentOptions, histogram, reason};
use crate::limits::MAX_LABEL_VALUE_BYTES;
use crate::text::shorten;

impl<'a> Fieldset<'a> for Fields<'a> {
    fn field(&self, key: &str) -> Option<&Node<'a>> {
        Node::field(self, key)
    }

    fn labels_into<'n>(&'n self, pairs: &mut RawLabels<'n>) -> Result<(), Problem>
    where
        'a: 'n,
    {
        labels_of(self.field("labels"), pairs)
    }
}

/// True when an object is a typed entry rather than a group of nested metrics.
pub fn is_typed<'a, F: Fieldset<'a> + ?Sized>(fields: &F) -> bool {
    ["type", "value", "buckets"]
        .iter()
        .any(|k| fields.field(k).is_some())
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
pub fn typed<'a, F: Fieldset<'a> + ?Sized>(
    key: Cow<'_, str>,
    fields: &F,
    opts: &DocumentOptions,
    out: &mut Collector,
) {
    if let Err((why, detail)) = build(&key, fields, opts, out) {
        out.reject(key.into_owned(), why, detail);
    }
}

fn build<'n, 'a: 'n, F: Fieldset<'a> + ?Sized>(
    key: &'n str,
    obj: &'n F,
    opts: &DocumentOptions,
    out: &mut Collector,
) -> Result<(), Problem> {
    let name = match obj.field("name") {
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
    let result = obj
        .labels_into(&mut labels)
        .and_then(|()| value_of(name, obj, opts));
    let value = match result {
        Ok(value) => value,
        Err(e) => {
            out.give_scratch(labels);
            return Err(e);
        }
    };
    let text = |v: Option<&'n Node<'a>>| -> Option<&'n str> {
        match v {
            Some(Node::Str(s)) if !s.is_empty() => Some(s),
            _ => None,
        }
    };
    let unit = text(obj.field("unit"));
    let description = text(obj.field("description"));
    out.push_series(name, &mut labels, value, unit, description);
    out.give_scratch(labels);
    Ok(())
}

fn value_of<'a, F: Fieldset<'a> + ?Sized>(
    name: &str,
    obj: &F,
    opts: &DocumentOptions,
) -> Result<Value, Problem> {
    let kind: Cow<'_, str> = match obj.field("type") {
        None if obj.field("buckets").is_some() => "histogram".into(),
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
        "histogram" => Value::Histogram(histogram::read(obj)?),
        "counter" | "gauge" | "untyped" => {
            let raw = obj.field("value").ok_or_else(|| {
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
pub fn labels_of<'n>(
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
