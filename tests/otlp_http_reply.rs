//! OTLP/HTTP replies as receivers send them: a real HTTP server (hyper, in the test) that
//! gzips its protobuf `ExportMetricsServiceResponse` carrying a partial success. The export
//! counts as accepted, the rejected points are counted in a self-metric, and the receiver's
//! message is logged once however often it repeats.

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::{Bridge, Scripted, source_config, wait_for};
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceResponse,
};
use prost::Message;
use snapbridge::core::{Sample, Snapshot};

const REJECTION: &str = "metric name \"jobs\" is reserved";

/// What the receiver saw: requests, and how many asked for a gzip reply.
#[derive(Default)]
struct Seen {
    requests: AtomicU64,
    accept_gzip: AtomicU64,
}

fn gzip(plain: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(plain).expect("gzip");
    enc.finish().expect("gzip")
}

/// Answers every request 200 with a gzipped partial success rejecting 2 points.
async fn receiver(seen: Arc<Seen>) -> SocketAddr {
    common::serve_http(move |req: Request<hyper::body::Incoming>| {
        let seen = seen.clone();
        async move {
            let asks_gzip = req
                .headers()
                .get("accept-encoding")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("gzip"));
            let _ = req.into_body().collect().await;
            seen.requests.fetch_add(1, Ordering::SeqCst);
            let reply = ExportMetricsServiceResponse {
                partial_success: Some(ExportMetricsPartialSuccess {
                    rejected_data_points: 2,
                    error_message: REJECTION.into(),
                }),
            }
            .encode_to_vec();
            let mut response = Response::builder()
                .status(200)
                .header("content-type", "application/x-protobuf");
            let body = if asks_gzip {
                seen.accept_gzip.fetch_add(1, Ordering::SeqCst);
                response = response.header("content-encoding", "gzip");
                gzip(&reply)
            } else {
                reply
            };
            response
                .body(Full::new(Bytes::from(body)))
                .expect("response")
        }
    })
    .await
}

/// Log lines, captured from the global subscriber.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_gzipped_partial_success_is_accepted_counted_and_logged_once() {
    let logs = Logs::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .init();

    let seen = Arc::new(Seen::default());
    let helper = tokio::runtime::Runtime::new().expect("runtime");
    let addr = helper.block_on(receiver(seen.clone()));
    let scripted = Scripted::default();
    scripted.set(Snapshot::from_iter([Sample::counter("jobs", 3u64)]));
    let mut bridge = Bridge::start(
        &format!(
            "interval = \"1h\"\n[otlp]\nendpoint = \"http://{addr}\"\nprotocol = \"http/protobuf\"\ntimeout = \"5s\"\nmax_attempts = 1\n"
        ),
        vec![(source_config("jobs", ""), Arc::new(scripted.clone()))],
    );
    for cycle in 1..=3u64 {
        bridge.cycle();
        wait_for("the export's outcome", Duration::from_secs(20), || {
            let t = &bridge.telemetry.otlp;
            let done = t.exports.load(Ordering::SeqCst) + t.errors.load(Ordering::SeqCst);
            (done >= cycle).then_some(())
        });
    }
    let otlp = &bridge.telemetry.otlp;
    assert_eq!(seen.requests.load(Ordering::SeqCst), 3);
    assert_eq!(
        seen.accept_gzip.load(Ordering::SeqCst),
        3,
        "Accept-Encoding: gzip"
    );
    assert_eq!(otlp.errors.load(Ordering::SeqCst), 0, "a reply is a reply");
    assert_eq!(otlp.exports.load(Ordering::SeqCst), 3);
    assert_eq!(otlp.rejected_points.load(Ordering::SeqCst), 6);

    let view = bridge.cycle();
    let rejected: Vec<String> = view
        .points
        .iter()
        .filter(|p| p.meta.family.exposed == "snapbridge_export_rejected_points_total")
        .map(|p| format!("{:?} {:?}", p.meta.labels(), p.value))
        .collect();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert!(rejected[0].contains("\"otlp\""), "{rejected:?}");
    let scrape = common::http_get(&bridge.url("/metrics"), &[]).3;
    let scrape = String::from_utf8_lossy(&scrape);
    assert!(
        scrape.contains("snapbridge_export_rejected_points_total{sink=\"otlp\"} 6"),
        "{scrape}"
    );

    let text = String::from_utf8_lossy(&logs.0.lock().expect("logs")).into_owned();
    let mentions = text.matches("is reserved").count();
    assert_eq!(mentions, 1, "logged once per distinct message:\n{text}");
    assert!(!text.contains("OTLP export failed"), "{text}");
}
