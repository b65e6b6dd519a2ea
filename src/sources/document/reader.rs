//! Reads one entry of a document as it streams by, without a tree for the usual entry.
//!
//! Nearly every entry of a large document is `{"name", "type", "value", "labels"}` (with
//! `unit` or `description` now and then). Read as a [`Node`] tree such an entry costs a
//! fields vector and a labels vector, built and dropped per entry: at 100k entries a second
//! that was a seventh of the whole process. [`EntrySeed`] instead puts each known field into
//! its own slot of a [`Held`] as it arrives, and string labels straight into label pairs;
//! the walk keeps one [`Held`] for the whole document, so the usual entry allocates nothing
//! and nothing large is moved per entry.
//!
//! Exactness: the slots hold the very [`Node`]s the tree would hold (every value is read by
//! [`NodeSeed`]/[`NodeVisitor`]), and [`Held`] answers look-ups as a [`Fieldset`], so the
//! rules of [`super::entry`] run unchanged on it. That answer is the tree's only while each
//! field is known and given once: the first key that is neither (an unknown or histogram
//! key, a repeated key) turns the read into the tree route for the rest of the object (the
//! fields held so far are laid back in document order, the rest read as nodes), and the
//! entry is decided from the whole tree exactly as before. A labels object is streamed
//! while its values are strings the rules take as they are; at the first other value (a
//! number, null, an object, a string too long or marked out of range) the labels object is
//! read on as a tree, which `labels_of` then judges as before.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::entry::labels_of;
use super::fields::{Fieldset, Problem};
use super::node::{Fields, KeySeed, Node, NodeSeed, NodeVisitor, RawLabels};
use crate::limits::MAX_LABEL_VALUE_BYTES;

/// The fields the streaming read knows; any other key sends the entry down the tree route.
const KNOWN: [&str; 6] = ["name", "type", "value", "unit", "description", "labels"];
/// The slot of `value`.
pub const VALUE: usize = 2;
/// The slot of `labels`, which is not a [`Node`] slot.
pub const LABELS: usize = 5;

/// The slot of a known field.
pub fn slot_of(key: &str) -> Option<usize> {
    match key {
        "name" => Some(0),
        "type" => Some(1),
        "value" => Some(2),
        "unit" => Some(3),
        "description" => Some(4),
        "labels" => Some(LABELS),
        _ => None,
    }
}

/// How an entry's `labels` were read.
enum Labels<'a> {
    /// No `labels` key.
    Absent,
    /// String pairs, in [`Held::pairs`].
    Streamed,
    /// Anything else, as a tree.
    Node(Node<'a>),
}

/// The known fields of one entry, each read once, and the order they came in. One is kept
/// for a whole document and cleared per entry.
pub struct Held<'a> {
    slots: [Option<Node<'a>>; LABELS],
    labels: Labels<'a>,
    pairs: RawLabels<'a>,
    // `order[..count]`: slot indices in document order, to lay the fields back.
    order: [u8; KNOWN.len()],
    count: u8,
}

impl Default for Held<'_> {
    fn default() -> Self {
        Held {
            slots: Default::default(),
            labels: Labels::Absent,
            pairs: Vec::new(),
            order: [0; KNOWN.len()],
            count: 0,
        }
    }
}

impl<'a> Held<'a> {
    /// Empties the holder for the next entry.
    pub fn clear(&mut self) {
        self.slots = Default::default();
        self.labels = Labels::Absent;
        self.pairs.clear();
        self.count = 0;
    }

    /// True when the field of `slot` was read.
    pub fn has(&self, slot: usize) -> bool {
        match self.slots.get(slot) {
            Some(node) => node.is_some(),
            None => !matches!(self.labels, Labels::Absent),
        }
    }

    fn mark(&mut self, slot: usize) {
        self.order[usize::from(self.count)] = slot as u8;
        self.count += 1;
    }

    /// Holds the node of a field other than `labels`, read just now.
    pub fn put(&mut self, slot: usize, node: Node<'a>) {
        self.slots[slot] = Some(node);
        self.mark(slot);
    }

    /// Starts streamed `labels`: string pairs follow through [`put_label`](Self::put_label).
    pub fn stream_labels(&mut self) {
        self.labels = Labels::Streamed;
        self.mark(LABELS);
    }

    /// One string label of streamed `labels`.
    pub fn put_label(&mut self, key: &'a str, value: &'a str) {
        self.pairs.push((Cow::Borrowed(key), Cow::Borrowed(value)));
    }

    /// The fields in document order, as the tree route would have read them; leaves the
    /// holder cleared.
    pub fn take_fields(&mut self) -> Fields<'a> {
        let mut fields = Vec::with_capacity(usize::from(self.count) + 4);
        for &slot in &self.order[..usize::from(self.count)] {
            let slot = usize::from(slot);
            let node = match self.slots.get_mut(slot) {
                Some(node) => node.take(),
                None => match std::mem::replace(&mut self.labels, Labels::Absent) {
                    Labels::Absent => None,
                    Labels::Streamed => Some(Node::Object(
                        self.pairs
                            .drain(..)
                            .map(|(k, v)| (k, Node::Str(v)))
                            .collect(),
                    )),
                    Labels::Node(node) => Some(node),
                },
            };
            if let Some(node) = node {
                fields.push((Cow::Borrowed(KNOWN[slot]), node));
            }
        }
        self.clear();
        fields
    }
}

