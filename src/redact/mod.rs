//! Redaction: the one place that decides what of a URL, a header or a config value may be
//! shown in a log line, an error, a status page cell or `check` output.
//!
//! It works by structure, not by a list of parameter names: every URL user info (with or
//! without a password), every query and fragment value, every value of an
//! Authorization-like header (`Authorization`, `Cookie`, `*token*`, `*secret*`, `*key*`,
//! `*password*`) and the credentials after a `Basic`/`Bearer` scheme are masked. On top of
//! that, every secret the configuration handed over is remembered ([`remember`]) with the
//! forms a peer may echo it in (percent-encoded, decoded, the base64 `user:password` of
//! basic auth), and masked wherever it shows up.

use std::collections::BTreeSet;
use std::sync::{OnceLock, RwLock};

use base64::Engine;

/// What a hidden value is replaced with.
pub const MASK: &str = "***";

/// Shorter secrets are not masked in free text: they would mask ordinary words and digits.
const MIN_SECRET_LEN: usize = 3;

/// Query values shorter than this are masked in URLs but not remembered for free text.
const MIN_QUERY_SECRET_LEN: usize = 6;

/// Remembered secrets kept at most: a config is far smaller; past this nothing is added,
/// so a process that reloads configs forever cannot grow without bound.
const MAX_KNOWN: usize = 65_536;

fn known() -> &'static RwLock<BTreeSet<String>> {
    static KNOWN: OnceLock<RwLock<BTreeSet<String>>> = OnceLock::new();
    KNOWN.get_or_init(|| RwLock::new(BTreeSet::new()))
}

/// Remembers a secret (a password, a token, a header value) so that [`text`] masks it,
/// as written, percent-encoded and percent-decoded.
pub fn remember(secret: &str) {
    let decoded = percent_encoding::percent_decode_str(secret)
        .decode_utf8_lossy()
        .into_owned();
    let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let strict = percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    let mut set = known().write().unwrap_or_else(|e| e.into_inner());
    for form in [secret.to_string(), decoded, encoded, strict] {
        if form.trim().len() >= MIN_SECRET_LEN && set.len() < MAX_KNOWN {
            set.insert(form);
        }
    }
}

/// Remembers basic-auth credentials: the password, and the `user:password` pair in clear
/// and in base64, the form an `Authorization: Basic` header carries and servers echo.
pub fn remember_basic(user: &str, password: &str) {
    remember(password);
    let pair = format!("{user}:{password}");
    remember(&base64::engine::general_purpose::STANDARD.encode(&pair));
    remember(&pair);
}

/// Remembers what a URL carries that must not be shown: its user name and password (and
/// their basic-auth form) and every query value.
pub fn remember_url(text: &str) {
    let Ok(url) = url::Url::parse(text.trim()) else {
        return;
    };
    let user = url.username();
    let password = url.password().unwrap_or("");
    if !user.is_empty() || !password.is_empty() {
        remember(user);
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        remember_basic(&decode(user), &decode(password));
    }
    // Short values (`?format=json`) would mask ordinary words in every log line; a token
    // is longer, and URLs themselves are masked by structure anyway.
    for (_, value) in url.query_pairs() {
        if value.len() >= MIN_QUERY_SECRET_LEN {
            remember(&value);
        }
    }
}

/// A URL for people: `https://***@host/p?key=***`. Every user info and every query and
/// fragment value is masked; the scheme, host, port and path stay. Text that is not a URL
/// is masked as free text.
pub fn url(text: &str) -> String {
    text_inner(text, false)
}

/// Free text (an error, a log line, a body a peer sent) with every URL's user info and
/// query values, every Authorization-like value and every remembered secret masked.
pub fn text(message: &str) -> String {
    text_inner(message, true)
}

fn text_inner(message: &str, trim_punctuation: bool) -> String {
    let mut out = mask_known(message);
    out = mask_urls(&out, trim_punctuation);
    out = mask_named_values(&out);
    mask_schemes(&out)
}

/// A config error's reason with every quoted value (`` `…` `` or `"…"`) masked: the
/// errors of secret-bearing keys must not echo what was written there.
pub fn quoted_values(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len());
    let mut rest = reason;
    while let Some(open) = rest.find(['`', '"']) {
        let quote = &rest[open..=open];
        out.push_str(&rest[..open]);
        match rest[open + 1..].find(quote) {
            Some(close) => {
                out.push_str(MASK);
                rest = &rest[open + 1 + close + 1..];
            }
            None => {
                out.push_str(MASK);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    // Values written bare (numbers, booleans) follow the type in serde's messages.
    text(&out)
}

/// Whether a config key (or table) holds a secret or a URL that may carry one: its type
/// errors never echo the value.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "token",
        "auth",
        "pass",
        "secret",
        "header",
        "key",
        "url",
        "endpoint",
        "cookie",
        "credential",
    ]
    .iter()
    .any(|s| key.contains(s))
}

fn mask_known(message: &str) -> String {
    let set = known().read().unwrap_or_else(|e| e.into_inner());
    let mut found: Vec<&String> = set
        .iter()
        .filter(|s| message.contains(s.as_str()))
        .collect();
    if found.is_empty() {
        return message.to_string();
    }
    // Longest first: a password inside a longer base64 pair must not split it.
    found.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = message.to_string();
    for secret in found {
        out = out.replace(secret.as_str(), MASK);
    }
    out
}

/// Bytes that end a URL or a value in free text.
fn ends_value(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'<' | b'>' | b'`')
}

