//! A TOML table that remembers where each of its keys was written.
//!
//! A `[[source]]` table holds keys of two structs: the keys every source has and the keys
//! of its kind, and which kind it is is only known once `kind` is read. serde's `flatten`
//! would merge the two, but it cannot be combined with `deny_unknown_fields`, and values
//! read through it lose their position in the file. So a source table is read as a
//! [`Table`] first, split by key, and each part deserialised on its own with
//! `deny_unknown_fields`; an error names the key it happened at and where that key was
//! written, so the message still points at the file's line.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

/// A table of a TOML document with the position of each key and of the table itself.
#[derive(Clone, Debug)]
pub struct Table {
    span: Range<usize>,
    entries: Vec<(Spanned<String>, Spanned<toml::Value>)>,
}

/// Why a table did not deserialise, and where: at a key, or at the table itself (a missing
/// key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableError {
    /// Byte range in the document: the key's, or the table header's.
    pub span: Range<usize>,
    /// The key the error happened at, if any.
    pub key: Option<String>,
    /// What is wrong, from the value's own check or from serde.
    pub message: String,
}

impl<'de> Deserialize<'de> for Table {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let table = Spanned::<BTreeMap<Spanned<String>, Spanned<toml::Value>>>::deserialize(d)?;
        let span = table.span();
        let mut entries: Vec<_> = table.into_inner().into_iter().collect();
        // In the order written, so the first bad key in the file is the one reported.
        entries.sort_by_key(|(k, _)| k.span().start);
        Ok(Table { span, entries })
    }
}

impl Table {
    /// Where the table starts (its `[header]`).
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// The keys, in the order written.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.get_ref().as_str())
    }

    /// Where `key` was written.
    pub fn key_span(&self, key: &str) -> Option<Range<usize>> {
        self.entries
            .iter()
            .find(|(k, _)| k.get_ref() == key)
            .map(|(k, _)| k.span())
    }

    /// The keys and their values, in the order written (positions left out).
    pub fn values(&self) -> impl Iterator<Item = (&str, &toml::Value)> {
        self.entries
            .iter()
            .map(|(k, v)| (k.get_ref().as_str(), v.get_ref()))
    }

    /// Takes `key` out of the table: its value and where the value was written.
    pub fn remove(&mut self, key: &str) -> Option<Spanned<toml::Value>> {
        let i = self.entries.iter().position(|(k, _)| k.get_ref() == key)?;
        Some(self.entries.remove(i).1)
    }

    /// Moves the keys `take` accepts into a table of their own (same header position).
    pub fn split_off(&mut self, take: impl Fn(&str) -> bool) -> Table {
        let (taken, kept) = std::mem::take(&mut self.entries)
            .into_iter()
            .partition(|(k, _)| take(k.get_ref()));
        self.entries = kept;
        Table {
            span: self.span.clone(),
            entries: taken,
        }
    }

    /// Deserialises the table into `T`, locating any error at its key.
    pub fn deserialize<T: DeserializeOwned>(self) -> Result<T, TableError> {
        let span = self.span.clone();
        let mut access = Access {
            entries: self.entries.into_iter(),
            current: None,
            value: None,
        };
        T::deserialize(&mut access).map_err(|e| match access.current {
            Some((key, key_span)) => TableError {
                span: key_span,
                key: Some(key),
                message: e.0,
            },
            None => TableError {
                span,
                key: None,
                message: e.0,
            },
        })
    }
}

/// The error while deserialising: a message only, located afterwards by [`Access`].
#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}

impl de::Error for Message {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Message(msg.to_string())
    }
}

/// Hands the entries to serde as a map and remembers which key is being read, so an error
/// can be located.
struct Access {
    entries: std::vec::IntoIter<(Spanned<String>, Spanned<toml::Value>)>,
    current: Option<(String, Range<usize>)>,
    value: Option<toml::Value>,
}

impl<'de> Deserializer<'de> for &mut Access {
    type Error = Message;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        visitor.visit_map(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

impl<'de> MapAccess<'de> for &mut Access {
    type Error = Message;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Message> {
        let Some((key, value)) = self.entries.next() else {
            // Errors from here on (a missing key) belong to the table, not to a key.
            self.current = None;
            return Ok(None);
        };
        let span = key.span();
        let key = key.into_inner();
        self.current = Some((key.clone(), span));
        self.value = Some(value.into_inner());
        seed.deserialize(key.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Message> {
        let value = self
            .value
            .take()
            .ok_or_else(|| Message("a value was read twice".into()))?;
        seed.deserialize(value)
            .map_err(|e: toml::de::Error| Message(e.message().to_string()))
    }
}

/// The keys of a config struct, from its `Deserialize` implementation: the list of known
/// keys serde checks against, so it cannot drift from the struct. Empty for a type that is
/// not a struct.
pub fn keys_of<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut found = None;
    let _ = T::deserialize(Probe(&mut found));
    found.unwrap_or(&[])
}

/// A deserializer that only records the field names a struct asks for.
struct Probe<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(fields);
        Err(de::Error::custom("only the field names were wanted"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum
        identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::DurationValue;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Part {
        name: String,
        #[serde(default)]
        every: Option<DurationValue>,
    }

    #[derive(Deserialize)]
    struct Doc {
        t: Table,
    }

    fn table(text: &str) -> Table {
        toml::from_str::<Doc>(text).unwrap().t
    }

    #[test]
    fn errors_are_located_at_their_key_or_the_table() {
        let text = "[t]\nname = \"a\"\nevery = \"soon\"\n";
        let e = table(text).deserialize::<Part>().unwrap_err();
        assert_eq!(e.key.as_deref(), Some("every"));
        assert_eq!(&text[e.span], "every");
        assert!(e.message.contains("invalid duration"), "{}", e.message);
        let text = "[t]\nname = \"a\"\nevry = \"1s\"\n";
        let e = table(text).deserialize::<Part>().unwrap_err();
        assert_eq!(&text[e.span], "evry");
        let text = "[t]\nevery = \"1s\"\n";
        let e = table(text).deserialize::<Part>().unwrap_err();
        assert_eq!(
            (e.key, &text[e.span.start..e.span.start + 3]),
            (None, "[t]")
        );
        assert!(e.message.contains("missing field `name`"), "{}", e.message);
    }

    #[test]
    fn tables_split_by_key_and_structs_list_their_keys() {
        let mut t = table("[t]\nname = \"a\"\nevery = \"1s\"\nkind = \"x\"\n");
        assert_eq!(t.remove("kind").map(|v| v.into_inner()), Some("x".into()));
        let part = t.split_off(|k| keys_of::<Part>().contains(&k));
        assert_eq!(t.keys().count(), 0);
        let part: Part = part.deserialize().unwrap();
        assert_eq!(part.name, "a");
        assert_eq!(part.every.map(|d| d.0.as_secs()), Some(1));
        assert_eq!(keys_of::<Part>(), ["name", "every"]);
        assert!(keys_of::<String>().is_empty());
    }
}
