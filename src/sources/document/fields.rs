//! What the rules of a typed entry read through, shared by the entry rules, the histogram
//! rules and the streaming reader (so none of them depends on another for it).

use snapbridge_core::Number;

use super::node::{Node, RawLabels};
use super::reason;
use crate::text::shorten;

/// A rejection's reason and message.
pub type Problem = (&'static str, String);

/// An entry's fields, looked up by key: the object as the tree route reads it ([`Fields`](super::node::Fields)),
/// or the fields the streaming reader held (`reader::Held`). The rules of a typed entry
/// in `entry` are written once against this, so both routes decide alike by construction.
pub trait Fieldset<'a> {
    /// The value of the field `key`, the last one when repeated (JSON objects are
    /// last-wins, as serde_json reads them). Not for `labels`: see
    /// [`labels_into`](Self::labels_into).
    fn field(&self, key: &str) -> Option<&Node<'a>>;

    /// Appends the entry's label pairs to `pairs` in document order; a problem with one
    /// label is the entry's.
    fn labels_into<'n>(&'n self, pairs: &mut RawLabels<'n>) -> Result<(), Problem>
    where
        'a: 'n;
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
