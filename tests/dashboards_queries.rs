//! Every panel expression of every dashboard, with its template variables substituted,
//! parses and returns data: from a real Prometheus scraping the example systems of the seeds
//! (persistence, engine, job queue, operations — each a real little system exported by
//! snapbridge), and from VictoriaMetrics fed by the same examples over OTLP (with
//! Prometheus naming).

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::otlp::Victoria;
use common::prom::Prometheus;
use common::{Proc, free_port, http_get, wait_for};
use serde_json::Value as Json;

/// The example binaries cargo built next to this test (`cargo test` builds examples).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test path");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target dir")
        .join("examples");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "example {name} not built at {}: run cargo test (it builds examples)",
        path.display()
    );
    path
}

fn expressions() -> Vec<(String, String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dashboards");
    let mut out = Vec::new();
    for name in [
        "snapbridge-overview.json",
        "persistence.json",
        "job-queue.json",
        "operations.json",
    ] {
        let d: Json =
            serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap();
        for p in d["panels"].as_array().unwrap() {
            for t in p["targets"].as_array().unwrap() {
                let expr = t["expr"]
                    .as_str()
                    .unwrap()
                    .replace("$__rate_interval", "1m")
                    .replace("$source", ".*")
                    .replace("$job", ".*")
                    .replace("$instance", ".*");
                out.push((
                    name.to_string(),
                    p["title"].as_str().unwrap().to_string(),
                    expr,
                ));
            }
        }
    }
    out
}

#[test]
fn every_panel_returns_data_by_scrape_and_by_otlp() {
    let vm = Victoria::start();
    let dir = tempfile::tempdir().unwrap();
    let mut systems = Vec::new();
    let mut targets = Vec::new();
    for name in ["persistence", "engine", "job_queue", "operations"] {
        let port = free_port();
        let mut cmd = Command::new(example(name));
        cmd.args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--interval",
            "500ms",
        ])
        .arg("--dir")
        .arg(dir.path().join(name))
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", vm.otlp_base())
        .env("RUST_LOG", "warn");
        systems.push(Proc::spawn(
            name,
            cmd,
            dir.path().join(format!("{name}.log")),
        ));
        targets.push(format!("'127.0.0.1:{port}'"));
        wait_for(
            &format!("the {name} example's /metrics"),
            Duration::from_secs(30),
            || {
                let url = format!("http://127.0.0.1:{port}/metrics");
                ureq::get(&url).call().ok().map(|_| http_get(&url, &[]))
            },
        );
    }
    let prom = Prometheus::start_with(&format!(
        "  - job_name: examples\n    static_configs:\n      - targets: [{}]\n",
        targets.join(", ")
    ));
    let exprs = expressions();
    assert!(exprs.len() >= 25, "{} expressions", exprs.len());
    for (dashboard, title, expr) in &exprs {
        wait_for(
            &format!("Prometheus data for {dashboard} / {title}: {expr}"),
            Duration::from_secs(60),
            || (!prom.query(expr).is_empty()).then_some(()),
        );
        wait_for(
            &format!("VictoriaMetrics data for {dashboard} / {title}: {expr}"),
            Duration::from_secs(60),
            || (!vm.query(expr).is_empty()).then_some(()),
        );
    }
    drop(systems);
}
