//! The peers users ship to: a real OpenTelemetry Collector (OTLP over gRPC and HTTP, gzip,
//! cumulative and delta, read back through its `prometheus` and `otlp_grpc` exporters; its
//! `prometheus` receiver scraping snapbridge) and Prometheus 3's own
//! OTLP receiver. On every path the totals equal the source's true increments, through a
//! reset, under the names a direct Prometheus scrape gives them.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::otelcol::{Collector, Pipeline};
use common::otlp::{GrpcReceiver, point_value};
use common::prom::Prometheus;
use common::scenario::{Truth, drive};
use common::{Bridge, Scripted, source_config, wait_for};
use snapbridge::core::MetricsSource;
use snapbridge::pipeline::Telemetry;

/// A bridge pushing to `endpoint` with gzip, under its own `service.name` (the `job` label
/// on the receiving side).
fn pushing(endpoint: &str, protocol: &str, temporality: &str, job: &str, s: &Scripted) -> Bridge {
    let config = format!(
        "interval = \"1h\"\n[otlp]\nendpoint = \"{endpoint}\"\nprotocol = \"{protocol}\"\ntemporality = \"{temporality}\"\ncompression = \"gzip\"\nresource = {{ \"service.name\" = \"{job}\" }}\n"
    );
    let source: Arc<dyn MetricsSource> = Arc::new(s.clone());
    Bridge::start(&config, vec![(source_config("shipped", ""), source)])
}

/// Waits until every sink has finished `n` exports, successful or not.
fn wait_exports(telemetry: &[Arc<Telemetry>], n: u64) {
    for t in telemetry {
        wait_for(
            &format!("{n} OTLP exports"),
            Duration::from_secs(30),
            || {
                let done =
                    t.otlp.exports.load(Ordering::Relaxed) + t.otlp.errors.load(Ordering::Relaxed);
                (done >= n).then_some(())
            },
        );
    }
}

/// Waits until Prometheus has scraped the bridge's histogram; returns the metric names it
/// stores for `{source="<source>"}`.
fn scraped_names(prom: &Prometheus, source: &str) -> BTreeSet<String> {
    wait_for(
        "Prometheus 3 to scrape the bridge",
        Duration::from_secs(30),
        || {
            let names: BTreeSet<String> = prom
                .query(&format!("{{source=\"{source}\"}}"))
                .into_iter()
                .filter_map(|(labels, _)| labels["__name__"].as_str().map(str::to_string))
                // The `_created` series of an OpenMetrics scrape: OTLP carries that instant
                // as the points' start time, and the Collector's exporter does not show it.
                .filter(|name| !name.ends_with("_created"))
                .collect();
            names.contains("op_duration_seconds_count").then_some(names)
        },
    )
}

/// Waits until the Collector's `prometheus` exporter shows the truth for the series at `at`.
fn collector_shows(collector: &Collector, at: &[(&str, &str)], truth: &Truth) {
    collector.wait_value("records_written_total", at, truth.written as f64);
    collector.wait_value("op_duration_seconds_count", at, truth.observations as f64);
    collector.wait_value("queue_size", at, truth.queue);
}

