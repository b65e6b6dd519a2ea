//! Exact through restarts: a real snapbridge process, stopped with SIGTERM or SIGKILL and
//! started again on the same state file while its source counts on, pushing to real
//! receivers. Each scenario checks the receiver's number against the source's true
//! increments: the Collector's delta_to_cumulative total (delta), VictoriaMetrics' last
//! total (cumulative), or the sum of the distinct delta points the receiver built from the
//! official protos recorded, which must also tile time without gap or overlap.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::otelcol::{Collector, Pipeline};
use common::otlp::{GrpcReceiver, Victoria, attributes, metrics_named, point_value};
use common::{Proc, free_port, wait_for};

/// The cycle period of every scenario: short, so the file runs in about a minute.
const INTERVAL_MS: u64 = 300;

fn cycles(n: u64) {
    std::thread::sleep(Duration::from_millis(INTERVAL_MS * n));
}

/// The source: a JSON file `{"jobs_done": raw}`, and what it truly counted.
struct Counter {
    path: PathBuf,
    raw: u64,
    truth: u64,
}

impl Counter {
    fn new(dir: &Path) -> Counter {
        let c = Counter {
            path: dir.join("jobs.json"),
            raw: 0,
            truth: 0,
        };
        c.write();
        c
    }

    fn write(&self) {
        // Replaced atomically, as a well-behaved writer does.
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, format!("{{\"jobs_done\": {}}}", self.raw)).unwrap();
        std::fs::rename(&tmp, &self.path).unwrap();
    }

    fn bump(&mut self, by: u64) {
        self.raw += by;
        self.truth += by;
        self.write();
    }

    /// The application restarts: its counter starts again from zero.
    fn reset(&mut self) {
        self.raw = 0;
        self.write();
    }

    /// Counts `n` steps of `by`, one every half cycle.
    fn count(&mut self, n: u64, by: u64) {
        for _ in 0..n {
            self.bump(by);
            std::thread::sleep(Duration::from_millis(INTERVAL_MS / 2));
        }
    }
}

/// One snapbridge binary run after another on the same config, state file and port (so
/// `service.instance.id` stays the same).
struct Snapbridge {
    dir: PathBuf,
    config: PathBuf,
    port: u16,
    proc: Option<Proc>,
    runs: u32,
}

impl Snapbridge {
    fn new(dir: &Path, counter: &Counter, otlp: &str) -> Snapbridge {
        let config = dir.join("snapbridge.toml");
        let text = format!(
            "interval = \"{INTERVAL_MS}ms\"\nshutdown_timeout = \"3s\"\nstate_file = \"{}\"\n[otlp]\n{otlp}\ntimeout = \"2s\"\n[[source]]\nname = \"jobs\"\nkind = \"file\"\npath = \"{}\"\ncounters = [\"jobs_*\"]\n",
            dir.join("state.tsv").display(),
            counter.path.display()
        );
        std::fs::write(&config, text).unwrap();
        Snapbridge {
            dir: dir.to_path_buf(),
            config,
            port: free_port(),
            proc: None,
            runs: 0,
        }
    }

    fn start(&mut self) {
        self.runs += 1;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_snapbridge"));
        cmd.arg("--config")
            .arg(&self.config)
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .env("RUST_LOG", "info");
        let log = self.dir.join(format!("snapbridge-{}.log", self.runs));
        self.proc = Some(Proc::spawn("snapbridge", cmd, log));
        let url = format!("http://127.0.0.1:{}/-/ready", self.port);
        wait_for("snapbridge ready", Duration::from_secs(30), || {
            ureq::get(&url).call().ok().filter(|r| r.status() == 200)
        });
    }

    fn sigterm(&mut self) {
        let mut proc = self.proc.take().expect("running");
        let status = proc
            .terminate(Duration::from_secs(15))
            .expect("exits after SIGTERM");
        assert!(status.success(), "{status:?}\n{}", proc.log_tail());
    }

    fn sigkill(&mut self) {
        let mut proc = self.proc.take().expect("running");
        // Child::kill is SIGKILL, to this PID only.
        proc.child.kill().expect("SIGKILL");
        let _ = proc.child.wait();
    }