fn mask_urls(message: &str, trim_punctuation: bool) -> String {
    let b = message.as_bytes();
    let mut out = String::with_capacity(message.len());
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = message[search..].find("://") {
        let sep = search + found;
        let mut start = sep;
        while start > 0 && (b[start - 1].is_ascii_alphanumeric() || b"+.-".contains(&b[start - 1]))
        {
            start -= 1;
        }
        let mut end = sep + 3;
        while end < b.len() && !ends_value(b[end]) {
            end += 1;
        }
        // A URL at the end of a sentence or before `: reason`: the punctuation is not its.
        while trim_punctuation && end > sep + 3 && b".,:;)]}".contains(&b[end - 1]) {
            end -= 1;
        }
        if start < sep {
            out.push_str(&message[copied..start]);
            out.push_str(&mask_one_url(&message[start..end]));
            copied = end;
        }
        search = end.max(sep + 3);
    }
    out.push_str(&message[copied..]);
    out
}

/// One URL (`scheme://…` without surrounding text), masked.
fn mask_one_url(u: &str) -> String {
    let Some(sep) = u.find("://") else {
        return u.to_string();
    };
    let after = sep + 3;
    let authority_end = u[after..]
        .find(['/', '?', '#'])
        .map_or(u.len(), |i| after + i);
    let mut out = String::with_capacity(u.len());
    out.push_str(&u[..after]);
    let authority = &u[after..authority_end];
    match authority.rfind('@') {
        Some(at) => {
            out.push_str(MASK);
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let rest = &u[authority_end..];
    let (path, query_and_fragment) = match rest.find(['?', '#']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    out.push_str(path);
    let mut tail = query_and_fragment;
    while let Some(mark) = tail.chars().next() {
        // `?query` then `#fragment`: each masked pair by pair.
        let body_end = if mark == '?' {
            tail[1..].find('#').map_or(tail.len(), |i| i + 1)
        } else {
            tail.len()
        };
        out.push(mark);
        let pairs: Vec<String> = tail[1..body_end]
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) if !v.is_empty() => format!("{k}={MASK}"),
                Some((k, _)) => format!("{k}="),
                None if pair.is_empty() => String::new(),
                None => MASK.to_string(),
            })
            .collect();
        out.push_str(&pairs.join("&"));
        tail = &tail[body_end..];
    }
    out
}

/// Header or parameter names whose values are credentials.
fn secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "authorization",
        "cookie",
        "api-key",
        "api_key",
        "apikey",
        "token",
        "secret",
        "password",
        "passwd",
    ]
    .iter()
    .any(|s| name.contains(s))
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

/// The end of a value starting at `start`.
fn value_end(b: &[u8], start: usize) -> usize {
    let mut e = start;
    while e < b.len() && !ends_value(b[e]) && !b",;&}])".contains(&b[e]) {
        e += 1;
    }
    e
}

/// `Authorization: Basic …`, `x-api-key=…`, `"token": "…"`: the value after a
/// credential-like name is masked (with its scheme word, for `Authorization`).
fn mask_named_values(message: &str) -> String {
    let b = message.as_bytes();
    let mut out = String::with_capacity(message.len());
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b':' || b[i] == b'=' {
            let mut j = i;
            while j > 0 && b[j - 1] == b' ' {
                j -= 1;
            }
            if j > 0 && (b[j - 1] == b'"' || b[j - 1] == b'\'') {
                j -= 1;
            }
            let name_end = j;
            while j > 0 && is_name_byte(b[j - 1]) {
                j -= 1;
            }
            if j < name_end && secret_name(&message[j..name_end]) {
                let mut start = i + 1;
                while start < b.len() && matches!(b[start], b' ' | b'"' | b'\'') {
                    start += 1;
                }
                let mut end = value_end(b, start);
                // `Basic dXNlcjpwdw==`: a scheme word, then the credentials.
                if end > start
                    && end + 1 < b.len()
                    && b[end] == b' '
                    && b[start..end].iter().all(u8::is_ascii_alphabetic)
                {
                    end = value_end(b, end + 1);
                }
                // Already masked (a text redacted twice stays as it was).
                if end > start && !message[start..end].starts_with(MASK) {
                    out.push_str(&message[copied..start]);
                    out.push_str(MASK);
                    copied = end;
                    i = end;
                    continue;
                }
            }
        }
        i += 1;
    }
    out.push_str(&message[copied..]);
    out
}

/// `Basic <credentials>` and `Bearer <token>` anywhere in a text (a body that echoes a
/// request's header without its name).
fn mask_schemes(message: &str) -> String {
    let lower = message.to_ascii_lowercase();
    let b = message.as_bytes();
    let mut out = String::with_capacity(message.len());
    let mut copied = 0;
    let mut search = 0;
    loop {
        let next = ["basic ", "bearer "]
            .iter()
            .filter_map(|s| lower[search..].find(s).map(|i| (search + i, s.len())))
            .min();
        let Some((at, len)) = next else { break };
        let start = at + len;
        let word_start = at == 0 || !b[at - 1].is_ascii_alphanumeric();
        let mut end = start;
        while end < b.len() && (b[end].is_ascii_alphanumeric() || b"+/=._~-".contains(&b[end])) {
            end += 1;
        }
        if word_start && end - start >= 4 && &message[start..end] != MASK {
            out.push_str(&message[copied..start]);
            out.push_str(MASK);
            copied = end;
        }
        search = end.max(start);
    }
    out.push_str(&message[copied..]);
    out
}

#[cfg(test)]
mod tests;
