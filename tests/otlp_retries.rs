//! Retries as the OTLP spec defines them, against a real HTTP server (hyper, in the test)
//! that answers from a script: 503 with `Retry-After` then 200 (retried after the asked
//! delay), 429 then 200 (retried), 400 (permanent: one request, "not retried"), and a long
//! `Retry-After` that the next cycle cuts short.

mod common;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{Bridge, Scripted, source_config, wait_for};
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use snapbridge::core::{Sample, Snapshot};

/// The answers still to give (then 200), and when each request came.
#[derive(Default)]
struct Script {
    answers: Mutex<VecDeque<(u16, Option<&'static str>)>>,
    requests: Mutex<Vec<Instant>>,
}

impl Script {
    fn times(&self) -> Vec<Instant> {
        self.requests.lock().expect("lock").clone()
    }
}

async fn receiver(script: Arc<Script>) -> SocketAddr {
    common::serve_http(move |req: Request<hyper::body::Incoming>| {
        let script = script.clone();
        async move {
            let _ = req.into_body().collect().await;
            script.requests.lock().expect("lock").push(Instant::now());
            let next = script.answers.lock().expect("lock").pop_front();
            let (status, retry_after) = next.unwrap_or((200, None));
            let mut response = Response::builder().status(status);
            if let Some(after) = retry_after {
                response = response.header("retry-after", after);
            }
            response
                .body(Full::new(Bytes::from_static(b"scripted answer")))
                .expect("response")
        }
    })
    .await
}

/// A bridge pushing to a receiver that first gives `answers`.
fn setup(
    answers: &[(u16, Option<&'static str>)],
) -> (Bridge, Arc<Script>, tokio::runtime::Runtime) {
    let script = Arc::new(Script::default());
    script
        .answers
        .lock()
        .expect("lock")
        .extend(answers.iter().copied());
    let helper = tokio::runtime::Runtime::new().expect("runtime");
    let addr = helper.block_on(receiver(script.clone()));
    let scripted = Scripted::default();
    scripted.set(Snapshot::from_iter([Sample::counter("jobs", 3u64)]));
    let bridge = Bridge::start(
        &format!(
            "interval = \"1h\"\n[otlp]\nendpoint = \"http://{addr}\"\nprotocol = \"http/protobuf\"\ntimeout = \"5s\"\nmax_attempts = 4\n"
        ),
        vec![(source_config("jobs", ""), Arc::new(scripted))],
    );
    (bridge, script, helper)
}

/// Runs a cycle and waits for its export's outcome: (exports, errors) afterwards.
fn cycle_and_wait(bridge: &mut Bridge, outcomes_before: u64) -> (u64, u64) {
    bridge.cycle();
    wait_for("the export's outcome", Duration::from_secs(30), || {
        let t = &bridge.telemetry.otlp;
        let (ok, err) = (
            t.exports.load(Ordering::SeqCst),
            t.errors.load(Ordering::SeqCst),
        );
        (ok + err > outcomes_before).then_some((ok, err))
    })
}

fn last_error(bridge: &Bridge) -> String {
    match bridge.telemetry.otlp.last_result() {
        Some((_, Err(e))) => e,
        other => panic!("no error recorded: {other:?}"),
    }
}

#[test]
fn a_503_with_retry_after_is_retried_after_that_delay() {
    let (mut bridge, script, _rt) = setup(&[(503, Some("1"))]);
    assert_eq!(cycle_and_wait(&mut bridge, 0), (1, 0));
    let times = script.times();
    assert_eq!(times.len(), 2, "one retry");
    let gap = times[1] - times[0];
    assert!(
        gap >= Duration::from_millis(950) && gap < Duration::from_secs(4),
        "Retry-After: 1 honoured: {gap:?}"
    );
}

#[test]
fn a_429_is_retried() {
    let (mut bridge, script, _rt) = setup(&[(429, None), (429, None)]);
    assert_eq!(cycle_and_wait(&mut bridge, 0), (1, 0));
    assert_eq!(script.times().len(), 3);
}

#[test]
fn a_400_is_permanent_and_not_retried() {
    let (mut bridge, script, _rt) = setup(&[(400, None), (401, None)]);
    assert_eq!(cycle_and_wait(&mut bridge, 0), (0, 1));
    assert_eq!(script.times().len(), 1, "a 400 is sent once");
    let e = last_error(&bridge);
    assert!(e.starts_with("not retried: "), "{e}");
    assert!(e.contains("400"), "{e}");
    assert_eq!(cycle_and_wait(&mut bridge, 1), (0, 2));
    assert_eq!(script.times().len(), 2, "a 401 is sent once");
    assert!(last_error(&bridge).starts_with("not retried: "));
    // The receiver is fine again: the next cycle goes out.
    assert_eq!(cycle_and_wait(&mut bridge, 2), (1, 2));
}

#[test]
fn a_retry_never_waits_past_the_next_cycle() {
    let (mut bridge, script, _rt) = setup(&[(503, Some("60"))]);
    let started = Instant::now();
    bridge.cycle();
    wait_for("the first request", Duration::from_secs(20), || {
        (!script.times().is_empty()).then_some(())
    });
    // The next cycle comes long before the 60 s the receiver asked for: the waiting retry
    // gives up (one error) and the new view goes out at once.
    bridge.cycle();
    wait_for("the next cycle's export", Duration::from_secs(20), || {
        (bridge.telemetry.otlp.exports.load(Ordering::SeqCst) == 1).then_some(())
    });
    assert_eq!(bridge.telemetry.otlp.errors.load(Ordering::SeqCst), 1);
    assert_eq!(script.times().len(), 2);
    assert!(started.elapsed() < Duration::from_secs(30));
}

/// What the delta receiver answers: a status (with `Retry-After`), or 200 with a partial
/// success rejecting this many points.
#[derive(Clone, Copy)]
enum Reply {
    Status(u16, Option<&'static str>),
    Partial(i64),
}

/// `jobs` delta points of the requests a receiver answered 200: (start, end, value).
type Delivered = Arc<Mutex<Vec<(u64, u64, u64)>>>;

fn delta_points(body: &[u8]) -> Vec<(u64, u64, u64)> {
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point::Value};
    use prost::Message;
    let request = ExportMetricsServiceRequest::decode(body).expect("an OTLP request");
    let mut out = Vec::new();
    for rm in request.resource_metrics {
        for sm in rm.scope_metrics {
            for m in sm.metrics.into_iter().filter(|m| m.name == "jobs") {
                let Some(Data::Sum(sum)) = m.data else {
                    panic!("jobs is not a sum")
                };
                assert_eq!(sum.aggregation_temporality, 1, "delta");
                for p in sum.data_points {
                    let Some(Value::AsInt(v)) = p.value else {
                        panic!("not an int")
                    };
                    out.push((p.start_time_unix_nano, p.time_unix_nano, v as u64));
                }
            }
        }
    }
    out
}

#[test]
fn delta_is_exact_through_503_429_400_and_a_partial_success() {
    use opentelemetry_proto::tonic::collector::metrics::v1::{
        ExportMetricsPartialSuccess, ExportMetricsServiceResponse,
    };
    use prost::Message;
    let replies = Arc::new(Mutex::new(VecDeque::from([
        Reply::Status(503, Some("1")),
        Reply::Status(200, None),
        Reply::Status(429, None),
        Reply::Status(200, None),
        Reply::Status(400, None),
        Reply::Partial(1),
        Reply::Status(200, None),
    ])));
    let delivered: Delivered = Arc::default();
    let helper = tokio::runtime::Runtime::new().expect("runtime");
    let addr = {
        let (replies, delivered) = (replies.clone(), delivered.clone());
        helper.block_on(common::serve_http(
            move |req: Request<hyper::body::Incoming>| {
                let (replies, delivered) = (replies.clone(), delivered.clone());
                async move {
                    let body = req.into_body().collect().await.expect("body").to_bytes();
                    let reply = replies
                        .lock()
                        .expect("lock")
                        .pop_front()
                        .unwrap_or(Reply::Status(200, None));
                    let (status, retry_after, answer) = match reply {
                        Reply::Status(s, after) => (s, after, Bytes::from_static(b"scripted")),
                        Reply::Partial(rejected) => {
                            let r = ExportMetricsServiceResponse {
                                partial_success: Some(ExportMetricsPartialSuccess {
                                    rejected_data_points: rejected,
                                    error_message: "one point refused".into(),
                                }),
                            };
                            (200, None, Bytes::from(r.encode_to_vec()))
                        }
                    };
                    if status == 200 {
                        delivered.lock().expect("lock").extend(delta_points(&body));
                    }
                    let mut response = Response::builder().status(status);
                    if let Some(after) = retry_after {
                        response = response.header("retry-after", after);
                    }
                    response.body(Full::new(answer)).expect("response")
                }
            },
        ))
    };
    let scripted = Scripted::default();
    let mut bridge = Bridge::start(
        &format!(
            "interval = \"1h\"\n[otlp]\nendpoint = \"http://{addr}\"\nprotocol = \"http/protobuf\"\ntemporality = \"delta\"\ntimeout = \"5s\"\nmax_attempts = 4\n"
        ),
        vec![(source_config("jobs", ""), Arc::new(scripted.clone()))],
    );
    // Five cycles: 503 then 200; 429 then 200; 400 (its increase must go with the next);
    // a partial success (accepted: not sent again); 200.
    let mut truth = 0;
    for (i, raw) in [10u64, 25, 31, 40, 52].into_iter().enumerate() {
        scripted.set(Snapshot::from_iter([Sample::counter("jobs", raw)]));
        truth = raw;
        cycle_and_wait(&mut bridge, i as u64);
    }
    let t = &bridge.telemetry.otlp;
    assert_eq!(
        (
            t.exports.load(Ordering::SeqCst),
            t.errors.load(Ordering::SeqCst)
        ),
        (4, 1),
        "one export refused (400)"
    );
    assert_eq!(t.rejected_points.load(Ordering::SeqCst), 1);
    let points = delivered.lock().expect("lock").clone();
    assert_eq!(points.len(), 4, "{points:?}");
    let sum: u64 = points.iter().map(|p| p.2).sum();
    assert_eq!(sum, truth, "the receiver's sum of deltas: {points:?}");
    for pair in points.windows(2) {
        assert_eq!(pair[1].0, pair[0].1, "contiguous: {points:?}");
    }
    assert_eq!(
        points[2].2,
        40 - 25,
        "the 400's increase went with the next"
    );
}
