//! SIGTERM while Prometheus-style scrapes run and an OTLP export is in flight: snapbridge
//! answers the scrapes it accepted, runs a last pull, flushes it over OTLP and exits 0,
//! all within its shutdown timeout.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::otlp::{GrpcReceiver, metrics_named};
use common::{Proc, free_port, wait_for};

#[test]
fn sigterm_under_load_finishes_with_a_final_flush() {
    let dir = tempfile::tempdir().unwrap();
    // Every export takes 1 s to be answered: one is in flight when SIGTERM arrives.
    let rx = GrpcReceiver::start(0, dir.path().join("shutdown.jsonl"), &["--delay", "1"]);
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            "interval = \"500ms\"\nshutdown_timeout = \"4s\"\n[otlp]\nendpoint = \"{}\"\nprotocol = \"grpc\"\n[[source]]\nname = \"papyra\"\nkind = \"demo\"\ncounters = [\"records_*\"]\n",
            rx.endpoint()
        ),
    )
    .unwrap();
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_snapbridge"));
    cmd.arg("--config")
        .arg(&config)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "info");
    let mut proc = Proc::spawn("snapbridge", cmd, dir.path().join("snapbridge.log"));
    rx.wait_requests(2);

    // Four scrapers hammer /metrics until the process is gone.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed_before_stop) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let terminating = Arc::new(AtomicBool::new(false));
    let scrapers: Vec<_> = (0..4)
        .map(|_| {
            let (stop, ok, failed, terminating) = (
                stop.clone(),
                ok.clone(),
                failed_before_stop.clone(),
                terminating.clone(),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match ureq::get(&format!("http://127.0.0.1:{port}/metrics")).call() {
                        Ok(r) if r.status() == 200 => {
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        _ if terminating.load(Ordering::Relaxed) => {}
                        _ => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    wait_for("scrapes under way", Duration::from_secs(10), || {
        (ok.load(Ordering::Relaxed) > 20).then_some(())
    });

    let before = rx.requests().len();
    let t = Instant::now();
    terminating.store(true, Ordering::Relaxed);
    let status = proc
        .terminate(Duration::from_secs(12))
        .expect("exits after SIGTERM");
    let took = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    for s in scrapers {
        s.join().unwrap();
    }
    assert!(status.success(), "{status:?}\n{}", proc.log_tail());
    // The last pull and the flush are each bounded by shutdown_timeout (4 s): 8 s, and the
    // rest of the 12 s for a busy machine.
    assert!(took < Duration::from_secs(11), "took {took:?}");
    assert_eq!(
        failed_before_stop.load(Ordering::Relaxed),
        0,
        "scrapes failed before SIGTERM"
    );
    let reqs = wait_for("the final flush", Duration::from_secs(5), || {
        let r = rx.requests();
        (r.len() > before).then_some(r)
    });
    let logs = std::fs::read_to_string(dir.path().join("snapbridge.log")).unwrap();
    let final_cycle: u64 = logs
        .lines()
        .find(|l| l.contains("final cycle published"))
        .and_then(|l| l.split("cycle=").nth(1))
        .and_then(|c| c.trim().parse().ok())
        .unwrap_or_else(|| panic!("no final cycle in the log:\n{logs}"));
    let last = reqs.last().unwrap();
    let cycle = metrics_named(last, "snapbridge_cycle")[0]["gauge"]["dataPoints"][0]["asDouble"]
        .as_f64()
        .unwrap();
    assert_eq!(
        cycle as u64, final_cycle,
        "the last export carries the final cycle"
    );
    eprintln!(
        "shutdown under load: {took:?}, {} scrapes served",
        ok.load(Ordering::Relaxed)
    );
}
