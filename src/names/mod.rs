//! Metric and label names, by OpenTelemetry's Prometheus compatibility rules.
//!
//! One rule set serves both paths: the name pushed over OTLP is the normalised *base* name
//! (tokens joined by `_`, no unit, no `_total`), and the name on `/metrics` is
//! [`exposed_name`] of that base. A receiver that applies the OpenTelemetry-to-Prometheus
//! translation (the collector's prometheus exporter, VictoriaMetrics with
//! `-opentelemetry.usePrometheusNaming`) computes the same name from the base, unit and kind,
//! so one dashboard query serves both paths.
//!
//! Those are the default name policy's rules; [`TranslationStrategy`] holds the others
//! (names as the source spells them, with or without suffixes), and [`escape_name`] the
//! escaping a Prometheus 3 scraper asks for when names outside the legacy charset are kept.

use snapbridge_core::Kind;

mod escaping;
mod strategy;

pub use escaping::{Escaping, escape_name, is_legacy_name};
pub use strategy::TranslationStrategy;

/// Characters that separate name tokens; runs of them (and of any other character that is
/// invalid in a Prometheus name) collapse into one `_`.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// Splits a name into its tokens: the runs of ASCII letters and digits.
fn tokens(name: &str) -> impl Iterator<Item = &str> {
    name.split(|c: char| !is_name_char(c))
        .filter(|t| !t.is_empty())
}

/// The base name: tokens of `raw` joined by `_`, prefixed with `_` when it would start with a
/// digit, `_` alone when nothing valid is left.
pub fn base_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for token in tokens(raw) {
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(token);
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// True when `raw` is already its own base name (the common case: no allocation needed):
/// not empty, ASCII letters, digits and single underscores only, starting with a letter
/// and not ending with `_`.
///
/// Every sample's name is checked every cycle, so this is one pass over the bytes (a
/// non-ASCII byte is neither a letter nor a digit, so UTF-8 needs no decoding); chained
/// `str` searches cost a third of a steady cycle's instructions.
pub fn is_base_name(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    let (Some(first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    if !first.is_ascii_alphabetic() || last == b'_' {
        return false;
    }
    let mut underscore = false;
    for &b in bytes {
        if b == b'_' {
            if underscore {
                return false;
            }
            underscore = true;
        } else if b.is_ascii_alphanumeric() {
            underscore = false;
        } else {
            return false;
        }
    }
    true
}

/// The Prometheus words for an OpenTelemetry (UCUM) unit: `s` -> `seconds`, `By/s` ->
/// (`bytes`, `second`). Units in braces (`{requests}`) are annotations and give no word; `1`
/// gives none either (gauges get `ratio` instead). Unknown units are used as they are,
/// sanitised.
pub fn unit_words(unit: &str) -> (Option<String>, Option<String>) {
    let (main, per) = match unit.split_once('/') {
        Some((m, p)) => (m.trim(), p.trim()),
        None => (unit.trim(), ""),
    };
    let word = |w: &str| (!w.is_empty() && !w.contains('{')).then(|| base_name(w));
    (word(main_unit_word(main)), word(per_unit_word(per)))
}

/// The Prometheus word for a main (UCUM) unit, `""` for `1`; an unknown unit as it is.
pub fn main_unit_word(unit: &str) -> &str {
    match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "1" => "",
        "%" => "percent",
        other => other,
    }
}

/// The Prometheus word for the unit after `/` (`s` -> `second`); an unknown one as it is.
pub fn per_unit_word(unit: &str) -> &str {
    match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        other => other,
    }
}

/// The family name on `/metrics` for a series of `kind` whose base name is `base`.
///
/// Counters end in `_total` exactly once (a `total` token elsewhere moves to the end, as the
/// OpenTelemetry translator does); a unit adds its suffix unless the name already has that
/// token; a gauge with unit `1` ends in `_ratio`. Histogram families carry no `_total`: their
/// samples are `<family>_bucket`, `_sum` and `_count`.
pub fn exposed_name(base: &str, unit: Option<&str>, kind: Kind) -> String {
    let (main, per) = unit.map(unit_words).unwrap_or_default();
    let mut toks: Vec<&str> = tokens(base).collect();
    if let Some(main) = main.as_deref()
        && !toks.contains(&main)
    {
        toks.push(main);
    }
    if let Some(per) = per.as_deref()
        && !toks.contains(&per)
    {
        toks.push("per");
        toks.push(per);
    }
    match kind {
        Kind::Counter => move_to_end(&mut toks, "total"),
        Kind::Gauge if unit.map(str::trim) == Some("1") => move_to_end(&mut toks, "ratio"),
        _ => {}
    }
    let mut name = toks.join("_");
    if base.starts_with('_') || name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

fn move_to_end<'a>(toks: &mut Vec<&'a str>, word: &'a str) {
    if let Some(i) = toks.iter().position(|t| *t == word) {
        toks.remove(i);
    }
    toks.push(word);
}

/// For a counter family name ending in `_total`, the OpenMetrics family name (without it).
pub fn openmetrics_family(exposed: &str, kind: Kind) -> &str {
    match kind {
        Kind::Counter => exposed.strip_suffix("_total").unwrap_or(exposed),
        _ => exposed,
    }
}

/// A valid Prometheus label name for `raw`: invalid characters become `_`; a leading digit
/// gets `key_` and a single leading `_` gets `key` (the OpenTelemetry rules); names starting
/// with `__` are reserved to Prometheus, so they get `key` too.
pub fn label_name(raw: &str) -> String {
    let mut out: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() {
        out.push_str("key_empty");
    } else if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "key_");
    } else if out.starts_with('_') {
        out.insert_str(0, "key");
    }
    out
}