/// The newest `records_written` point the Collector forwarded for `service.name` = `job`
/// (cumulative: delta streams went through `delta_to_cumulative`).
fn last_forwarded_total(rx: &GrpcReceiver, job: &str) -> Option<f64> {
    let mut newest: Option<(u64, f64)> = None;
    for request in rx.requests() {
        for rm in request["resourceMetrics"].as_array().into_iter().flatten() {
            let service = rm["resource"]["attributes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|kv| kv["key"] == "service.name")
                .and_then(|kv| kv["value"]["stringValue"].as_str());
            if service != Some(job) {
                continue;
            }
            for sm in rm["scopeMetrics"].as_array().into_iter().flatten() {
                for m in sm["metrics"].as_array().into_iter().flatten() {
                    if m["name"] != "records_written" {
                        continue;
                    }
                    assert_eq!(
                        m["sum"]["aggregationTemporality"], "AGGREGATION_TEMPORALITY_CUMULATIVE",
                        "{job}"
                    );
                    for p in m["sum"]["dataPoints"].as_array().into_iter().flatten() {
                        let t: u64 = p["timeUnixNano"].as_str()?.parse().ok()?;
                        if newest.is_none_or(|(n, _)| t >= n) {
                            newest = Some((t, point_value(p)));
                        }
                    }
                }
            }
        }
    }
    newest.map(|(_, v)| v)
}

/// The metric names the Collector's `prometheus` exporter shows with `labels`.
fn names_at(collector: &Collector, labels: &[(&str, &str)]) -> BTreeSet<String> {
    collector
        .samples()
        .into_iter()
        .filter(|s| s.has(labels))
        .map(|s| s.name)
        .collect()
}

#[test]
fn otlp_into_the_collector_is_exact_over_grpc_and_http_cumulative_and_delta() {
    // delta_to_cumulative turns delta streams into totals and passes cumulative ones as they
    // are, so one Collector serves all four bridges; `job` (service.name) tells them apart.
    // Its `otlp_grpc` exporter forwards what it holds to a receiver built from the official
    // protos, so the totals are read back through both of its outputs.
    let dir = tempfile::tempdir().expect("temp dir");
    let forwarded = GrpcReceiver::start(0, dir.path().join("forwarded.jsonl"), &[]);
    let collector = Collector::start_with(Pipeline {
        processors: &["delta_to_cumulative"],
        forward_to: Some(format!("127.0.0.1:{}", forwarded.port)),
        ..Pipeline::default()
    });
    let scripted = Scripted::default();
    let mut bridges: Vec<(String, Bridge)> = [
        ("grpc", "cumulative"),
        ("grpc", "delta"),
        ("http/protobuf", "cumulative"),
        ("http/protobuf", "delta"),
    ]
    .iter()
    .map(|(protocol, temporality)| {
        let job = format!("{}-{temporality}", protocol.replace('/', "-"));
        let endpoint = match *protocol {
            "grpc" => collector.grpc_endpoint(),
            _ => collector.http_endpoint(),
        };
        let bridge = pushing(&endpoint, protocol, temporality, &job, &scripted);
        (job, bridge)
    })
    .collect();
    let prom = Prometheus::start(&bridges[0].1.addr.to_string());
    let telemetry: Vec<Arc<Telemetry>> = bridges.iter().map(|(_, b)| b.telemetry.clone()).collect();
    let mut refs: Vec<&mut Bridge> = bridges.iter_mut().map(|(_, b)| b).collect();
    // Each cycle reaches every receiver before the next one starts.
    let truth = drive(&mut refs, &scripted, |n| wait_exports(&telemetry, n as u64));

    for ((job, _), t) in bridges.iter().zip(&telemetry) {
        assert_eq!(
            t.otlp.errors.load(Ordering::Relaxed),
            0,
            "{job}: the Collector stored every export; none may count as failed (its gzip replies included)"
        );
        collector_shows(&collector, &[("job", job), ("source", "shipped")], &truth);
        let last = wait_for("the forwarded total", Duration::from_secs(30), || {
            last_forwarded_total(&forwarded, job).filter(|v| *v == truth.written as f64)
        });
        assert_eq!(
            last, truth.written as f64,
            "{job}: through the otlp_grpc exporter"
        );
    }

    // The same names as a direct scrape: one dashboard serves both paths.
    let scraped = scraped_names(&prom, "shipped");
    for (job, _) in &bridges {
        let pushed = names_at(&collector, &[("job", job), ("source", "shipped")]);
        assert_eq!(
            pushed, scraped,
            "{job}: Collector names (left) vs direct scrape (right)"
        );
    }
}

#[test]
fn the_collectors_prometheus_receiver_scrapes_exact_totals() {
    let scripted = Scripted::default();
    let source: Arc<dyn MetricsSource> = Arc::new(scripted.clone());
    let mut bridge = Bridge::start(
        "interval = \"1h\"\n",
        vec![(source_config("scraped", ""), source)],
    );
    let collector = Collector::start_with(Pipeline {
        scrape: Some(bridge.addr.to_string()),
        ..Pipeline::default()
    });
    let prom = Prometheus::start(&bridge.addr.to_string());
    let addr = bridge.addr;
    let telemetry = bridge.telemetry.clone();
    let scrapes = move || telemetry.prometheus.exports.load(Ordering::Relaxed);
    let truth = drive(&mut [&mut bridge], &scripted, |_| {
        // Both scrapers (the Collector and Prometheus) see every cycle.
        let before = scrapes();
        wait_for("two scrapes of the cycle", Duration::from_secs(30), || {
            (scrapes() >= before + 2).then_some(())
        });
    });
    let at = [("source", "scraped")];
    collector_shows(&collector, &at, &truth);
    assert_eq!(
        names_at(&collector, &at),
        scraped_names(&prom, "scraped"),
        "names through the Collector's prometheus receiver and exporter vs a direct scrape of {addr}"
    );
}

#[test]
fn prometheus_3_otlp_receiver_stores_exact_totals_under_the_scrape_names() {
    // Delta sums need Prometheus' otlp-deltatocumulative feature; cumulative ones do not.
    let prom = Prometheus::otlp_receiver(&["--enable-feature=otlp-deltatocumulative"]);
    let scripted = Scripted::default();
    let mut cumulative = pushing(
        &prom.otlp_base(),
        "http/protobuf",
        "cumulative",
        "p3-cumulative",
        &scripted,
    );
    let mut delta = pushing(
        &prom.otlp_base(),
        "http/protobuf",
        "delta",
        "p3-delta",
        &scripted,
    );
    let scraper = Prometheus::start(&cumulative.addr.to_string());
    let telemetry = vec![cumulative.telemetry.clone(), delta.telemetry.clone()];
    let truth = drive(&mut [&mut cumulative, &mut delta], &scripted, |n| {
        wait_exports(&telemetry, n as u64)
    });
    for (job, t) in [
        ("p3-cumulative", &telemetry[0]),
        ("p3-delta", &telemetry[1]),
    ] {
        assert_eq!(
            t.otlp.errors.load(Ordering::Relaxed),
            0,
            "{job}: export errors"
        );
        let sel = format!("{{job=\"{job}\",source=\"shipped\"}}");
        prom.wait_value(
            &format!("records_written_total{sel}"),
            truth.written as f64,
            Duration::from_secs(30),
        );
        prom.wait_value(
            &format!("op_duration_seconds_count{sel}"),
            truth.observations as f64,
            Duration::from_secs(30),
        );
        prom.wait_value(
            &format!("queue_size{sel}"),
            truth.queue,
            Duration::from_secs(30),
        );
    }
    let scraped = scraped_names(&scraper, "shipped");
    let pushed: BTreeSet<String> = prom
        .query("{job=\"p3-cumulative\",source=\"shipped\"}")
        .into_iter()
        .filter_map(|(labels, _)| labels["__name__"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        pushed, scraped,
        "Prometheus OTLP receiver names (left) vs direct scrape (right)"
    );
}
