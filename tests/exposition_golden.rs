//! Golden files: `/metrics` asked with the `Accept` headers Prometheus 2.53 and 3.x really
//! send (built as their scrape code builds them: every scrape protocol with a falling
//! q-value, `escaping=` on the 1.0.0 text formats only in 3.x, protobuf first or not), under
//! the default name policy and the UTF-8 one. Each file holds the Content-Type and the body
//! the header gets (protobuf decoded with the `prometheus` crate's types and printed as
//! text). snapbridge's own `snapbridge_*` families and the created timestamps (the time of
//! the run) are left out. `SNAPBRIDGE_BLESS=1 cargo test --test exposition_golden` rewrites
//! the files after a deliberate change.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::{Bridge, Scripted, http_get, source_config};
use prometheus::proto::MetricFamily;
use snapbridge::core::{Histogram, MetricsSource, Sample, Snapshot};

/// Prometheus 3's default protocols with `escaping=<scheme>` (what
/// `metric_name_validation_scheme` / `metric_name_escaping_scheme` choose).
fn prometheus3(scheme: &str) -> String {
    format!(
        "application/openmetrics-text;version=1.0.0;escaping={scheme};q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping={scheme};q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
    )
}

/// Every case: its file name and the `Accept` header (none: no header at all).
fn cases() -> Vec<(&'static str, Option<String>)> {
    let s = |h: &str| Some(h.to_string());
    vec![
        ("no-accept", None),
        // Prometheus 2.53: DefaultScrapeProtocols, five protocols known, so q from 0.5.
        (
            "prometheus-2.53",
            s(
                "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
            ),
        ),
        // Prometheus 2.53 with created-timestamp-zero-ingestion or native histograms.
        (
            "prometheus-2.53-protobuf-first",
            s(
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5,application/openmetrics-text;version=1.0.0;q=0.4,application/openmetrics-text;version=0.0.1;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
            ),
        ),
        // Prometheus 3, UTF-8 validation (its default).
        ("prometheus-3", Some(prometheus3("allow-utf-8"))),
        // Prometheus 3, protobuf first: the protobuf entry carries no escaping.
        (
            "prometheus-3-protobuf-first",
            s(
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
            ),
        ),
        // Prometheus 3 with metric_name_validation_scheme: legacy.
        (
            "prometheus-3-escaping-underscores",
            Some(prometheus3("underscores")),
        ),
        // Prometheus 3 with metric_name_escaping_scheme: dots / values.
        ("prometheus-3-escaping-dots", Some(prometheus3("dots"))),
        ("prometheus-3-escaping-values", Some(prometheus3("values"))),
        // Prometheus 3 with scrape_protocols: [PrometheusText1.0.0] / [PrometheusText0.0.4].
        (
            "prometheus-3-text-1.0.0",
            s("text/plain;version=1.0.0;escaping=allow-utf-8;q=0.6,*/*;q=0.5"),
        ),
        (
            "prometheus-3-text-0.0.4",
            s("text/plain;version=0.0.4;q=0.6,*/*;q=0.5"),
        ),
    ]
}

fn snapshot() -> Snapshot {
    let mut s = Snapshot::new();
    s.push(Sample::counter("http.server.requests", 7u64).with_label("http.method", "GET"));
    s.push(Sample::counter("jobs_done", 3u64).with_label("queue", "a \"b\""));
    s.push(Sample::gauge("queue.depth", 2.5));
    s.push(
        Sample::histogram(
            "op.duration",
            Histogram::from_observations(vec![0.1, 1.0], &[0.05, 0.5, 3.0]),
        )
        .with_unit("s"),
    );
    s
}

/// The start of a text line's metric name (after `# HELP ` and the like, or `{"`).
fn name_of(line: &str) -> &str {
    let rest = ["# HELP ", "# TYPE ", "# UNIT "]
        .iter()
        .find_map(|p| line.strip_prefix(p))
        .unwrap_or(line);
    rest.trim_start_matches(['{', '"'])
}

