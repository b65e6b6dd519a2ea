//! A real snapbridge binary run after run on one state file, fed by a counting JSON file
//! source, and readers of the delta points a recording receiver got: shared by the
//! restart scenarios.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::otlp::{GrpcReceiver, attributes, metrics_named, point_value};
use super::{Proc, free_port, wait_for};

/// The cycle period of every scenario: short, so the file runs in about a minute.
pub const INTERVAL_MS: u64 = 300;

/// Sleeps `n` cycles.
pub fn cycles(n: u64) {
    std::thread::sleep(Duration::from_millis(INTERVAL_MS * n));
}

/// The source: a JSON file `{"jobs_done": raw}`, and what it truly counted.
pub struct Counter {
    pub path: PathBuf,
    pub raw: u64,
    pub truth: u64,
}

impl Counter {
    pub fn new(dir: &Path) -> Counter {
        let c = Counter {
            path: dir.join("jobs.json"),
            raw: 0,
            truth: 0,
        };
        c.write();
        c
    }

    pub fn write(&self) {
        // Replaced atomically, as a well-behaved writer does.
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, format!("{{\"jobs_done\": {}}}", self.raw)).unwrap();
        std::fs::rename(&tmp, &self.path).unwrap();
    }

    pub fn bump(&mut self, by: u64) {
        self.raw += by;
        self.truth += by;
        self.write();
    }

    /// The application restarts: its counter starts again from zero.
    pub fn reset(&mut self) {
        self.raw = 0;
        self.write();
    }

    /// Counts `n` steps of `by`, one every half cycle.
    pub fn count(&mut self, n: u64, by: u64) {
        for _ in 0..n {
            self.bump(by);
            std::thread::sleep(Duration::from_millis(INTERVAL_MS / 2));
        }
    }
}

/// One snapbridge binary run after another on the same config, state file and port (so
/// `service.instance.id` stays the same).
pub struct Snapbridge {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub port: u16,
    pub proc: Option<Proc>,
    pub runs: u32,
}

impl Snapbridge {
    pub fn new(dir: &Path, counter: &Counter, otlp: &str) -> Snapbridge {
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

    pub fn start(&mut self) {
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

    pub fn sigterm(&mut self) {
        let mut proc = self.proc.take().expect("running");
        let status = proc
            .terminate(Duration::from_secs(15))
            .expect("exits after SIGTERM");
        assert!(status.success(), "{status:?}\n{}", proc.log_tail());
    }

    pub fn sigkill(&mut self) {
        let mut proc = self.proc.take().expect("running");
        // Child::kill is SIGKILL, to this PID only.
        proc.child.kill().expect("SIGKILL");
        let _ = proc.child.wait();
    }

    /// Every run's log.
    pub fn logs(&self) -> String {
        (1..=self.runs)
            .map(|i| {
                std::fs::read_to_string(self.dir.join(format!("snapbridge-{i}.log")))
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A delta point of `jobs_done{source="jobs"}`: (start, end) in ns, and its value.
pub type Interval = ((u64, u64), f64);

/// Every distinct `jobs_done` delta point the receiver recorded (an identical resend is
/// the same point), in time order.
pub fn delta_points(rx: &GrpcReceiver) -> Vec<Interval> {
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
pub fn assert_contiguous(points: &[Interval]) {
    for pair in points.windows(2) {
        assert_eq!(
            pair[1].0.0, pair[0].0.1,
            "a gap or an overlap between {:?} and {:?}",
            pair[0], pair[1]
        );
    }
}
