//! Created timestamps end to end: Prometheus 3 with created-timestamp zero ingestion scrapes
//! OpenMetrics `_created` lines, so a counter born between two scrapes is counted from zero,
//! as snapbridge counts it: a `jobs_done` that appears at 7 and reaches 10 shows an increase
//! of 10 with `initial = "keep"` and 3 with `"drop"` (without `_created` both showed 3).

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

#[test]
fn a_counter_born_mid_window_counts_from_zero_in_prometheus_3() {
    let scripted = Scripted::default();
    let source = |name: &str, initial: &str| {
        let s: Arc<dyn MetricsSource> = Arc::new(scripted.clone());
        (source_config(name, &format!("initial = \"{initial}\"")), s)
    };
    let mut bridge = Bridge::start(
        "interval = \"1h\"\n",
        vec![source("keep", "keep"), source("drop", "drop")],
    );
    let prom = Prometheus::start_full(
        Version::Current,
        &format!(
            "  - job_name: snapbridge\n    static_configs:\n      - targets: ['{}']\n",
            bridge.addr
        ),
        &["--enable-feature=created-timestamp-zero-ingestion"],
    );
    let telemetry = bridge.telemetry.clone();
    let scrapes = move || telemetry.prometheus.exports.load(Ordering::Relaxed);
    for jobs_done in [None, Some(7), Some(10)] {
        scripted.set(snapshot(jobs_done));
        bridge.cycle();
        let before = scrapes();
        wait_for("two scrapes of the cycle", Duration::from_secs(30), || {
            (scrapes() >= before + 2).then_some(())
        });
    }
    for (source, counted) in [("keep", 10.0), ("drop", 3.0)] {
        let sel = format!("jobs_done_total{{source=\"{source}\"}}");
        prom.wait_value(
            &format!("max_over_time({sel}[10m]) - min_over_time({sel}[10m])"),
            counted,
            Duration::from_secs(30),
        );
    }
}
