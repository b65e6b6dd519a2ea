//! The name policy (`translation_strategy`) against a real Prometheus 3 configured with the
//! same OTLP `translation_strategy`: one snapbridge scraped by it, another pushing the same
//! source to its own OTLP receiver; both land under identical names and labels, UTF-8 names
//! (`http.server.requests` with an `http.method` label) included.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::prom::{Prometheus, Version};
use common::{Bridge, Scripted, source_config, wait_for};
use snapbridge::core::{Histogram, MetricsSource, Sample, Snapshot};

fn snapshot(requests: u64) -> Snapshot {
    let mut s = Snapshot::new();
    s.push(Sample::counter("http.server.requests", requests).with_label("http.method", "GET"));
    s.push(Sample::counter("jobs_done", 3u64));
    s.push(Sample::gauge("queue.depth", 2.5));
    s.push(
        Sample::histogram(
            "op.duration",
            Histogram::from_observations(vec![0.1, 1.0], &[0.05, 0.5]),
        )
        .with_unit("s"),
    );
    s
}

/// Every series Prometheus holds for the source `naming` under `job`, as `name{labels}`
/// without `job` and `instance` (which say how the series came, not what it is), and
/// without snapbridge's own families and the `_created` series of an OpenMetrics scrape.
fn series(prom: &Prometheus, job: &str) -> BTreeSet<String> {
    prom.query(&format!("{{job=\"{job}\",source=\"naming\"}}"))
        .into_iter()
        .filter_map(|(labels, _)| {
            let name = labels.get("__name__")?.as_str()?.to_string();
            if name.starts_with("snapbridge_") || name.ends_with("_created") {
                return None;
            }
            let rest: Vec<String> = labels
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "__name__" | "job" | "instance"))
                .map(
                    |(k, v)| match (k.as_str(), v.as_str().map(str::parse::<f64>)) {
                        // Prometheus 3 rewrites a scraped bucket bound as a float (`1` -> `1.0`)
                        // but stores an OTLP one as Go formats it (`1`): that difference is
                        // Prometheus' own, so bounds compare as numbers.
                        ("le", Some(Ok(bound))) => format!("le={bound:?}"),
                        _ => format!("{k}={v}"),
                    },
                )
                .collect();
            Some(format!("{name}{{{}}}", rest.join(",")))
        })
        .collect()
}

/// Scrape and push under `strategy`, with Prometheus' receiver set to the same; returns
/// the scraped series after asserting that the pushed ones are the same.
fn scrape_and_push(strategy: &str, scrape_protocols: &str) -> BTreeSet<String> {
    let scripted = Scripted::default();
    scripted.set(snapshot(7));
    let source = || -> Arc<dyn MetricsSource> { Arc::new(scripted.clone()) };
    let names = format!("interval = \"1h\"\ntranslation_strategy = \"{strategy}\"\n");
    let mut scraped = Bridge::start(&names, vec![(source_config("naming", ""), source())]);
    scraped.cycle();
    let prom = Prometheus::start_config(
        Version::Current,
        &format!("otlp:\n  translation_strategy: {strategy}\n"),
        &format!(
            "  - job_name: scraped\n{scrape_protocols}    static_configs:\n      - targets: ['{}']\n",
            scraped.addr
        ),
        &["--web.enable-otlp-receiver"],
    );
    let push = format!(
        "{names}[otlp]\nendpoint = \"{}\"\nprotocol = \"http/protobuf\"\ntemporality = \"cumulative\"\nresource = {{ \"service.name\" = \"pushed\" }}\n",
        prom.otlp_base()
    );
    let mut pushed = Bridge::start(&push, vec![(source_config("naming", ""), source())]);
    pushed.cycle();
    let telemetry = pushed.telemetry.clone();
    wait_for("the OTLP export", Duration::from_secs(30), || {
        let done = telemetry.otlp.exports.load(Ordering::Relaxed)
            + telemetry.otlp.errors.load(Ordering::Relaxed);
        (done >= 1).then_some(())
    });
    assert_eq!(
        telemetry.otlp.errors.load(Ordering::Relaxed),
        0,
        "{strategy}: the push failed:\n{}",
        prom.proc.log_tail()
    );
    // Both paths hold the four families' series: 1 + 1 + 1 + (3 buckets, sum, count).
    let (mut by_scrape, mut by_push) = (BTreeSet::new(), BTreeSet::new());
    let seen = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for("both paths in Prometheus", Duration::from_secs(30), || {
            by_scrape = series(&prom, "scraped");
            by_push = series(&prom, "pushed");
            (by_scrape.len() >= 8 && by_push.len() >= 8).then_some(())
        })
    }));
    assert!(
        seen.is_ok(),
        "{strategy}: scraped {by_scrape:#?}\npushed {by_push:#?}\n{}",
        prom.proc.log_tail()
    );
    assert_eq!(
        by_scrape, by_push,
        "{strategy}: scraped (left) vs pushed through Prometheus' OTLP receiver (right)"
    );
    by_scrape
}

#[test]
fn underscore_escaping_with_suffixes_lands_under_the_same_names() {
    let got = scrape_and_push("UnderscoreEscapingWithSuffixes", "");
    for want in [
        "http_server_requests_total{http_method=\"GET\",source=\"naming\"}",
        "jobs_done_total{source=\"naming\"}",
        "queue_depth{source=\"naming\"}",
        "op_duration_seconds_count{source=\"naming\"}",
    ] {
        assert!(got.contains(want), "{want} in {got:#?}");
    }
}

#[test]
fn no_utf8_escaping_with_suffixes_keeps_utf8_names_on_both_paths() {
    let got = scrape_and_push("NoUTF8EscapingWithSuffixes", "");
    for want in [
        "http.server.requests_total{http.method=\"GET\",source=\"naming\"}",
        "jobs_done_total{source=\"naming\"}",
        "queue.depth{source=\"naming\"}",
        "op.duration_seconds_bucket{le=1.0,source=\"naming\"}",
    ] {
        assert!(got.contains(want), "{want} in {got:#?}");
    }
}

#[test]
fn no_translation_keeps_names_without_suffixes_on_both_paths() {
    // OpenMetrics requires `_total` on counter samples, so a scraper that wants names
    // without suffixes reads the text format (or protobuf).
    let got = scrape_and_push(
        "NoTranslation",
        "    scrape_protocols: [PrometheusText1.0.0]\n",
    );
    for want in [
        "http.server.requests{http.method=\"GET\",source=\"naming\"}",
        "jobs_done{source=\"naming\"}",
        "op.duration_count{source=\"naming\"}",
    ] {
        assert!(got.contains(want), "{want} in {got:#?}");
    }
}
