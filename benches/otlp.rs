//! One OTLP export cycle: snapbridge's route (requests built from the published view with
//! the generated opentelemetry-proto types) beside the OpenTelemetry SDK route, in one run,
//! on the synthetic data of benches/common. Run:
//!
//!     cargo bench --bench otlp
//!
//! - `snapbridge_build_encode/N`: build the ExportMetricsServiceRequest from a view and
//!   encode it to protobuf bytes (what one cumulative export costs before the network);
//! - `sdk_feed/N`: the SDK route's first half, one snapshot fed to Counter::add /
//!   Gauge::record (deltas already computed);
//! - `sdk_collect_encode/N`: its second half, collect through a reader, convert to the
//!   same request type and encode.
//!
//! Bytes on the wire are printed once per size (plain and gzip).

use std::io::Write;
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{
    InstrumentKind, ManualReader, Pipeline as SdkPipeline, SdkMeterProvider,
    Temporality as SdkTemporality,
};
use prost::Message;
use snapbridge::sinks::otlp::Encoder;
use snapbridge::sinks::otlp::Temporality;

mod common;
use common::{NAMES, labels, series, synthetic};

/// The SDK's ManualReader is not Clone; the provider owns its reader, so a shared handle
/// lets the bench collect through it.
#[derive(Clone, Debug)]
struct SharedReader(Arc<ManualReader>);

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: Weak<SdkPipeline>) {
        self.0.register_pipeline(pipeline)
    }
    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(rm)
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn temporality(&self, kind: InstrumentKind) -> SdkTemporality {
        self.0.temporality(kind)
    }
}

fn gzip_len(bytes: &[u8]) -> usize {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip").len()
}

fn bench_otlp(c: &mut Criterion) {
    let mut group = c.benchmark_group("otlp");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(6));
    for n in [10_000usize, 100_000] {
        let mut p = common::pipeline();
        let view = p.publish(
            SystemTime::now(),
            vec![(Ok(synthetic(n, 1).into()), Duration::ZERO)],
        );
        let mut encoder = Encoder::new(
            Temporality::Cumulative,
            &[("service.name".into(), "bench".into())],
        );
        let bytes = encoder.build(&view).0;
        eprintln!(
            "otlp/{n}: {} bytes ({:.1} per series), gzip {} bytes ({:.1} per series)",
            bytes.len(),
            bytes.len() as f64 / n as f64,
            gzip_len(&bytes),
            gzip_len(&bytes) as f64 / n as f64
        );
        group.bench_function(format!("snapbridge_build_encode/{n}"), |b| {
            b.iter(|| encoder.build(&view).0)
        });

        // The SDK route, with the per-metric cardinality limit left at its default: 100k
        // series over 50 names is 2000 per name, exactly the limit.
        let reader = SharedReader(Arc::new(ManualReader::builder().build()));
        let provider = SdkMeterProvider::builder()
            .with_reader(reader.clone())
            .build();
        let meter = provider.meter("bench");
        let counters: Vec<_> = (0..NAMES)
            .map(|i| meter.f64_counter(series(i, 1).0).build())
            .collect();
        let gauges: Vec<_> = (0..NAMES)
            .map(|i| meter.f64_gauge(series(i, 1).0).build())
            .collect();
        let attrs: Vec<Vec<KeyValue>> = (0..n)
            .map(|i| {
                labels(i)
                    .into_iter()
                    .map(|(k, v)| KeyValue::new(k, v))
                    .collect()
            })
            .collect();
        group.bench_function(format!("sdk_feed/{n}"), |b| {
            b.iter(|| {
                for (i, a) in attrs.iter().enumerate() {
                    let (_, counter, value) = series(i, 1);
                    if counter {
                        counters[i % NAMES].add(value, a);
                    } else {
                        gauges[i % NAMES].record(value, a);
                    }
                }
            })
        });
        group.bench_function(format!("sdk_collect_encode/{n}"), |b| {
            b.iter(|| {
                let mut rm = ResourceMetrics::default();
                reader.collect(&mut rm).expect("collect");
                ExportMetricsServiceRequest::from(&rm).encode_to_vec()
            })
        });
        let _ = provider.shutdown();
    }
    group.finish();
}

criterion_group!(benches, bench_otlp);
criterion_main!(benches);