/// The text body without snapbridge's own families, created timestamps as `<created>`.
fn text_golden(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    for line in text.lines() {
        if name_of(line).starts_with("snapbridge_") {
            continue;
        }
        let line = match line.rsplit_once(' ') {
            Some((sample, _)) if !line.starts_with('#') && sample.contains("_created") => {
                format!("{sample} <created>")
            }
            _ => line.to_string(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The protobuf body decoded with the `prometheus` crate's types, printed as protobuf text
/// format, without snapbridge's own families. The created timestamps are fields those types
/// do not know (tests/exposition_protobuf.rs checks them); they are dropped here.
fn protobuf_golden(body: &[u8]) -> String {
    let mut input = protobuf::CodedInputStream::from_bytes(body);
    let mut out = String::new();
    while !input.eof().expect("read") {
        let mut family: MetricFamily = input.read_message().expect("a delimited MetricFamily");
        if family.name().starts_with("snapbridge_") {
            continue;
        }
        for m in &mut family.metric {
            if let Some(c) = m.counter.as_mut() {
                c.special_fields.mut_unknown_fields().clear();
            }
            if let Some(h) = m.histogram.as_mut() {
                h.special_fields.mut_unknown_fields().clear();
            }
        }
        out.push_str(&protobuf::text_format::print_to_string_pretty(&family));
        out.push_str("---\n");
    }
    out
}

fn golden_dir(strategy: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/accept")
        .join(strategy)
}

/// Every case's file under `strategy`: what the endpoint answers now.
fn answers(strategy: &str) -> Vec<(PathBuf, String)> {
    let scripted = Scripted::default();
    let source: Arc<dyn MetricsSource> = Arc::new(scripted.clone());
    let mut bridge = Bridge::start(
        &format!("interval = \"1h\"\ntranslation_strategy = \"{strategy}\"\n"),
        vec![(source_config("golden", ""), source)],
    );
    scripted.set(snapshot());
    bridge.cycle();
    let url = bridge.url("/metrics");
    let mut out = Vec::new();
    for (name, accept) in cases() {
        let headers: Vec<(&str, &str)> = accept.iter().map(|a| ("Accept", a.as_str())).collect();
        let (status, ct, _, body) = http_get(&url, &headers);
        assert_eq!(status, 200, "{name}");
        let body = if ct.starts_with("application/vnd.google.protobuf") {
            protobuf_golden(&body)
        } else {
            text_golden(&body)
        };
        let text = format!(
            "Accept: {}\nContent-Type: {ct}\n\n{body}",
            accept.as_deref().unwrap_or("(none)")
        );
        out.push((golden_dir(strategy).join(format!("{name}.txt")), text));
    }
    out
}

fn check(strategy: &str) {
    let bless = std::env::var_os("SNAPBRIDGE_BLESS").is_some();
    let mut stale = Vec::new();
    for (path, text) in answers(strategy) {
        if bless {
            std::fs::create_dir_all(path.parent().expect("dir")).expect("golden dir");
            std::fs::write(&path, &text).expect("write golden file");
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if want != text {
            stale.push(format!(
                "{}:\n--- want\n{want}\n--- got\n{text}",
                path.display()
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "answers differ from the golden files (SNAPBRIDGE_BLESS=1 rewrites them after a deliberate change):\n{}",
        stale.join("\n")
    );
}

#[test]
fn accept_headers_get_their_golden_answers_with_the_default_names() {
    check("UnderscoreEscapingWithSuffixes");
}

#[test]
fn accept_headers_get_their_golden_answers_with_utf8_names() {
    check("NoUTF8EscapingWithSuffixes");
}

#[test]
fn utf8_bodies_pass_the_reference_parsers() {
    let scripted = Scripted::default();
    let source: Arc<dyn MetricsSource> = Arc::new(scripted.clone());
    let mut bridge = Bridge::start(
        "interval = \"1h\"\ntranslation_strategy = \"NoUTF8EscapingWithSuffixes\"\n",
        vec![(source_config("golden", ""), source)],
    );
    scripted.set(snapshot());
    bridge.cycle();
    let url = bridge.url("/metrics");
    let accept = "text/plain;version=1.0.0;escaping=allow-utf-8";
    let (_, _, _, text) = http_get(&url, &[("Accept", accept)]);
    assert!(
        String::from_utf8_lossy(&text).contains("{\"http.server.requests_total\","),
        "a UTF-8 name, quoted"
    );
    // promtool is not asked: its linter parses with the legacy name rules, so it refuses
    // any UTF-8 name ("invalid metric name"), however it is written.
    let parsed = common::python_parse(&text, "text").unwrap_or_else(|e| panic!("python: {e}"));
    assert!(
        parsed.to_string().contains("http.server.requests"),
        "{parsed}"
    );
    let (_, _, _, om) = http_get(&url, &[("Accept", prometheus3("allow-utf-8").as_str())]);
    let parsed = common::python_parse(&om, "openmetrics").unwrap_or_else(|e| panic!("python: {e}"));
    assert!(
        parsed.to_string().contains("http.server.requests"),
        "{parsed}"
    );
}

#[test]
fn accept_headers_get_their_golden_answers_without_suffixes() {
    // OpenMetrics still writes `_total` on counter samples: the format requires it.
    check("NoTranslation");
}
