//! What configures a source: the keys every source has ([`SourceConfig`]), the keys of its
//! kind (a [`KindConfig`] of the kind's own), and how a kind is registered ([`KindEntry`]).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use snapbridge_core::Initial;

use super::Source;
use crate::values::{DefaultKind, DurationValue, GlobList, InitialValue, Table, TableError};

/// The label keys that often carry personal data (user names, e-mail addresses, tokens,
/// session ids): never exported as labels unless a source sets its own `deny_labels`.
pub const DEFAULT_DENY_LABELS: &[&str] = &[
    "email",
    "name",
    "username",
    "password",
    "token",
    "key",
    "secret",
    "api_key",
    "user_id",
    "client_id",
    "session_id",
];

/// Series a source may have when its config does not say.
pub const DEFAULT_MAX_SERIES: usize = 100_000;

/// The snapshot timeout of a source built in code without one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The keys every source has, whatever its kind: its name, how its plain numbers are typed,
/// how its labels are renamed and filtered, and its limits. A `[[source]]` table holds
/// these next to its kind's own keys; an in-process source added in code has only these.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Unique name; every series of the source carries it as the `source` label.
    pub name: String,
    /// Globs of plain-map keys that are counters. Default: `[]`.
    #[serde(default)]
    pub counters: GlobList,
    /// Globs of plain-map keys that are gauges. Default: `[]`.
    #[serde(default)]
    pub gauges: GlobList,
    /// Kind of plain-map keys that match neither list (typed entries keep their own).
    /// Default: `"gauge"` (a gauge never claims monotonicity).
    #[serde(default)]
    pub default_kind: DefaultKind,
    /// Labels added to every series of the source (not `source`, `le` or `quantile`, which
    /// snapbridge and the exposition set). Default: none.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Label keys renamed (`from = "to"`), applied before the deny-list. Default: none.
    #[serde(default)]
    pub rename: BTreeMap<String, String>,
    /// Label keys dropped (and counted) because they may carry personal data. Default:
    /// `email`, `name`, `username`, `password`, `token`, `key`, `secret`, `api_key`,
    /// `user_id`, `client_id`, `session_id` ([`DEFAULT_DENY_LABELS`]).
    pub deny_labels: Option<Vec<String>>,
    /// Prefix added to every metric name of the source (e.g. `papyra_`). Default: none.
    pub prefix: Option<String>,
    /// First-sighting rule for counters: `keep` (the first value counts) or `drop` (it only
    /// sets the baseline, for sources whose history was exported already). Default:
    /// `"keep"`.
    #[serde(default)]
    pub initial: InitialValue,
    /// Snapshot timeout, from `"1ms"` to `"1h"`. Default: the global `timeout`.
    #[serde(default, deserialize_with = "crate::values::bounds::timeout_opt")]
    pub timeout: Option<DurationValue>,
    /// Most series exposed from this source at once; more are dropped (new ones first),
    /// counted and logged. State of series that left is bounded apart, at as many again.
    /// Default: `100000`.
    #[serde(default = "default_max_series")]
    pub max_series: usize,
}

fn default_max_series() -> usize {
    DEFAULT_MAX_SERIES
}

impl SourceConfig {
    /// A source named `name` with every other key at its default: no rules (typed samples
    /// pass as they are, plain numbers become gauges), no static labels.
    pub fn new(name: &str) -> Self {
        SourceConfig {
            name: name.to_string(),
            counters: GlobList::default(),
            gauges: GlobList::default(),
            default_kind: DefaultKind::default(),
            labels: BTreeMap::new(),
            rename: BTreeMap::new(),
            deny_labels: None,
            prefix: None,
            initial: InitialValue::default(),
            timeout: None,
            max_series: DEFAULT_MAX_SERIES,
        }
    }

    /// The timeout a source applies to itself.
    pub fn timeout(&self) -> Duration {
        self.timeout.map(|d| d.0).unwrap_or(DEFAULT_TIMEOUT)
    }

    /// The kind rules for plain numbers, for sources that check counters while parsing.
    pub fn kind_rules(&self) -> KindRules {
        KindRules {
            counters: self.counters.clone(),
            gauges: self.gauges.clone(),
            default_kind: self.default_kind,
        }
    }

