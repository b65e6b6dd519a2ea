//! The TOML configuration: what to pull, how to type it, where to serve it.
//!
//! Every value type that can be wrong (durations, globs, addresses, enums) validates itself
//! while deserialising, so the error carries the file line; [`Config::load`] turns it into
//! one line that names the file, the line, the key and the reason.

mod error;
mod kinds;
pub mod otlp;
mod values;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use snapbridge_core::Initial;

pub use error::ConfigError;
pub use values::{
    BasicAuth, ByteSize, DefaultKind, DurationValue, GlobList, InitialValue, JsonPointer, Secret,
    Shard, SourceKind, SourceUrl,
};

/// The label keys that carry personal data (seed 002's list): never exported as labels
/// unless a source sets its own `deny_labels`.
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

/// The configuration used when no file is given: one demo source shaped like seeds 000/001.
pub const DEFAULT_CONFIG: &str = include_str!("default.toml");

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Period of the pull cycle.
    #[serde(default = "defaults::interval")]
    pub interval: DurationValue,
    /// Default snapshot timeout of every source (at most the interval).
    #[serde(default)]
    pub timeout: Option<DurationValue>,
    /// How long the state of a series absent from its source is kept.
    #[serde(default = "defaults::max_staleness")]
    pub max_staleness: DurationValue,
    /// Bound on the last pull and flush at shutdown.
    #[serde(default = "defaults::shutdown_timeout")]
    pub shutdown_timeout: DurationValue,
    /// The `/metrics` endpoint.
    #[serde(default)]
    pub prometheus: PrometheusConfig,
    /// Where to keep the trackers' state between runs, so a restart neither double counts
    /// nor loses what sources counted meanwhile (written atomically each cycle).
    #[serde(default)]
    pub state_file: Option<std::path::PathBuf>,
    /// This instance's share of the sources, `"i/n"` (1-based): several snapbridges with the
    /// same config and shards 1/n..n/n export every source exactly once between them.
    #[serde(default)]
    pub shard: Option<Shard>,
    /// Stable identity of this instance (`service.instance.id`); default `<host>:<port>`.
    #[serde(default)]
    pub instance: Option<String>,
    /// The OTLP push sink (off when absent and no `OTEL_EXPORTER_OTLP_*` variable is set).
    #[serde(default)]
    pub otlp: Option<otlp::OtlpConfig>,
    /// The sources, in order.
    #[serde(default, rename = "source")]
    pub sources: Vec<SourceConfig>,
}

/// The Prometheus scrape endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusConfig {
    /// Address to listen on; loopback by default.
    #[serde(default = "defaults::listen")]
    pub listen: SocketAddr,
    /// Serve HTTPS, as the `tls_server_config` of Prometheus exporters' web config.
    #[serde(default)]
    pub tls_server_config: Option<TlsServerConfig>,
    /// Users allowed in, with bcrypt-hashed passwords (`alice = "$2y$10$..."`), as the
    /// `basic_auth_users` of Prometheus exporters' web config. Empty: no authentication.
    #[serde(default)]
    pub basic_auth_users: BTreeMap<String, String>,
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        PrometheusConfig {
            listen: defaults::listen(),
            tls_server_config: None,
            basic_auth_users: BTreeMap::new(),
        }
    }
}

/// Certificate and key of the HTTPS endpoint (PEM files).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsServerConfig {
    /// Certificate chain, PEM.
    pub cert_file: std::path::PathBuf,
    /// Private key, PEM.
    pub key_file: std::path::PathBuf,
}

