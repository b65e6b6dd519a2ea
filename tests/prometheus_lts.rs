//! Compatibility with Prometheus 2.53, the LTS release many still run (the main tests use
//! Prometheus 3): it scrapes snapbridge in the format it prefers and stores exact totals
//! through a reset, histogram included.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::prom::{Prometheus, Version};
use common::scenario::drive;
use common::{Bridge, Scripted, source_config, wait_for};

#[test]
fn prometheus_2_53_stores_exact_totals_through_a_reset() {
    let scripted = Scripted::default();
    let mut bridge = Bridge::start(
        "interval = \"1h\"\n",
        vec![(source_config("lts", ""), Arc::new(scripted.clone()))],
    );
    let prom = Prometheus::start_full(
        Version::Lts,
        &format!(
            "  - job_name: snapbridge\n    static_configs:\n      - targets: ['{}']\n",
            bridge.addr
        ),
        &[],
    );
    let telemetry = bridge.telemetry.clone();
    let scrapes = move || telemetry.prometheus.exports.load(Ordering::Relaxed);
    let truth = drive(&mut [&mut bridge], &scripted, |_| {
        let before = scrapes();
        wait_for("two scrapes of the cycle", Duration::from_secs(20), || {
            (scrapes() >= before + 2).then_some(())
        });
    });
    let sel = "{source=\"lts\"}";
    let wait = Duration::from_secs(30);
    prom.wait_value(
        &format!("records_written_total{sel}"),
        truth.written as f64,
        wait,
    );
    prom.wait_value(
        &format!("op_duration_seconds_count{sel}"),
        truth.observations as f64,
        wait,
    );
    prom.wait_value(
        "sum(op_duration_seconds_bucket{source=\"lts\",le=\"+Inf\"})",
        truth.observations as f64,
        wait,
    );
    prom.wait_value(&format!("queue_size{sel}"), truth.queue, wait);
    prom.wait_value("up{job=\"snapbridge\"}", 1.0, wait);
}
