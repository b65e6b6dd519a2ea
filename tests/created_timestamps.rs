//! Created timestamps end to end: a counter born between two scrapes is counted from zero,
//! as snapbridge counts it, by a real Prometheus with created-timestamp zero ingestion:
//! Prometheus 3 reads OpenMetrics `_created` lines, Prometheus 2.53 asks for protobuf first
//! and reads `created_timestamp` there. A `jobs_done` that appears at 7 and reaches 10 shows
//! an increase of 10 with `initial = "keep"` and 3 with `"drop"` (3 either way without
//! created timestamps).

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::prom::{Prometheus, Version};
use common::{Bridge, Scripted, source_config, wait_for};
use snapbridge::core::{MetricsSource, Sample, Snapshot};

fn snapshot(jobs_done: Option<u64>) -> Snapshot {
    let mut s = Snapshot::new();
    s.push(Sample::counter("other", 1));
    if let Some(v) = jobs_done {
        s.push(Sample::counter("jobs_done", v));
    }
    s
}

/// Two sources (`keep` and `drop`) whose `jobs_done` is born at 7 and reaches 10, then
/// resets (the source restarted) and counts 2 and 4, scraped by `version` with
/// created-timestamp zero ingestion: checks what each counted, and that Prometheus saw no
/// reset (the created timestamp did not move with the source's).
fn a_counter_born_mid_window_counts_from_zero(version: Version) {
    let scripted = Scripted::default();
    let source = |name: &str| {
        let s: Arc<dyn MetricsSource> = Arc::new(scripted.clone());
        (source_config(name, &format!("initial = \"{name}\"")), s)
    };
    let mut bridge = Bridge::start("interval = \"1h\"\n", vec![source("keep"), source("drop")]);
    let prom = Prometheus::start_full(
        version,
        &format!(
            "  - job_name: snapbridge\n    static_configs:\n      - targets: ['{}']\n",
            bridge.addr
        ),
        &["--enable-feature=created-timestamp-zero-ingestion"],
    );
    let telemetry = bridge.telemetry.clone();
    let scrapes = move || telemetry.prometheus.exports.load(Ordering::Relaxed);
    for jobs_done in [None, Some(7), Some(10), Some(2), Some(4)] {
        scripted.set(snapshot(jobs_done));
        bridge.cycle();
        let before = scrapes();
        wait_for("two scrapes of the cycle", Duration::from_secs(30), || {
            (scrapes() >= before + 2).then_some(())
        });
    }
    // keep: 7 + 3 + 2 + 2 = 14; drop: the first sighting (7) is the baseline, so 3 + 2 + 2.
    for (source, counted) in [("keep", 14.0), ("drop", 7.0)] {
        let sel = format!("jobs_done_total{{source=\"{source}\"}}");
        prom.wait_value(
            &format!("max_over_time({sel}[10m]) - min_over_time({sel}[10m])"),
            counted,
            Duration::from_secs(30),
        );
        prom.wait_value(&format!("resets({sel}[10m])"), 0.0, Duration::from_secs(30));
    }
}

#[test]
fn prometheus_3_reads_created_timestamps_from_openmetrics() {
    a_counter_born_mid_window_counts_from_zero(Version::Current);
}

#[test]
fn prometheus_2_53_reads_created_timestamps_from_protobuf() {
    a_counter_born_mid_window_counts_from_zero(Version::Lts);
}
