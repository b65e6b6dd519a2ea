//! The smallest embedding (`examples/minimal`, a crate of its own), built as an application
//! that wants `/metrics` alone builds snapbridge (`default-features = false, features =
//! ["prometheus"]`): it leaves out redis, gRPC, protobuf, TLS and the command-line parser,
//! and a real Prometheus 3 scraping it sees exactly the counts the application made.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::prom::Prometheus;
use common::{Proc, free_port};

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

/// A target directory of its own: snapbridge's features differ from the test build's, and
/// the test build's directory is locked by the `cargo test` running this.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("minimal-embedding")
}

/// Builds the example crate alone (so only its features count); returns its binary.
fn build_minimal() -> PathBuf {
    let out = cargo()
        .args(["build", "--locked", "-p", "snapbridge-minimal"])
        .arg("--target-dir")
        .arg(target_dir())
        .output()
        .expect("run cargo build");
    assert!(
        out.status.success(),
        "cargo build -p snapbridge-minimal:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target_dir().join("debug/snapbridge-minimal")
}

#[test]
fn the_prometheus_only_build_leaves_out_redis_grpc_tls_and_clap() {
    let out = cargo()
        .args([
            "tree",
            "--locked",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            "snapbridge-minimal",
        ])
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        crates.contains(&"hyper"),
        "the endpoint's HTTP server is in:\n{tree}"
    );
    for left_out in [
        "redis",
        "tonic",
        "prost",
        "opentelemetry-proto",
        "bcrypt",
        "rustls",
        "tokio-rustls",
        "hyper-rustls",
        "ring",
        "clap",
        "tracing-subscriber",
    ] {
        assert!(
            !crates.contains(&left_out),
            "{left_out} is in the Prometheus-only build:\n{tree}"
        );
    }
}

#[test]
fn prometheus_scrapes_the_exact_counts_of_the_minimal_embedding() {
    let binary = build_minimal();
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let mut app = Command::new(&binary);
    // 1000 jobs, every tenth fails; then it serves for an hour (stopped by PID below).
    app.args([&format!("127.0.0.1:{port}"), "1000", "3600"]);
    let app = Proc::spawn("minimal", app, dir.path().join("minimal.log"));
    let prom = Prometheus::start(&format!("127.0.0.1:{port}"));
    let patience = Duration::from_secs(60);
    prom.wait_value(r#"jobs_done_total{source="app"}"#, 900.0, patience);
    prom.wait_value(r#"jobs_failed_total{source="app"}"#, 100.0, patience);
    prom.wait_value(r#"up{job="snapbridge"}"#, 1.0, patience);
    let series = prom.query(r#"{__name__=~"jobs_.*_total", job="snapbridge"}"#);
    let mut names: Vec<String> = series
        .iter()
        .filter_map(|(labels, _)| labels.get("__name__")?.as_str().map(str::to_string))
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["jobs_done_total", "jobs_failed_total"],
        "log:\n{}",
        app.log_tail()
    );
}

#[test]
fn the_minimal_embedding_stops_cleanly_after_its_last_cycle() {
    let binary = build_minimal();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut app = Command::new(&binary);
    // Port 0: any free port; 10 jobs; serve for 2 s, then shut down.
    app.args(["127.0.0.1:0", "10", "2"]);
    let mut app = Proc::spawn("minimal", app, dir.path().join("minimal.log"));
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Ok(Some(status)) = app.child.try_wait() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "still running after 60 s:\n{}",
            app.log_tail()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = app.log_tail();
    assert!(status.success(), "exit {status}:\n{log}");
    assert!(log.contains("serving http://127.0.0.1:"), "{log}");
    assert!(log.contains("ran 10 jobs"), "{log}");
}

#[test]
fn keys_of_the_left_out_features_are_refused_by_name() {
    // The example crate's own tests, run with snapbridge's `prometheus` feature alone:
    // `[otlp]`, `kind = "redis"`, `tls_server_config`, `https://` name their feature.
    let out = cargo()
        .args(["test", "--locked", "-p", "snapbridge-minimal"])
        .arg("--target-dir")
        .arg(target_dir())
        .output()
        .expect("run cargo test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "cargo test -p snapbridge-minimal:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("test result: ok. 5 passed"),
        "the five left-out-feature tests ran:\n{stdout}"
    );
}