/// One source: where its snapshot comes from and how its values are typed and labelled.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Unique name; every series of the source carries it as the `source` label.
    pub name: String,
    /// Where the snapshot comes from.
    pub kind: SourceKind,
    /// Globs of plain-map keys that are counters.
    #[serde(default)]
    pub counters: GlobList,
    /// Globs of plain-map keys that are gauges.
    #[serde(default)]
    pub gauges: GlobList,
    /// Kind of plain-map keys that match neither list.
    #[serde(default)]
    pub default_kind: DefaultKind,
    /// Labels added to every series of the source.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Label keys renamed (`from = "to"`), applied before the deny-list.
    #[serde(default)]
    pub rename: BTreeMap<String, String>,
    /// Label keys dropped (and counted) because they may carry personal data.
    #[serde(default)]
    pub deny_labels: Option<Vec<String>>,
    /// Prefix added to every metric name of the source (e.g. `papyra_`).
    #[serde(default)]
    pub prefix: Option<String>,
    /// First-sighting rule for counters.
    #[serde(default)]
    pub initial: InitialValue,
    /// Snapshot timeout (defaults to the global `timeout`).
    #[serde(default)]
    pub timeout: Option<DurationValue>,
    /// Most series tracked for this source; more are dropped and counted.
    #[serde(default = "defaults::max_series")]
    pub max_series: usize,
    /// Demo source: how often it calls its own `reset()`.
    #[serde(default)]
    pub reset_every: Option<DurationValue>,
    /// http, redis: where to connect (`http(s)://...`, `redis://[:password@]host:port[/db]`).
    #[serde(default)]
    pub url: Option<SourceUrl>,
    /// http, file, exec, redis (`key` holding a JSON string): JSON pointer to the metrics
    /// object inside the document, e.g. `"/metrics"`.
    #[serde(default)]
    pub pointer: Option<JsonPointer>,
    /// http: extra request headers; their values are secrets (never shown).
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    /// http: sent as `Authorization: Bearer <token>`.
    #[serde(default)]
    pub bearer_token: Option<Secret>,
    /// http: sent as `Authorization: Basic ...`.
    #[serde(default)]
    pub basic_auth: Option<BasicAuth>,
    /// http: a PEM file of CA certificates trusted for `https://` besides the web PKI roots
    /// (a private CA).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// http, file, exec, batch_dir: the largest document (body, file, stdout, batch file)
    /// read; a larger one fails the snapshot.
    #[serde(default)]
    pub max_bytes: Option<ByteSize>,
    /// file: the JSON file; batch_dir: the directory of batch files.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// file: a glob in the file name (`/var/lib/app/metrics-*.json`): the newest match is read.
    #[serde(default)]
    pub path_glob: Option<String>,
    /// batch_dir: where the record of counted batch files is kept (default: a hidden file in
    /// the directory).
    #[serde(default)]
    pub checkpoint: Option<PathBuf>,
    /// batch_dir: upper bounds (seconds) of the operation duration histogram's buckets.
    #[serde(default)]
    pub buckets: Option<Vec<f64>>,
    /// batch_dir: metadata keys that become labels (none by default: metadata values are
    /// often unbounded). Keys on the deny-list never do.
    #[serde(default)]
    pub metadata_labels: Vec<String>,
    /// redis: the key to read (a hash with HGETALL, or a string holding a JSON document).
    #[serde(default)]
    pub key: Option<String>,
    /// redis: a SCAN pattern; every matching key is read (numbers, hashes or JSON).
    #[serde(default)]
    pub pattern: Option<String>,
    /// exec: the program and its arguments, run without a shell.
    #[serde(default)]
    pub command: Option<Vec<String>>,
}

impl SourceConfig {
    /// The entry for an in-process source added in code: no rules, no static labels,
    /// typed samples pass as they are and plain numbers become gauges.
    pub fn in_process(name: &str) -> Self {
        SourceConfig {
            name: name.to_string(),
            kind: SourceKind::InProcess,
            counters: GlobList::default(),
            gauges: GlobList::default(),
            default_kind: DefaultKind::default(),
            labels: BTreeMap::new(),
            rename: BTreeMap::new(),
            deny_labels: None,
            prefix: None,
            initial: InitialValue::default(),
            timeout: None,
            max_series: defaults::max_series(),
            reset_every: None,
            url: None,
            pointer: None,
            headers: BTreeMap::new(),
            bearer_token: None,
            basic_auth: None,
            ca_file: None,
            max_bytes: None,
            path: None,
            path_glob: None,
            checkpoint: None,
            buckets: None,
            metadata_labels: Vec::new(),
            key: None,
            pattern: None,
            command: None,
        }
    }

    /// Whether a kind-specific key is set (used to refuse keys of another kind).
    pub(crate) fn is_set(&self, key: &str) -> bool {
        match key {
            "url" => self.url.is_some(),
            "pointer" => self.pointer.is_some(),
            "headers" => !self.headers.is_empty(),
            "bearer_token" => self.bearer_token.is_some(),
            "basic_auth" => self.basic_auth.is_some(),
            "ca_file" => self.ca_file.is_some(),
            "max_bytes" => self.max_bytes.is_some(),
            "path" => self.path.is_some(),
            "path_glob" => self.path_glob.is_some(),
            "checkpoint" => self.checkpoint.is_some(),
            "buckets" => self.buckets.is_some(),
            "metadata_labels" => !self.metadata_labels.is_empty(),
            "key" => self.key.is_some(),
            "pattern" => self.pattern.is_some(),
            "command" => self.command.is_some(),
            "reset_every" => self.reset_every.is_some(),
            _ => false,
        }
    }

