//! `/metrics` over TLS with basic auth (bcrypt), configured like Prometheus exporters' web
//! config, scraped by a real Prometheus: the right credentials get data, wrong ones and
//! plain HTTP get nothing.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::prom::Prometheus;
use common::tls::certificates;
use common::{Bridge, Scripted, source_config, wait_for};
use snapbridge::core::Sample;

#[test]
fn prometheus_scrapes_over_tls_with_basic_auth_and_nothing_else_gets_in() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let hash = bcrypt::hash("s3cret", 6).unwrap();
    let config = format!(
        "interval = \"1h\"\n[prometheus.tls_server_config]\ncert_file = \"{}\"\nkey_file = \"{}\"\n[prometheus.basic_auth_users]\nalice = \"{hash}\"\n",
        dir.path().join("server.pem").display(),
        dir.path().join("server.key").display()
    );
    let scripted = Scripted::default();
    scripted.set(
        [Sample::counter("records_written", 42)]
            .into_iter()
            .collect(),
    );
    let mut bridge = Bridge::start(
        &config,
        vec![(source_config("secure", ""), Arc::new(scripted))],
    );
    bridge.cycle();
    let target = bridge.addr.to_string();
    let ca = dir.path().join("ca.pem").display().to_string();
    let job = |name: &str, scheme: &str, password: &str| {
        format!(
            "  - job_name: {name}\n    scheme: {scheme}\n    tls_config: {{ca_file: '{ca}'}}\n    basic_auth: {{username: alice, password: '{password}'}}\n    static_configs:\n      - targets: ['{target}']\n"
        )
    };
    let prom = Prometheus::start_with(&format!(
        "{}{}{}",
        job("good", "https", "s3cret"),
        job("wrong_password", "https", "nope"),
        job("plain_http", "http", "s3cret")
    ));
    prom.wait_value(
        "records_written_total{job=\"good\"}",
        42.0,
        Duration::from_secs(30),
    );
    prom.wait_value("up{job=\"good\"}", 1.0, Duration::from_secs(10));
    prom.wait_value("up{job=\"wrong_password\"}", 0.0, Duration::from_secs(30));
    prom.wait_value("up{job=\"plain_http\"}", 0.0, Duration::from_secs(30));
    assert!(
        prom.query("records_written_total{job!=\"good\"}")
            .is_empty()
    );
    // The refusals were counted.
    wait_for("refusals counted", Duration::from_secs(10), || {
        (bridge
            .telemetry
            .prometheus
            .errors
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0)
        .then_some(())
    });
}
