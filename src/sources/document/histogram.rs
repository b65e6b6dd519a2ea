//! The histogram of a typed entry, in its three forms (see [`super::entry`]): `buckets` as
//! an object of cumulative counts keyed by upper bound, `buckets` as an array of bounds with
//! cumulative `counts`, or `buckets` with the raw `samples`.

use snapbridge_core::{Histogram, Number};

use super::fields::{Fieldset, Problem, number, special_float};
use super::node::Node;
use super::reason;
use crate::text::shorten;

/// The histogram of a typed entry (its `buckets` and `count`, `sum`, `counts`, `samples`).
pub fn read<'a, F: Fieldset<'a> + ?Sized>(obj: &F) -> Result<Histogram, Problem> {
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
    let sum = match obj.field("sum") {
        None => None,
        Some(v) => Some(
            float_of(v)
                .ok_or_else(|| bad(format!("\"sum\" must be a number, found {}", v.describe())))?,
        ),
    };
    let count = obj
        .field("count")
        .map(|v| count_of(v, "\"count\""))
        .transpose()?;
    let h = match obj.field("buckets") {
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
            if let Some(Node::Array(samples)) = obj.field("samples") {
                let samples: Vec<f64> = samples
                    .iter()
                    .map(float_of)
                    .collect::<Option<_>>()
                    .ok_or_else(|| bad("\"samples\" must be an array of numbers".into()))?;
                Histogram::from_observations(bounds, &samples)
            } else {
                let Some(Node::Array(counts)) = obj.field("counts") else {
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