/// True when `raw` is already a valid label name that [`label_name`] leaves unchanged.
pub fn is_label_name(raw: &str) -> bool {
    !raw.is_empty()
        && raw.starts_with(|c: char| c.is_ascii_alphabetic())
        && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// True when the exposition itself sets label `key` on series of `kind` (`le` on a
/// histogram's buckets; `quantile` would be a summary's, a kind not exported), so a series'
/// own label of that name must not be emitted as it is.
pub fn is_reserved_label(key: &str, kind: Kind) -> bool {
    key.starts_with("__") || (kind == Kind::Histogram && key == "le")
}

/// Label names no series of any kind may carry from static `labels`: the ones some kind's
/// exposition sets itself.
pub const RESERVED_STATIC_LABELS: [&str; 2] = ["le", "quantile"];

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition `is_base_name` implements in one pass.
    fn is_base_name_oracle(raw: &str) -> bool {
        !raw.is_empty()
            && !raw.starts_with(|c: char| c.is_ascii_digit() || c == '_')
            && !raw.ends_with('_')
            && !raw.contains("__")
            && raw.chars().all(|c| is_name_char(c) || c == '_')
    }

    proptest::proptest! {
        #[test]
        fn is_base_name_agrees_with_its_definition(raw in "[a-c0-2_.é:]{0,8}") {
            proptest::prop_assert_eq!(is_base_name(&raw), is_base_name_oracle(&raw));
        }
    }

    #[test]
    fn base_names_collapse_invalid_runs() {
        assert_eq!(
            base_name("papyra.records_written"),
            "papyra_records_written"
        );
        assert_eq!(
            base_name("http  requests--in/flight"),
            "http_requests_in_flight"
        );
        assert_eq!(base_name("__x__"), "x");
        assert_eq!(base_name("5xx"), "_5xx");
        assert_eq!(base_name("é"), "_");
        assert!(is_base_name("records_written"));
        assert!(!is_base_name("records__written"));
        assert!(!is_base_name("records.written"));
    }

    #[test]
    fn counters_get_total_once_and_units_their_suffix() {
        assert_eq!(
            exposed_name("records_written", None, Kind::Counter),
            "records_written_total"
        );
        assert_eq!(
            exposed_name("requests_total", None, Kind::Counter),
            "requests_total"
        );
        assert_eq!(
            exposed_name("total_requests", None, Kind::Counter),
            "requests_total"
        );
        assert_eq!(
            exposed_name("scan_duration", Some("s"), Kind::Counter),
            "scan_duration_seconds_total"
        );
        assert_eq!(
            exposed_name("latency_seconds", Some("s"), Kind::Histogram),
            "latency_seconds"
        );
        assert_eq!(exposed_name("cpu", Some("1"), Kind::Gauge), "cpu_ratio");
        assert_eq!(
            exposed_name("rx", Some("By/s"), Kind::Gauge),
            "rx_bytes_per_second"
        );
        assert_eq!(exposed_name("jobs", Some("{job}"), Kind::Gauge), "jobs");
        assert_eq!(openmetrics_family("a_total", Kind::Counter), "a");
    }

    #[test]
    fn label_names_follow_the_otel_rules() {
        assert_eq!(label_name("http.method"), "http_method");
        assert_eq!(label_name("0day"), "key_0day");
        assert_eq!(label_name("_private"), "key_private");
        assert_eq!(label_name("__meta"), "key__meta");
        assert!(is_label_name("operation_type"));
        assert!(!is_label_name("_x"));
    }
}
