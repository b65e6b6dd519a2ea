//! The Prometheus protobuf exposition: chosen by content negotiation as Prometheus 2.53 and
//! 3.x ask for it, decoded with the `prometheus` crate's generated types (its created
//! timestamps with prost messages: the crate's types lack that field), equal to the text body
//! series for series. A real Prometheus
//! reading them: tests/created_timestamps.rs.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::otelcol::parse_text;
use common::{Bridge, Scripted, http_get, source_config};
use prometheus::proto::{MetricFamily, MetricType};
use prost::Message;
use snapbridge::core::{Histogram, MetricsSource, Sample, Snapshot};

// The `prometheus` crate's generated types (metrics.proto of an older client_model) have no
// `created_timestamp`; that one field is read with these prost messages, declared from
// metrics.proto's field numbers. Everything else is decoded with the crate's types.
#[derive(Clone, PartialEq, Message)]
struct CreatedFamily {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(message, repeated, tag = "4")]
    metric: Vec<CreatedMetric>,
}

#[derive(Clone, PartialEq, Message)]
struct CreatedMetric {
    #[prost(message, optional, tag = "3")]
    counter: Option<Created<3>>,
    #[prost(message, optional, tag = "7")]
    histogram: Option<Created<15>>,
}

/// A `Counter` (created_timestamp = 3) or `Histogram` (= 15) with only that field.
#[derive(Clone, PartialEq)]
struct Created<const TAG: u32> {
    timestamp: Option<Timestamp>,
}

impl<const TAG: u32> Default for Created<TAG> {
    fn default() -> Self {
        Created { timestamp: None }
    }
}

impl<const TAG: u32> std::fmt::Debug for Created<TAG> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.timestamp)
    }
}

impl<const TAG: u32> Message for Created<TAG> {
    fn encode_raw(&self, buf: &mut impl prost::bytes::BufMut) {
        if let Some(t) = &self.timestamp {
            prost::encoding::message::encode(TAG, t, buf);
        }
    }
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: prost::encoding::WireType,
        buf: &mut impl prost::bytes::Buf,
        ctx: prost::encoding::DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        if tag == TAG {
            let t = self.timestamp.get_or_insert_with(Timestamp::default);
            prost::encoding::message::merge(wire_type, t, buf, ctx)
        } else {
            prost::encoding::skip_field(wire_type, tag, buf, ctx)
        }
    }
    fn encoded_len(&self) -> usize {
        self.timestamp
            .as_ref()
            .map_or(0, |t| prost::encoding::message::encoded_len(TAG, t))
    }
    fn clear(&mut self) {
        self.timestamp = None;
    }
}

#[derive(Clone, PartialEq, Message)]
struct Timestamp {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

const PROTOBUF: &str = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=underscores";

/// The `Accept` headers Prometheus sends, and the content type each must get.
const ACCEPTS: &[(&str, &str)] = &[
    // 2.53, default scrape protocols.
    (
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores",
    ),
    // 2.53 with created-timestamp-zero-ingestion: protobuf first.
    (
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.9,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        PROTOBUF,
    ),
    // 3.x, default.
    (
        "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8",
    ),
    // 3.x with protobuf first (created-timestamp zero ingestion or native histograms).
    (
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
        PROTOBUF,
    ),
    (
        "text/plain;version=0.0.4",
        "text/plain; version=0.0.4; charset=utf-8; escaping=underscores",
    ),
    // Protobuf in another encoding is not served.
    (
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text,text/plain;q=0.1",
        "text/plain; version=0.0.4; charset=utf-8; escaping=underscores",
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

/// The body's families, decoded with the `prometheus` crate's generated types.
fn decode(body: &[u8]) -> Vec<MetricFamily> {
    let mut input = protobuf::CodedInputStream::from_bytes(body);
    let mut out = Vec::new();
    while !input.eof().expect("read") {
        out.push(input.read_message().expect("a delimited MetricFamily"));
    }
    out
}

/// The body's created timestamps by family, decoded with the prost messages above.
fn decode_created(mut body: &[u8]) -> Vec<CreatedFamily> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let f = CreatedFamily::decode_length_delimited(&mut body).expect("a delimited family");
        out.push(f);
    }
    out
}

/// The protobuf families as text samples (`name{labels} value`), as Prometheus reads them.
fn as_samples(families: &[MetricFamily]) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for f in families {
        let name = f.name();
        for m in &f.metric {
            let labels: Vec<String> = m
                .label
                .iter()
                .map(|l| format!("{}={:?}", l.name(), l.value()))
                .collect();
            let key = |suffix: &str, extra: Option<String>| {
                let mut l = labels.clone();
                l.extend(extra);
                l.sort();
                format!("{name}{suffix}{{{}}}", l.join(","))
            };
            if let Some(c) = m.counter.as_ref() {
                out.insert(key("", None), c.value());
            } else if let Some(g) = m.gauge.as_ref() {
                out.insert(key("", None), g.value());
            } else if let Some(h) = m.histogram.as_ref() {
                for b in &h.bucket {
                    let le = format!("le={:?}", format!("{}", b.upper_bound()));
                    out.insert(key("_bucket", Some(le)), b.cumulative_count() as f64);
                }
                let count = h.sample_count() as f64;
                out.insert(key("_bucket", Some("le=\"+Inf\"".into())), count);
                out.insert(key("_count", None), count);
                out.insert(key("_sum", None), h.sample_sum());
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
    let kind = |name: &str| {
        let f = families.iter().find(|f| f.name() == name);
        f.map(|f| f.type_()).expect(name)
    };
    assert_eq!(kind("jobs_done_total"), MetricType::COUNTER);
    assert_eq!(kind("in_progress"), MetricType::GAUGE);
    assert_eq!(kind("op_duration_seconds"), MetricType::HISTOGRAM);
    let created = decode_created(&body);
    let jobs = created
        .iter()
        .find(|f| f.name.as_deref() == Some("jobs_done_total"))
        .expect("jobs_done_total");
    let created_at = jobs.metric[0]
        .counter
        .as_ref()
        .and_then(|c| c.timestamp.clone())
        .expect("created_timestamp");
    let start = view
        .points
        .iter()
        .find(|p| p.meta.family.exposed == "jobs_done_total")
        .expect("point")
        .start;
    let since = start.duration_since(std::time::UNIX_EPOCH).unwrap();
    assert_eq!(
        (created_at.seconds, created_at.nanos),
        (since.as_secs() as i64, since.subsec_nanos() as i32)
    );
    let hist = created
        .iter()
        .find(|f| f.name.as_deref() == Some("op_duration_seconds"))
        .expect("histogram");
    assert!(
        hist.metric[0]
            .histogram
            .as_ref()
            .and_then(|h| h.timestamp.clone())
            .is_some()
    );
}
