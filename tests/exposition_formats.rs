//! `/metrics` in both formats, checked by the real tools: `promtool check metrics` and the
//! reference Python parsers, on series chosen to stress names, labels, units and values.

mod common;

use std::io::Read;
use std::sync::Arc;

use common::{Bridge, Scripted, http_get, promtool_check, python_parse, source_config};
use serde_json::Value as Json;
use snapbridge::core::{Histogram, Sample, Snapshot};

const OM_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";

fn stress_snapshot() -> Snapshot {
    let mut s = Snapshot::new();
    s.push(Sample::untyped("records_written", 120394u64));
    s.push(Sample::untyped("queue.size", 7u64));
    s.push(Sample::counter("requests_total", 5).with_label("http.method", "GET"));
    s.push(Sample::counter_f64("energy", 2.5).with_unit("J"));
    s.push(Sample::gauge("temperature", -3.25).with_unit("Cel"));
    s.push(Sample::gauge("not_a_number", f64::NAN));
    s.push(Sample::gauge("plus_inf", f64::INFINITY));
    s.push(Sample::gauge("minus_inf", f64::NEG_INFINITY));
    s.push(Sample::gauge("cpu", 0.5).with_unit("1"));
    s.push(
        Sample::counter("escapes", 1)
            .with_label("v", "quote \" backslash \\ newline \n end")
            .with_label("0day", "x")
            .with_label("email", "someone@example.com")
            .with_label("source", "inner")
            .with_description("Help with \\ backslash,\nnewline and \"quotes\""),
    );
    s.push(
        Sample::histogram(
            "op_duration",
            Histogram::from_observations(
                vec![0.005, 0.1, 1.0, 10.0],
                &[0.001, 0.05, 0.5, 2.0, 20.0],
            ),
        )
        .with_unit("s")
        .with_label("operation_type", "db_query"),
    );
    s.push(Sample::histogram(
        "bare_latency",
        Histogram::from_observations(vec![1.0], &[0.5]),
    ));
    s
}

fn bridge() -> (Bridge, Scripted) {
    let scripted = Scripted::default();
    let sc = source_config(
        "stress",
        "counters = [\"records_*\"]\ndefault_kind = \"gauge\"\nlabels = { team = \"core\" }",
    );
    let mut bridge = Bridge::start(
        "interval = \"1h\"\n",
        vec![(sc, Arc::new(scripted.clone()))],
    );
    scripted.set(stress_snapshot());
    bridge.cycle();
    (bridge, scripted)
}

fn family<'a>(families: &'a Json, name: &str) -> &'a Json {
    families
        .as_array()
        .expect("families array")
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("family {name} missing from {families}"))
}

fn sample_value(families: &Json, family_name: &str, sample_name: &str) -> Json {
    let f = family(families, family_name);
    f["samples"]
        .as_array()
        .expect("samples")
        .iter()
        .find(|s| s["name"] == sample_name)
        .map(|s| s["value"].clone())
        .unwrap_or_else(|| panic!("sample {sample_name} missing in {f}"))
}

#[test]
fn text_format_passes_promtool_and_the_reference_parser() {
    let (bridge, _s) = bridge();
    let (status, ct, _, body) = http_get(&bridge.url("/metrics"), &[]);
    assert_eq!(status, 200);
    assert_eq!(
        ct,
        "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"
    );
    if let Err(problems) = promtool_check(&body) {
        panic!(
            "promtool check metrics failed:\n{problems}\n---\n{}",
            String::from_utf8_lossy(&body)
        );
    }
    let families = python_parse(&body, "text").expect("text parser accepts the body");
    assert_eq!(
        sample_value(&families, "records_written", "records_written_total"),
        120394.0
    );
    assert_eq!(sample_value(&families, "queue_size", "queue_size"), 7.0);
    assert_eq!(
        sample_value(&families, "energy_joules", "energy_joules_total"),
        2.5
    );
    assert_eq!(
        sample_value(&families, "temperature_celsius", "temperature_celsius"),
        -3.25
    );
    assert_eq!(
        sample_value(&families, "not_a_number", "not_a_number"),
        "NaN"
    );
    assert_eq!(sample_value(&families, "plus_inf", "plus_inf"), "+Inf");
    assert_eq!(sample_value(&families, "minus_inf", "minus_inf"), "-Inf");
    assert_eq!(sample_value(&families, "cpu_ratio", "cpu_ratio"), 0.5);
    assert_eq!(
        sample_value(
            &families,
            "op_duration_seconds",
            "op_duration_seconds_count"
        ),
        5.0
    );
    // `requests_total` is a counter: `_total` appears once, never twice.
    assert_eq!(sample_value(&families, "requests", "requests_total"), 5.0);
    let esc = family(&families, "escapes");
    assert_eq!(
        esc["help"],
        "Help with \\ backslash,\nnewline and \"quotes\""
    );
    let labels = &esc["samples"][0]["labels"];
    assert_eq!(labels["v"], "quote \" backslash \\ newline \n end");
    assert_eq!(labels["key_0day"], "x");
    assert_eq!(labels["source"], "stress");
    assert_eq!(labels["exported_source"], "inner");
    assert_eq!(labels["team"], "core");
    assert!(
        labels.get("email").is_none(),
        "PII label must be dropped: {labels}"
    );
    let req = family(&families, "requests");
    assert_eq!(req["samples"][0]["labels"]["http_method"], "GET");
    let body = String::from_utf8(body).expect("utf-8");
    assert!(!body.contains("_total_total"), "{body}");
    assert!(
        body.contains("snapbridge_source_up{source=\"stress\"} 1"),
        "{body}"
    );
}

