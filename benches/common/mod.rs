//! The synthetic data every benchmark shares, the shape of the peer measurements:
//! N series over 50 metric names, 3 labels each, even names counters, odd names gauges.
#![allow(dead_code)]

use std::sync::Arc;

use snapbridge::core::{Sample, Snapshot};
use snapbridge::pipeline::{Pipeline, PipelineSettings};
use snapbridge::sources::SourceConfig;

/// A pipeline with one in-process source that the benches never pull: they hand snapshots
/// straight to `Pipeline::publish`, so the pull is not measured.
pub fn pipeline() -> Pipeline {
    let mut p = Pipeline::new(PipelineSettings::default());
    let source = SourceConfig {
        max_series: 2_000_000,
        ..SourceConfig::new("bench")
    };
    p.add_metrics_source(&source, Arc::new(|| Ok(Snapshot::new())));
    p.add_publish_hook(Box::new(snapbridge::sinks::prometheus::Renderer::new()));
    p
}

/// Metric names used by [`synthetic`].
pub const NAMES: usize = 50;

/// The labels of series `i`: (region, instance, shard).
pub fn labels(i: usize) -> [(&'static str, String); 3] {
    let series = i / NAMES;
    [
        ("region", format!("region-{}", series % 7)),
        ("instance", format!("host-{}", series % 101)),
        ("shard", format!("{series}")),
    ]
}

/// Name, kind and value of series `i` at `step`: (name, is_counter, value).
pub fn series(i: usize, step: u64) -> (String, bool, f64) {
    let name = i % NAMES;
    let series = (i / NAMES) as u64;
    if name.is_multiple_of(2) {
        (
            format!("metric_{name}_ops"),
            true,
            (step * 10 + series) as f64,
        )
    } else {
        (
            format!("metric_{name}_level"),
            false,
            series as f64 * 0.5 + step as f64,
        )
    }
}

/// One snapshot of `n` series at `step`.
pub fn synthetic(n: usize, step: u64) -> Snapshot {
    let mut snap = Snapshot::with_capacity(n);
    for i in 0..n {
        let (name, counter, value) = series(i, step);
        let mut sample = if counter {
            Sample::counter(name, value as u64)
        } else {
            Sample::gauge(name, value)
        };
        for (k, v) in labels(i) {
            sample = sample.with_label(k, v);
        }
        snap.push(sample);
    }
    snap
}
