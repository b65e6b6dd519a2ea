//! The configuration file: what to pull, how to type it, where to serve and push it.
//!
//! Each section's keys belong to the part of the program they configure: a source kind's
//! to its folder in `sources/` (with the keys every source has in
//! [`SourceConfig`]), `[prometheus]` and `[otlp]` to their
//! sinks. This module reads the file, hands each table to its owner and puts the file's
//! name, line and key on any error, on one line. Every value type that can be wrong
//! (durations, globs, addresses, enums) checks itself while deserialising
//! ([`crate::values`]), so its error carries the line too. `docs/CONFIG.md` lists every key.

mod error;
mod sources;

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[cfg(feature = "otlp")]
pub use crate::sinks::otlp::OtlpConfig;
#[cfg(feature = "prometheus")]
pub use crate::sinks::prometheus::{PrometheusConfig, TlsServerConfig};
pub use crate::sources::{DEFAULT_DENY_LABELS, KindRules, SourceConfig, SourceEntry};
pub use crate::values::{
    BasicAuth, ByteSize, DefaultKind, DurationValue, GlobList, InitialValue, JsonPointer, Secret,
    Shard, SourceUrl,
};
pub use error::ConfigError;

#[cfg(not(all(feature = "prometheus", feature = "otlp")))]
use crate::features::{self, LeftOut};
use crate::names::TranslationStrategy;
use crate::pipeline::PipelineSettings;
use crate::values::{Table, bounds};

/// The configuration used when no file is given: one demo source.
pub const DEFAULT_CONFIG: &str = include_str!("default.toml");

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Period of the pull cycle, from `"100ms"` to `"24h"`. Default: `"10s"`.
    #[serde(default = "defaults::interval", deserialize_with = "bounds::interval")]
    pub interval: DurationValue,
    /// Snapshot timeout of every source that sets none (at most the interval), from `"1ms"`
    /// to `"1h"`. Default: the interval.
    #[serde(default, deserialize_with = "bounds::timeout_opt")]
    pub timeout: Option<DurationValue>,
    /// How long the state of a series absent from its source is kept, so that it continues
    /// without double counting if it comes back, from `"1s"` to `"30d"`. Default: `"10m"`.
    #[serde(
        default = "defaults::max_staleness",
        deserialize_with = "bounds::staleness"
    )]
    pub max_staleness: DurationValue,
    /// Bound at shutdown on the pulls (the cycle under way and the last one, together) and
    /// on the last OTLP flush, from `"1ms"` to `"1h"`. Default: `"5s"`.
    #[serde(
        default = "defaults::shutdown_timeout",
        deserialize_with = "bounds::timeout"
    )]
    pub shutdown_timeout: DurationValue,
    /// The `/metrics` endpoint. Default: on `127.0.0.1:9464`.
    #[cfg(feature = "prometheus")]
    #[serde(default)]
    pub prometheus: PrometheusConfig,
    // Refused with an error naming the feature, rather than as an unknown key.
    #[cfg(not(feature = "prometheus"))]
    #[serde(default)]
    #[allow(dead_code)] // never `Some`: reading one fails
    prometheus: Option<LeftOut<features::Prometheus>>,
    /// Where to keep the trackers' state between runs, so a restart neither double counts
    /// nor loses what sources counted meanwhile (written atomically each cycle). Default:
    /// none (a restart starts every total again).
    pub state_file: Option<PathBuf>,
    /// This instance's share of the sources, `"i/n"` (1-based): several snapbridges with the
    /// same config and shards 1/n..n/n export every source exactly once between them.
    /// Default: none (every source).
    pub shard: Option<Shard>,
    /// Stable identity of this instance over OTLP (`service.instance.id`). Default: the host
    /// name and the port of `/metrics` (`myhost:9464`).
    pub instance: Option<String>,
    /// The OTLP push sink. Default: off, unless an `OTEL_EXPORTER_OTLP_ENDPOINT` variable is
    /// set.
    #[cfg(feature = "otlp")]
    pub otlp: Option<OtlpConfig>,
    /// How source names become metric and label names, on `/metrics` and over OTLP alike,
    /// named as Prometheus' OTLP `translation_strategy`: `"UnderscoreEscapingWithSuffixes"`
    /// (invalid characters become `_`, unit and `_total` suffixes), `"NoUTF8EscapingWithSuffixes"`
    /// (names and label names as the source spells them, suffixes added) or `"NoTranslation"`
    /// (as spelled, no suffixes). A receiver set to the same strategy stores the pushed
    /// series under the scraped names. Default: `"UnderscoreEscapingWithSuffixes"`.
    #[serde(default)]
    pub translation_strategy: TranslationStrategy,
    #[cfg(not(feature = "otlp"))]
    #[serde(default)]
    #[allow(dead_code)] // never `Some`: reading one fails
    otlp: Option<LeftOut<features::Otlp>>,
    /// The sources, in order (read from the `[[source]]` tables by [`Config::parse`]).
    #[serde(skip)]
    pub sources: Vec<SourceEntry>,
    /// The sources, one `[[source]]` table each, pulled in this order. Default: none.
    // Which struct reads a table depends on its `kind`, so the tables are read after the
    // rest of the file (see `sources.rs`).
    #[serde(default, rename = "source")]
    source_tables: Vec<Table>,
    /// What each source's kind keys hold, to tell on a reload whether its puller changed.
    #[serde(skip)]
    kind_keys: KindKeys,
}

