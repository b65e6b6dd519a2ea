//! Name escaping as Prometheus 3 negotiates it: a scraper says in its `Accept` header
//! (`escaping=...`) how names outside the legacy charset must reach it, and the exporter says
//! in its `Content-Type` which scheme it used. The rules are those of Prometheus'
//! `model.EscapeName`, applied as `model.EscapeMetricFamily` applies them: a name that is
//! already legacy-valid is written unchanged by every scheme.

use std::borrow::Cow;
use std::fmt::Write as _;

/// How names that are not legacy-valid are written for a scraper.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Escaping {
    /// `allow-utf-8`: names as they are (quoted in the text formats).
    AllowUtf8,
    /// `underscores`: every character outside the legacy charset becomes `_` (the default).
    Underscores,
    /// `dots`: `.` becomes `_dot_`, `_` becomes `__`, any other invalid character `__`.
    Dots,
    /// `values`: `U__` then the name with `_` doubled and invalid characters as `_<hex>_`.
    Values,
}

impl Escaping {
    /// Every scheme, in a fixed order (see [`Escaping::index`]).
    pub const ALL: [Escaping; 4] = [
        Escaping::AllowUtf8,
        Escaping::Underscores,
        Escaping::Dots,
        Escaping::Values,
    ];

    /// The scheme an `escaping=` parameter names, `None` for one Prometheus does not define.
    pub fn parse(value: &str) -> Option<Escaping> {
        Escaping::ALL.into_iter().find(|e| e.as_str() == value)
    }

    /// The parameter value, as `Content-Type` echoes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Escaping::AllowUtf8 => "allow-utf-8",
            Escaping::Underscores => "underscores",
            Escaping::Dots => "dots",
            Escaping::Values => "values",
        }
    }

    /// Position in [`Escaping::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// A character the legacy charset allows at position `i` of a name.
fn legacy_char(c: char, i: usize) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':' || (c.is_ascii_digit() && i > 0)
}

/// True when `name` matches `[a-zA-Z_:][a-zA-Z0-9_:]*`: every scheme leaves it unchanged and
/// the text formats write it without quotes.
pub fn is_legacy_name(name: &str) -> bool {
    !name.is_empty() && name.char_indices().all(|(i, c)| legacy_char(c, i))
}

/// `name` as `scheme` writes it: unchanged when it is legacy-valid (or empty), else escaped.
pub fn escape_name(name: &str, scheme: Escaping) -> Cow<'_, str> {
    if name.is_empty() || scheme == Escaping::AllowUtf8 || is_legacy_name(name) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 8);
    // Positions count bytes, as Go's `range` over a string does.
    for (i, c) in name.char_indices() {
        match scheme {
            Escaping::AllowUtf8 => out.push(c),
            Escaping::Underscores => out.push(if legacy_char(c, i) { c } else { '_' }),
            Escaping::Dots => match c {
                '_' => out.push_str("__"),
                '.' => out.push_str("_dot_"),
                c if legacy_char(c, i) => out.push(c),
                _ => out.push_str("__"),
            },
            Escaping::Values => {
                if i == 0 {
                    out.push_str("U__");
                }
                match c {
                    '_' => out.push_str("__"),
                    c if legacy_char(c, i) => out.push(c),
                    // A Rust `char` is always a valid scalar value: no `_FFFD_` case.
                    c => {
                        let _ = write!(out, "_{:x}_", u32::from(c));
                    }
                }
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_escape_as_prometheus_does() {
        let name = "http.server.requests_total";
        let expect = [
            (Escaping::AllowUtf8, "http.server.requests_total"),
            (Escaping::Underscores, "http_server_requests_total"),
            (Escaping::Dots, "http_dot_server_dot_requests__total"),
            (Escaping::Values, "U__http_2e_server_2e_requests__total"),
        ];
        for (scheme, want) in expect {
            assert_eq!(escape_name(name, scheme), want, "{scheme:?}");
        }
        assert_eq!(escape_name("1st", Escaping::Underscores), "_st");
        assert_eq!(escape_name("温度", Escaping::Values), "U___6e29__5ea6_");
        assert_eq!(escape_name("a-b", Escaping::Dots), "a__b");
    }

    #[test]
    fn legacy_names_are_unchanged_by_every_scheme() {
        for name in ["records_written_total", "a:b", "_x", "__name__"] {
            assert!(is_legacy_name(name), "{name}");
            for scheme in Escaping::ALL {
                assert_eq!(escape_name(name, scheme), name, "{scheme:?}");
            }
        }
        assert!(!is_legacy_name("9lives"));
        assert!(!is_legacy_name(""));
        for scheme in Escaping::ALL {
            assert_eq!(Escaping::parse(scheme.as_str()), Some(scheme));
        }
        assert_eq!(Escaping::parse("utf-8"), None);
    }
}
