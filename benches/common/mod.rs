//! The synthetic data every benchmark shares, the shape of the peer measurements:
//! N series over 50 metric names, 3 labels each, even names counters, odd names gauges.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use snapbridge::core::{Number, Sample, Snapshot, Value};
use snapbridge::pipeline::{Pipeline, PipelineSettings};
use snapbridge::sources::{PullFuture, Pulled, Source, SourceConfig};

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

/// A source the benches feed by hand; the pipeline hands each snapshot back to it once
/// applied (`Source::recycle`), where [`refill`] finds it, as a source that refills its
/// snapshot in place does.
pub struct Recycled(pub Arc<Mutex<Snapshot>>);

impl Source for Recycled {
    fn pull(&self) -> PullFuture {
        Box::pin(async { Ok(Pulled::default()) })
    }

    fn recycle(&self, snapshot: Snapshot) {
        if let Ok(mut spare) = self.0.lock() {
            *spare = snapshot;
        }
    }
}

/// [`pipeline`] whose source gets its snapshots back: the returned cell holds the last one.
pub fn recycling_pipeline() -> (Pipeline, Arc<Mutex<Snapshot>>) {
    let mut p = Pipeline::new(PipelineSettings::default());
    let source = SourceConfig {
        max_series: 2_000_000,
        ..SourceConfig::new("bench")
    };
    let spare = Arc::new(Mutex::new(Snapshot::new()));
    p.add_source(&source, "in_process", Arc::new(Recycled(spare.clone())));
    p.add_publish_hook(Box::new(snapbridge::sinks::prometheus::Renderer::new()));
    (p, spare)
}

/// The snapshot of `n` series at `step`, written over the values of the one the pipeline
/// handed back when it holds the same series (what a source refilling its snapshot in
/// place does: no allocation, and it tells the pipeline which keys it kept, as the JSON
/// sources do), else built anew.
pub fn refill(spare: &Mutex<Snapshot>, n: usize, step: u64) -> Pulled {
    let mut snap = spare
        .lock()
        .map(|mut s| std::mem::take(&mut *s))
        .unwrap_or_default();
    if snap.len() != n {
        return synthetic(n, step).into();
    }
    for (i, sample) in snap.samples.iter_mut().enumerate() {
        let (counter, value) = value(i, step);
        sample.value = if counter {
            Value::Counter(Number::Int(value as u64))
        } else {
            Value::Gauge(value)
        };
    }
    Pulled {
        snapshot: snap,
        rejected: Vec::new(),
        unchanged: vec![true; n],
    }
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
    let (counter, value) = value(i, step);
    if counter {
        (format!("metric_{name}_ops"), true, value)
    } else {
        (format!("metric_{name}_level"), false, value)
    }
}

/// Kind and value of series `i` at `step`: (is_counter, value).
pub fn value(i: usize, step: u64) -> (bool, f64) {
    let series = (i / NAMES) as u64;
    if (i % NAMES).is_multiple_of(2) {
        (true, (step * 10 + series) as f64)
    } else {
        (false, series as f64 * 0.5 + step as f64)
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
