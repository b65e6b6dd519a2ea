//! A real Prometheus 3 started without its `otlp-deltatocumulative` feature refuses delta
//! sums; snapbridge's export error says why and what to change, on the status page too.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::prom::Prometheus;
use common::{Bridge, Scripted, http_get, source_config, wait_for};
use snapbridge::core::{MetricsSource, Sample, Snapshot};

#[test]
fn a_delta_refusal_by_prometheus_says_how_to_fix_it() {
    let prom = Prometheus::otlp_receiver(&[]);
    let scripted = Scripted::default();
    let mut s = Snapshot::new();
    s.push(Sample::counter("jobs_done", 7u64));
    scripted.set(s);
    let source: Arc<dyn MetricsSource> = Arc::new(scripted.clone());
    let config = format!(
        "interval = \"1h\"\n[otlp]\nendpoint = \"{}\"\nprotocol = \"http/protobuf\"\ntemporality = \"delta\"\n",
        prom.otlp_base()
    );
    let mut bridge = Bridge::start(&config, vec![(source_config("refused", ""), source)]);
    bridge.cycle();
    let telemetry = bridge.telemetry.clone();
    let error = wait_for(
        "the refused export",
        Duration::from_secs(30),
        || match telemetry.otlp.last_result() {
            Some((_, Err(e))) => Some(e),
            _ => None,
        },
    );
    assert!(telemetry.otlp.errors.load(Ordering::Relaxed) >= 1);
    for words in [
        "refused delta temporality",
        "otlp-deltatocumulative",
        "temporality = \"cumulative\"",
        "invalid temporality and type combination",
    ] {
        assert!(error.contains(words), "{words:?} in {error}");
    }
    let (_, _, _, page) = http_get(&bridge.url("/"), &[]);
    let page = String::from_utf8_lossy(&page);
    assert!(
        page.contains("otlp-deltatocumulative"),
        "the status page shows the explanation:\n{page}"
    );
}
