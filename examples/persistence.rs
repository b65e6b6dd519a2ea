//! A persistence layer whose backends keep their own metrics object, exported by snapbridge
//! in process.
//!
//! - `PersistenceMetrics` holds the nine core counters of a storage layer (records written
//!   and read, write and read errors, scans, anomalies, recoveries attempted and failed,
//!   compactions), as atomics, so `snapshot()` is thread-safe and lock-free, with
//!   `snapshot()` (a plain map of name to count) and `reset()` (every counter back to zero);
//! - `MemoryBackend` updates them as it works. Errors are counted, not raised: a failed write
//!   returns its error to the caller, and the metrics object only counts it;
//! - `BareBackend` has no metrics at all (metrics are optional: a backend may simply have
//!   none): snapbridge shows it as up with no metrics, and nothing breaks;
//! - a workload writes, reads, scans, compacts and calls `reset()` now and then, which
//!   snapbridge survives: the exported `_total`s never go down.
//!
//! Run: `cargo run --example persistence [-- --listen 127.0.0.1:9464 --interval 2s]`, then
//! look at `/metrics` (`records_written_total{source="papyra"}`) and the status page `/`.
//! `cargo run --example persistence -- --once` pulls each backend once and prints what it
//! holds, `metrics: <unavailable>` for the bare one, and exits 0.

#[path = "support/mod.rs"]
pub mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use snapbridge::Builder;
use snapbridge::config::{Config, GlobList, SourceConfig};
use snapbridge::core::{MetricsSource, Snapshot, SourceError};
use support::{AbortOnDrop, Options, Running};

/// The nine core counters of the persistence layer.
pub const CORE: [&str; 9] = [
    "records_written",
    "records_read",
    "write_errors",
    "read_errors",
    "scan_runs",
    "anomalies_detected",
    "recoveries_attempted",
    "recoveries_failed",
    "compactions_run",
];

/// A backend's metrics object: nine counters, `snapshot()` and `reset()`.
#[derive(Default)]
pub struct PersistenceMetrics {
    counters: [AtomicU64; 9],
}

impl PersistenceMetrics {
    /// Adds one to a counter (`CORE[i]`).
    pub fn incr(&self, i: usize) {
        self.counters[i].fetch_add(1, Ordering::Relaxed);
    }