    /// Every run's log.
    fn logs(&self) -> String {
        (1..=self.runs)
            .map(|i| {
                std::fs::read_to_string(self.dir.join(format!("snapbridge-{i}.log")))
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

const AT: &[(&str, &str)] = &[("source", "jobs")];

fn collector_delta() -> Collector {
    Collector::start_with(Pipeline {
        processors: &["delta_to_cumulative"],
        ..Pipeline::default()
    })
}

#[test]
fn delta_through_two_sigterm_restarts_over_grpc_with_gzip_replies() {
    let dir = tempfile::tempdir().unwrap();
    let collector = collector_delta();
    let mut counter = Counter::new(dir.path());
    // gzip requests: the Collector gzips its replies, which must read as replies.
    let otlp = format!(
        "endpoint = \"{}\"\nprotocol = \"grpc\"\ntemporality = \"delta\"\ncompression = \"gzip\"",
        collector.grpc_endpoint()
    );
    let mut sb = Snapbridge::new(dir.path(), &counter, &otlp);
    counter.bump(5);
    sb.start();
    counter.count(6, 3);
    for _ in 0..2 {
        sb.sigterm();
        // The source counts on while snapbridge is down.
        counter.bump(11);
        sb.start();
        counter.count(6, 2);
    }
    collector.wait_value("jobs_done_total", AT, counter.truth as f64);
    let logs = sb.logs();
    assert!(
        !logs.contains("OTLP export failed"),
        "no export may fail:\n{logs}"
    );
    eprintln!(
        "delta, 2 SIGTERM restarts: Collector == truth {}",
        counter.truth
    );
}

#[test]
fn delta_through_sigkills_between_and_during_cycles() {
    let dir = tempfile::tempdir().unwrap();
    let collector = collector_delta();
    let mut counter = Counter::new(dir.path());
    let otlp = format!(
        "endpoint = \"{}\"\nprotocol = \"http/protobuf\"\ntemporality = \"delta\"",
        collector.http_endpoint()
    );
    let mut sb = Snapbridge::new(dir.path(), &counter, &otlp);
    counter.bump(4);
    sb.start();
    // Killed at different points of a cycle: after its export, or while one is out.
    for offset_ms in [INTERVAL_MS / 2, INTERVAL_MS / 5, INTERVAL_MS * 4 / 5] {
        counter.count(4, 7);
        std::thread::sleep(Duration::from_millis(offset_ms));
        sb.sigkill();
        counter.bump(13);
        sb.start();
    }
    counter.count(4, 1);
    collector.wait_value("jobs_done_total", AT, counter.truth as f64);
    // Each kill left a request marked sent: each restart sent it again, unchanged, and the
    // Collector dropped the copies it had (else its total would be above the truth).
    let logs = sb.logs();
    let resent = logs.matches("sending again, unchanged").count();
    assert!(resent >= 3, "{resent} resends after 3 SIGKILLs:\n{logs}");
    eprintln!(
        "delta, 3 SIGKILLs: Collector == truth {}, {resent} identical resends",
        counter.truth
    );
}

#[test]
fn a_held_value_then_a_reset_and_counting_while_down() {
    let dir = tempfile::tempdir().unwrap();
    let collector = collector_delta();
    let mut counter = Counter::new(dir.path());
    let otlp = format!(
        "endpoint = \"{}\"\nprotocol = \"grpc\"\ntemporality = \"delta\"",
        collector.grpc_endpoint()
    );
    let mut sb = Snapbridge::new(dir.path(), &counter, &otlp);
    sb.start();
    counter.count(5, 10);
    // The value holds for a few cycles.
    cycles(4);
    sb.sigterm();
    // While snapbridge is down the application restarts and counts 7 again.
    counter.reset();
    counter.bump(7);
    sb.start();
    cycles(3);
    counter.count(2, 1);
    collector.wait_value("jobs_done_total", AT, counter.truth as f64);
    assert_eq!(counter.truth, 59);
}

#[test]
fn cumulative_through_two_sigterm_restarts_into_victoria_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let vm = Victoria::start();
    let mut counter = Counter::new(dir.path());
    let otlp = format!(
        "endpoint = \"{}\"\nprotocol = \"http/protobuf\"\ntemporality = \"cumulative\"",
        vm.otlp_base()
    );
    let mut sb = Snapbridge::new(dir.path(), &counter, &otlp);
    counter.bump(5);
    sb.start();
    counter.count(5, 3);
    for _ in 0..2 {
        sb.sigterm();
        counter.reset();
        counter.bump(4);
        sb.start();
        counter.count(5, 2);
    }
    let truth = counter.truth as f64;
    let mut last = Vec::new();
    let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for(
            "VictoriaMetrics' last total",
            Duration::from_secs(30),
            || {
                last = vm.query("jobs_done_total{source=\"jobs\"}");
                (last.len() == 1 && last[0].1 == truth).then_some(())
            },
        )
    }));
    assert!(
        found.is_ok(),
        "wanted {truth}, VictoriaMetrics has {last:?}"
    );
}

