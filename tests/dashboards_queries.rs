//! Every panel expression of every dashboard, with its template variables substituted,
//! parses and returns data: from a real Prometheus scraping snapbridge, and from
//! VictoriaMetrics fed by snapbridge over OTLP (with Prometheus naming).

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::otlp::Victoria;
use common::prom::Prometheus;
use common::{Bridge, Scripted, source_config, wait_for};
use serde_json::Value as Json;
use snapbridge::core::{Histogram, Sample, Snapshot};

/// The job queue of seed 004, as its JSON endpoint reports it.
fn job_queue(step: u64) -> Snapshot {
    let mut s = Snapshot::new();
    s.push(Sample::untyped("jobs_created", 10 * step + 5));
    s.push(Sample::untyped("jobs_completed", 9 * step));
    s.push(Sample::untyped("jobs_failed", step / 2));
    s.push(Sample::untyped("jobs_retried", step));
    s.push(Sample::untyped("jobs_in_progress", 2u64));
    s
}

/// Seed 002's operation records, as the batch-dir source aggregates them.
fn operations(step: u64) -> Snapshot {
    let mut s = Snapshot::new();
    for (ty, name, ok) in [
        ("api_request", "GET /api/users", "true"),
        ("db_query", "SELECT users", "false"),
    ] {
        s.push(
            Sample::counter("operations", 3 * step + 1)
                .with_label("operation_type", ty)
                .with_label("operation_name", name)
                .with_label("success", ok),
        );
        let obs: Vec<f64> = (0..(3 * step + 1))
            .map(|i| 0.001 * (i as f64 + 1.0))
            .collect();
        s.push(
            Sample::histogram(
                "operation_duration",
                Histogram::from_observations(vec![0.005, 0.05, 0.5, 5.0], &obs),
            )
            .with_unit("s")
            .with_label("operation_type", ty)
            .with_label("operation_name", name),
        );
    }
    s
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
    let (jobs, ops) = (Scripted::default(), Scripted::default());
    let config = format!(
        "interval = \"1h\"\n[otlp]\nendpoint = \"{}\"\nprotocol = \"http/protobuf\"\n[[source]]\nname = \"papyra\"\nkind = \"demo\"\ncounters = [\"records_*\", \"*_errors\", \"*_runs\", \"*_attempted\", \"*_failed\", \"anomalies_detected\", \"compactions_run\"]\n",
        vm.otlp_base()
    );
    let mut bridge = Bridge::start(
        &config,
        vec![
            (
                source_config(
                    "jobs",
                    "counters = [\"jobs_created\", \"jobs_completed\", \"jobs_failed\", \"jobs_retried\"]\ngauges = [\"*_in_progress\"]",
                ),
                Arc::new(jobs.clone()),
            ),
            (source_config("operations", ""), Arc::new(ops.clone())),
        ],
    );
    let prom = Prometheus::start(&bridge.addr.to_string());
    let telemetry = bridge.telemetry.clone();
    for step in 1..=4u64 {
        jobs.set(job_queue(step));
        ops.set(operations(step));
        let scrapes = bridge.scrapes();
        bridge.cycle();
        wait_for("the OTLP export", Duration::from_secs(20), || {
            (telemetry
                .otlp
                .exports
                .load(std::sync::atomic::Ordering::Relaxed)
                >= step)
                .then_some(())
        });
        wait_for("two scrapes", Duration::from_secs(20), || {
            (bridge.scrapes() >= scrapes + 2).then_some(())
        });
        std::thread::sleep(Duration::from_millis(300));
    }
    let exprs = expressions();
    assert!(exprs.len() >= 25, "{} expressions", exprs.len());
    for (dashboard, title, expr) in &exprs {
        wait_for(
            &format!("Prometheus data for {dashboard} / {title}: {expr}"),
            Duration::from_secs(30),
            || (!prom.query(expr).is_empty()).then_some(()),
        );
        wait_for(
            &format!("VictoriaMetrics data for {dashboard} / {title}: {expr}"),
            Duration::from_secs(30),
            || (!vm.query(expr).is_empty()).then_some(()),
        );
    }
}
