//! The Prometheus protobuf exposition: chosen by content negotiation as Prometheus 2.53 and
//! 3.x ask for it, decoded with message types declared from metrics.proto's field numbers,
//! equal to the text body series for series, with created timestamps. A real Prometheus
//! reading them: tests/created_timestamps.rs.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::otelcol::parse_text;
use common::{Bridge, Scripted, http_get, source_config};
use prost::Message;
use snapbridge::core::{Histogram, MetricsSource, Sample, Snapshot};

#[derive(Clone, PartialEq, Message)]
struct MetricFamily {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(string, optional, tag = "2")]
    help: Option<String>,
    #[prost(int32, optional, tag = "3")]
    kind: Option<i32>,
    #[prost(message, repeated, tag = "4")]
    metric: Vec<Metric>,
}

#[derive(Clone, PartialEq, Message)]
struct Metric {
    #[prost(message, repeated, tag = "1")]
    label: Vec<LabelPair>,
    #[prost(message, optional, tag = "2")]
    gauge: Option<Value>,
    #[prost(message, optional, tag = "3")]
    counter: Option<Counter>,
    #[prost(message, optional, tag = "7")]
    histogram: Option<Hist>,
}

#[derive(Clone, PartialEq, Message)]
struct LabelPair {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(string, optional, tag = "2")]
    value: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
struct Value {
    #[prost(double, optional, tag = "1")]
    value: Option<f64>,
}

#[derive(Clone, PartialEq, Message)]
struct Counter {
    #[prost(double, optional, tag = "1")]
    value: Option<f64>,
    #[prost(message, optional, tag = "3")]
    created_timestamp: Option<Timestamp>,
}

#[derive(Clone, PartialEq, Message)]
struct Hist {
    #[prost(uint64, optional, tag = "1")]
    sample_count: Option<u64>,
    #[prost(double, optional, tag = "2")]
    sample_sum: Option<f64>,
    #[prost(message, repeated, tag = "3")]
    bucket: Vec<Bucket>,
    #[prost(message, optional, tag = "15")]
    created_timestamp: Option<Timestamp>,
}

#[derive(Clone, PartialEq, Message)]
struct Bucket {
    #[prost(uint64, optional, tag = "1")]
    cumulative_count: Option<u64>,
    #[prost(double, optional, tag = "2")]
    upper_bound: Option<f64>,
}

#[derive(Clone, PartialEq, Message)]
struct Timestamp {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

const PROTOBUF: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// The `Accept` headers Prometheus sends, and the content type each must get.
const ACCEPTS: &[(&str, &str)] = &[
    // 2.53, default scrape protocols.
    (
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
    ),
    // 2.53 with created-timestamp-zero-ingestion: protobuf first.
    (
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.9,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        PROTOBUF,
    ),
    // 3.x, default.
    (
        "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
    ),
    // 3.x with protobuf first (created-timestamp zero ingestion or native histograms).
    (
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
        PROTOBUF,
    ),
    (
        "text/plain;version=0.0.4",
        "text/plain; version=0.0.4; charset=utf-8",
    ),
    // Protobuf in another encoding is not served.
    (
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text,text/plain;q=0.1",
        "text/plain; version=0.0.4; charset=utf-8",
    ),
];

fn snapshot(jobs: u64) -> Snapshot {
    let mut s = Snapshot::new();
    s.push(Sample::counter("jobs_done", jobs).with_label("queue", "a \"b\" \\ c"));
    s.push(Sample::gauge("in_progress", 2.5));
    s.push(
        Sample::histogram(
            "op_duration",
            Histogram::from_observations(vec![0.1, 1.0], &[0.05, 0.5, 3.0]),
        )
        .with_unit("s"),
    );
    s
}

fn decode(mut body: &[u8]) -> Vec<MetricFamily> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let f = MetricFamily::decode_length_delimited(&mut body).expect("a delimited MetricFamily");
        out.push(f);
    }
    out
}

