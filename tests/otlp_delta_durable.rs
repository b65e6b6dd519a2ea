//! Exact through restarts: a real snapbridge process, stopped with SIGTERM or SIGKILL and
//! started again on the same state file while its source counts on, pushing to real
//! receivers. Each scenario checks the receiver's number against the source's true
//! increments: the Collector's delta_to_cumulative total (delta), VictoriaMetrics' last
//! total (cumulative), or the sum of the distinct delta points the receiver built from the
//! official protos recorded, which must also tile time without gap or overlap.

mod common;

use std::time::Duration;

use common::durable::{Counter, INTERVAL_MS, Snapbridge, assert_contiguous, cycles, delta_points};
use common::otelcol::{Collector, Pipeline};
use common::otlp::{GrpcReceiver, Victoria};
use common::wait_for;

const AT: &[(&str, &str)] = &[("source", "jobs")];

fn collector_delta() -> Collector {
    Collector::start_with(Pipeline {
        processors: &["delta_to_cumulative"],
        ..Pipeline::default()
    })
}

#[test]
fn delta_through_two_sigterm_restarts_over_grpc_with_gzip_replies() {
    let dir = tempfile::tempdir().unwrap();
    let collector = collector_delta();
    let mut counter = Counter::new(dir.path());
    // gzip requests: the Collector gzips its replies, which must read as replies.
    let otlp = format!(
        "endpoint = \"{}\"\nprotocol = \"grpc\"\ntemporality = \"delta\"\ncompression = \"gzip\"",
        collector.grpc_endpoint()
    );
    let mut sb = Snapbridge::new(dir.path(), &counter, &otlp);
    counter.bump(5);
    sb.start();
    counter.count(6, 3);
    for _ in 0..2 {
        sb.sigterm();
        // The source counts on while snapbridge is down.
        counter.bump(11);
        sb.start();
        counter.count(6, 2);
    }
    collector.wait_value("jobs_done_total", AT, counter.truth as f64);
    let logs = sb.logs();
    assert!(
        !logs.contains("OTLP export failed"),
        "no export may fail:\n{logs}"
    );
    eprintln!(
        "delta, 2 SIGTERM restarts: Collector == truth {}",
        counter.truth
    );
}

#[test]
fn delta_through_sigkills_between_and_during_cycles() {
    let dir = tempfile::tempdir().unwrap();
    let collector = collector_delta();
    let mut counter = Counter::new(dir.path());
    let otlp = format!(
        "endpoint = \"{}\"\nprotocol = \"http/protobuf\"\ntemporality = \"delta\"",
        collector.http_endpoint()
    );
    let mut sb = Snapbridge::new(dir.path(), &counter, &otlp);
    counter.bump(4);
    sb.start();
    // Killed at different points of a cycle: after its export, or while one is out.
    for offset_ms in [INTERVAL_MS / 2, INTERVAL_MS / 5, INTERVAL_MS * 4 / 5] {
        counter.count(4, 7);
        std::thread::sleep(Duration::from_millis(offset_ms));
        sb.sigkill();
        counter.bump(13);
        sb.start();
    }
    counter.count(4, 1);
    collector.wait_value("jobs_done_total", AT, counter.truth as f64);
    // Each kill left a request marked sent: each restart sent it again, unchanged, and the
    // Collector dropped the copies it had (else its total would be above the truth).
    let logs = sb.logs();
    let resent = logs.matches("sending again, unchanged").count();
    assert!(resent >= 3, "{resent} resends after 3 SIGKILLs:\n{logs}");
    eprintln!(
        "delta, 3 SIGKILLs: Collector == truth {}, {resent} identical resends",
        counter.truth
    );
}

