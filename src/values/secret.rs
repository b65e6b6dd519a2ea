//! Values that must not leak: secrets, and URLs that may carry one.

use std::fmt;

use serde::{Deserialize, Deserializer, de};

/// A secret (a password, a token, a header value): its `Debug` form never shows it, so a
/// config printed in a log or an error cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A secret from its text, remembered so that no text shown ever carries it.
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        crate::redact::remember(&text);
        Secret(text)
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

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
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
        crate::redact::remember_url(text);
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

    /// Values hidden by [`SourceUrl::redacted`] (the user info, every query value), as
    /// written and decoded: errors of libraries that echo them are scrubbed of both.
    pub fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        for p in [self.0.username()].into_iter().chain(self.0.password()) {
            if !p.is_empty() {
                out.push(p.to_string());
                out.push(decoded(p));
            }
        }
        for (_, v) in self.0.query_pairs() {
            out.push(url::form_urlencoded::byte_serialize(v.as_bytes()).collect());
            out.push(v.into_owned());
        }
        out.sort();
        out.dedup();
        out
    }

    /// The URL for people: `redis://***@host:6379/0`, `https://h/m?token=***` (see
    /// [`crate::redact::url`]).
    pub fn redacted(&self) -> String {
        crate::redact::url(self.0.as_str())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        let u = SourceUrl::parse("redis://:hunter2@127.0.0.1:6379/0").unwrap();
        assert_eq!(u.redacted(), "redis://***@127.0.0.1:6379/0");
        assert_eq!(u.password().as_deref(), Some("hunter2"));
        assert!(!format!("{u:?}").contains("hunter2"));
        let u = SourceUrl::parse("https://bob:pw@h:1/m?x=1&sig=abc#f").unwrap();
        assert_eq!(u.redacted(), "https://***@h:1/m?x=***&sig=***#***");
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
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret::new("tok")), "\"***\"");
    }
}