/// Each source's kind keys as written (secrets included, so a rotated password counts as
/// a change), by source name. Its `Debug` form shows none of it.
#[derive(Clone, Default)]
struct KindKeys(std::collections::HashMap<String, String>);

impl std::fmt::Debug for KindKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KindKeys({} sources)", self.0.len())
    }
}

impl KindKeys {
    /// The kind keys of every table that names a known kind.
    fn of(tables: &[Table]) -> KindKeys {
        let mut by_name = std::collections::HashMap::new();
        for table in tables {
            let text = |key: &str| {
                table
                    .values()
                    .find(|(k, _)| *k == key)
                    .and_then(|(_, v)| v.as_str().map(str::to_string))
            };
            let (Some(name), Some(kind)) = (text("name"), text("kind")) else {
                continue;
            };
            let Some(entry) = crate::sources::kind(&kind) else {
                continue;
            };
            let own = (entry.keys)();
            let mut keys: Vec<String> = table
                .values()
                .filter(|(k, _)| own.contains(k))
                .map(|(k, v)| format!("{k}={v:?}"))
                .collect();
            keys.sort();
            by_name.insert(name, format!("kind={kind};{}", keys.join(";")));
        }
        KindKeys(by_name)
    }
}

mod defaults {
    use super::{DurationValue, PipelineSettings};

    pub fn interval() -> DurationValue {
        DurationValue(PipelineSettings::default().interval)
    }
    pub fn max_staleness() -> DurationValue {
        DurationValue(PipelineSettings::default().max_staleness)
    }
    pub fn shutdown_timeout() -> DurationValue {
        DurationValue(std::time::Duration::from_secs(5))
    }
}

impl Config {
    /// The sources this instance exports: all of them, or its shard's share.
    pub fn own_sources(&self) -> impl Iterator<Item = &SourceEntry> {
        self.sources
            .iter()
            .filter(|s| self.shard.is_none_or(|shard| shard.owns(&s.config.name)))
    }

    /// What the kind keys of source `name` hold (secrets included: never show it), so a
    /// reload can tell whether the source's puller must be rebuilt.
    pub(crate) fn kind_keys(&self, name: &str) -> Option<&str> {
        self.kind_keys.0.get(name).map(String::as_str)
    }

    /// How the pipeline runs, from the global keys.
    pub fn pipeline_settings(&self) -> PipelineSettings {
        PipelineSettings {
            interval: self.interval.0,
            timeout: self.timeout.map(|d| d.0),
            max_staleness: self.max_staleness.0,
            state_file: self.state_file.clone(),
            read_only: false,
            translation_strategy: self.translation_strategy,
        }
    }

    /// Reads and validates a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Config::parse(&text, &path.display().to_string())
    }

    /// Parses and validates TOML text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let mut config: Config =
            toml::from_str(text).map_err(|e| ConfigError::from_toml(origin, text, &e))?;
        let tables = std::mem::take(&mut config.source_tables);
        config.kind_keys = KindKeys::of(&tables);
        let reader = sources::Reader { text, origin };
        config.sources = reader.read_all(tables)?;
        // Every source knows its own timeout (the pipeline's rule: the source's, else the
        // global one, at most the interval), so it can stop its own work in time and name
        // its target in the error instead of being cut off by the pipeline.
        let default_timeout = config.pipeline_settings().default_timeout();
        for s in &mut config.sources {
            s.config
                .timeout
                .get_or_insert(DurationValue(default_timeout));
        }
        Ok(config)
    }

    /// The embedded default (a demo source), as used when no file is given.
    pub fn embedded_default() -> Config {
        // The embedded text is tested (tests in this module), so it always parses.
        Config::parse(DEFAULT_CONFIG, "<embedded default>")
            .unwrap_or_else(|e| panic!("embedded default config is invalid: {e}"))
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod source_tests;
