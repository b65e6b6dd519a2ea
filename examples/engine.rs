//! An engine's metrics registry with namespaces, labels, counters, gauges and histograms,
//! exported by snapbridge in process.
//!
//! The registry is the kind a game or simulation engine keeps: a `MetricId` (namespace,
//! name, labels), `MetricValue`s
//! (counters, gauges, histograms kept as bucket bounds plus raw samples) in an
//! `InMemoryBackend` behind an `RwLock<HashMap>`, typed handles, and definitions
//! (description, unit, type, labels) loaded from a JSON config file. A frame loop updates
//! them. snapbridge reads the registry through `MetricsSource`: every metric keeps its
//! namespace (exported as `<namespace>_<name>`), its labels, its unit and its description.
//!
//! Run: `cargo run --example engine [-- --listen 127.0.0.1:9464 --dir ./engine]`; look for
//! `khora_frames_rendered_total` and `khora_frame_time_seconds_bucket` on `/metrics`.

#[path = "support/mod.rs"]
pub mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Deserialize;
use snapbridge::Builder;
use snapbridge::config::{Config, SourceConfig};
use snapbridge::core::{Histogram, Labels, MetricsSource, Sample, Snapshot, SourceError};
use support::{AbortOnDrop, Options, Running};

/// Unique identifier of a metric.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricId {
    /// Namespace, e.g. `khora`.
    pub namespace: String,
    /// Name within the namespace.
    pub name: String,
    /// Labels, in a deterministic order.
    pub labels: BTreeMap<String, String>,
}

/// Possible values for a metric.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricValue {
    /// Monotonic count.
    Counter(u64),
    /// Current value.
    Gauge(f64),
    /// Bucket bounds and every observation.
    Histogram {
        /// Upper bounds.
        buckets: Vec<f64>,
        /// Observations.
        samples: Vec<f64>,
    },
}

/// One definition of the JSON config: what a metric is, before any value is recorded.
#[derive(Debug, Clone, Deserialize)]
pub struct MetricConfig {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Description (exported as HELP).
    pub description: String,
    /// `counter`, `gauge` or `histogram`.
    pub metric_type: String,
    /// Unit (UCUM, as OpenTelemetry: `s`, `By`, `{frame}`; braces are annotations and
    /// add no suffix to the exported name).
    pub unit: Option<String>,
    /// Labels of this metric.
    pub labels: Option<HashMap<String, String>>,
    /// Histogram bucket bounds.
    #[serde(default)]
    pub buckets: Vec<f64>,
}

/// The definitions file.
#[derive(Debug, Clone, Deserialize)]
pub struct MetricsConfig {
    /// Handle name -> definition.
    pub metrics: HashMap<String, MetricConfig>,
}

impl MetricsConfig {
    /// Loads the definitions from a JSON file.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// The definitions the engine ships with, written to the work dir at start.
pub const DEFINITIONS: &str = r#"{"metrics": {
  "frames": {"namespace": "khora", "name": "frames_rendered", "description": "Frames rendered since start", "metric_type": "counter", "unit": "{frame}", "labels": {"renderer": "vulkan"}},
  "frame_time": {"namespace": "khora", "name": "frame_time", "description": "Time to render one frame", "metric_type": "histogram", "unit": "s", "labels": {"renderer": "vulkan"}, "buckets": [0.004, 0.008, 0.016, 0.033, 0.066]},
  "entities": {"namespace": "khora_ecs", "name": "entities", "description": "Live entities in the world", "metric_type": "gauge", "unit": "{entity}", "labels": {"world": "main"}},
  "assets": {"namespace": "khora_assets", "name": "loads", "description": "Assets loaded", "metric_type": "counter", "labels": {"kind": "texture"}}
}}"#;

/// Thread-safe storage: `RwLock<HashMap<MetricId, MetricValue>>`.
#[derive(Default)]
pub struct InMemoryBackend {
    storage: RwLock<HashMap<MetricId, MetricValue>>,
}

/// The registry: the backend and the definitions, by id.
pub struct MetricsRegistry {
    /// Storage.
    pub backend: InMemoryBackend,
    definitions: HashMap<MetricId, MetricConfig>,
    handles: HashMap<String, MetricId>,
}

impl MetricsRegistry {
    /// Registers every definition of `config` with its zero value.
    pub fn with_config(config: MetricsConfig) -> Result<Self, String> {
        let mut reg = MetricsRegistry {
            backend: InMemoryBackend::default(),
            definitions: HashMap::new(),
            handles: HashMap::new(),
        };
        let mut storage = reg.backend.storage.write().map_err(|_| "poisoned")?;
        for (handle, def) in config.metrics {
            let id = MetricId {
                namespace: def.namespace.clone(),
                name: def.name.clone(),
                labels: def.labels.clone().unwrap_or_default().into_iter().collect(),
            };
            let zero = match def.metric_type.as_str() {
                "counter" => MetricValue::Counter(0),
                "gauge" => MetricValue::Gauge(0.0),
                "histogram" => MetricValue::Histogram {
                    buckets: def.buckets.clone(),
                    samples: Vec::new(),
                },
                other => return Err(format!("{handle}: unknown metric_type {other:?}")),
            };
            storage.insert(id.clone(), zero);
            reg.handles.insert(handle, id.clone());
            reg.definitions.insert(id, def);
        }
        drop(storage);
        Ok(reg)
    }

