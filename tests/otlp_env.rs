//! The standard OTEL_* variables configure the binary's OTLP export as they would any
//! OpenTelemetry SDK; headers arrive but never reach the logs; SIGTERM ends with a final
//! pull and flush.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::otlp::{GrpcReceiver, metrics_named};
use common::{Proc, free_port, wait_for};

#[test]
fn otel_variables_drive_the_export_and_sigterm_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let rx = GrpcReceiver::start(0, dir.path().join("env.jsonl"), &[]);
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "interval = \"1h\"\n[[source]]\nname = \"papyra\"\nkind = \"demo\"\ncounters = [\"records_*\"]\n").unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_snapbridge"));
    cmd.arg("--config")
        .arg(&config)
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint())
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .env("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s3cr3t-value")
        .env(
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment=ci,service.name=overridden",
        )
        .env("OTEL_SERVICE_NAME", "bridge-under-test")
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null());
    let log = dir.path().join("snapbridge.log");
    let mut proc = Proc::spawn("snapbridge", cmd, log.clone());
    let first = rx.wait_requests(1);
    let resource: Vec<(String, String)> = first[0]["resourceMetrics"][0]["resource"]["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| {
            (
                kv["key"].as_str().unwrap().to_string(),
                kv["value"]["stringValue"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    assert!(
        resource.contains(&("service.name".into(), "bridge-under-test".into())),
        "{resource:?}"
    );
    assert!(
        resource.contains(&("deployment.environment".into(), "ci".into())),
        "{resource:?}"
    );
    assert_eq!(first[0]["_metadata"]["x-api-key"], "s3cr3t-value");
    assert!(!metrics_named(&first[0], "records_written").is_empty());

    // SIGTERM: a last pull (cycle 2) and its flush, then a clean exit.
    let status = proc
        .terminate(Duration::from_secs(15))
        .expect("exits after SIGTERM");
    assert!(status.success(), "{status:?}\n{}", proc.log_tail());
    let reqs = wait_for("the final flush", Duration::from_secs(5), || {
        let r = rx.requests();
        (r.len() >= 2).then_some(r)
    });
    let cycle = metrics_named(reqs.last().unwrap(), "snapbridge_cycle")[0]["gauge"]["dataPoints"]
        [0]["asDouble"]
        .clone();
    assert_eq!(cycle, 2.0);
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(
        !logs.contains("s3cr3t-value"),
        "a header value reached the logs:\n{logs}"
    );
    assert!(logs.contains("OTLP export enabled"), "{logs}");
}