impl<'a> Fieldset<'a> for Held<'a> {
    fn field(&self, key: &str) -> Option<&Node<'a>> {
        match slot_of(key) {
            Some(LABELS) => match &self.labels {
                Labels::Node(node) => Some(node),
                // Never asked: `labels_into` below answers for labels.
                Labels::Absent | Labels::Streamed => None,
            },
            Some(slot) => self.slots[slot].as_ref(),
            None => None,
        }
    }

    fn labels_into<'n>(&'n self, pairs: &mut RawLabels<'n>) -> Result<(), Problem>
    where
        'a: 'n,
    {
        match &self.labels {
            Labels::Absent => Ok(()),
            Labels::Streamed => {
                let read = self.pairs.iter();
                pairs.extend(read.map(|(k, v)| (Cow::Borrowed(&**k), Cow::Borrowed(&**v))));
                Ok(())
            }
            Labels::Node(node) => labels_of(Some(node), pairs),
        }
    }
}

/// Reads one entry into `held` when it is an object of known fields, each given once, and
/// answers `None`; anything else (scalars and arrays too) it answers as a tree.
pub struct EntrySeed<'h, 'a> {
    /// Where the entry's fields go (cleared first).
    pub held: &'h mut Held<'a>,
}

impl<'de> DeserializeSeed<'de> for EntrySeed<'_, 'de> {
    type Value = Option<Node<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// Defers visits to [`NodeVisitor`], wrapping what it returns with `$wrap`.
macro_rules! as_tree {
    ($wrap:expr) => {
        as_tree!(@ $wrap; visit_bool(bool), visit_u64(u64), visit_i64(i64), visit_f64(f64),
            visit_borrowed_str(&'de str), visit_str(&str), visit_string(String));

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            NodeVisitor.visit_unit().map($wrap)
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            NodeVisitor.visit_none().map($wrap)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            NodeVisitor.visit_seq(seq).map($wrap)
        }
    };
    (@ $wrap:expr; $($name:ident($t:ty)),*) => {$(
        fn $name<E: serde::de::Error>(self, v: $t) -> Result<Self::Value, E> {
            NodeVisitor.$name(v).map($wrap)
        }
    )*};
}

impl<'de> Visitor<'de> for EntrySeed<'_, 'de> {
    type Value = Option<Node<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    as_tree!(Some);

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let held = self.held;
        held.clear();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match slot_of(&key) {
                Some(slot) if !held.has(slot) => {
                    if slot == LABELS {
                        let pairs = &mut held.pairs;
                        held.labels = match map.next_value_seed(LabelsSeed { pairs })? {
                            None => Labels::Streamed,
                            Some(node) => Labels::Node(node),
                        };
                    } else {
                        held.slots[slot] = Some(map.next_value_seed(NodeSeed)?);
                    }
                    held.mark(slot);
                }
                _ => {
                    // Unknown or repeated: the rest of the object as the tree route reads it.
                    let mut fields = held.take_fields();
                    fields.push((key, map.next_value_seed(NodeSeed)?));
                    while let Some(key) = map.next_key_seed(KeySeed)? {
                        fields.push((key, map.next_value_seed(NodeSeed)?));
                    }
                    return Ok(Some(Node::Object(fields)));
                }
            }
        }
        Ok(None)
    }
}

/// Reads a `labels` value: an object of plain strings into `pairs` (answering `None`),
/// anything else as a tree.
struct LabelsSeed<'p, 'a> {
    pairs: &'p mut RawLabels<'a>,
}

impl<'de> DeserializeSeed<'de> for LabelsSeed<'_, 'de> {
    type Value = Option<Node<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LabelsSeed<'_, 'de> {
    type Value = Option<Node<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    as_tree!(Some);

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match map.next_value_seed(NodeSeed)? {
                // `labels_of` takes such a value as it is, so it can be taken now.
                Node::Str(value) if value.len() <= MAX_LABEL_VALUE_BYTES => {
                    self.pairs.push((key, value));
                }
                other => {
                    // The rest as a tree, for `labels_of` to judge.
                    let read = self.pairs.drain(..).map(|(k, v)| (k, Node::Str(v)));
                    let mut fields: Fields<'de> = read.collect();
                    fields.push((key, other));
                    while let Some(key) = map.next_key_seed(KeySeed)? {
                        fields.push((key, map.next_value_seed(NodeSeed)?));
                    }
                    return Ok(Some(Node::Object(fields)));
                }
            }
        }
        Ok(None)
    }
}
