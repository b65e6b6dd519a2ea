//! The name policy: Prometheus' OTLP `translation_strategy`, applied to both paths so that a
//! series scraped from `/metrics` and the same series pushed to a receiver configured with
//! the same strategy land under one name with the same labels.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer};
use snapbridge_core::Kind;

/// How source names become metric and label names (the names of Prometheus' OTLP
/// `translation_strategy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TranslationStrategy {
    /// Invalid characters become `_`, unit and `_total` suffixes are added.
    #[default]
    UnderscoreEscapingWithSuffixes,
    /// Names and label names as the source spells them (UTF-8), suffixes added.
    NoUtf8EscapingWithSuffixes,
    /// Names and label names as the source spells them, no suffixes.
    NoTranslation,
}

impl TranslationStrategy {
    /// Every strategy.
    pub const ALL: [TranslationStrategy; 3] = [
        TranslationStrategy::UnderscoreEscapingWithSuffixes,
        TranslationStrategy::NoUtf8EscapingWithSuffixes,
        TranslationStrategy::NoTranslation,
    ];

    /// The name Prometheus' configuration gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            TranslationStrategy::UnderscoreEscapingWithSuffixes => "UnderscoreEscapingWithSuffixes",
            TranslationStrategy::NoUtf8EscapingWithSuffixes => "NoUTF8EscapingWithSuffixes",
            TranslationStrategy::NoTranslation => "NoTranslation",
        }
    }

    /// True when names keep the source's spelling instead of the legacy charset.
    pub fn keeps_utf8(self) -> bool {
        self != TranslationStrategy::UnderscoreEscapingWithSuffixes
    }

    /// The family name on `/metrics` for a series of `kind` named `base` (the name pushed
    /// over OTLP) with `unit`.
    pub fn exposed_name(self, base: &str, unit: Option<&str>, kind: Kind) -> String {
        match self {
            TranslationStrategy::UnderscoreEscapingWithSuffixes => {
                super::exposed_name(base, unit, kind)
            }
            TranslationStrategy::NoUtf8EscapingWithSuffixes => utf8_with_suffixes(base, unit, kind),
            TranslationStrategy::NoTranslation => base.to_string(),
        }
    }
}

impl fmt::Display for TranslationStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TranslationStrategy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        TranslationStrategy::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| {
                de::Error::custom(format!(
                    "invalid value {text:?}: expected \"UnderscoreEscapingWithSuffixes\", \
                     \"NoUTF8EscapingWithSuffixes\" or \"NoTranslation\" (as Prometheus' OTLP \
                     translation_strategy)"
                ))
            })
    }
}

/// `name` without `_<suffix>` at its end, when something is left before it.
fn trim_suffix<'a>(name: &'a str, suffix: &str) -> &'a str {
    match name.strip_suffix(suffix) {
        Some(rest) if rest.len() > 1 && rest.ends_with('_') => &rest[..rest.len() - 1],
        _ => name,
    }
}

/// The UTF-8 name with suffixes, as Prometheus' OTLP receiver builds it when UTF-8 is
/// allowed: the name is kept as spelled; a per-unit suffix, `_total` (counters) and `_ratio`
/// (gauges of unit `1`) move to the end, and the main unit is appended unless the name
/// already ends with it.
fn utf8_with_suffixes(base: &str, unit: Option<&str>, kind: Kind) -> String {
    let unit = unit.unwrap_or("");
    let ratio = unit == "1" && kind == Kind::Gauge;
    let total = kind == Kind::Counter;
    let (main, per) = unit_suffixes(unit);
    let mut name = base;
    if ratio {
        name = trim_suffix(name, "ratio");
    }
    if total {
        name = trim_suffix(name, "total");
    }
    if let Some(per) = &per {
        name = trim_suffix(name, per);
    }
    let mut out = name.to_string();
    if let Some(main) = main
        && !out.ends_with(&main)
    {
        out.push('_');
        out.push_str(&main);
    }
    if let Some(per) = per {
        out.push('_');
        out.push_str(&per);
    }
    if total {
        out.push_str("_total");
    }
    if ratio {
        out.push_str("_ratio");
    }
    out
}

/// The unit words as that receiver spells them in UTF-8 mode: the main unit's word (`s` ->
/// `seconds`, unknown units as they are) and `per_<word>` for a per-unit; none for a unit in
/// braces or for `1`.
fn unit_suffixes(unit: &str) -> (Option<String>, Option<String>) {
    let (main, per) = match unit.split_once('/') {
        Some((m, p)) => (m.trim(), Some(p.trim())),
        None => (unit.trim(), None),
    };
    let usable = |u: &str| !u.is_empty() && !u.contains(['{', '}']);
    let main = Some(super::main_unit_word(main))
        .filter(|w| usable(main) && !w.is_empty())
        .map(str::to_string);
    let per = per
        .filter(|p| usable(p))
        .map(|p| format!("per_{}", super::per_unit_word(p)));
    (main, per)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_names_keep_their_spelling_and_get_suffixes() {
        let s = TranslationStrategy::NoUtf8EscapingWithSuffixes;
        let name = |b, u, k| s.exposed_name(b, u, k);
        assert_eq!(
            name("http.server.requests", None, Kind::Counter),
            "http.server.requests_total"
        );
        assert_eq!(
            name("http.server.duration", Some("s"), Kind::Histogram),
            "http.server.duration_seconds"
        );
        assert_eq!(
            name("cpu.usage_total", Some("s"), Kind::Counter),
            "cpu.usage_seconds_total"
        );
        assert_eq!(name("rx", Some("By/s"), Kind::Gauge), "rx_bytes_per_second");
        assert_eq!(name("load", Some("1"), Kind::Gauge), "load_ratio");
        assert_eq!(name("jobs", Some("{job}"), Kind::Gauge), "jobs");
        let none = TranslationStrategy::NoTranslation;
        assert_eq!(
            none.exposed_name("http.server.requests", Some("s"), Kind::Counter),
            "http.server.requests"
        );
        assert_eq!(
            TranslationStrategy::default().exposed_name("a.b", None, Kind::Counter),
            "a_b_total"
        );
    }
}
