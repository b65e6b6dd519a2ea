//! snapbridge's own health, exposed beside the bridged series and pushed the same way.
//!
//! Built once per cycle as a snapshot of typed samples and run through a `DeltaTracker` of
//! its own, so its counters get exact deltas and stable start times like any other series.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use snapbridge_core::{DeltaTracker, Sample, SeriesInfo, TrackerConfig};

use super::families::FamilyTable;
use super::source_runtime::SourceRuntime;
use crate::view::{Point, SeriesMeta};

/// Counters that sinks update between cycles (scrapes served, exports failed...), read by
/// the self-metrics. A sink that is not configured leaves its stats disabled and is not
/// reported.
#[derive(Debug, Default)]
pub struct Telemetry {
    /// The `/metrics` endpoint: an export is a response served, an error a refused request
    /// (bad path, method, size, credentials), the duration that of the last response.
    pub prometheus: SinkStats,
    /// The OTLP sink: an export is a request accepted, an error one that failed after its
    /// retries, the duration that of the last export (retries included).
    pub otlp: SinkStats,
    /// State file reads or writes that failed.
    pub state_errors: AtomicU64,
    /// Set when the exporter starts stopping: `/-/ready` answers 503 from then on, so a
    /// load balancer stops sending scrapes before the endpoint closes.
    pub shutting_down: AtomicBool,
    /// The outcome of the last config load (the start counts as one), once there is one.
    pub reload: ReloadStats,
    /// How long the last `/metrics` body took to render (and compress), in nanoseconds: a
    /// body is made on the first scrape of a view that asks for it.
    pub render_nanos: AtomicU64,
}

/// The outcome of the last config (re)load, as Prometheus reports its own.
#[derive(Debug, Default)]
pub struct ReloadStats {
    last: Mutex<Option<ReloadOutcome>>,
}

/// When the config was last (re)loaded, and how that went.
#[derive(Clone, Debug)]
pub struct ReloadOutcome {
    /// When the last attempt ended.
    pub at: SystemTime,
    /// What it applied (a one-line summary), or why the running config was kept.
    pub result: Result<String, String>,
    /// When the config in force was loaded (the start, or the last successful reload).
    pub last_success: Option<SystemTime>,
}

impl ReloadStats {
    /// Records an attempt that ended now.
    pub fn record(&self, result: Result<String, String>) {
        let now = SystemTime::now();
        if let Ok(mut last) = self.last.lock() {
            let previous = last.as_ref().and_then(|l| l.last_success);
            let last_success = if result.is_ok() { Some(now) } else { previous };
            *last = Some(ReloadOutcome {
                at: now,
                result,
                last_success,
            });
        }
    }

    /// The last attempt, if any.
    pub fn last(&self) -> Option<ReloadOutcome> {
        self.last.lock().ok().and_then(|l| l.clone())
    }
}

/// Why the endpoint refused a request: the `reason` label of
/// `snapbridge_http_requests_rejected_total`. `malformed` (400) and `head_too_large`
/// (431) are refused by the HTTP parser before any route sees them.
pub const REJECT_REASONS: [&str; 6] = [
    "malformed",
    "head_too_large",
    "method",
    "unauthorized",
    "body_too_large",
    "not_found",
];

/// What a sink reports.
#[derive(Debug, Default)]
pub struct SinkStats {
    /// True when the sink is configured.
    pub enabled: AtomicBool,
    /// Exports that succeeded.
    pub exports: AtomicU64,
    /// Exports that failed.
    pub errors: AtomicU64,
    /// Duration of the last export, in nanoseconds.
    pub last_duration_nanos: AtomicU64,
    /// Data points a receiver dropped from requests it accepted (OTLP partial success).
    pub rejected_points: AtomicU64,
    /// Requests the `/metrics` endpoint refused, by reason (indexes of [`REJECT_REASONS`]).
    pub rejected_requests: [AtomicU64; REJECT_REASONS.len()],
    last: Mutex<Option<(SystemTime, Result<u64, String>)>>,
}

impl SinkStats {
    /// Records the outcome of an export: the cycle exported, or the error (one line).
    pub fn set_last_result(&self, result: Result<u64, String>) {
        if let Ok(mut last) = self.last.lock() {
            *last = Some((SystemTime::now(), result));
        }
    }