    /// The deny-list in force (the default list unless the source sets one).
    pub fn deny_labels(&self) -> Vec<String> {
        match &self.deny_labels {
            Some(list) => list.clone(),
            None => DEFAULT_DENY_LABELS.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The first-sighting rule.
    pub fn initial(&self) -> Initial {
        self.initial.0
    }

    /// The rules of the common keys that span values: a name, valid label names, limits.
    pub fn validate(&self) -> Result<(), KeyError> {
        if self.name.trim().is_empty() {
            return Err(KeyError::new("name", "must not be empty"));
        }
        if self.max_series == 0 {
            return Err(KeyError::new("max_series", "must be at least 1"));
        }
        for key in self.labels.keys().chain(self.rename.values()) {
            if !crate::names::is_label_name(key) {
                return Err(KeyError::new(
                    "labels",
                    format!("{key:?} is not a valid label name ([a-zA-Z][a-zA-Z0-9_]*)"),
                ));
            }
        }
        if let Some(key) =
            (crate::names::RESERVED_STATIC_LABELS.iter()).find(|k| self.labels.contains_key(**k))
        {
            return Err(KeyError::new(
                "labels",
                format!(
                    "{key:?} is set by the exposition itself (histogram buckets' `le`, summary quantiles' `quantile`): choose another name"
                ),
            ));
        }
        if self.labels.contains_key("source") {
            return Err(KeyError::new(
                "labels",
                "\"source\" is set by snapbridge from the source name",
            ));
        }
        Ok(())
    }
}

/// The plain-number kind rules of a source (`counters`, `gauges`, `default_kind`), as a
/// source sees them: the pipeline applies them, a parser uses them to name the key of a
/// counter value that can never be exported (negative, NaN).
#[derive(Clone, Debug, Default)]
pub struct KindRules {
    /// Globs of counter names.
    pub counters: GlobList,
    /// Globs of gauge names.
    pub gauges: GlobList,
    /// Kind of names no glob matches.
    pub default_kind: DefaultKind,
}

impl KindRules {
    /// True when a plain number named `name` will be exported as a counter.
    pub fn is_counter(&self, name: &str) -> bool {
        if self.counters.matches(name) {
            return true;
        }
        !self.gauges.matches(name) && self.default_kind == DefaultKind::Counter
    }
}

/// A rule of a source's config that its values break: the key to fix, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyError {
    /// The key, as written in the `[[source]]` table.
    pub key: &'static str,
    /// What is wrong and, where it helps, how to write it.
    pub reason: String,
}

impl KeyError {
    /// `key` is wrong because of `reason`.
    pub fn new(key: &'static str, reason: impl Into<String>) -> Self {
        KeyError {
            key,
            reason: reason.into(),
        }
    }

    /// `kind` needs `key`, written like `example` (the value).
    pub fn needs(kind: &str, key: &'static str, example: &str) -> Self {
        KeyError::new(
            key,
            format!("kind = \"{kind}\" needs `{key}`, e.g. {key} = {example}"),
        )
    }
}

/// A source kind's own keys: the rest of its `[[source]]` table. Each kind's folder has
/// one (`sources/http/` has `HttpConfig`), registered by one line in `sources/mod.rs`.
pub trait KindConfig: fmt::Debug + Send + Sync + 'static {
    /// The kind's required keys with an example value each, one `key = value` per line:
    /// shown when one is missing, and in the config reference.
    fn example() -> &'static str
    where
        Self: Sized,
    {
        ""
    }

    /// The rules that span keys (keys that go together or exclude each other); `common`
    /// holds the source's common keys.
    fn validate(&self, common: &SourceConfig) -> Result<(), KeyError> {
        let _ = common;
        Ok(())
    }

    /// The running source this config describes.
    fn build(&self, common: &SourceConfig) -> Result<Arc<dyn Source>, String>;

    /// The running source, writing nothing it keeps on disk (checkpoints): for one-shot
    /// commands beside a running instance. Kinds that keep nothing on disk build as usual.
    fn build_read_only(&self, common: &SourceConfig) -> Result<Arc<dyn Source>, String> {
        self.build(common)
    }
}

/// A registered kind: its name (the value of `kind`), and how its keys are read.
#[derive(Clone, Copy)]
pub struct KindEntry {
    /// The value of `kind` that selects it.
    pub name: &'static str,
    /// Its required keys with example values (see [`KindConfig::example`]).
    pub example: fn() -> &'static str,
    /// Its own keys, from its config struct.
    pub keys: fn() -> &'static [&'static str],
    /// Reads its own keys.
    pub parse: fn(Table) -> Result<Arc<dyn KindConfig>, TableError>,
}

impl KindEntry {
    /// The kind `name`, configured by `T`.
    pub const fn of<T: KindConfig + DeserializeOwned>(name: &'static str) -> Self {
        KindEntry {
            name,
            example: T::example,
            keys: crate::values::keys_of::<T>,
            parse: parse_as::<T>,
        }
    }
}

fn parse_as<T: KindConfig + DeserializeOwned>(
    table: Table,
) -> Result<Arc<dyn KindConfig>, TableError> {
    table
        .deserialize::<T>()
        .map(|c| Arc::new(c) as Arc<dyn KindConfig>)
}

impl fmt::Debug for KindEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KindEntry")
            .field("name", &self.name)
            .finish()
    }
}

/// One configured source: its common keys and its kind's own.
#[derive(Clone, Debug)]
pub struct SourceEntry {
    /// The keys every source has.
    pub config: SourceConfig,
    /// The kind's name (`http`, `file`...), as shown on the status page.
    pub kind: &'static str,
    /// The kind's own keys.
    pub kind_config: Arc<dyn KindConfig>,
}

impl SourceEntry {
    /// Checks the rules that span keys, the common ones first.
    pub fn validate(&self) -> Result<(), KeyError> {
        self.config.validate()?;
        self.kind_config.validate(&self.config)
    }

    /// The running source.
    pub fn build(&self) -> Result<Arc<dyn Source>, String> {
        self.kind_config.build(&self.config)
    }

    /// The running source, writing nothing to disk (see [`KindConfig::build_read_only`]).
    pub fn build_read_only(&self) -> Result<Arc<dyn Source>, String> {
        self.kind_config.build_read_only(&self.config)
    }
}
