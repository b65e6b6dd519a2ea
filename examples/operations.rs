//! An async batch writer of operation records (API requests, database queries,
//! computations, each with its duration, success and metadata), exported by snapbridge
//! through the `batch_dir` source.
//!
//! - `MetricsManager`: `record_operation()` is O(1) and never blocks (a bounded queue; a full
//!   queue is an error the caller sees, not a stall), metadata with PII keys is refused, and
//!   a background worker flushes batches every `flush_interval` or `max_batch_size` records
//!   as `metrics_YYYYMMDD_HHMMSS_micro.json`, written atomically (temp file + rename).
//!   `stop()` flushes what is left.
//! - a workload records API requests, database queries and computations;
//! - snapbridge reads the directory with `kind = "batch_dir"`: each record counted once,
//!   `operations_total{operation_type, operation_name, success}` and
//!   `operation_duration_seconds_*` (a histogram), with `region` from the metadata.
//!
//! Run: `cargo run --example operations [-- --dir ./metrics --listen 127.0.0.1:9464]`.

#[path = "support/mod.rs"]
pub mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value as Json, json};
use snapbridge::Builder;
use snapbridge::config::Config;
use support::{Options, Running};
use tokio::sync::mpsc;

/// Metadata keys refused because they may carry personal data (PII).
pub const FORBIDDEN: [&str; 11] = [
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

/// Counts the manager keeps about itself.
#[derive(Default)]
pub struct Stats {
    /// Records accepted.
    pub total_recorded: AtomicU64,
    /// Records written to disk.
    pub total_persisted: AtomicU64,
    /// Batch files written.
    pub batches_written: AtomicU64,
}

/// The batch writer.
pub struct MetricsManager {
    // `None` once closed: the worker flushes what is queued and stops.
    tx: std::sync::RwLock<Option<mpsc::Sender<Json>>>,
    /// Its statistics.
    pub stats: Arc<Stats>,
}

/// `YYYYMMDD_HHMMSS_micro` (UTC) and the RFC 3339 form of `t`.
fn stamps(t: SystemTime) -> (String, String) {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (secs, micros) = (d.as_secs() as i64, d.subsec_micros());
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    (
        format!("{year:04}{month:02}{day:02}_{h:02}{m:02}{s:02}_{micros:06}"),
        format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{micros:06}+00:00"),
    )
}

/// Writes one batch atomically: a temporary name, then a rename to its final name.
fn write_batch(dir: &Path, records: Vec<Json>) -> std::io::Result<()> {
    let mut now = SystemTime::now();
    let (mut id, mut at) = stamps(now);
    while dir.join(format!("metrics_{id}.json")).exists() {
        now += Duration::from_micros(1);
        (id, at) = stamps(now);
    }
    let n = records.len();
    let body =
        json!({"records": records, "batch_timestamp": at, "batch_id": id, "total_records": n});
    let tmp = dir.join(format!(".metrics_{id}.json.tmp"));
    std::fs::write(&tmp, body.to_string())?;
    std::fs::rename(&tmp, dir.join(format!("metrics_{id}.json")))
}

impl MetricsManager {
    /// Starts the background worker.
    pub fn start(
        storage: PathBuf,
        flush_interval: Duration,
        max_batch_size: usize,
        max_queue_size: usize,
    ) -> (MetricsManager, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::channel::<Json>(max_queue_size);
        let stats = Arc::new(Stats::default());
        let s = stats.clone();
        let worker = tokio::spawn(async move {
            let mut batch = Vec::new();
            let mut tick = tokio::time::interval(flush_interval);
            loop {
                // Flush on the ticker, when the batch is full, and when the queue closes.
                let (closed, due) = tokio::select! {
                    r = rx.recv() => match r {
                        Some(record) => {
                            batch.push(record);
                            (false, batch.len() >= max_batch_size)
                        }
                        None => (true, true),
                    },
                    _ = tick.tick() => (false, true),
                };
                if due && !batch.is_empty() {
                    let records = std::mem::take(&mut batch);
                    let n = records.len() as u64;
                    let dir = storage.clone();
                    match tokio::task::spawn_blocking(move || write_batch(&dir, records)).await {
                        Ok(Ok(())) => {
                            s.total_persisted.fetch_add(n, Ordering::Relaxed);
                            s.batches_written.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(Err(e)) => eprintln!("operations: cannot write a batch: {e}"),
                        Err(e) => eprintln!("operations: batch writer failed: {e}"),
                    }
                }
                if closed {
                    break;
                }
            }
        });
        (
            MetricsManager {
                tx: std::sync::RwLock::new(Some(tx)),
                stats,
            },
            worker,
        )
    }

    /// Stops taking records; the worker writes what is queued, then ends (a graceful stop:
    /// await the worker's handle after this).
    pub fn close(&self) {
        if let Ok(mut tx) = self.tx.write() {
            tx.take();
        }
    }

    /// Records one operation without blocking.
    pub fn record_operation(
        &self,
        operation_type: &str,
        operation_name: &str,
        duration_ms: f64,
        success: bool,
        error_message: Option<&str>,
        metadata: Map<String, Json>,
    ) -> Result<(), String> {
        if !(duration_ms.is_finite() && duration_ms >= 0.0) {
            return Err(format!("duration_ms must be >= 0, got {duration_ms}"));
        }
        if let Some(k) = metadata
            .keys()
            .find(|k| FORBIDDEN.contains(&k.to_ascii_lowercase().as_str()))
        {
            return Err(format!("metadata key {k:?} may carry PII: refused"));
        }
        let (_, timestamp) = stamps(SystemTime::now());
        let record = json!({
            "operation_type": operation_type, "operation_name": operation_name,
            "duration_ms": duration_ms, "timestamp": timestamp, "success": success,
            "error_message": error_message.map(|m| m.chars().take(1000).collect::<String>()),
            "metadata": metadata,
        });
        let tx = self.tx.read().map_err(|_| "metrics queue lock poisoned")?;
        let tx = tx.as_ref().ok_or("the metrics manager is stopped")?;
        tx.try_send(record)
            .map_err(|e| format!("metrics queue: {e}"))?;
        self.stats.total_recorded.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// What the test drives.
pub struct Handle {
    /// The batch writer.
    pub manager: Arc<MetricsManager>,
    /// While true the workload records nothing.
    pub paused: Arc<AtomicBool>,
    /// The batch files' directory.
    pub dir: PathBuf,
}

/// Starts the batch writer, a workload, and snapbridge reading the batch directory.
pub async fn start(options: Options) -> Result<(Running, Handle), String> {
    let (dir, temp) = support::work_dir(&options)?;
    let (manager, worker) = MetricsManager::start(dir.clone(), options.interval, 1000, 10_000);
    let manager = Arc::new(manager);
    let paused = Arc::new(AtomicBool::new(false));
    let workload = {
        let (m, paused) = (manager.clone(), paused.clone());
        tokio::spawn(async move {
            let mut i = 0u64;
            loop {
                tokio::time::sleep(Duration::from_millis(5)).await;
                if paused.load(Ordering::Acquire) {
                    continue;
                }
                i += 1;
                let region = if i.is_multiple_of(3) {
                    "eu-west"
                } else {
                    "us-east"
                };
                let (t, n, ms, ok) = match i % 4 {
                    0 => (
                        "database_query",
                        "SELECT products",
                        1.0 + (i % 30) as f64,
                        true,
                    ),
                    1 => (
                        "computation",
                        "process_user_data",
                        50.0 + (i % 450) as f64,
                        i % 20 != 1,
                    ),
                    _ => (
                        "api_request",
                        "GET /api/users",
                        5.0 + (i % 75) as f64 * 0.5,
                        i % 50 != 2,
                    ),
                };
                let mut meta = Map::new();
                meta.insert("region".into(), region.into());
                meta.insert("status_code".into(), (if ok { 200 } else { 500 }).into());
                let err = (!ok).then_some("upstream timed out");
                let _ = m.record_operation(t, n, ms, ok, err, meta);
            }
        })
    };
    let toml = format!(
        "{}[[source]]\nname = \"operations\"\nkind = \"batch_dir\"\npath = {:?}\nmetadata_labels = [\"region\"]\n",
        options.interval_toml(),
        dir.display().to_string()
    );
    let config = Config::parse(&toml, "operations example").map_err(|e| e.to_string())?;
    let served = support::serve(Builder::from_config(&config), options.listen).await?;
    let lines = vec![
        format!("operations: batch files written to {}", dir.display()),
        format!(
            "  operations_total and operation_duration_seconds_bucket on {}",
            served.metrics_url()
        ),
    ];
    // On Ctrl-C: stop recording, let the writer flush its last batch, then snapbridge's
    // last pull counts it.
    let m = manager.clone();
    let before_stop = Box::pin(async move {
        workload.abort();
        m.close();
        let _ = worker.await;
    });
    Ok((
        Running {
            served,
            lines,
            guard: Box::new(temp),
            before_stop: Some(before_stop),
        },
        Handle {
            manager,
            paused,
            dir,
        },
    ))
}

fn main() -> std::process::ExitCode {
    support::main(|o| async move { start(o).await.map(|(r, _)| r) })
}