    /// The timeout a source applies to itself (resolved from the global one by
    /// [`Config::parse`]; 10 s for an entry built in code without one).
    pub fn timeout(&self) -> std::time::Duration {
        self.timeout
            .map(|d| d.0)
            .unwrap_or(std::time::Duration::from_secs(10))
    }

    /// The document size limit (`max_bytes`, 16 MiB by default).
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes.map(|b| b.0).unwrap_or(16 << 20)
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

mod defaults {
    use super::DurationValue;
    use std::net::{Ipv4Addr, SocketAddr};
    use std::time::Duration;

    pub fn interval() -> DurationValue {
        DurationValue(Duration::from_secs(10))
    }
    pub fn max_staleness() -> DurationValue {
        DurationValue(Duration::from_secs(600))
    }
    pub fn shutdown_timeout() -> DurationValue {
        DurationValue(Duration::from_secs(5))
    }
    pub fn listen() -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, 9464))
    }
    pub fn max_series() -> usize {
        100_000
    }
}

impl Config {
    /// The sources this instance exports: all of them, or its shard's share.
    pub fn own_sources(&self) -> impl Iterator<Item = &SourceConfig> {
        self.sources
            .iter()
            .filter(|s| self.shard.is_none_or(|shard| shard.owns(&s.name)))
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
        config.validate(origin)?;
        // Every source knows its own timeout (the pipeline's rule: the source's, else the
        // global one, at most the interval), so it can stop its own work in time and name
        // its target in the error instead of being cut off by the pipeline.
        let default_timeout = config
            .timeout
            .map(|d| d.0)
            .unwrap_or(config.interval.0)
            .min(config.interval.0);
        for s in &mut config.sources {
            s.timeout.get_or_insert(DurationValue(default_timeout));
        }
        Ok(config)
    }

    /// The embedded default (a demo source), as used when no file is given.
    pub fn embedded_default() -> Config {
        // The embedded text is tested (tests in this module), so it always parses.
        Config::parse(DEFAULT_CONFIG, "<embedded default>")
            .unwrap_or_else(|e| panic!("embedded default config is invalid: {e}"))
    }

    fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: String| ConfigError::Invalid {
            origin: origin.to_string(),
            key: key.to_string(),
            reason,
        };
        if self.interval.0.is_zero() {
            return Err(invalid("interval", "must be more than 0s".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, s) in self.sources.iter().enumerate() {
            let at = |key: &str| format!("source[{i}] ({}).{key}", s.name);
            if s.name.trim().is_empty() {
                return Err(invalid(
                    &format!("source[{i}].name"),
                    "must not be empty".into(),
                ));
            }
            if !seen.insert(s.name.as_str()) {
                return Err(invalid(
                    &at("name"),
                    format!("duplicate source name {:?}: names must be unique", s.name),
                ));
            }
            if s.max_series == 0 {
                return Err(invalid(&at("max_series"), "must be at least 1".into()));
            }
            for key in s.labels.keys().chain(s.rename.values()) {
                if !crate::names::is_label_name(key) {
                    return Err(invalid(
                        &at("labels"),
                        format!("{key:?} is not a valid label name ([a-zA-Z][a-zA-Z0-9_]*)"),
                    ));
                }
            }
            if s.labels.contains_key("source") {
                return Err(invalid(
                    &at("labels"),
                    "\"source\" is set by snapbridge from the source name".into(),
                ));
            }
            for (key, kinds) in kinds::KIND_KEYS {
                if s.is_set(key) && !kinds.contains(&s.kind) {
                    let names: Vec<String> = kinds.iter().map(|k| format!("\"{k}\"")).collect();
                    return Err(invalid(
                        &at(key),
                        format!(
                            "kind = \"{}\" does not use it (only kind = {})",
                            s.kind,
                            names.join(" or ")
                        ),
                    ));
                }
            }
            if let Some(t) = s.timeout
                && t.0.is_zero()
            {
                return Err(invalid(&at("timeout"), "must be more than 0s".into()));
            }
            kinds::validate_kind(s).map_err(|(key, reason)| invalid(&at(key), reason))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod source_tests;