/// The protobuf families as text samples (`name{labels} value`), as Prometheus reads them.
fn as_samples(families: &[MetricFamily]) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for f in families {
        let name = f.name.clone().unwrap_or_default();
        for m in &f.metric {
            let labels: Vec<String> = m
                .label
                .iter()
                .map(|l| {
                    format!(
                        "{}={:?}",
                        l.name.clone().unwrap_or_default(),
                        l.value.clone().unwrap_or_default()
                    )
                })
                .collect();
            let key = |suffix: &str, extra: Option<String>| {
                let mut l = labels.clone();
                l.extend(extra);
                l.sort();
                format!("{name}{suffix}{{{}}}", l.join(","))
            };
            if let Some(c) = &m.counter {
                out.insert(key("", None), c.value.unwrap_or(f64::NAN));
            } else if let Some(g) = &m.gauge {
                out.insert(key("", None), g.value.unwrap_or(f64::NAN));
            } else if let Some(h) = &m.histogram {
                for b in &h.bucket {
                    let le = format!("le={:?}", format!("{}", b.upper_bound.unwrap_or(f64::NAN)));
                    out.insert(
                        key("_bucket", Some(le)),
                        b.cumulative_count.unwrap_or(0) as f64,
                    );
                }
                let count = h.sample_count.unwrap_or(0) as f64;
                out.insert(key("_bucket", Some("le=\"+Inf\"".into())), count);
                out.insert(key("_count", None), count);
                out.insert(key("_sum", None), h.sample_sum.unwrap_or(f64::NAN));
            }
        }
    }
    out
}

#[test]
fn protobuf_is_negotiated_like_prometheus_asks_and_equals_the_text_body() {
    let scripted = Scripted::default();
    let source: Arc<dyn MetricsSource> = Arc::new(scripted.clone());
    let mut bridge = Bridge::start(
        "interval = \"1h\"\n",
        vec![(source_config("pb", ""), source)],
    );
    scripted.set(snapshot(7));
    bridge.cycle();
    let url = bridge.url("/metrics");
    for (accept, want) in ACCEPTS {
        let (status, ct, _, _) = http_get(&url, &[("Accept", accept)]);
        assert_eq!(status, 200);
        assert_eq!(&ct, want, "Accept: {accept}");
    }
    let (_, _, ce, zipped) = http_get(
        &url,
        &[("Accept", ACCEPTS[1].0), ("Accept-Encoding", "gzip")],
    );
    assert_eq!(ce, "gzip");
    let (_, _, _, body) = http_get(&url, &[("Accept", ACCEPTS[1].0)]);
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&zipped[..]),
        &mut unzipped,
    )
    .expect("gzip");
    assert_eq!(unzipped, body, "the gzip body is the same protobuf");
    let families = decode(&body);
    let (_, _, _, text) = http_get(&url, &[]);
    let text: BTreeMap<String, f64> = parse_text(&String::from_utf8_lossy(&text))
        .into_iter()
        .map(|s| {
            let mut l: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            l.sort();
            (format!("{}{{{}}}", s.name, l.join(",")), s.value)
        })
        .collect();
    assert_eq!(
        as_samples(&families),
        text,
        "protobuf (left) vs text (right)"
    );
    // Counters and histograms carry their created timestamp: the series' start.
    let view = bridge.cycle();
    let jobs = families
        .iter()
        .find(|f| f.name.as_deref() == Some("jobs_done_total"))
        .expect("jobs_done_total");
    assert_eq!(jobs.kind, Some(0), "COUNTER");
    let created = jobs.metric[0]
        .counter
        .as_ref()
        .and_then(|c| c.created_timestamp.clone())
        .expect("created_timestamp");
    let start = view
        .points
        .iter()
        .find(|p| p.meta.family.exposed == "jobs_done_total")
        .expect("point")
        .start;
    let since = start.duration_since(std::time::UNIX_EPOCH).unwrap();
    assert_eq!(
        (created.seconds, created.nanos),
        (since.as_secs() as i64, since.subsec_nanos() as i32)
    );
    let hist = families
        .iter()
        .find(|f| f.name.as_deref() == Some("op_duration_seconds"))
        .expect("histogram");
    assert_eq!(hist.kind, Some(4), "HISTOGRAM");
    assert!(
        hist.metric[0]
            .histogram
            .as_ref()
            .and_then(|h| h.created_timestamp.clone())
            .is_some()
    );
}
