//! OTLP to `https` endpoints: TLS with a private CA given as `[otlp] ca_file` (or
//! `OTEL_EXPORTER_OTLP_CERTIFICATE`), over gRPC (the receiver built from the official protos)
//! and HTTP/protobuf (VictoriaMetrics serving TLS).

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::otlp::{GrpcReceiver, metrics_named};
use common::tls::certificates;
use common::{Bridge, Proc, Scripted, free_port, peer, source_config, wait_for};
use snapbridge::core::Sample;

fn config(endpoint: &str, protocol: &str, ca: &Path) -> String {
    format!(
        "interval = \"1h\"\n[otlp]\nendpoint = \"{endpoint}\"\nprotocol = \"{protocol}\"\nca_file = \"{}\"\ntimeout = \"5s\"\n",
        ca.display()
    )
}

#[test]
fn grpc_over_tls_with_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let cert = dir.path().join("server.pem").display().to_string();
    let key = dir.path().join("server.key").display().to_string();
    let rx = GrpcReceiver::start(
        0,
        dir.path().join("tls.jsonl"),
        &["--tls-cert", &cert, "--tls-key", &key],
    );
    let scripted = Scripted::default();
    scripted.set(
        [Sample::counter("records_written", 42)]
            .into_iter()
            .collect(),
    );
    let endpoint = format!("https://127.0.0.1:{}", rx.port);
    let mut bridge = Bridge::start(
        &config(&endpoint, "grpc", &dir.path().join("ca.pem")),
        vec![(source_config("tls", ""), Arc::new(scripted))],
    );
    bridge.cycle();
    let reqs = rx.wait_requests(1);
    assert!(!metrics_named(&reqs[0], "records_written").is_empty());
}

#[test]
fn http_protobuf_over_tls_with_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let port = free_port();
    let mut cmd = Command::new(peer("SNAPBRIDGE_VICTORIA_METRICS", "bin/victoria-metrics"));
    cmd.arg(format!(
        "-storageDataPath={}",
        dir.path().join("vm").display()
    ))
    .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
    .arg("-tls")
    .arg(format!(
        "-tlsCertFile={}",
        dir.path().join("server.pem").display()
    ))
    .arg(format!(
        "-tlsKeyFile={}",
        dir.path().join("server.key").display()
    ))
    .arg("-search.latencyOffset=0s")
    .arg("-opentelemetry.usePrometheusNaming");
    let _vm = Proc::spawn("victoria-metrics", cmd, dir.path().join("vm.log"));
    let scripted = Scripted::default();
    scripted.set(
        [Sample::counter("records_written", 42)]
            .into_iter()
            .collect(),
    );
    let endpoint = format!("https://127.0.0.1:{port}/opentelemetry");
    let mut bridge = Bridge::start(
        &config(&endpoint, "http/protobuf", &dir.path().join("ca.pem")),
        vec![(source_config("tls", ""), Arc::new(scripted))],
    );
    let telemetry = bridge.telemetry.clone();
    // VictoriaMetrics needs a moment to listen: the sink retries, and so do we.
    wait_for(
        "an accepted export over TLS",
        Duration::from_secs(30),
        || {
            bridge.cycle();
            std::thread::sleep(Duration::from_millis(300));
            (telemetry
                .otlp
                .exports
                .load(std::sync::atomic::Ordering::Relaxed)
                > 0)
            .then_some(())
        },
    );
    // Without the CA the same endpoint is refused: the certificate is really checked.
    let mut untrusting = Bridge::start(
        &format!(
            "interval = \"1h\"\n[otlp]\nendpoint = \"{endpoint}\"\nprotocol = \"http/protobuf\"\ntimeout = \"2s\"\nmax_attempts = 1\n"
        ),
        vec![],
    );
    let t2 = untrusting.telemetry.clone();
    untrusting.cycle();
    wait_for(
        "the untrusted export to fail",
        Duration::from_secs(20),
        || (t2.otlp.errors.load(std::sync::atomic::Ordering::Relaxed) > 0).then_some(()),
    );
    let last = t2.otlp.last_result().expect("a result");
    assert!(
        format!("{:?}", last.1)
            .to_lowercase()
            .contains("certificate"),
        "{last:?}"
    );
}
