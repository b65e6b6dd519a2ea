//! Requests whose answer never comes, in delta mode: a receiver that stores every request
//! but answers after snapbridge's timeout, and a SIGKILL while that goes on. Each such
//! request may have been stored, so its points are sent again unchanged until one is
//! answered: the receiver holds copies of the same points, never two different points
//! over one interval, and once it answers in time the distinct points tile time and sum to
//! the source's true increments.

mod common;

use std::time::Duration;

use common::durable::{Counter, Snapbridge, assert_contiguous, cycles, delta_points};
use common::otlp::{GrpcReceiver, metrics_named};
use common::wait_for;

/// Every `jobs_done` point the receiver recorded, copies included.
fn all_points(rx: &GrpcReceiver) -> usize {
    rx.requests()
        .iter()
        .flat_map(|r| metrics_named(r, "jobs_done"))
        .map(|m| m["sum"]["dataPoints"].as_array().map_or(0, Vec::len))
        .sum()
}

#[test]
fn unanswered_requests_are_resent_unchanged_through_a_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("received.jsonl");
    let rx = GrpcReceiver::start(0, out.clone(), &[]);
    let port = rx.port;
    let mut counter = Counter::new(dir.path());
    let otlp = format!(
        "endpoint = \"{}\"\nprotocol = \"grpc\"\ntemporality = \"delta\"\nmax_attempts = 1",
        rx.endpoint()
    );
    let mut sb = Snapbridge::new(dir.path(), &counter, &otlp);
    counter.bump(3);
    sb.start();
    counter.count(4, 5);
    cycles(2);
    drop(rx);

    // Stored, then answered 3 s later: past snapbridge's 2 s timeout.
    let slow = GrpcReceiver::start(port, out.clone(), &["--delay", "3"]);
    counter.count(6, 2);
    // Killed while a request is out, unanswered.
    sb.sigkill();
    counter.bump(9);
    sb.start();
    counter.count(6, 1);
    // The receiver's stored copies of the unanswered requests land.
    std::thread::sleep(Duration::from_secs(4));
    drop(slow);

    let rx = GrpcReceiver::start(port, out, &[]);
    let truth = counter.truth as f64;
    let points = wait_for(
        "the distinct points to sum to the truth",
        Duration::from_secs(30),
        || {
            let points = delta_points(&rx);
            (points.iter().map(|p| p.1).sum::<f64>() == truth).then_some(points)
        },
    );
    // Copies of one point have one value (checked while reading) and make no gap or
    // overlap: a receiver that drops duplicates counts exactly the truth.
    assert_contiguous(&points);
    let copies = all_points(&rx) - points.len();
    assert!(
        copies > 0,
        "the unanswered requests were sent again: {points:?}"
    );
    let logs = sb.logs();
    assert!(logs.contains("sending again, unchanged"), "{logs}");
    eprintln!(
        "unanswered requests and a SIGKILL: {} distinct points sum to the truth {truth}, {copies} copies",
        points.len()
    );
}
