//! The hand-written exposition writer against the `prometheus` crate as an oracle: the same
//! series through both parse (with the reference parser) to the same families, names,
//! types, labels and values.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{Bridge, Scripted, http_get, python_parse, source_config};
use prometheus::{
    CounterVec, Encoder, GaugeVec, HistogramOpts, HistogramVec, Opts, Registry, TextEncoder,
};
use serde_json::Value as Json;
use snapbridge::core::{Histogram, Sample, Snapshot};

const BOUNDS: [f64; 4] = [0.01, 0.1, 1.0, 10.0];

/// (name, labels, value) of every sample, HELP and TYPE per family, sorted.
fn normalise(
    families: &Json,
    keep: impl Fn(&str) -> bool,
) -> BTreeMap<String, (String, String, Vec<String>)> {
    let mut out = BTreeMap::new();
    for f in families.as_array().expect("families") {
        let name = f["name"].as_str().unwrap_or_default().to_string();
        if !keep(&name) {
            continue;
        }
        let mut samples: Vec<String> = f["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let mut labels: Vec<(String, String)> = s["labels"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect();
                labels.sort();
                format!(
                    "{} {:?} {}",
                    s["name"].as_str().unwrap(),
                    labels,
                    s["value"]
                )
            })
            .collect();
        samples.sort();
        out.insert(
            name,
            (f["type"].to_string(), f["help"].to_string(), samples),
        );
    }
    out
}

#[test]
fn same_series_same_families_as_the_prometheus_crate() {
    // The oracle: the prometheus crate's own registry and text encoder.
    let registry = Registry::new();
    let counter = CounterVec::new(
        Opts::new("jobs_created_total", "Jobs created"),
        &["queue", "source"],
    )
    .unwrap();
    let gauge = GaugeVec::new(
        Opts::new("jobs_in_progress", "Jobs running"),
        &["queue", "source"],
    )
    .unwrap();
    let hist = HistogramVec::new(
        HistogramOpts::new("op_duration_seconds", "Operation latency").buckets(BOUNDS.to_vec()),
        &["operation_type", "source"],
    )
    .unwrap();
    registry.register(Box::new(counter.clone())).unwrap();
    registry.register(Box::new(gauge.clone())).unwrap();
    registry.register(Box::new(hist.clone())).unwrap();

    let mut snap = Snapshot::new();
    let observations = [0.005, 0.05, 0.5, 5.0, 50.0, 0.07];
    for (i, queue) in ["default", "emails", "weird \"q\" \\ \n"]
        .into_iter()
        .enumerate()
    {
        let created = 100 * (i as u64 + 1) + 7;
        counter
            .with_label_values(&[queue, "oracle"])
            .inc_by(created as f64);
        gauge
            .with_label_values(&[queue, "oracle"])
            .set(i as f64 - 0.5);
        snap.push(
            Sample::counter("jobs_created", created)
                .with_label("queue", queue)
                .with_description("Jobs created"),
        );
        snap.push(
            Sample::gauge("jobs_in_progress", i as f64 - 0.5)
                .with_label("queue", queue)
                .with_description("Jobs running"),
        );
    }
    for op in ["db_query", "api_request"] {
        for o in observations {
            hist.with_label_values(&[op, "oracle"]).observe(o);
        }
        snap.push(
            Sample::histogram(
                "op_duration",
                Histogram::from_observations(BOUNDS.to_vec(), &observations),
            )
            .with_unit("s")
            .with_label("operation_type", op)
            .with_description("Operation latency"),
        );
    }
    let mut oracle = Vec::new();
    TextEncoder::new()
        .encode(&registry.gather(), &mut oracle)
        .unwrap();

    let scripted = Scripted::default();
    let sc = source_config("oracle", "");
    let mut bridge = Bridge::start(
        "interval = \"1h\"\n",
        vec![(sc, Arc::new(scripted.clone()))],
    );
    scripted.set(snap);
    bridge.cycle();
    let (_, _, _, ours) = http_get(&bridge.url("/metrics"), &[]);

    let theirs = normalise(
        &python_parse(&oracle, "text").expect("oracle parses"),
        |_| true,
    );
    let mine = normalise(&python_parse(&ours, "text").expect("ours parses"), |n| {
        !n.starts_with("snapbridge_")
    });
    assert_eq!(
        mine.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>()
    );
    for (name, want) in &theirs {
        assert_eq!(&mine[name], want, "family {name} differs");
    }
}