    /// When the last export ended and how.
    pub fn last_result(&self) -> Option<(SystemTime, Result<u64, String>)> {
        self.last.lock().ok().and_then(|l| l.clone())
    }
}

/// What the pipeline knows about its last cycle.
#[derive(Clone, Copy, Debug, Default)]
pub struct CycleFigures {
    /// Cycle number.
    pub cycle: u64,
    /// Duration of the previous complete cycle (pull to publish).
    pub cycle_duration: Duration,
    /// Time the sinks' publish hooks took in the previous cycle (the bodies themselves
    /// are rendered when first scraped: see [`Telemetry::render_nanos`]).
    pub render_duration: Duration,
    /// Points published in the previous cycle.
    pub series: usize,
}

/// Builds the self-metric points of each cycle.
pub struct SelfMetrics {
    tracker: DeltaTracker<Arc<SeriesMeta>>,
    started: SystemTime,
}

impl Default for SelfMetrics {
    fn default() -> Self {
        SelfMetrics {
            tracker: DeltaTracker::new(TrackerConfig::default()),
            started: SystemTime::now(),
        }
    }
}

fn secs(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

impl SelfMetrics {
    /// Marks `used[id]` for the family of every self-metric series with state.
    pub fn mark_families(&self, used: &mut [bool]) {
        for meta in self.tracker.metas() {
            if let Some(u) = used.get_mut(meta.family.id as usize) {
                *u = true;
            }
        }
    }

    /// Appends this cycle's self-metric points to `out`.
    pub fn collect(
        &mut self,
        now: SystemTime,
        figures: CycleFigures,
        telemetry: &Telemetry,
        sources: &[SourceRuntime],
        families: &mut FamilyTable,
        out: &mut Vec<Point>,
    ) {
        let mut samples = Vec::with_capacity(16 + sources.len() * 8);
        let mut add = |s: Sample, help: &str| samples.push(s.with_description(help));
        add(
            Sample::gauge("snapbridge_build_info", 1.0)
                .with_label("version", env!("CARGO_PKG_VERSION")),
            "snapbridge version (always 1)",
        );
        add(
            Sample::gauge("snapbridge_cycle", figures.cycle as f64),
            "Number of the cycle this view was published by",
        );
        add(
            Sample::gauge(
                "snapbridge_cycle_duration",
                figures.cycle_duration.as_secs_f64(),
            )
            .with_unit("s"),
            "Duration of the last complete cycle (pull, track, publish)",
        );
        add(
            Sample::gauge(
                "snapbridge_render_duration",
                telemetry.render_nanos.load(Ordering::Relaxed) as f64 / 1e9,
            )
            .with_unit("s"),
            "Time to render (and compress) the last /metrics body, on the first scrape of a cycle that asked for it",
        );
        add(
            Sample::gauge("snapbridge_last_cycle_timestamp", secs(now)).with_unit("s"),
            "Unix time of the last cycle",
        );
        add(
            Sample::gauge("snapbridge_start_time", secs(self.started)).with_unit("s"),
            "Unix time snapbridge started",
        );
        add(
            Sample::gauge("snapbridge_series", figures.series as f64),
            "Series published in the previous cycle, self-metrics included",
        );
        add(
            Sample::counter(
                "snapbridge_state_file_errors",
                telemetry.state_errors.load(Ordering::Relaxed),
            ),
            "State file reads or writes that failed (the file is then ignored)",
        );
        if let Some(reload) = telemetry.reload.last() {
            add(
                Sample::gauge(
                    "snapbridge_config_last_reload_successful",
                    if reload.result.is_ok() { 1.0 } else { 0.0 },
                ),
                "1 when the last config reload (or the start) succeeded; 0 keeps the previous config running",
            );
            add(
                Sample::gauge(
                    "snapbridge_config_last_reload_success_timestamp",
                    reload.last_success.map(secs).unwrap_or(0.0),
                )
                .with_unit("s"),
                "Unix time of the last successful config load (the start, or a reload)",
            );
        }
        let sinks = [
            ("prometheus", &telemetry.prometheus),
            ("otlp", &telemetry.otlp),
        ];
        for (sink, stats) in sinks {
            if !stats.enabled.load(Ordering::Relaxed) {
                continue;
            }
            let exports = stats.exports.load(Ordering::Relaxed);
            let errors = stats.errors.load(Ordering::Relaxed);
            let duration = Duration::from_nanos(stats.last_duration_nanos.load(Ordering::Relaxed))
                .as_secs_f64();
            add(
                Sample::counter("snapbridge_exports", exports).with_label("sink", sink),
                "Exports that succeeded: OTLP requests accepted, /metrics responses served",
            );
            add(
                Sample::counter("snapbridge_export_errors", errors).with_label("sink", sink),
                "Exports that failed: OTLP requests after their retries, refused HTTP requests",
            );
            add(
                Sample::gauge("snapbridge_export_duration", duration)
                    .with_unit("s")
                    .with_label("sink", sink),
                "Duration of the last export (OTLP: retries included; prometheus: one response)",
            );
            if sink == "prometheus" {
                for (reason, n) in REJECT_REASONS.iter().zip(&stats.rejected_requests) {
                    add(
                        Sample::counter(
                            "snapbridge_http_requests_rejected",
                            n.load(Ordering::Relaxed),
                        )
                        .with_label("reason", *reason),
                        "Requests the /metrics endpoint refused, by reason (400 malformed, 431 head over 64 KiB or 414, 405, 401, 413, 404)",
                    );
                }
            }
            if sink == "otlp" {
                add(
                    Sample::counter(
                        "snapbridge_export_rejected_points",
                        stats.rejected_points.load(Ordering::Relaxed),
                    )
                    .with_label("sink", sink),
                    "Data points the receiver rejected from requests it accepted (OTLP partial success; not retried)",
                );
            }
        }
        for s in sources {
            let st = &s.status;
            let c = &s.counters;
            let tag = |sample: Sample| sample.with_label("source", st.name.as_str());
            add(
                tag(Sample::gauge(
                    "snapbridge_source_up",
                    if st.up { 1.0 } else { 0.0 },
                )),
                "1 when the last snapshot of the source succeeded",
            );
            add(
                tag(Sample::gauge(
                    "snapbridge_source_snapshot_duration",
                    st.duration.as_secs_f64(),
                )
                .with_unit("s")),
                "Duration of the last snapshot",
            );
            add(
                tag(Sample::gauge("snapbridge_source_series", st.series as f64)),
                "Series exported from the source in the last cycle",
            );
            add(
                tag(Sample::gauge(
                    "snapbridge_source_tracked_series",
                    s.tracked() as f64,
                )),
                "Series with tracker state, stale ones included",
            );
            add(
                tag(Sample::gauge(
                    "snapbridge_source_last_success_timestamp",
                    st.last_success.map(secs).unwrap_or(0.0),
                )
                .with_unit("s")),
                "Unix time of the last successful snapshot (0: never)",
            );
            add(
                tag(Sample::counter(
                    "snapbridge_source_errors",
                    c.snapshot_errors,
                )),
                "Snapshots that failed or timed out",
            );
            add(
                tag(Sample::counter("snapbridge_source_resets", c.resets)),
                "Counter and histogram resets detected in the source",
            );
            add(
                tag(Sample::counter("snapbridge_denied_labels", c.denied_labels)),
                "Labels dropped because their key is on the deny-list",
            );
            for (reason, n) in &c.rejected {
                add(
                    tag(Sample::counter("snapbridge_rejected_values", *n))
                        .with_label("reason", *reason),
                    "Values rejected (NaN, negative or infinite counters, bad histograms, duplicates)",
                );
            }
            for (reason, n) in &c.dropped {
                add(
                    tag(Sample::gauge("snapbridge_dropped_series", *n as f64))
                        .with_label("reason", *reason),
                    "Series dropped in the last cycle, by reason",
                );
            }
        }
        let attach = |info: &SeriesInfo<'_>| {
            let help = || info.description.unwrap_or_default().to_string();
            let family = families
                .get_or_register(&info.key.name, info.kind, info.unit, help)
                .ok()?;
            let labels = info.key.labels.clone().into_vec();
            Some(Arc::new(SeriesMeta::new(family, labels)))
        };
        self.tracker.observe(now, samples, attach, out);
        self.tracker.expire(now);
    }
}
