//! Config values: types that check themselves while deserialising, so a bad value is
//! reported with its line in the file, and the tables they are read from.
//!
//! Every part of the program that has settings (the file, each source kind, each sink)
//! builds them from these types; none of them needs to know the others.

pub mod bounds;
mod secret;
mod table;

pub use secret::{BasicAuth, Secret, SourceUrl};
pub use table::{Table, TableError, keys_of};

use std::time::Duration;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Deserializer, de};
use snapbridge_core::Initial;

/// A duration written as a string: `"500ms"`, `"10s"`, `"2m"`, `"1h 30m"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DurationValue(pub Duration);

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(s.trim())
            .map(DurationValue)
            .map_err(|e| {
                de::Error::custom(format!(
                    "invalid duration {s:?} ({e}); write it like \"500ms\", \"10s\" or \"2m\""
                ))
            })
    }
}

/// A list of glob patterns matched against plain-map keys, compiled once.
#[derive(Clone, Debug, Default)]
pub struct GlobList {
    patterns: Vec<String>,
    set: GlobSet,
}

impl GlobList {
    /// Compiles patterns; the error names the bad one.
    pub fn new(patterns: Vec<String>) -> Result<Self, String> {
        let mut builder = GlobSetBuilder::new();
        for p in &patterns {
            let glob = Glob::new(p).map_err(|e| format!("invalid glob {p:?}: {e}"))?;
            builder.add(glob);
        }
        let set = builder.build().map_err(|e| e.to_string())?;
        Ok(GlobList { patterns, set })
    }

    /// True when any pattern matches `name`.
    pub fn matches(&self, name: &str) -> bool {
        !self.patterns.is_empty() && self.set.is_match(name)
    }

    /// The patterns as written.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }
}

impl<'de> Deserialize<'de> for GlobList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        GlobList::new(Vec::<String>::deserialize(d)?).map_err(de::Error::custom)
    }
}

/// Kind given to plain-map keys that match no rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultKind {
    /// Exported as a gauge (safe: a gauge never claims monotonicity).
    #[default]
    Gauge,
    /// Exported as a counter.
    Counter,
    /// Not exported.
    Ignore,
}

/// `initial = "keep" | "drop"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InitialValue(pub Initial);

impl<'de> Deserialize<'de> for InitialValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match String::deserialize(d)?.as_str() {
            "keep" => Ok(InitialValue(Initial::Keep)),
            "drop" => Ok(InitialValue(Initial::Drop)),
            other => Err(de::Error::custom(format!(
                "invalid value {other:?}: expected \"keep\" (the first value counts) or \"drop\" (it only sets the baseline)"
            ))),
        }
    }
}

/// `shard = "i/n"`: this instance exports the sources whose name hashes to `i - 1` mod `n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 1-based index.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

impl Shard {
    /// True when the source named `name` belongs to this shard. FNV-1a: stable across
    /// versions and platforms, so every instance agrees on the split.
    pub fn owns(&self, name: &str) -> bool {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h % u64::from(self.count) == u64::from(self.index - 1)
    }
}

impl<'de> Deserialize<'de> for Shard {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let parsed = s.split_once('/').and_then(|(i, n)| {
            let (i, n) = (i.trim().parse::<u32>().ok()?, n.trim().parse::<u32>().ok()?);
            (n >= 1 && (1..=n).contains(&i)).then_some(Shard { index: i, count: n })
        });
        parsed.ok_or_else(|| {
            de::Error::custom(format!(
                "invalid shard {s:?}: write \"i/n\" with 1 <= i <= n, e.g. \"1/3\""
            ))
        })
    }
}

/// A size in bytes: an integer, or a string such as `"16MiB"`, `"512KiB"`, `"1MB"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// Parses `"16MiB"`, `"512 KiB"`, `"1MB"`, `"100kB"`, `"4096"`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let num: f64 = num
            .parse()
            .map_err(|_| format!("invalid size {text:?}: write it like \"16MiB\" or 1048576"))?;
        let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kb" => 1_000,
            "kib" | "k" => 1 << 10,
            "mb" => 1_000_000,
            "mib" | "m" => 1 << 20,
            "gb" => 1_000_000_000,
            "gib" | "g" => 1 << 30,
            other => {
                return Err(format!(
                    "invalid size unit {other:?} in {text:?}: use B, KiB, MiB, GiB, kB, MB or GB"
                ));
            }
        };
        let bytes = num * factor as f64;
        if !(1.0..=(u64::MAX as f64)).contains(&bytes) {
            return Err(format!("invalid size {text:?}: must be at least 1 byte"));
        }
        Ok(ByteSize(bytes as u64))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(0) => Err(de::Error::custom("a size must be at least 1 byte")),
            Raw::Int(n) => Ok(ByteSize(n)),
            Raw::Text(s) => ByteSize::parse(&s).map_err(de::Error::custom),
        }
    }
}

/// A JSON pointer (RFC 6901) such as `"/metrics"`: empty, or starting with `/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonPointer(pub String);

impl<'de> Deserialize<'de> for JsonPointer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.is_empty() || s.starts_with('/') {
            Ok(JsonPointer(s))
        } else {
            Err(de::Error::custom(format!(
                "invalid JSON pointer {s:?}: it starts with \"/\", e.g. \"/metrics\" or \"/data/0/stats\""
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(ByteSize::parse("16MiB"), Ok(ByteSize(16 << 20)));
        assert_eq!(ByteSize::parse("1 MB"), Ok(ByteSize(1_000_000)));
        assert_eq!(ByteSize::parse("4096"), Ok(ByteSize(4096)));
        assert!(ByteSize::parse("12 parsecs").is_err());
        assert!(ByteSize::parse("0").is_err());
    }
}
