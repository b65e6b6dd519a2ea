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
pub struct SourceUrl(url::Url);

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

fn decoded(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

impl SourceUrl {
    /// Parses and checks a URL: a scheme snapbridge reads from, `://`, and a host. Errors
    /// never repeat the URL: it may hold a password.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("the URL contains spaces or control characters".into());
        }
        let Some((_, rest)) = text.split_once("://") else {
            return Err("expected a URL such as \"http://127.0.0.1:8080/metrics\" or \"redis://127.0.0.1:6379\"".into());
        };
        let url = url::Url::parse(text).map_err(|e| format!("not a valid URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https" | "redis") {
            return Err(format!(
                "unsupported URL scheme {:?}: expected http, https or redis",
                url.scheme()
            ));
        }
        // `http:///x` parses with host `x`: the authority as written must not be empty.
        if rest.starts_with('/') || url.host_str().is_none_or(str::is_empty) {
            return Err("the URL has no host".into());
        }
        Ok(SourceUrl(url))
    }

    /// The URL as written (with its secrets): only for connecting.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }

    /// `http`, `https` or `redis`.
    pub fn scheme(&self) -> &str {
        self.0.scheme()
    }

    /// The user name and password of the URL's user info, percent-decoded (`p%40ss` is
    /// `p@ss`); `None` without a user name.
    pub fn credentials(&self) -> Option<(String, String)> {
        let user = self.0.username();
        let password = self.0.password().unwrap_or("");
        (!user.is_empty() || !password.is_empty()).then(|| (decoded(user), decoded(password)))
    }

    /// The password in the URL's user info, percent-decoded, if any.
    pub fn password(&self) -> Option<String> {
        self.0.password().map(decoded)
    }

    /// The URL without its user info, for the request line of a client that sends the
    /// credentials in a header.
    pub fn without_credentials(&self) -> String {
        let mut url = self.0.clone();
        // Only fails for URLs without a host, which `parse` refused.
        let _ = url.set_password(None);
        let _ = url.set_username("");
        url.into()
    }

    /// Values hidden by [`SourceUrl::redacted`] (the password, secret query values), as
    /// written and decoded: errors of libraries that echo them are scrubbed of both.
    pub fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(p) = self.0.password() {
            out.push(p.to_string());
            out.push(decoded(p));
        }
        for (k, v) in self.0.query_pairs() {
            if is_secret_key(&k) {
                out.push(url::form_urlencoded::byte_serialize(v.as_bytes()).collect());
                out.push(v.into_owned());
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// The URL for people: `redis://:***@host:6379/0`, `https://h/m?token=***`.
    pub fn redacted(&self) -> String {
        let mut url = self.0.clone();
        if url.password().is_some() {
            let _ = url.set_password(Some("***"));
        }
        if url.query().is_some() {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let v = if is_secret_key(&k) {
                        "***".into()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        url.into()
    }
}

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_QUERY_KEYS.iter().any(|s| key.contains(s))
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
        assert_eq!(u.password().as_deref(), Some("hunter2"));
        assert!(!format!("{u:?}").contains("hunter2"));
        let u = SourceUrl::parse("https://bob:pw@h:1/m?x=1&api_token=abc#f").unwrap();
        assert_eq!(u.redacted(), "https://bob:***@h:1/m?x=1&api_token=***#f");
        assert!(SourceUrl::parse("ftp://h").is_err());
        assert!(SourceUrl::parse("http:///x").is_err());
        assert!(SourceUrl::parse("localhost:80").is_err());
        let u = SourceUrl::parse("http://user:p%40ss@h/m").unwrap();
        assert_eq!(u.credentials(), Some(("user".into(), "p@ss".into())));
        assert_eq!(u.without_credentials(), "http://h/m");
        assert!(u.secrets().contains(&"p%40ss".to_string()));
        assert!(u.secrets().contains(&"p@ss".to_string()));
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
