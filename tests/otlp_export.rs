//! OTLP export against real receivers: the gRPC receiver built from the official protos
//! (cumulative and delta) and VictoriaMetrics' OTLP/HTTP receiver, compared with what a real
//! Prometheus scrapes from `/metrics`.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use common::otlp::{GrpcReceiver, Victoria, attributes, metrics_named, point_value};
use common::prom::Prometheus;
use common::scenario::{BOUNDS, STEPS, Truth, drive, snapshot};
use common::{Bridge, Scripted, source_config, wait_for};
use serde_json::Value as Json;
use snapbridge::core::{Sample, Snapshot};

fn otlp_config(endpoint: &str, protocol: &str, temporality: &str) -> String {
    format!(
        "interval = \"1h\"\n[otlp]\nendpoint = \"{endpoint}\"\nprotocol = \"{protocol}\"\ntemporality = \"{temporality}\"\ncompression = \"gzip\"\n"
    )
}

fn points<'a>(request: &'a Json, metric: &str, kind: &str) -> Vec<&'a Json> {
    metrics_named(request, metric)
        .into_iter()
        .flat_map(|m| m[kind]["dataPoints"].as_array().into_iter().flatten())
        .collect()
}

#[test]
fn grpc_cumulative_and_delta_carry_exact_totals() {
    let dir = tempfile::tempdir().unwrap();
    let cumulative_rx = GrpcReceiver::start(0, dir.path().join("cumulative.jsonl"), &[]);
    let delta_rx = GrpcReceiver::start(0, dir.path().join("delta.jsonl"), &[]);
    let scripted = Scripted::default();
    let src = || {
        vec![(
            source_config("grpc", ""),
            Arc::new(scripted.clone()) as Arc<dyn snapbridge::core::MetricsSource>,
        )]
    };
    let mut cumulative = Bridge::start(
        &otlp_config(&cumulative_rx.endpoint(), "grpc", "cumulative"),
        src(),
    );
    let mut delta = Bridge::start(&otlp_config(&delta_rx.endpoint(), "grpc", "delta"), src());
    let Truth {
        written: true_written,
        observations: true_obs,
        queue,
    } = drive(&mut [&mut cumulative, &mut delta], &scripted, |n| {
        cumulative_rx.wait_requests(n);
        delta_rx.wait_requests(n);
    });

    // Cumulative: the last total is the true increment count, start times never move.
    let reqs = cumulative_rx.requests();
    assert_eq!(reqs.len(), STEPS.len());
    let sums: Vec<&Json> = reqs
        .iter()
        .flat_map(|r| metrics_named(r, "records_written"))
        .collect();
    for m in &sums {
        assert_eq!(m["sum"]["isMonotonic"], true);
        assert_eq!(
            m["sum"]["aggregationTemporality"],
            "AGGREGATION_TEMPORALITY_CUMULATIVE"
        );
    }
    let pts: Vec<&Json> = reqs
        .iter()
        .flat_map(|r| points(r, "records_written", "sum"))
        .collect();
    assert_eq!(point_value(pts.last().unwrap()), true_written as f64);
    let starts: BTreeSet<&str> = pts
        .iter()
        .map(|p| p["startTimeUnixNano"].as_str().unwrap())
        .collect();
    assert_eq!(starts.len(), 1, "start time moved: {starts:?}");
    assert!(attributes(pts[0]).contains(&("source".into(), "grpc".into())));
    assert!(attributes(pts[0]).contains(&("backend".into(), "json".into())));
    let last = reqs.last().unwrap();
    assert_eq!(point_value(points(last, "queue_size", "gauge")[0]), queue);
    let hist = metrics_named(last, "op_duration");
    assert_eq!(hist[0]["unit"], "s");
    assert_eq!(hist[0]["description"], "Operation latency");
    let h = &hist[0]["histogram"]["dataPoints"][0];
    assert_eq!(
        h["count"].as_str().unwrap().parse::<u64>().unwrap(),
        true_obs
    );
    assert_eq!(h["explicitBounds"], serde_json::json!(BOUNDS));

    // Delta: the received deltas add up to the true increments, intervals are contiguous.
    let reqs = delta_rx.requests();
    let pts: Vec<&Json> = reqs
        .iter()
        .flat_map(|r| points(r, "records_written", "sum"))
        .collect();
    let sum: f64 = pts.iter().map(|p| point_value(p)).sum();
    assert_eq!(sum, true_written as f64);
    for w in pts.windows(2) {
        assert_eq!(
            w[1]["startTimeUnixNano"], w[0]["timeUnixNano"],
            "delta intervals are contiguous"
        );
    }
    for r in &reqs {
        for m in metrics_named(r, "records_written") {
            assert_eq!(
                m["sum"]["aggregationTemporality"],
                "AGGREGATION_TEMPORALITY_DELTA"
            );
            assert_eq!(m["sum"]["isMonotonic"], true);
        }
    }
    let counts: u64 = reqs
        .iter()
        .flat_map(|r| points(r, "op_duration", "histogram"))
        .map(|p| p["count"].as_str().unwrap_or("0").parse::<u64>().unwrap())
        .sum();
    assert_eq!(counts, true_obs);
}