    fn update(&self, handle: &str, f: impl FnOnce(&mut MetricValue)) {
        let Some(id) = self.handles.get(handle) else {
            return;
        };
        if let Ok(mut s) = self.backend.storage.write()
            && let Some(v) = s.get_mut(id)
        {
            f(v);
        }
    }

    /// `CounterHandle::increment` by `n`.
    pub fn increment(&self, handle: &str, n: u64) {
        self.update(handle, |v| {
            if let MetricValue::Counter(c) = v {
                *c += n;
            }
        });
    }

    /// `GaugeHandle::set`.
    pub fn set(&self, handle: &str, value: f64) {
        self.update(handle, |v| {
            if let MetricValue::Gauge(g) = v {
                *g = value;
            }
        });
    }

    /// `HistogramHandle::record`.
    pub fn record(&self, handle: &str, value: f64) {
        self.update(handle, |v| {
            if let MetricValue::Histogram { samples, .. } = v {
                samples.push(value);
            }
        });
    }

    /// A copy of every value, for tests and tools.
    pub fn values(&self) -> HashMap<MetricId, MetricValue> {
        self.backend
            .storage
            .read()
            .map(|s| s.clone())
            .unwrap_or_default()
    }
}

impl MetricsSource for MetricsRegistry {
    fn snapshot(&self) -> Result<Snapshot, SourceError> {
        let storage = self
            .backend
            .storage
            .read()
            .map_err(|_| SourceError::new("metrics storage lock poisoned"))?;
        let mut snap = Snapshot::with_capacity(storage.len());
        for (id, value) in storage.iter() {
            let name = format!("{}_{}", id.namespace, id.name);
            let mut s = match value {
                MetricValue::Counter(c) => Sample::counter(name, *c),
                MetricValue::Gauge(g) => Sample::gauge(name, *g),
                MetricValue::Histogram { buckets, samples } => {
                    Sample::histogram(name, Histogram::from_observations(buckets.clone(), samples))
                }
            };
            s.key.labels =
                Labels::from_pairs(id.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            if let Some(def) = self.definitions.get(id) {
                s.description = Some(def.description.clone());
                s.unit = def.unit.clone();
            }
            snap.push(s);
        }
        Ok(snap)
    }
}

/// What the test drives.
pub struct Handle {
    /// The engine's registry.
    pub registry: Arc<MetricsRegistry>,
    /// While true the frame loop does nothing.
    pub paused: Arc<AtomicBool>,
}

/// Writes the definitions, loads them, runs the frame loop and snapbridge.
pub async fn start(options: Options) -> Result<(Running, Handle), String> {
    let (dir, temp) = support::work_dir(&options)?;
    let defs = dir.join("engine_metrics.json");
    std::fs::write(&defs, DEFINITIONS).map_err(|e| format!("{}: {e}", defs.display()))?;
    let registry = Arc::new(MetricsRegistry::with_config(MetricsConfig::from_file(
        &defs,
    )?)?);
    let paused = Arc::new(AtomicBool::new(false));
    let frames = {
        let (r, paused) = (registry.clone(), paused.clone());
        tokio::spawn(async move {
            let mut frame = 0u64;
            loop {
                tokio::time::sleep(Duration::from_millis(16)).await;
                if paused.load(Ordering::Acquire) {
                    continue;
                }
                frame += 1;
                r.increment("frames", 1);
                // A frame takes 3 to 40 ms, mostly under 16.
                r.record("frame_time", 0.003 + ((frame * 7919) % 37) as f64 / 1000.0);
                r.set("entities", (1000 + (frame * 31) % 250) as f64);
                if frame.is_multiple_of(20) {
                    r.increment("assets", 3);
                }
            }
        })
    };
    let config =
        Config::parse(&options.interval_toml(), "engine example").map_err(|e| e.to_string())?;
    let builder =
        Builder::from_config(&config).source(SourceConfig::new("engine"), registry.clone());
    let served = support::serve(builder, options.listen).await?;
    let lines = vec![
        format!("engine: metric definitions loaded from {}", defs.display()),
        format!(
            "  khora_frames_rendered_total, khora_frame_time_seconds_bucket, khora_ecs_entities on {}",
            served.metrics_url()
        ),
    ];
    let guard: Box<dyn Send> = Box::new((AbortOnDrop(frames), temp));
    Ok((
        Running {
            served,
            lines,
            guard,
            before_stop: None,
        },
        Handle { registry, paused },
    ))
}

fn main() -> std::process::ExitCode {
    support::main(|o| async move { start(o).await.map(|(r, _)| r) })
}
