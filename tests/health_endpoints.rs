//! `/-/healthy` and `/-/ready`, asked over real HTTP: ready only once a cycle was published
//! and no longer once shutdown began; healthy throughout; both behind the same basic auth as
//! every other path.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{Bridge, Scripted, http_get, source_config, wait_for};
use snapbridge::core::{MetricsSource, Sample, Snapshot, SourceError};
use snapbridge::sources::SourceConfig;

fn get(url: &str) -> (u16, String) {
    let (status, _, _, body) = http_get(url, &[]);
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[test]
fn ready_only_after_the_first_cycle_healthy_from_the_start() {
    let scripted = Scripted::default();
    scripted.set(Snapshot::from_iter([Sample::counter("jobs", 3u64)]));
    let mut bridge = Bridge::start(
        "interval = \"1h\"\n",
        vec![(source_config("jobs", ""), Arc::new(scripted.clone()))],
    );
    assert_eq!(
        get(&bridge.url("/-/ready")),
        (503, "not ready: no cycle published yet\n".into())
    );
    assert_eq!(get(&bridge.url("/-/healthy")), (200, "healthy\n".into()));
    bridge.cycle();
    assert_eq!(get(&bridge.url("/-/ready")), (200, "ready\n".into()));
    assert_eq!(get(&bridge.url("/-/healthy")), (200, "healthy\n".into()));
    // A failing source does not make the exporter unready: it still publishes cycles.
    scripted.fail("down");
    bridge.cycle();
    assert_eq!(get(&bridge.url("/-/ready")).0, 200);
}

#[test]
fn health_endpoints_need_the_same_credentials_as_metrics() {
    let hash = bcrypt::hash("s3cret", 4).expect("bcrypt");
    let mut bridge = Bridge::start(
        &format!("interval = \"1h\"\n[prometheus.basic_auth_users]\nalice = \"{hash}\"\n"),
        vec![],
    );
    bridge.cycle();
    // "alice:s3cret" and "alice:wrong"
    let good = [("Authorization", "Basic YWxpY2U6czNjcmV0")];
    let bad = [("Authorization", "Basic YWxpY2U6d3Jvbmc=")];
    for path in ["/-/healthy", "/-/ready", "/healthz"] {
        assert_eq!(http_get(&bridge.url(path), &[]).0, 401, "{path}");
        assert_eq!(http_get(&bridge.url(path), &bad).0, 401, "{path}");
        assert_eq!(http_get(&bridge.url(path), &good).0, 200, "{path}");
    }
}

/// A source whose pulls take `slow` once `slowed` is set: the final cycle of a shutdown
/// then lasts long enough to be seen from outside.
struct SlowOnDemand {
    slowed: Arc<AtomicBool>,
}

impl MetricsSource for SlowOnDemand {
    fn snapshot(&self) -> Result<Snapshot, SourceError> {
        if self.slowed.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_secs(4));
        }
        Ok(Snapshot::from_iter([Sample::counter("jobs", 1u64)]))
    }
}

#[test]
fn unready_but_healthy_during_shutdown() {
    let slowed = Arc::new(AtomicBool::new(false));
    let source = SlowOnDemand {
        slowed: slowed.clone(),
    };
    let handle = snapbridge::Builder::new()
        .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
        .without_otlp()
        .interval(Duration::from_secs(3600))
        .timeout(Duration::from_secs(10))
        .shutdown_timeout(Duration::from_secs(10))
        .instance("test")
        .source(SourceConfig::new("jobs"), Arc::new(source))
        .spawn()
        .expect("exporter starts");
    let addr = handle.local_addr().expect("an endpoint");
    let url = |path: &str| format!("http://{addr}{path}");
    // The clock's first cycle runs at once.
    wait_for("ready", Duration::from_secs(20), || {
        (get(&url("/-/ready")).0 == 200).then_some(())
    });
    slowed.store(true, Ordering::SeqCst);
    let stopping = std::thread::spawn(move || handle.shutdown_blocking());
    // The final cycle takes 4 s; meanwhile the endpoint still answers, unready.
    let during = wait_for("503 while stopping", Duration::from_secs(3), || {
        let (status, body) = get(&url("/-/ready"));
        (status == 503).then_some(body)
    });
    assert_eq!(during, "not ready: shutting down\n");
    assert_eq!(get(&url("/-/healthy")).0, 200);
    stopping
        .join()
        .expect("shutdown thread")
        .expect("clean shutdown");
}
