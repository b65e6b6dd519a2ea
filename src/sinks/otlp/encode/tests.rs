//! The hand-written encoding against the generated prost types as the oracle.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point};
use prost::Message;
use snapbridge_core::{Histogram, Sample, Snapshot};

use super::Encoder;
use crate::pipeline::{Pipeline, PipelineSettings};
use crate::sinks::otlp::Temporality;
use crate::sources::SourceConfig;

fn pipeline() -> Pipeline {
    let mut p = Pipeline::new(PipelineSettings::default());
    p.add_metrics_source(&SourceConfig::new("s"), Arc::new(|| Ok(Snapshot::new())));
    p
}

fn view(written: u64) -> Arc<crate::view::View> {
    publish(&mut pipeline(), written)
}

fn publish(p: &mut Pipeline, written: u64) -> Arc<crate::view::View> {
    let mut snap = Snapshot::new();
    snap.push(Sample::counter("records_written", written).with_label("backend", "json"));
    snap.push(Sample::gauge("queue_size", 7.5));
    snap.push(
        Sample::histogram(
            "op",
            Histogram::from_observations(vec![0.1, 1.0], &[0.05, 0.5, 5.0]),
        )
        .with_unit("s")
        .with_description("latency"),
    );
    p.publish(SystemTime::now(), vec![(Ok(snap.into()), Duration::ZERO)])
}

fn attrs(kvs: &[opentelemetry_proto::tonic::common::v1::KeyValue]) -> Vec<(String, String)> {
    kvs.iter()
        .map(|kv| {
            let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) => s.clone(),
                other => format!("{other:?}"),
            };
            (kv.key.clone(), v)
        })
        .collect()
}

#[test]
fn prost_decodes_what_the_encoder_writes() {
    let v = view(120394);
    let mut enc = Encoder::new(
        Temporality::Cumulative,
        &[("service.name".into(), "x".into())],
    );
    let (bytes, _) = enc.build(&v);
    let req = ExportMetricsServiceRequest::decode(bytes.as_slice()).expect("valid protobuf");
    let rm = &req.resource_metrics[0];
    assert_eq!(
        attrs(&rm.resource.as_ref().unwrap().attributes),
        [("service.name".to_string(), "x".to_string())]
    );
    let sm = &rm.scope_metrics[0];
    assert_eq!(sm.scope.as_ref().unwrap().name, "snapbridge");
    let by_name = |n: &str| {
        sm.metrics
            .iter()
            .find(|m| m.name == n)
            .unwrap_or_else(|| panic!("{n}"))
    };
    let Some(Data::Sum(sum)) = &by_name("records_written").data else {
        panic!("not a sum")
    };
    assert!(sum.is_monotonic);
    assert_eq!(sum.aggregation_temporality, 2);
    let p = &sum.data_points[0];
    assert_eq!(p.value, Some(number_data_point::Value::AsInt(120394)));
    assert_eq!(
        attrs(&p.attributes),
        [
            ("backend".into(), "json".into()),
            ("source".into(), "s".into())
        ]
    );
    assert!(p.start_time_unix_nano > 0 && p.time_unix_nano >= p.start_time_unix_nano);
    let Some(Data::Gauge(g)) = &by_name("queue_size").data else {
        panic!("not a gauge")
    };
    assert_eq!(
        g.data_points[0].value,
        Some(number_data_point::Value::AsDouble(7.5))
    );
    let op = by_name("op");
    assert_eq!(
        (op.unit.as_str(), op.description.as_str()),
        ("s", "latency")
    );
    let Some(Data::Histogram(h)) = &op.data else {
        panic!("not a histogram")
    };
    let hp = &h.data_points[0];
    assert_eq!((hp.count, hp.sum), (3, Some(5.55)));
    assert_eq!(hp.bucket_counts, [1, 1, 1]);
    assert_eq!(hp.explicit_bounds, [0.1, 1.0]);
    assert_eq!(
        attrs(&hp.attributes),
        [("source".to_string(), "s".to_string())]
    );
    // The self-metrics go out too.
    assert!(sm.metrics.iter().any(|m| m.name == "snapbridge_source_up"));
}

#[test]
fn delta_is_the_increase_since_the_last_accepted_export() {
    let mut p = pipeline();
    let mut enc = Encoder::new(Temporality::Delta, &[]);
    let value = |bytes: &[u8]| {
        let req = ExportMetricsServiceRequest::decode(bytes).unwrap();
        let m = req.resource_metrics[0].scope_metrics[0]
            .metrics
            .iter()
            .find(|m| m.name == "records_written")
            .cloned()
            .unwrap();
        let Some(Data::Sum(s)) = m.data else {
            panic!("not a sum")
        };
        assert_eq!(s.aggregation_temporality, 1);
        (
            s.data_points[0].value,
            s.data_points[0].start_time_unix_nano,
            s.data_points[0].time_unix_nano,
        )
    };
    let (b1, p1) = enc.build(&publish(&mut p, 100));
    let (v1, _, t1) = value(&b1);
    assert_eq!(v1, Some(number_data_point::Value::AsInt(100)));
    enc.commit(p1);
    // Built but refused (the export failed): not committed.
    let (b2, p2) = enc.build(&publish(&mut p, 150));
    assert_eq!(value(&b2).0, Some(number_data_point::Value::AsInt(50)));
    enc.settle(p2, crate::sinks::otlp::Outcome::Refused);
    // The next delta counts from the last accepted export, and starts where it ended.
    let (b3, p3) = enc.build(&publish(&mut p, 180));
    let (v3, start3, _) = value(&b3);
    assert_eq!(v3, Some(number_data_point::Value::AsInt(80)));
    assert_eq!(start3, t1);
    enc.commit(p3);
    assert!(enc.tracked() > 0);
}
