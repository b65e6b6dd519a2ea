//! Normalisation: from what a source said to series the tracker can key.
//!
//! Per sample, every cycle: the kind of a plain number (from the glob rules, cached per
//! name), the name (prefix, OpenTelemetry base-name rules) and the labels (rename,
//! deny-list, valid names, size limit). Each step has a no-allocation fast path for input
//! that is already clean, since most sources send the same clean names every cycle.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use snapbridge_core::{Kind, Labels, Number, Sample, SampleRef, SeriesKey, Value};

use crate::limits::MAX_LABEL_VALUE_BYTES;
use crate::names;
use crate::sources::SourceConfig;
use crate::values::{DefaultKind, GlobList};

/// Kind-rule caches grow with distinct names; past this many they are cleared.
const KIND_CACHE_LIMIT: usize = 100_000;

/// What normalisation removed in one cycle.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NormalizeStats {
    /// Labels dropped because their key is on the deny-list.
    pub denied_labels: u64,
    /// Series dropped because a label value is longer than [`MAX_LABEL_VALUE_BYTES`].
    pub label_too_long: u64,
    /// Plain numbers matched by no rule while `default_kind = "ignore"`.
    pub ignored: u64,
    /// Series whose name has no letter or digit at all (nothing to export it under).
    pub invalid_name: u64,
}

/// How many clean label keys [`Normalizer`] remembers.
const CLEAN_KEYS_LIMIT: usize = 16;

/// Per-source normalisation rules.
pub struct Normalizer {
    counters: GlobList,
    gauges: GlobList,
    default_kind: DefaultKind,
    kind_cache: HashMap<String, Option<Kind>>,
    rename: BTreeMap<String, String>,
    deny: Vec<String>,
    prefix: Option<String>,
    // Label keys that passed every check (valid name, not renamed, not denied): the same
    // few keys come on every series, and comparing with them is cheaper than the checks
    // (7% of a 100k-series cycle). The rules never change, so a key once clean stays so.
    clean_keys: Vec<Box<str>>,
    // Under a UTF-8 name policy names and label keys keep the source's spelling.
    keep_utf8: bool,
}

impl Normalizer {
    /// Rules from a source's config.
    pub fn from_config(config: &SourceConfig) -> Self {
        Normalizer {
            counters: config.counters.clone(),
            gauges: config.gauges.clone(),
            default_kind: config.default_kind,
            kind_cache: HashMap::new(),
            rename: config.rename.clone(),
            deny: config.deny_labels(),
            prefix: config.prefix.clone(),
            clean_keys: Vec::new(),
            keep_utf8: false,
        }
    }

    /// Applies the name policy: a UTF-8 one keeps names and label keys as the source
    /// spells them (an empty name is still dropped, an unusable key still sanitised).
    pub fn set_strategy(&mut self, strategy: crate::names::TranslationStrategy) {
        self.keep_utf8 = strategy.keeps_utf8();
        self.clean_keys.clear();
    }

    /// True when `key` is kept as it is: legacy-valid, or any usable UTF-8 key under a
    /// UTF-8 policy (not empty, not reserved like `__name__`, not only underscores).
    fn key_is_clean(&self, key: &str) -> bool {
        names::is_label_name(key)
            || (self.keep_utf8 && !key.starts_with("__") && key.chars().any(|c| c != '_'))
    }

    /// The kind a plain number named `name` gets (`None`: not exported).
    pub fn kind_for(&mut self, name: &str) -> Option<Kind> {
        if let Some(k) = self.kind_cache.get(name) {
            return *k;
        }
        let kind = if self.counters.matches(name) {
            Some(Kind::Counter)
        } else if self.gauges.matches(name) {
            Some(Kind::Gauge)
        } else {
            match self.default_kind {
                DefaultKind::Gauge => Some(Kind::Gauge),
                DefaultKind::Counter => Some(Kind::Counter),
                DefaultKind::Ignore => None,
            }
        };
        if self.kind_cache.len() >= KIND_CACHE_LIMIT {
            self.kind_cache.clear();
        }
        self.kind_cache.insert(name.to_string(), kind);
        kind
    }

    /// Normalises `samples` in place, dropping what cannot be exported.
    pub fn normalize(&mut self, samples: &mut Vec<Sample>, stats: &mut NormalizeStats) {
        samples.retain_mut(|s| self.normalize_one(s, stats));
    }

