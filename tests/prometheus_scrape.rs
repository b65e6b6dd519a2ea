//! A real Prometheus scrapes snapbridge every second while a test source goes through
//! increments and two resets: the `_total`s Prometheus stores equal the true increments.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::prom::Prometheus;
use common::{Bridge, Scripted, source_config, wait_for};
use snapbridge::core::{Sample, Snapshot};

const TRICKY: &str = "a \"quoted\" \\ back\\slash\nnew line ünïcode";

fn snapshot(written: u64, errors: u64, queue: f64, tricky_total: u64) -> Snapshot {
    let mut s = Snapshot::new();
    s.push(Sample::untyped("records_written", written));
    s.push(Sample::untyped("write_errors", errors));
    s.push(Sample::untyped("queue_size", queue));
    s.push(Sample::counter("requests", tricky_total).with_label("path", TRICKY));
    s
}

#[test]
fn prometheus_stores_exact_totals_across_two_resets() {
    let scripted = Scripted::default();
    let sc = source_config(
        "scripted",
        "counters = [\"records_*\", \"*_errors\"]\ngauges = [\"queue_size\"]\nlabels = { service = \"papyra\" }",
    );
    let mut bridge = Bridge::start(
        "interval = \"1h\"\n",
        vec![(sc, Arc::new(scripted.clone()))],
    );
    let prom = Prometheus::start(&bridge.addr.to_string());

    // (reset first?, +written, +errors, queue size)
    let steps: &[(bool, u64, u64, f64)] = &[
        (false, 120, 1, 3.0),
        (false, 380, 0, 7.0),
        (false, 1000, 4, 2.0),
        (true, 15, 0, 9.0), // reset() to 0, then 15 more
        (false, 40, 2, 1.0),
        (false, 0, 0, 4.0),
        (true, 0, 0, 5.0), // reset() with nothing after it
        (false, 333, 3, 6.0),
    ];
    let (mut written, mut errors, mut tricky) = (0u64, 0u64, 0u64);
    let (mut true_written, mut true_errors) = (0u64, 0u64);
    let mut last_queue = 0.0;
    for &(reset, dw, de, queue) in steps {
        if reset {
            written = 0;
            errors = 0;
        }
        written += dw;
        errors += de;
        tricky += 1;
        true_written += dw;
        true_errors += de;
        last_queue = queue;
        scripted.set(snapshot(written, errors, queue, tricky));
        bridge.cycle();
        // Two scrapes after the swap: at least one of them read this cycle's view.
        let seen = bridge.scrapes();
        wait_for(
            "two scrapes of the new view",
            Duration::from_secs(20),
            || (bridge.scrapes() >= seen + 2).then_some(()),
        );
    }

    let sel = "{source=\"scripted\",service=\"papyra\"}";
    prom.wait_value(
        &format!("records_written_total{sel}"),
        true_written as f64,
        Duration::from_secs(30),
    );
    prom.wait_value(
        &format!("write_errors_total{sel}"),
        true_errors as f64,
        Duration::from_secs(30),
    );
    prom.wait_value(
        &format!("queue_size{sel}"),
        last_queue,
        Duration::from_secs(30),
    );
    // The exported totals never went down, so Prometheus saw no counter reset at all.
    prom.wait_value(
        &format!("resets(records_written_total{sel}[10m]) + resets(write_errors_total{sel}[10m])"),
        0.0,
        Duration::from_secs(10),
    );
    // snapbridge counted the two resets of each of the two counters.
    prom.wait_value(
        "snapbridge_source_resets_total{source=\"scripted\"}",
        4.0,
        Duration::from_secs(10),
    );
    prom.wait_value(
        "snapbridge_source_up{source=\"scripted\"}",
        1.0,
        Duration::from_secs(10),
    );

    // A label value with quotes, backslashes, a newline and non-ASCII arrives intact.
    let got = prom.query("requests_total{source=\"scripted\"}");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0["path"], TRICKY);
    assert_eq!(got[0].1, tricky as f64);
}