    /// A point-in-time copy: a plain map of counter name to value.
    pub fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        CORE.iter()
            .zip(&self.counters)
            .map(|(name, c)| (*name, c.load(Ordering::Relaxed)))
            .collect()
    }

    /// Sets every counter to zero (never touches persistence state).
    pub fn reset(&self) {
        for c in &self.counters {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// What snapbridge pulls from a backend: its metrics object if it has one.
pub struct BackendMetrics(pub Option<Arc<PersistenceMetrics>>);

impl MetricsSource for BackendMetrics {
    fn snapshot(&self) -> Result<Snapshot, SourceError> {
        // No metrics object: an empty snapshot, "metrics: <unavailable>", not an error.
        Ok(match &self.0 {
            Some(m) => m.snapshot().into_iter().collect(),
            None => Snapshot::new(),
        })
    }
}

/// An in-memory persistence backend with metrics.
pub struct MemoryBackend {
    records: std::sync::Mutex<BTreeMap<u64, String>>,
    /// The metrics object (`backend.metrics`).
    pub metrics: Arc<PersistenceMetrics>,
    /// Every write ever attempted that succeeded / failed, never reset: what the exported
    /// totals must equal (the test compares them).
    pub lifetime: [AtomicU64; 2],
}

impl MemoryBackend {
    fn new() -> Self {
        MemoryBackend {
            records: std::sync::Mutex::new(BTreeMap::new()),
            metrics: Arc::new(PersistenceMetrics::default()),
            lifetime: [AtomicU64::new(0), AtomicU64::new(0)],
        }
    }

    /// Writes a record; every 25th write fails (a full disk, say) and is counted.
    pub fn write(&self, key: u64, value: String) -> Result<(), String> {
        let result = if key % 25 == 24 {
            Err(format!("write {key}: no space left on device"))
        } else {
            self.records
                .lock()
                .map(|mut r| {
                    r.insert(key, value);
                })
                .map_err(|_| "lock poisoned".to_string())
        };
        match &result {
            Ok(()) => {
                self.metrics.incr(0);
                self.lifetime[0].fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                self.metrics.incr(2);
                self.lifetime[1].fetch_add(1, Ordering::Relaxed);
            }
        }
        result
    }

    /// Reads a record (a miss is a read error).
    pub fn read(&self, key: u64) -> Option<String> {
        let found = self.records.lock().ok()?.get(&key).cloned();
        self.metrics.incr(if found.is_some() { 1 } else { 3 });
        found
    }

    /// Scans, compacts, and (now and then) finds an anomaly it recovers from.
    pub fn maintain(&self, round: u64) {
        self.metrics.incr(4);
        if round.is_multiple_of(3) {
            self.metrics.incr(8);
            if let Ok(mut r) = self.records.lock() {
                let keep = r.len().saturating_sub(1000);
                let old: Vec<u64> = r.keys().take(keep).copied().collect();
                for k in old {
                    r.remove(&k);
                }
            }
        }
        if round.is_multiple_of(5) {
            self.metrics.incr(5);
            self.metrics.incr(6);
            if round.is_multiple_of(10) {
                self.metrics.incr(7);
            }
        }
    }
}

/// A backend without metrics: nothing to export, and nothing breaks.
pub struct BareBackend;

impl BareBackend {
    /// There is no `metrics` object: metrics are optional, and nothing breaks without them.
    pub fn metrics(&self) -> Option<Arc<PersistenceMetrics>> {
        None
    }
}

/// What the test drives: the backend and the workload's pause switch.
pub struct Handle {
    /// The backend with metrics.
    pub backend: Arc<MemoryBackend>,
    /// While true the workload does nothing.
    pub paused: Arc<AtomicBool>,
}

/// Starts the backends, their workload and snapbridge.
pub async fn start(options: Options) -> Result<(Running, Handle), String> {
    let backend = Arc::new(MemoryBackend::new());
    let bare = BareBackend;
    let paused = Arc::new(AtomicBool::new(false));
    let workload = {
        let (b, paused) = (backend.clone(), paused.clone());
        tokio::spawn(async move {
            let mut key = 0u64;
            let mut round = 0u64;
            loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                if paused.load(Ordering::Acquire) {
                    continue;
                }
                round += 1;
                for _ in 0..5 {
                    key += 1;
                    // The error is the caller's to handle; the metrics already counted it.
                    let _ = b.write(key, format!("record {key}"));
                    let _ = b.read(key.saturating_sub(3));
                }
                b.maintain(round);
                if round.is_multiple_of(400) {
                    // The backend's own reset(): snapbridge sees the counters fall and keeps
                    // its totals going up.
                    b.metrics.reset();
                }
            }
        })
    };
    let config = Config::parse(&options.interval_toml(), "persistence example")
        .map_err(|e| e.to_string())?;
    let mut papyra = SourceConfig::new("papyra");
    papyra.counters = GlobList::new(CORE.iter().map(|s| s.to_string()).collect())?;
    papyra.labels.insert("service".into(), "papyra".into());
    let builder = Builder::from_config(&config)
        .source(
            papyra,
            Arc::new(BackendMetrics(Some(backend.metrics.clone()))),
        )
        .source(
            SourceConfig::new("bare"),
            Arc::new(BackendMetrics(bare.metrics())),
        );
    let served = support::serve(builder, options.listen).await?;
    let lines = vec![
        "persistence: a memory backend (nine core counters, errors counted, reset() every 8 s) and a bare backend without metrics".into(),
        format!("  records_written_total{{source=\"papyra\"}} on {}", served.metrics_url()),
        format!("  source \"bare\": up, no metrics (see http://{}/)", served.addr),
    ];
    let running = Running {
        served,
        lines,
        guard: Box::new(AbortOnDrop(workload)),
        before_stop: None,
    };
    Ok((running, Handle { backend, paused }))
}

/// `--once`: one pull of each backend, reported the way a persistence CLI would (a backend
/// without metrics prints `metrics: <unavailable>`; the exit code stays 0).
pub async fn report_once() -> Result<Vec<String>, String> {
    let backend = MemoryBackend::new();
    for key in 0..30 {
        let _ = backend.write(key, format!("record {key}"));
    }
    let config = Config::parse("", "persistence example").map_err(|e| e.to_string())?;
    let mut papyra = SourceConfig::new("papyra");
    papyra.counters = GlobList::new(CORE.iter().map(|s| s.to_string()).collect())?;
    let handle = Builder::from_config(&config)
        .without_prometheus()
        .without_otlp()
        .manual_cycles()
        .source(
            papyra,
            Arc::new(BackendMetrics(Some(backend.metrics.clone()))),
        )
        .source(
            SourceConfig::new("bare"),
            Arc::new(BackendMetrics(BareBackend.metrics())),
        )
        .spawn()
        .map_err(|e| e.to_string())?;
    let view = handle.run_cycle().await.map_err(|e| e.to_string())?;
    handle.shutdown().await.map_err(|e| e.to_string())?;
    let mut lines = Vec::new();
    for s in &view.sources {
        lines.push(match (&s.last_error, s.series) {
            (Some(e), _) => format!("{}: error: {e}", s.name),
            (None, 0) => format!("{}: metrics: <unavailable>", s.name),
            (None, n) => format!("{}: {n} metrics", s.name),
        });
    }
    for p in view.points.iter().take(CORE.len()) {
        if let snapbridge::core::TrackedValue::Counter { total, .. } = &p.value {
            lines.push(format!("  {} {}", p.meta.family.exposed, total.as_f64()));
        }
    }
    Ok(lines)
}

fn main() -> std::process::ExitCode {
    if std::env::args().any(|a| a == "--once") {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        return match runtime.map(|rt| rt.block_on(report_once())) {
            Ok(Ok(lines)) => {
                for l in lines {
                    println!("{l}");
                }
                std::process::ExitCode::SUCCESS
            }
            Ok(Err(e)) => {
                eprintln!("error: {e}");
                std::process::ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("error: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    support::main(|o| async move { start(o).await.map(|(r, _)| r) })
}