    /// Normalises one sample for [`DeltaTracker::observe_borrowed`]: its value is taken
    /// (resolved to a kind), its key lent as it is when already clean (nearly always: a
    /// source sends the same clean names every cycle) or copied and rewritten when not.
    /// `None`: the sample cannot be exported.
    ///
    /// [`DeltaTracker::observe_borrowed`]: snapbridge_core::DeltaTracker::observe_borrowed
    ///
    /// `known_clean`: the caller knows this very key passed every check before (the source
    /// kept it since a cycle where it did, and these rules never change), so only the
    /// value is resolved.
    pub fn normalize_ref<'a>(
        &mut self,
        s: &'a mut Sample,
        known_clean: bool,
        stats: &mut NormalizeStats,
    ) -> Option<SampleRef<'a>> {
        let value = std::mem::replace(&mut s.value, Value::Gauge(0.0));
        let value = self.resolve_value(&s.key.name, value, stats)?;
        let s: &'a Sample = s;
        if known_clean {
            return Some(SampleRef::new(s, value));
        }
        let clean_name = self.prefix.is_none()
            && if self.keep_utf8 {
                !s.key.name.is_empty()
            } else {
                names::is_base_name(&s.key.name)
            };
        if clean_name && self.labels_clean(&s.key.labels, stats)? {
            return Some(SampleRef::new(s, value));
        }
        let mut key = s.key.clone();
        if !self.normalize_key(&mut key, stats) {
            return None;
        }
        Some(SampleRef {
            key: Cow::Owned(key),
            ..SampleRef::new(s, value)
        })
    }

    fn normalize_one(&mut self, s: &mut Sample, stats: &mut NormalizeStats) -> bool {
        let value = std::mem::replace(&mut s.value, Value::Gauge(0.0));
        match self.resolve_value(&s.key.name, value, stats) {
            Some(v) => s.value = v,
            None => return false,
        }
        self.normalize_key(&mut s.key, stats)
    }

    /// The value with its kind resolved; `None` when the rules export it under no kind.
    fn resolve_value(
        &mut self,
        name: &str,
        value: Value,
        stats: &mut NormalizeStats,
    ) -> Option<Value> {
        let value = match value {
            Value::Untyped(n) => match self.kind_for(name) {
                Some(Kind::Counter) => Value::Counter(n),
                Some(_) => Value::Gauge(n.as_f64()),
                None => {
                    stats.ignored += 1;
                    return None;
                }
            },
            v => v,
        };
        Some(match value {
            // JSON sources may send `5.0` for an integer counter; keep it exact.
            Value::Counter(Number::Float(f)) if f.fract() == 0.0 && (0.0..9.0e15).contains(&f) => {
                Value::Counter(Number::Int(f as u64))
            }
            v => v,
        })
    }

    /// Rewrites a key in place; false when it cannot be exported.
    fn normalize_key(&mut self, key: &mut SeriesKey, stats: &mut NormalizeStats) -> bool {
        if let Some(prefix) = &self.prefix {
            key.name.insert_str(0, prefix);
        }
        if self.keep_utf8 {
            if key.name.is_empty() {
                stats.invalid_name += 1;
                return false;
            }
        } else if !names::is_base_name(&key.name) {
            key.name = names::base_name(&key.name);
            if !key.name.bytes().any(|b| b.is_ascii_alphanumeric()) {
                stats.invalid_name += 1;
                return false;
            }
        }
        self.normalize_labels(&mut key.labels, stats)
    }

    /// Whether the labels pass as they are; `None` (counted) when a value is too long.
    fn labels_clean(&mut self, labels: &Labels, stats: &mut NormalizeStats) -> Option<bool> {
        if labels.is_empty() {
            return Some(true);
        }
        if labels.iter().any(|(_, v)| v.len() > MAX_LABEL_VALUE_BYTES) {
            stats.label_too_long += 1;
            return None;
        }
        Some(labels.iter().all(|(k, _)| {
            if self.clean_keys.iter().any(|c| **c == *k) {
                return true;
            }
            let clean = self.key_is_clean(k) && !self.rename.contains_key(k) && !self.is_denied(k);
            if clean && self.clean_keys.len() < CLEAN_KEYS_LIMIT {
                self.clean_keys.push(k.into());
            }
            clean
        }))
    }

    fn normalize_labels(&mut self, labels: &mut Labels, stats: &mut NormalizeStats) -> bool {
        match self.labels_clean(labels, stats) {
            None => return false,
            Some(true) => return true,
            Some(false) => {}
        }
        let pairs = std::mem::take(labels).into_vec();
        let mut out = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            let k = self.rename.get(&k).cloned().unwrap_or(k);
            if self.is_denied(&k) {
                stats.denied_labels += 1;
                continue;
            }
            let k = if self.key_is_clean(&k) {
                k
            } else {
                names::label_name(&k)
            };
            out.push((k, v));
        }
        *labels = Labels::from_vec(out);
        true
    }

    fn is_denied(&self, key: &str) -> bool {
        self.deny.iter().any(|d| d.eq_ignore_ascii_case(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn normalizer(extra: &str) -> Normalizer {
        let text = format!(
            "[[source]]\nname = \"s\"\nkind = \"demo\"\ncounters = [\"*_total\", \"records_*\"]\ngauges = [\"queue_*\"]\n{extra}\n"
        );
        let config = Config::parse(&text, "t").unwrap();
        Normalizer::from_config(&config.sources[0].config)
    }

    #[test]
    fn kinds_come_from_rules_and_typed_values_keep_theirs() {
        let mut n = normalizer("default_kind = \"ignore\"");
        let mut samples = vec![
            Sample::untyped("records_written", 5u64),
            Sample::untyped("queue_size", 3u64),
            Sample::untyped("other", 1u64),
            Sample::gauge("typed_gauge", 1.5),
        ];
        let mut stats = NormalizeStats::default();
        n.normalize(&mut samples, &mut stats);
        assert_eq!(samples.len(), 3);
        assert_eq!(samples[0].value, Value::Counter(Number::Int(5)));
        assert_eq!(samples[1].value, Value::Gauge(3.0));
        assert_eq!(samples[2].value, Value::Gauge(1.5));
        assert_eq!(stats.ignored, 1);
    }

    #[test]
    fn names_and_labels_are_cleaned_and_pii_dropped() {
        let mut n = normalizer("rename = { op = \"operation\" }\nprefix = \"app.\"");
        let mut samples = vec![
            Sample::untyped("http.requests", 1u64)
                .with_label("op", "get")
                .with_label("Email", "a@b.c")
                .with_label("http.method", "GET"),
            Sample::untyped("x", 1u64).with_label("big", "v".repeat(MAX_LABEL_VALUE_BYTES + 1)),
        ];
        let mut stats = NormalizeStats::default();
        n.normalize(&mut samples, &mut stats);
        assert_eq!(samples.len(), 1);
        assert_eq!(samples[0].key.name, "app_http_requests");
        let labels: Vec<_> = samples[0].key.labels.iter().collect();
        assert_eq!(labels, [("http_method", "GET"), ("operation", "get")]);
        assert_eq!(stats.denied_labels, 1);
        assert_eq!(stats.label_too_long, 1);
    }

    #[test]
    fn remembered_clean_keys_never_let_a_renamed_or_denied_key_through() {
        let mut n = normalizer("rename = { op = \"operation\" }");
        let sample = || {
            Sample::untyped("records_x", 1u64)
                .with_label("region", "eu")
                .with_label("op", "get")
                .with_label("Email", "a@b.c")
                .with_label("bad key", "v")
        };
        let mut first = vec![Sample::untyped("records_y", 1u64).with_label("region", "us")];
        n.normalize(&mut first, &mut NormalizeStats::default());
        assert_eq!(
            n.clean_keys,
            [Box::from("region")],
            "a clean key is remembered"
        );
        for round in 0..3 {
            let mut samples = vec![sample()];
            let mut stats = NormalizeStats::default();
            n.normalize(&mut samples, &mut stats);
            let labels: Vec<_> = samples[0].key.labels.iter().collect();
            assert_eq!(
                labels,
                [("bad_key", "v"), ("operation", "get"), ("region", "eu")],
                "round {round}"
            );
            assert_eq!(stats.denied_labels, 1, "round {round}");
        }
        assert!(
            n.clean_keys.iter().all(|k| &**k == "region"),
            "{:?}",
            n.clean_keys
        );
    }
}