/// A delta point of `jobs_done{source="jobs"}`: (start, end) in ns, and its value.
type Interval = ((u64, u64), f64);

/// Every distinct `jobs_done` delta point the receiver recorded (an identical resend is
/// the same point), in time order.
fn delta_points(rx: &GrpcReceiver) -> Vec<Interval> {
    let mut points: BTreeMap<(u64, u64), f64> = BTreeMap::new();
    let ns = |p: &serde_json::Value, k: &str| -> u64 {
        p[k].as_str().and_then(|s| s.parse().ok()).unwrap_or(0)
    };
    for request in rx.requests() {
        for m in metrics_named(&request, "jobs_done") {
            assert_eq!(
                m["sum"]["aggregationTemporality"],
                "AGGREGATION_TEMPORALITY_DELTA"
            );
            for p in m["sum"]["dataPoints"].as_array().into_iter().flatten() {
                if !attributes(p).contains(&("source".into(), "jobs".into())) {
                    continue;
                }
                let key = (ns(p, "startTimeUnixNano"), ns(p, "timeUnixNano"));
                let v = point_value(p);
                if let Some(old) = points.insert(key, v) {
                    assert_eq!(old, v, "two points for {key:?} with different values");
                }
            }
        }
    }
    points.into_iter().collect()
}

/// Asserts the points tile time: each starts where the previous one ended.
fn assert_contiguous(points: &[Interval]) {
    for pair in points.windows(2) {
        assert_eq!(
            pair[1].0.0, pair[0].0.1,
            "a gap or an overlap between {:?} and {:?}",
            pair[0], pair[1]
        );
    }
}

#[test]
fn receiver_down_for_ten_cycles_with_a_restart_in_the_middle() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("received.jsonl");
    // It gzips its replies, as the Collector does to a gzip request.
    let rx = GrpcReceiver::start(0, out.clone(), &["--gzip-replies"]);
    let port = rx.port;
    let mut counter = Counter::new(dir.path());
    let otlp = format!(
        "endpoint = \"{}\"\nprotocol = \"grpc\"\ntemporality = \"delta\"",
        rx.endpoint()
    );
    let mut sb = Snapbridge::new(dir.path(), &counter, &otlp);
    counter.bump(2);
    sb.start();
    counter.count(4, 5);
    cycles(2);
    let before = delta_points(&rx);
    let delivered = before.iter().map(|p| p.1).sum::<f64>();
    assert_eq!(delivered, counter.truth as f64, "{before:?}");
    let last_end = before.last().expect("points before the outage").0.1;
    drop(rx);

    // Ten cycles without a receiver, snapbridge restarted in the middle.
    let during = counter.truth;
    counter.count(10, 1);
    sb.sigterm();
    counter.bump(20);
    sb.start();
    counter.count(10, 1);
    let outage = counter.truth - during;
    let rx = GrpcReceiver::start(port, out, &["--gzip-replies"]);
    let points = wait_for("the outage's increase", Duration::from_secs(30), || {
        let points = delta_points(&rx);
        let sum: f64 = points.iter().map(|p| p.1).sum();
        (sum == counter.truth as f64).then_some(points)
    });
    assert_contiguous(&points);
    // Nothing queued per cycle: the first point after the outage carries all of it, from
    // where the last delivered one ended.
    let first_after = points
        .iter()
        .find(|p| p.0.0 == last_end)
        .expect("a point starting at the last delivered end");
    assert_eq!(first_after.1, outage as f64, "{points:?}");
    let logs = sb.logs();
    assert!(
        logs.contains("OTLP export failed"),
        "the outage was seen:\n{logs}"
    );
    eprintln!(
        "receiver down 10 cycles: {} points, outage increase {outage} in one",
        points.len()
    );
}