#[test]
fn ten_thousand_series_of_one_metric_arrive_whole() {
    let dir = tempfile::tempdir().unwrap();
    let rx = GrpcReceiver::start(0, dir.path().join("wide.jsonl"), &[]);
    let scripted = Scripted::default();
    let mut bridge = Bridge::start(
        &otlp_config(&rx.endpoint(), "grpc", "cumulative"),
        vec![(source_config("wide", ""), Arc::new(scripted.clone()))],
    );
    let snap: Snapshot = (0..10_000)
        .map(|i| Sample::counter("requests", i).with_label("id", i.to_string()))
        .collect();
    scripted.set(snap);
    bridge.cycle();
    let reqs = rx.wait_requests(1);
    let pts = points(&reqs[0], "requests", "sum");
    assert_eq!(pts.len(), 10_000);
    let ids: BTreeSet<String> = pts
        .iter()
        .flat_map(|p| attributes(p))
        .filter(|(k, _)| k == "id")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(ids.len(), 10_000);
    assert!(!reqs[0].to_string().contains("otel.metric.overflow"));
    assert_eq!(
        pts.iter().map(|p| point_value(p)).sum::<f64>(),
        (0..10_000u64).sum::<u64>() as f64
    );
}

/// Labels that come from the transport, not the data point: Prometheus adds job and
/// instance, VictoriaMetrics turns resource attributes into labels.
fn point_labels(labels: &serde_json::Map<String, Json>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = labels
        .iter()
        .filter(|(k, _)| {
            !matches!(k.as_str(), "job" | "instance")
                && !k.starts_with("service_")
                && !k.starts_with("telemetry_sdk_")
        })
        .map(|(k, v)| {
            let v = v.as_str().unwrap_or_default();
            // Prometheus 3 stores `le` as a float's canonical text ("1" becomes "1.0"), as
            // its migration guide says; the bound is what must agree.
            let v = match (k.as_str(), v.parse::<f64>()) {
                ("le", Ok(bound)) => format!("{bound:?}"),
                _ => v.to_string(),
            };
            (k.clone(), v)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn otlp_into_victoriametrics_matches_what_prometheus_scrapes() {
    let vm = Victoria::start();
    let scripted = Scripted::default();
    let mut bridge = Bridge::start(
        &otlp_config(&vm.otlp_base(), "http/protobuf", "cumulative"),
        vec![(
            source_config("agree", "labels = { team = \"core\" }"),
            Arc::new(scripted.clone()),
        )],
    );
    let prom = Prometheus::start(&bridge.addr.to_string());
    let telemetry = bridge.telemetry.clone();
    let exports = || {
        telemetry
            .otlp
            .exports
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    // 555, then the source resets and counts 45: the true increments are 600.
    for (done, written) in [555, 45].into_iter().enumerate() {
        let seen = done as u64 + 1;
        scripted.set(snapshot(written, 4.0, &[0.05, 2.0, 0.5]));
        let before = bridge.scrapes();
        bridge.cycle();
        wait_for("the OTLP export", Duration::from_secs(20), || {
            (exports() >= seen).then_some(())
        });
        wait_for("two scrapes", Duration::from_secs(20), || {
            (bridge.scrapes() >= before + 2).then_some(())
        });
    }
    let selector = "{source=\"agree\"}";
    let want = wait_for(
        "Prometheus to have the source's series",
        Duration::from_secs(30),
        || {
            // A scrape of OpenMetrics also stores each counter's and histogram's `_created`
            // series; OTLP carries the same instant as the points' start time instead.
            let mut r = prom.query(selector);
            r.retain(|(labels, _)| {
                !labels["__name__"]
                    .as_str()
                    .is_some_and(|n| n.ends_with("_created"))
            });
            (r.len() >= 5).then_some(r)
        },
    );
    let got = wait_for(
        "VictoriaMetrics to have the same number of series",
        Duration::from_secs(30),
        || {
            let r = vm.query(selector);
            (r.len() >= want.len()).then_some(r)
        },
    );
    // VictoriaMetrics stores floats with about 12 significant digits (a Unix timestamp with
    // microseconds loses its last ones): compare values to 10.
    let as_set = |rows: &[(serde_json::Map<String, Json>, f64)]| -> BTreeSet<String> {
        rows.iter()
            .map(|(labels, v)| format!("{:?} = {v:.9e}", point_labels(labels)))
            .collect()
    };
    let (want, got) = (as_set(&want), as_set(&got));
    assert_eq!(got, want, "OTLP path (left) and scrape path (right) differ");
    assert!(
        want.iter().any(|s| s.contains("records_written_total")),
        "{want:?}"
    );
    assert!(
        want.iter().any(|s| s.contains("op_duration_seconds_count")),
        "{want:?}"
    );
}

/// A counter born between two cycles is sent with its start strictly before its first point
/// (`initial = "keep"`: it counted before it was seen), at the previous cycle's time, so a
/// receiver that inserts a zero at the start counts its first value too; with `"drop"` its
/// first point starts where it was first seen and carries 0.
#[test]
fn a_counter_born_mid_window_starts_before_its_first_point() {
    let dir = tempfile::tempdir().unwrap();
    for (initial, first_value) in [("keep", 7.0), ("drop", 0.0)] {
        let rx = GrpcReceiver::start(0, dir.path().join(format!("{initial}.jsonl")), &[]);
        let scripted = Scripted::default();
        let mut bridge = Bridge::start(
            &otlp_config(&rx.endpoint(), "grpc", "cumulative"),
            vec![(
                source_config("born", &format!("initial = \"{initial}\"")),
                Arc::new(scripted.clone()),
            )],
        );
        scripted.set([Sample::counter("other", 1)].into_iter().collect());
        bridge.cycle();
        let first_cycle = rx.wait_requests(1)[0].clone();
        let other = points(&first_cycle, "other", "sum");
        let previous_time = other[0]["timeUnixNano"].as_str().unwrap().to_string();
        scripted.set(
            [Sample::counter("other", 1), Sample::counter("jobs_done", 7)]
                .into_iter()
                .collect(),
        );
        bridge.cycle();
        let reqs = rx.wait_requests(2);
        let born = points(&reqs[1], "jobs_done", "sum");
        assert_eq!(born.len(), 1, "{initial}");
        let (start, time) = (
            born[0]["startTimeUnixNano"].as_str().unwrap(),
            born[0]["timeUnixNano"].as_str().unwrap(),
        );
        assert_eq!(point_value(born[0]), first_value, "{initial}");
        let (start_ns, time_ns): (u64, u64) = (start.parse().unwrap(), time.parse().unwrap());
        match initial {
            "keep" => {
                assert!(
                    start_ns < time_ns,
                    "keep: start {start} must precede {time}"
                );
                assert_eq!(start, previous_time, "keep: born after the previous cycle");
            }
            _ => assert_eq!(start, time, "drop: the baseline is set at first sighting"),
        }
    }
}