#[test]
fn a_held_value_then_a_reset_and_counting_while_down() {
    let dir = tempfile::tempdir().unwrap();
    let collector = collector_delta();
    let mut counter = Counter::new(dir.path());
    let otlp = format!(
        "endpoint = \"{}\"\nprotocol = \"grpc\"\ntemporality = \"delta\"",
        collector.grpc_endpoint()
    );
    let mut sb = Snapbridge::new(dir.path(), &counter, &otlp);
    sb.start();
    counter.count(5, 10);
    // The value holds for a few cycles.
    cycles(4);
    sb.sigterm();
    // While snapbridge is down the application restarts and counts 7 again.
    counter.reset();
    counter.bump(7);
    sb.start();
    cycles(3);
    counter.count(2, 1);
    collector.wait_value("jobs_done_total", AT, counter.truth as f64);
    assert_eq!(counter.truth, 59);
}

#[test]
fn cumulative_through_two_sigterm_restarts_into_victoria_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let vm = Victoria::start();
    let mut counter = Counter::new(dir.path());
    let otlp = format!(
        "endpoint = \"{}\"\nprotocol = \"http/protobuf\"\ntemporality = \"cumulative\"",
        vm.otlp_base()
    );
    let mut sb = Snapbridge::new(dir.path(), &counter, &otlp);
    counter.bump(5);
    sb.start();
    counter.count(5, 3);
    for _ in 0..2 {
        sb.sigterm();
        counter.reset();
        counter.bump(4);
        sb.start();
        counter.count(5, 2);
    }
    let truth = counter.truth as f64;
    let mut last = Vec::new();
    let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for(
            "VictoriaMetrics' last total",
            Duration::from_secs(30),
            || {
                last = vm.query("jobs_done_total{source=\"jobs\"}");
                (last.len() == 1 && last[0].1 == truth).then_some(())
            },
        )
    }));
    assert!(
        found.is_ok(),
        "wanted {truth}, VictoriaMetrics has {last:?}"
    );
}

#[test]
fn receiver_down_for_ten_cycles_with_a_restart_in_the_middle() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("received.jsonl");
    // It gzips its replies, as the Collector does to a gzip request.
    let rx = GrpcReceiver::start(0, out.clone(), &["--gzip-replies"]);
    let port = rx.port;
    let mut counter = Counter::new(dir.path());
    let otlp = format!(
        "endpoint = \"{}\"\nprotocol = \"grpc\"\ntemporality = \"delta\"",
        rx.endpoint()
    );
    let mut sb = Snapbridge::new(dir.path(), &counter, &otlp);
    counter.bump(2);
    sb.start();
    counter.count(4, 5);
    cycles(2);
    let before = delta_points(&rx);
    let delivered = before.iter().map(|p| p.1).sum::<f64>();
    assert_eq!(delivered, counter.truth as f64, "{before:?}");
    let last_end = before.last().expect("points before the outage").0.1;
    drop(rx);

    // Ten cycles without a receiver, snapbridge restarted in the middle.
    let during = counter.truth;
    counter.count(10, 1);
    sb.sigterm();
    counter.bump(20);
    sb.start();
    counter.count(10, 1);
    let outage = counter.truth - during;
    let rx = GrpcReceiver::start(port, out, &["--gzip-replies"]);
    let points = wait_for("the outage's increase", Duration::from_secs(30), || {
        let points = delta_points(&rx);
        let sum: f64 = points.iter().map(|p| p.1).sum();
        (sum == counter.truth as f64).then_some(points)
    });
    assert_contiguous(&points);
    // Nothing queued per cycle: the first point after the outage carries all of it, from
    // where the last delivered one ended.
    let first_after = points
        .iter()
        .find(|p| p.0.0 == last_end)
        .expect("a point starting at the last delivered end");
    assert_eq!(first_after.1, outage as f64, "{points:?}");
    let logs = sb.logs();
    assert!(
        logs.contains("OTLP export failed"),
        "the outage was seen:\n{logs}"
    );
    eprintln!(
        "receiver down 10 cycles: {} points, outage increase {outage} in one",
        points.len()
    );
}
