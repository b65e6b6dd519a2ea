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
    /// A JSON document fetched with an HTTP GET.
    Http,
    /// A JSON file read each cycle (or the newest file matching a glob).
    File,
    /// A directory of seed-002 batch files, each record counted once.
    BatchDir,
    /// A Redis hash, or the keys matching a pattern.
    Redis,
    /// A command run each cycle that prints JSON on stdout.
    Exec,
    /// An application's own `MetricsSource`, added in code (never from a file).
    #[serde(skip)]
    InProcess,
}

impl SourceKind {
    /// The name as written in config files.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Demo => "demo",
            SourceKind::Http => "http",
            SourceKind::File => "file",
            SourceKind::BatchDir => "batch_dir",
            SourceKind::Redis => "redis",
            SourceKind::Exec => "exec",
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

/// A secret (a password, a token, a header value): its `Debug` form never shows it, so a
/// config printed in a log or an error cannot leak it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// A secret from its text.
    pub fn new(text: impl Into<String>) -> Self {
        Secret(text.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

/// `basic_auth = { username = "...", password = "..." }` of an `http` source.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// User name (shown in errors).
    pub username: String,
    /// Password (never shown).
    pub password: Secret,
}

/// A source URL (`http://`, `https://`, `redis://`), checked while parsing. Its `Debug` and
/// [`SourceUrl::redacted`] forms hide the password and secret-looking query values.
#[derive(Clone, PartialEq, Eq)]
pub struct SourceUrl {
    text: String,
    scheme: String,
}

/// Query parameters whose values are hidden in the redacted form of a URL.
const SECRET_QUERY_KEYS: &[&str] = &[
    "token",
    "access_token",
    "api_key",
    "apikey",
    "key",
    "secret",
    "password",
    "passwd",
    "auth",
    "signature",
    "sig",
];

impl SourceUrl {
    /// Parses and checks a URL: a scheme, `://`, and a host.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| "expected a URL such as \"http://127.0.0.1:8080/metrics\" or \"redis://127.0.0.1:6379\"".to_string())?;
        let scheme = scheme.to_ascii_lowercase();
        if !matches!(scheme.as_str(), "http" | "https" | "redis") {
            return Err(format!(
                "unsupported URL scheme {scheme:?}: expected http, https or redis"
            ));
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        if host.is_empty() {
            return Err("the URL has no host".into());
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("the URL contains spaces or control characters".into());
        }
        Ok(SourceUrl {
            text: text.to_string(),
            scheme,
        })
    }

    /// The URL as written (with its secrets): only for connecting.
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// `http`, `https` or `redis`.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The password in the URL's user info, if any.
    pub fn password(&self) -> Option<&str> {
        let (_, rest) = self.text.split_once("://")?;
        let authority = rest.split(['/', '?', '#']).next()?;
        let (userinfo, _) = authority.rsplit_once('@')?;
        let (_, password) = userinfo.split_once(':')?;
        (!password.is_empty()).then_some(password)
    }

    /// The URL for people: `redis://:***@host:6379/0`, `https://h/m?token=***`.
    pub fn redacted(&self) -> String {
        let Some((scheme, rest)) = self.text.split_once("://") else {
            return self.text.clone();
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let authority = match authority.rsplit_once('@') {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:***@{host}"),
                None => format!("{userinfo}@{host}"),
            },
            None => authority.to_string(),
        };
        let tail = match tail.split_once('?') {
            Some((path, query)) => {
                let (query, fragment) = match query.split_once('#') {
                    Some((q, f)) => (q, Some(f)),
                    None => (query, None),
                };
                let pairs: Vec<String> = query
                    .split('&')
                    .map(|pair| match pair.split_once('=') {
                        Some((k, _))
                            if SECRET_QUERY_KEYS
                                .iter()
                                .any(|s| k.to_ascii_lowercase().contains(s)) =>
                        {
                            format!("{k}=***")
                        }
                        _ => pair.to_string(),
                    })
                    .collect();
                let mut t = format!("{path}?{}", pairs.join("&"));
                if let Some(f) = fragment {
                    t.push('#');
                    t.push_str(f);
                }
                t
            }
            None => tail.to_string(),
        };
        format!("{scheme}://{authority}{tail}")
    }
}

impl fmt::Debug for SourceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

impl fmt::Display for SourceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl<'de> Deserialize<'de> for SourceUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        // The message never repeats the URL: it may hold a password.
        SourceUrl::parse(&s).map_err(de::Error::custom)
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
    fn urls_are_redacted() {
        let u = SourceUrl::parse("redis://:hunter2@127.0.0.1:6379/0").unwrap();
        assert_eq!(u.redacted(), "redis://:***@127.0.0.1:6379/0");
        assert_eq!(u.password(), Some("hunter2"));
        assert!(!format!("{u:?}").contains("hunter2"));
        let u = SourceUrl::parse("https://bob:pw@h:1/m?x=1&api_token=abc#f").unwrap();
        assert_eq!(u.redacted(), "https://bob:***@h:1/m?x=1&api_token=***#f");
        assert!(SourceUrl::parse("ftp://h").is_err());
        assert!(SourceUrl::parse("http:///x").is_err());
        assert!(SourceUrl::parse("localhost:80").is_err());
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(ByteSize::parse("16MiB"), Ok(ByteSize(16 << 20)));
        assert_eq!(ByteSize::parse("1 MB"), Ok(ByteSize(1_000_000)));
        assert_eq!(ByteSize::parse("4096"), Ok(ByteSize(4096)));
        assert!(ByteSize::parse("12 parsecs").is_err());
        assert!(ByteSize::parse("0").is_err());
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret::new("tok")), "\"***\"");
    }
}
