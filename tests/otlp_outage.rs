//! The OTLP receiver goes away for three cycles and comes back: no crash, the failures are
//! counted, the first export after it returns carries the right totals, and memory did not
//! grow while it was away. (Alone in its file: RSS is read from this test process.)

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::otlp::{GrpcReceiver, metrics_named, point_value};
use common::{Bridge, Scripted, free_port, http_get, rss_kib, source_config, wait_for};
use snapbridge::core::{Sample, Snapshot};

fn snapshot(step: u64) -> Snapshot {
    // 5 000 series, so a leak per failed export would show in RSS.
    (0..5_000u64)
        .map(|i| {
            Sample::counter("records_written", step * 10 + i % 7).with_label("shard", i.to_string())
        })
        .collect()
}

#[test]
fn receiver_down_for_three_cycles_then_back() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let rx = GrpcReceiver::start(port, dir.path().join("before.jsonl"), &[]);
    let scripted = Scripted::default();
    let config = format!(
        "interval = \"1h\"\n[otlp]\nendpoint = \"{}\"\nprotocol = \"grpc\"\ntimeout = \"1s\"\nmax_attempts = 2\n",
        rx.endpoint()
    );
    let mut bridge = Bridge::start(
        &config,
        vec![(source_config("outage", ""), Arc::new(scripted.clone()))],
    );
    let telemetry = bridge.telemetry.clone();
    let mut step = 0;
    for n in 1..=3 {
        step += 1;
        scripted.set(snapshot(step));
        bridge.cycle();
        rx.wait_requests(n);
    }
    // The receiver stores a request before it answers: killed in between, the third export
    // would fail too. It goes down once snapbridge has had all three answers.
    wait_for("the three answers", Duration::from_secs(20), || {
        (telemetry.otlp.exports.load(Ordering::Relaxed) >= 3).then_some(())
    });
    let before = rss_kib();
    drop(rx); // killed by PID

    for n in 1..=3u64 {
        step += 1;
        scripted.set(snapshot(step));
        bridge.cycle();
        wait_for(
            "the failed export to be counted",
            Duration::from_secs(20),
            || (telemetry.otlp.errors.load(Ordering::Relaxed) >= n).then_some(()),
        );
    }
    assert_eq!(telemetry.otlp.errors.load(Ordering::Relaxed), 3);

    let rx = GrpcReceiver::start(port, dir.path().join("after.jsonl"), &[]);
    step += 1;
    scripted.set(snapshot(step));
    bridge.cycle();
    let reqs = rx.wait_requests(1);
    let points: Vec<_> = metrics_named(&reqs[0], "records_written")
        .into_iter()
        .flat_map(|m| m["sum"]["dataPoints"].as_array().unwrap().iter())
        .collect();
    assert_eq!(points.len(), 5_000);
    // Cumulative totals: the increases made during the outage are all there.
    let total: f64 = points.iter().map(|p| point_value(p)).sum();
    let want: u64 = (0..5_000u64).map(|i| step * 10 + i % 7).sum();
    assert_eq!(total, want as f64);

    // The view of this cycle was built after the three failures: they are in it.
    let (_, _, _, body) = http_get(&bridge.url("/metrics"), &[]);
    let body = String::from_utf8(body).unwrap();
    assert!(
        body.contains("snapbridge_export_errors_total{sink=\"otlp\"} 3\n"),
        "{body}"
    );

    let after = rss_kib();
    let grown = after as f64 / before as f64;
    // Requests kept during the outage would grow it with every cycle; 25% covers the
    // allocator's per-thread arenas on a busy machine.
    assert!(
        grown < 1.25,
        "RSS grew from {before} KiB to {after} KiB during the outage"
    );
    eprintln!("RSS before the outage {before} KiB, after {after} KiB");
}
