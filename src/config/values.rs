//! Config value types that check themselves while deserialising, so a bad value is reported
//! with its line in the file.

use std::fmt;
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

/// Where a source's snapshot comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// The built-in demo: a persistence layer in the style of seeds 000/001.
    Demo,
    /// An application's own `MetricsSource`, added in code (never from a file).
    #[serde(skip)]
    InProcess,
}

impl SourceKind {
    /// The name as written in config files.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Demo => "demo",
            SourceKind::InProcess => "in_process",
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
