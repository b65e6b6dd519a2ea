//! A receiver that takes 10 s per request, then one that refuses every request: the pull
//! loop and `/metrics` keep their pace, failures are counted, memory stays flat.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::otlp::GrpcReceiver;
use common::{Bridge, Scripted, http_get, rss_kib, source_config, wait_for};
use snapbridge::core::{Sample, Snapshot};

fn snapshot(step: u64) -> Snapshot {
    (0..2_000u64)
        .map(|i| Sample::counter("records_written", step + i).with_label("i", i.to_string()))
        .collect()
}

#[test]
fn slow_and_refusing_receivers_never_stall_the_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    for (what, extra, expect_errors) in [
        ("slow", vec!["--delay", "10"], false),
        ("refusing", vec!["--fail-code", "INVALID_ARGUMENT"], true),
    ] {
        let rx = GrpcReceiver::start(0, dir.path().join(format!("{what}.jsonl")), &extra);
        let scripted = Scripted::default();
        let config = format!(
            "interval = \"1h\"\n[otlp]\nendpoint = \"{}\"\nprotocol = \"grpc\"\ntimeout = \"10s\"\nmax_attempts = 1\n",
            rx.endpoint()
        );
        let mut bridge = Bridge::start(
            &config,
            vec![(source_config(what, ""), Arc::new(scripted.clone()))],
        );
        let telemetry = bridge.telemetry.clone();
        scripted.set(snapshot(0));
        bridge.cycle();
        let before = rss_kib();
        // Ten cycles while the receiver is slow or refusing: each cycle and each scrape stays fast.
        for step in 1..=10 {
            scripted.set(snapshot(step));
            let t = Instant::now();
            bridge.cycle();
            let (status, _, _, _) = http_get(&bridge.url("/metrics"), &[]);
            assert_eq!(status, 200);
            // The receiver takes 10 s or refuses: a cycle that waited for it would take that
            // long. 5 s leaves a busy machine its margin.
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "{what}: cycle + scrape took {:?}",
                t.elapsed()
            );
        }
        if expect_errors {
            wait_for("refusals counted", Duration::from_secs(10), || {
                (telemetry.otlp.errors.load(Ordering::Relaxed) >= 1).then_some(())
            });
            let last = telemetry.otlp.last_result().expect("a result").1;
            assert!(format!("{last:?}").contains("InvalidArgument"), "{last:?}");
        } else {
            // At most one request is in flight: the slow receiver got at most two.
            assert!(
                rx.requests().len() <= 2,
                "{what}: {} requests",
                rx.requests().len()
            );
        }
        let after = rss_kib();
        // Views piling up would grow it by tens of MiB; the margin covers the allocator's
        // per-thread arenas on a busy machine.
        assert!(
            after < before + 32 * 1024,
            "{what}: RSS grew from {before} to {after} KiB"
        );
        eprintln!(
            "{what}: RSS {before} -> {after} KiB, export errors {}",
            telemetry.otlp.errors.load(Ordering::Relaxed)
        );
    }
}
