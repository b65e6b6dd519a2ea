//! A light, borrowing JSON tree for one entry of a document.
//!
//! serde_json's `Value` allocates a `String` per key and string and a `BTreeMap` per object;
//! at 100k entries per document that malloc/free traffic was most of a pull. A [`Node`]
//! borrows keys and strings from the input (an escaped string is the only copy), keeps an
//! object's fields in one vector in document order, and is built only for one entry at a
//! time: the document's outer map or array is streamed without a tree (see `walk.rs`).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::text::shorten;

/// Label pairs of one entry as read, borrowed from the document.
pub type RawLabels<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// An object's fields in document order.
pub type Fields<'a> = Vec<(Cow<'a, str>, Node<'a>)>;

/// Marks a number literal beyond f64's range that [`super::quote_unreadable_tokens`]
/// turned into a string, so that only its key is rejected.
pub const OUT_OF_RANGE_MARK: &str = "\u{0}out-of-range:";

/// One JSON value, borrowing from the input where it can.
#[derive(Clone, Debug, PartialEq)]
pub enum Node<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A non-negative integer that fits in 64 bits (exact).
    U64(u64),
    /// A negative integer.
    I64(i64),
    /// Any other number.
    F64(f64),
    /// A number literal too large for an f64 (`1e400`), as written.
    OutOfRange(Cow<'a, str>),
    /// A string.
    Str(Cow<'a, str>),
    /// An array.
    Array(Vec<Node<'a>>),
    /// An object, fields in document order.
    Object(Fields<'a>),
}

impl<'a> Node<'a> {
    /// The last field named `key` (JSON objects are last-wins, as serde_json reads them).
    pub fn field<'n>(fields: &'n [(Cow<'a, str>, Node<'a>)], key: &str) -> Option<&'n Node<'a>> {
        fields.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The string, when this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an exact count, when it is a whole number ≥ 0.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Node::U64(u) => Some(*u),
            _ => None,
        }
    }

    /// What the value is, for messages: `the string "abc"`, `an array`, ...
    pub fn describe(&self) -> String {
        match self {
            Node::Null => "null".into(),
            Node::Bool(b) => b.to_string(),
            Node::U64(_) | Node::I64(_) | Node::F64(_) => {
                format!("the number {}", self.number_text())
            }
            Node::OutOfRange(t) => format!("the number {}", shorten(t, 40)),
            Node::Str(s) => format!("the string {:?}", shorten(s, 40)),
            Node::Array(_) => "an array".into(),
            Node::Object(_) => "an object".into(),
        }
    }

    /// A number written as serde_json writes it (`3`, `-3`, `1.5`); empty for non-numbers.
    pub fn number_text(&self) -> String {
        match self {
            Node::U64(u) => u.to_string(),
            Node::I64(i) => i.to_string(),
            Node::F64(f) => {
                serde_json::Number::from_f64(*f).map_or_else(|| f.to_string(), |n| n.to_string())
            }
            Node::OutOfRange(t) => t.to_string(),
            _ => String::new(),
        }
    }
}

fn string_node<'a>(s: Cow<'a, str>) -> Node<'a> {
    // Every string of a document comes here: the first byte alone rules out the mark.
    if s.as_bytes().first() != Some(&0) {
        return Node::Str(s);
    }
    match s.strip_prefix(OUT_OF_RANGE_MARK) {
        Some(literal) => Node::OutOfRange(Cow::Owned(literal.to_string())),
        None => Node::Str(s),
    }
}

/// Deserialises a [`Node`] (borrowing from a `'de` input).
pub struct NodeSeed;

impl<'de> DeserializeSeed<'de> for NodeSeed {
    type Value = Node<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Node<'de>, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

impl<'de> de::Deserialize<'de> for Node<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

/// Reads any JSON value as a [`Node`]; the streaming reader hands it what it does not
/// read itself, so a value is built the same way on both routes.
pub struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }

    fn visit_none<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Node<'de>, E> {
        Ok(Node::Bool(b))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Node<'de>, E> {
        Ok(Node::U64(u))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Node<'de>, E> {
        Ok(if i >= 0 {
            Node::U64(i as u64)
        } else {
            Node::I64(i)
        })
    }

    fn visit_f64<E>(self, f: f64) -> Result<Node<'de>, E> {
        Ok(Node::F64(f))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Node<'de>, E> {
        Ok(string_node(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Node<'de>, E> {
        Ok(string_node(Cow::Owned(s.to_string())))
    }

    fn visit_string<E>(self, s: String) -> Result<Node<'de>, E> {
        Ok(string_node(Cow::Owned(s)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element_seed(NodeSeed)? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node<'de>, A::Error> {
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
        while let Some(key) = map.next_key_seed(KeySeed)? {
            fields.push((key, map.next_value_seed(NodeSeed)?));
        }
        Ok(Node::Object(fields))
    }
}

/// Deserialises an object key, borrowed unless it holds an escape.
pub struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E>(self, s: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(s.to_string()))
    }

    fn visit_string<E>(self, s: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(s))
    }
}
