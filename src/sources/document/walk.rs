//! Reads a document straight into a [`Collector`]: the outer map or array is streamed, one
//! entry at a time, so no tree of the whole document is ever built.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::DocumentOptions;
use super::collector::Collector;
use super::node::{KeySeed, Node};
use super::reader::{EntrySeed, Held};
use super::scan;

/// What the walk found at the document's root (or at the pointer's target).
pub enum Found {
    /// A map or an array, read into the collector.
    Walked,
    /// Something else: what it is, for the error.
    Other(String),
    /// The pointer matched nothing.
    Nothing,
}

/// Walks the value at `pointer` (reference tokens, already unescaped; empty: the root).
pub struct Walk<'c, 'p> {
    /// Where samples and rejections go.
    pub out: &'c mut Collector,
    /// The source's reading rules.
    pub opts: &'c DocumentOptions,
    /// Remaining pointer tokens.
    pub pointer: &'p [String],
}

impl<'de> DeserializeSeed<'de> for Walk<'_, '_> {
    type Value = Found;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Found, D::Error> {
        d.deserialize_any(self)
    }
}

impl Walk<'_, '_> {
    fn scalar<E>(self, node: Node<'_>) -> Result<Found, E> {
        Ok(if self.pointer.is_empty() {
            Found::Other(node.describe())
        } else {
            Found::Nothing
        })
    }
}

impl<'de> Visitor<'de> for Walk<'_, '_> {
    type Value = Found;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of metrics or an array of entries")
    }

    fn visit_unit<E>(self) -> Result<Found, E> {
        self.scalar(Node::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Found, E> {
        self.scalar(Node::Bool(b))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Found, E> {
        self.scalar(Node::U64(u))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Found, E> {
        self.scalar(Node::I64(i))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Found, E> {
        self.scalar(Node::F64(f))
    }

    fn visit_str<E>(self, s: &str) -> Result<Found, E> {
        self.scalar(Node::Str(s.into()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found, A::Error> {
        let Walk { out, opts, pointer } = self;
        match pointer.split_first() {
            None => {
                let mut held = Held::default();
                while let Some(key) = map.next_key_seed(KeySeed)? {
                    let read = map.next_value_seed(EntrySeed { held: &mut held })?;
                    out.map_read(key, read, &mut held, opts);
                }
                Ok(Found::Walked)
            }
            Some((token, rest)) => {
                let mut found = Found::Nothing;
                while let Some(key) = map.next_key_seed(KeySeed)? {
                    if key == token.as_str() && matches!(found, Found::Nothing) {
                        found = map.next_value_seed(Walk {
                            out: &mut *out,
                            opts,
                            pointer: rest,
                        })?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(found)
            }
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Found, A::Error> {
        let Walk { out, opts, pointer } = self;
        match pointer.split_first() {
            None => {
                let (mut held, mut i) = (Held::default(), 0);
                while let Some(read) = seq.next_element_seed(EntrySeed { held: &mut held })? {
                    out.array_read(i, read, &held, opts);
                    i += 1;
                }
                Ok(Found::Walked)
            }
            Some((token, rest)) => {
                let target = array_index(token);
                let mut found = Found::Nothing;
                let mut i = 0;
                loop {
                    if Some(i) == target {
                        let seed = Walk {
                            out: &mut *out,
                            opts,
                            pointer: rest,
                        };
                        match seq.next_element_seed(seed)? {
                            Some(f) => found = f,
                            None => break,
                        }
                    } else if seq.next_element::<IgnoredAny>()?.is_none() {
                        break;
                    }
                    i += 1;
                }
                Ok(found)
            }
        }
    }
}

/// A pointer token as an array index: digits without a leading zero (RFC 6901).
fn array_index(token: &str) -> Option<usize> {
    if token.is_empty() || (token.len() > 1 && token.starts_with('0')) {
        return None;
    }
    if !token.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    token.parse().ok()
}

/// A JSON pointer (`/a/b~1c`) as its unescaped reference tokens; `None` when it is not one.
pub fn pointer_tokens(pointer: &str) -> Option<Vec<String>> {
    if pointer.is_empty() {
        return Some(Vec::new());
    }
    let rest = pointer.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

/// Reads a whole document from `bytes` into `out`.
///
/// An array of entries is scanned first ([`scan`]), below serde; when that answers `None`
/// (another root, or a malformed document) the read starts again through serde_json.
///
/// The document's UTF-8 is checked once, up front, and the parse reads it as a `str`:
/// serde_json reading bytes checks every string it meets on its own, a tenth of a large
/// document's parse. A document that is not UTF-8 is read as bytes, so the error names
/// the place where it is not.
pub fn walk(
    bytes: &[u8],
    out: &mut Collector,
    opts: &DocumentOptions,
    pointer: &[String],
) -> Result<Found, serde_json::Error> {
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            if pointer.is_empty() && scan::array(text, out, opts).is_some() {
                return Ok(Found::Walked);
            }
            out.restart();
            walk_with(serde_json::Deserializer::from_str(text), out, opts, pointer)
        }
        Err(_) => walk_with(
            serde_json::Deserializer::from_slice(bytes),
            out,
            opts,
            pointer,
        ),
    }
}

fn walk_with<'de, R: serde_json::de::Read<'de>>(
    mut de: serde_json::Deserializer<R>,
    out: &mut Collector,
    opts: &DocumentOptions,
    pointer: &[String],
) -> Result<Found, serde_json::Error> {
    let found = Walk { out, opts, pointer }.deserialize(&mut de)?;
    de.end()?;
    Ok(found)
}