#[test]
fn openmetrics_passes_the_reference_parser() {
    let (bridge, _s) = bridge();
    let (status, ct, _, body) = http_get(&bridge.url("/metrics"), &[("Accept", OM_ACCEPT)]);
    assert_eq!(status, 200);
    assert_eq!(
        ct,
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
    );
    assert!(body.ends_with(b"# EOF\n"));
    let families = python_parse(&body, "openmetrics").unwrap_or_else(|e| {
        panic!(
            "OpenMetrics parser failed: {e}\n---\n{}",
            String::from_utf8_lossy(&body)
        )
    });
    let f = family(&families, "records_written");
    assert_eq!(f["type"], "counter");
    assert_eq!(
        sample_value(&families, "records_written", "records_written_total"),
        120394.0
    );
    let h = family(&families, "op_duration_seconds");
    assert_eq!(h["type"], "histogram");
    assert_eq!(h["unit"], "seconds");
    let buckets: Vec<f64> = h["samples"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == "op_duration_seconds_bucket")
        .map(|s| s["value"].as_f64().unwrap())
        .collect();
    assert_eq!(buckets, [1.0, 2.0, 3.0, 4.0, 5.0]);
    // The sum of the observations in f64 arithmetic is 22.551000000000002, which the
    // parser's JSON states and serde_json (correctly rounded) reads as such.
    let sum = sample_value(&families, "op_duration_seconds", "op_duration_seconds_sum");
    let sum = sum.as_f64().expect("a number");
    assert!((sum - 22.551).abs() < 1e-9, "sum {sum}");
}

#[test]
fn gzip_is_served_when_accepted_and_decodes_to_the_same_body() {
    let (bridge, _s) = bridge();
    let (_, _, ce, plain) = http_get(&bridge.url("/metrics"), &[("Accept-Encoding", "identity")]);
    assert_eq!(ce, "");
    let (status, _, ce, zipped) = http_get(&bridge.url("/metrics"), &[("Accept-Encoding", "gzip")]);
    assert_eq!(status, 200);
    assert_eq!(ce, "gzip");
    assert!(zipped.len() < plain.len());
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&zipped[..])
        .read_to_end(&mut unzipped)
        .expect("valid gzip");
    assert_eq!(unzipped, plain);
}

#[test]
fn a_zero_quality_refuses_gzip_however_it_is_written() {
    let (mut bridge, scripted) = bridge();
    scripted.set(stress_snapshot());
    bridge.cycle();
    let url = bridge.url("/metrics");
    let (_, _, _, plain) = http_get(&url, &[]);
    for refused in [
        "gzip;q=0",
        "gzip; q=0.0",
        "gzip;q=0.000",
        "*;q=0",
        "gzip;q=0, *",
    ] {
        let (status, _, ce, body) = http_get(&url, &[("Accept-Encoding", refused)]);
        assert_eq!(status, 200, "{refused}");
        assert_eq!(ce, "", "{refused} must not get gzip");
        assert_eq!(body, plain, "{refused}");
    }
    for accepted in ["gzip;q=0.5", "*", "br, *;q=0.1"] {
        let (_, _, ce, _) = http_get(&url, &[("Accept-Encoding", accepted)]);
        assert_eq!(ce, "gzip", "{accepted}");
    }
}

#[test]
fn health_status_page_and_unknown_paths() {
    let (bridge, scripted) = bridge();
    let (status, _, _, body) = http_get(&bridge.url("/healthz"), &[]);
    assert_eq!((status, body.as_slice()), (200, &b"ok\n"[..]));
    let (status, ct, _, page) = http_get(&bridge.url("/"), &[]);
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/html"));
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("href=\"/metrics\""), "{page}");
    assert!(page.contains("stress"), "{page}");
    let (status, _, _, _) = http_get(&bridge.url("/nope"), &[]);
    assert_eq!(status, 404);
    drop(scripted);
}
