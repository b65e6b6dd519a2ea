//! The example systems in their own languages, each run as a real process and bridged by the
//! real snapbridge binary: the Python persistence layer publishing its snapshot as a JSON file
//! and over HTTP (examples/python/persistence), and the Go job queue's JSON endpoint
//! (examples/go/jobqueue). Prometheus 3 scrapes snapbridge, snapbridge pushes OTLP (gzip) to
//! the OpenTelemetry Collector, and both hold exactly the true increments through a
//! `reset()` and a restart of the process, under the names users query.
//!
//! The examples' workloads are driven step by step (the Python demo's `--commands` mode, the
//! job queue's `POST /jobs`), so the test knows every increment; it waits for snapbridge to
//! have pulled each step before the next reset, as a real snapshot source can only be
//! exported as often as it is pulled.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::otelcol::Collector;
use common::prom::Prometheus;
use common::sources::metric;
use common::{Proc, free_port, wait_for};

const WAIT: Duration = Duration::from_secs(20);

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The real Python 3 interpreter behind `python3` on PATH (or `$SNAPBRIDGE_PYTHON`), resolved
/// through `sys.executable`: a launcher such as a pyenv shim may run Python as its child, and
/// the test must stop the interpreter itself by its PID.
fn python3() -> PathBuf {
    let mut tried = Vec::new();
    let candidates = std::iter::once("python3".to_string())
        .chain(std::env::var("SNAPBRIDGE_PYTHON").ok())
        .collect::<Vec<_>>();
    for candidate in candidates {
        match Command::new(&candidate)
            .args(["-c", "import sys; assert sys.version_info >= (3, 11), sys.version; print(sys.executable)"])
            .output()
        {
            Ok(out) if out.status.success() => {
                let exe = String::from_utf8_lossy(&out.stdout).trim().to_string();
                assert!(!exe.is_empty(), "{candidate}: no sys.executable");
                return PathBuf::from(exe);
            }
            Ok(out) => tried.push(format!(
                "{candidate}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => tried.push(format!("{candidate}: {e}")),
        }
    }
    panic!(
        "no Python 3.11+ to run examples/python/persistence (tried {tried:?}): install python3 or run scripts/peers.sh and source its env.sh"
    );
}

/// Builds the Go job queue into `dir` with `go build` (standard library only: no download).
fn go_build(dir: &Path) -> PathBuf {
    let out = dir.join("jobqueue");
    let result = Command::new("go")
        .args(["build", "-buildvcs=false", "-o"])
        .arg(&out)
        .arg(".")
        .current_dir(repo("examples/go/jobqueue"))
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod")
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `go build` for examples/go/jobqueue: {e}: Go must be on PATH")
        });
    assert!(
        result.status.success(),
        "go build examples/go/jobqueue failed:\n{}{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    out
}

/// An example's `snapbridge.toml`, with its addresses replaced by the test's (each must be in
/// the file: the example's config is what runs) and `extra` appended.
fn example_config(path: &str, replace: &[(&str, &str)], extra: &str) -> String {
    let mut text = std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    for (from, to) in replace {
        assert!(text.contains(from), "{path} no longer contains {from:?}");
        text = text.replace(from, to);
    }
    text.push('\n');
    text.push_str(extra);
    text
}

/// The `[otlp]` section: gzip, and a `service.name` of its own (the `job` label at the
/// Collector's prometheus exporter).
fn otlp_section(endpoint: &str, protocol: &str, temporality: &str, service: &str) -> String {
    format!(
        "[otlp]\nendpoint = \"{endpoint}\"\nprotocol = \"{protocol}\"\ntemporality = \"{temporality}\"\ncompression = \"gzip\"\nresource = {{ \"service.name\" = \"{service}\" }}\n"
    )
}

/// The snapbridge binary, run with `--config` and `--listen` on a free port.
struct Snapbridge {
    proc: Proc,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Snapbridge {
    fn start(config: &str) -> Snapbridge {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("snapbridge.toml");
        std::fs::write(&path, config).expect("write snapbridge.toml");
        let addr = format!("127.0.0.1:{}", free_port());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_snapbridge"));
        cmd.arg("--config")
            .arg(&path)
            .args(["--listen", &addr])
            .env_remove("SNAPBRIDGE_CONFIG")
            .env("RUST_LOG", "warn");
        // Only the config counts, not the OTLP variables of whoever runs the tests.
        for (key, _) in std::env::vars() {
            if key.starts_with("OTEL_") {
                cmd.env_remove(key);
            }
        }
        let mut proc = Proc::spawn("snapbridge", cmd, dir.path().join("snapbridge.log"));
        let url = format!("http://{addr}/metrics");
        wait_for("snapbridge's /metrics", WAIT, || {
            if let Ok(Some(status)) = proc.child.try_wait() {
                panic!("snapbridge exited ({status}):\n{}", proc.log_tail());
            }
            ureq::get(&url).call().ok().filter(|r| r.status() == 200)
        });
        Snapbridge {
            proc,
            addr,
            _dir: dir,
        }
    }

    fn exposition(&self) -> String {
        let url = format!("http://{}/metrics", self.addr);
        match ureq::get(&url).call() {
            Ok(resp) => resp.into_string().expect("exposition text"),
            Err(e) => panic!("GET {url}: {e}\n{}", self.proc.log_tail()),
        }
    }

    fn value(&self, name: &str, source: &str) -> Option<f64> {
        metric(&self.exposition(), name, &[("source", source)])
    }

    /// Waits until `/metrics` shows `name{source=...} want`.
    fn wait_value(&self, name: &str, source: &str, want: f64) {
        let mut last = None;
        let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait_for(
                &format!("{name}{{source={source}}} == {want}"),
                WAIT,
                || {
                    last = self.value(name, source);
                    (last == Some(want)).then_some(())
                },
            )
        }));
        if found.is_err() {
            panic!(
                "snapbridge: {name}{{source=\"{source}\"}} wanted {want}, has {last:?}\nexposition:\n{}\nlog:\n{}",
                self.exposition(),
                self.proc.log_tail()
            );
        }
    }

    /// The counter resets snapbridge has detected in `source`.
    fn resets(&self, source: &str) -> f64 {
        self.value("snapbridge_source_resets_total", source)
            .unwrap_or(0.0)
    }

    /// Waits until snapbridge has seen `source` reset since it had `before` resets.
    fn wait_reset(&self, source: &str, before: f64) {
        wait_for(&format!("snapbridge to see {source} reset"), WAIT, || {
            (self.resets(source) > before).then_some(())
        });
    }
}

/// Checks that the scraped and the pushed copies both hold `want` for every source.
fn assert_everywhere(
    prom: &Prometheus,
    collector: &Collector,
    service: &str,
    sources: &[&str],
    want: &[(&str, f64)],
) {
    for source in sources {
        for (name, value) in want {
            prom.wait_value(
                &format!("{name}{{source=\"{source}\"}}"),
                *value,
                Duration::from_secs(30),
            );
            collector.wait_value(name, &[("job", service), ("source", source)], *value);
        }
    }
}

// --- Python: a persistence layer publishing its snapshot ---------------------------------------

/// `examples/python/persistence/demo.py --commands`: each command line is answered with
/// `ok {snapshot}` once the file holds it.
struct PythonDemo {
    proc: Proc,
    stdin: ChildStdin,
    replies: mpsc::Receiver<String>,
}

impl PythonDemo {
    fn start(python: &Path, file: &Path, port: u16, log: PathBuf) -> PythonDemo {
        let stderr = std::fs::File::create(&log).expect("demo log");
        let mut child = Command::new(python)
            .arg(repo("examples/python/persistence/demo.py"))
            .arg("--file")
            .arg(file)
            .args(["--port", &port.to_string(), "--commands"])
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, replies) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut demo = PythonDemo {
            proc: Proc {
                child,
                name: "python demo".into(),
                log: Some(log),
            },
            stdin,
            replies,
        };
        // Its first answer means the file is written and the HTTP endpoint listens.
        demo.send("snapshot");
        demo
    }

    /// Sends one command; returns the snapshot the demo published after it.
    fn send(&mut self, command: &str) -> serde_json::Value {
        writeln!(self.stdin, "{command}")
            .and_then(|_| self.stdin.flush())
            .unwrap_or_else(|e| panic!("demo: {command}: {e}\n{}", self.proc.log_tail()));
        let reply = self
            .replies
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|e| {
                panic!(
                    "demo: no answer to {command:?} ({e})\n{}",
                    self.proc.log_tail()
                )
            });
        let json = reply
            .strip_prefix("ok ")
            .unwrap_or_else(|| panic!("demo: {command:?} answered {reply:?}"));
        serde_json::from_str(json).unwrap_or_else(|e| panic!("demo snapshot {json:?}: {e}"))
    }

    /// SIGTERM; the demo stops cleanly (its file keeps the last snapshot).
    fn stop(mut self) {
        let status = self.proc.terminate(Duration::from_secs(10));
        assert!(
            status.is_some_and(|s| s.success()),
            "the demo should exit 0 on SIGTERM, got {status:?}\n{}",
            self.proc.log_tail()
        );
    }
}

/// The demo's own snapshot holds what the commands did.
fn assert_snapshot(snapshot: &serde_json::Value, want: &[(&str, u64)]) {
    for (key, value) in want {
        assert_eq!(
            snapshot[key].as_u64(),
            Some(*value),
            "demo snapshot {key}: {snapshot}"
        );
    }
}

#[test]
fn python_persistence_layer_file_and_http_exact_through_reset_and_restart() {
    let python = python3();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("persistence-metrics.json");
    let port = free_port();
    let service = "python-storage";
    let sources = ["storage_file", "storage_http"];

    let collector = Collector::start(&["delta_to_cumulative"]);
    let config = example_config(
        "examples/python/persistence/snapbridge.toml",
        &[
            ("interval = \"5s\"", "interval = \"500ms\""),
            (
                "\"/tmp/persistence-metrics.json\"",
                &format!("{:?}", file.display().to_string()),
            ),
            (
                "\"http://127.0.0.1:9101/metrics\"",
                &format!("\"http://127.0.0.1:{port}/metrics\""),
            ),
        ],
        &otlp_section(
            &collector.http_endpoint(),
            "http/protobuf",
            "cumulative",
            service,
        ),
    );
    let mut demo = PythonDemo::start(&python, &file, port, dir.path().join("demo-1.log"));
    let bridge = Snapbridge::start(&config);
    let prom = Prometheus::start(&bridge.addr);
    let wait_all = |name: &str, want: f64| {
        for source in sources {
            bridge.wait_value(name, source, want);
        }
    };

    // 1. Work, with three failed writes and a damaged record found and repaired.
    demo.send("write 40");
    demo.send("fail 3");
    demo.send("write 10");
    demo.send("read 25");
    demo.send("damage 2");
    demo.send("scan");
    let s = demo.send("recover");
    assert_snapshot(
        &s,
        &[
            ("records_written", 47),
            ("write_errors", 3),
            ("records_read", 25),
            ("anomalies_detected", 2),
            ("recoveries_attempted", 2),
            ("recoveries_failed", 0),
            ("records_stored", 47),
        ],
    );
    wait_all("records_written_total", 47.0);
    wait_all("records_read_total", 25.0);
    // The scan and the recovery came last: seen before the reset below, or never.
    wait_all("anomalies_detected_total", 2.0);
    wait_all("recoveries_attempted_total", 2.0);

    // 2. metrics.reset(), seen by snapbridge, then more work with one failed read.
    let before: Vec<f64> = sources.iter().map(|s| bridge.resets(s)).collect();
    let s = demo.send("reset");
    assert_snapshot(&s, &[("records_written", 0), ("records_stored", 47)]);
    for (source, before) in sources.iter().zip(before) {
        bridge.wait_reset(source, before);
    }
    demo.send("write 12");
    demo.send("read 6");
    demo.send("fail 1");
    let s = demo.send("read 4");
    assert_snapshot(
        &s,
        &[
            ("records_written", 12),
            ("records_read", 9),
            ("read_errors", 1),
        ],
    );
    wait_all("records_written_total", 59.0);
    wait_all("records_read_total", 34.0);

    // 3. The process restarts (its counters and its in-memory store start empty).
    let before: Vec<f64> = sources.iter().map(|s| bridge.resets(s)).collect();
    demo.stop();
    let mut demo = PythonDemo::start(&python, &file, port, dir.path().join("demo-2.log"));
    for (source, before) in sources.iter().zip(before) {
        bridge.wait_reset(source, before);
    }
    demo.send("write 9");
    let s = demo.send("read 5");
    assert_snapshot(
        &s,
        &[
            ("records_written", 9),
            ("records_read", 5),
            ("records_stored", 9),
            ("storage_bytes", 9 * 64),
        ],
    );

    // The true increments: 47 + 12 + 9 written, 25 + 9 + 5 read, 3 failed writes, 1 failed
    // read; the gauges as the last process holds them.
    let want = [
        ("records_written_total", 68.0),
        ("records_read_total", 39.0),
        ("write_errors_total", 3.0),
        ("read_errors_total", 1.0),
        ("anomalies_detected_total", 2.0),
        ("recoveries_attempted_total", 2.0),
        ("records_stored", 9.0),
        ("storage_bytes", 576.0),
    ];
    for (name, value) in want {
        wait_all(name, value);
    }
    assert_everywhere(&prom, &collector, service, &sources, &want);
    let text = bridge.exposition();
    assert!(
        text.contains("# TYPE records_stored gauge")
            && text.contains("# TYPE records_written_total counter"),
        "{text}"
    );
    demo.stop();
}

// --- Go: a job queue's JSON endpoint ---------------------------------------------------------

/// The job queue process on a fixed port (a restart comes back on the same one).
fn start_job_queue(bin: &Path, port: u16, log: PathBuf) -> Proc {
    let mut cmd = Command::new(bin);
    cmd.args([
        "-listen",
        &format!("127.0.0.1:{port}"),
        "-produce-every",
        "0",
        "-retry-every",
        "100ms",
    ]);
    let mut proc = Proc::spawn("jobqueue", cmd, log);
    let url = format!("http://127.0.0.1:{port}/metrics");
    wait_for("the job queue's /metrics", WAIT, || {
        if let Ok(Some(status)) = proc.child.try_wait() {
            panic!("the job queue exited ({status}):\n{}", proc.log_tail());
        }
        ureq::get(&url).call().ok().filter(|r| r.status() == 200)
    });
    proc
}

fn post_jobs(port: u16, n: u32, work: &str) {
    let url = format!("http://127.0.0.1:{port}/jobs?n={n}&work={work}");
    let resp = ureq::post(&url)
        .call()
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    assert_eq!(resp.status(), 201, "POST {url}");
}

/// Waits until the job queue's own JSON endpoint says `want` (created, completed, failed,
/// retried, in progress).
fn wait_queue(port: u16, want: [u64; 5]) {
    let url = format!("http://127.0.0.1:{port}/metrics");
    let keys = [
        "jobs_created",
        "jobs_completed",
        "jobs_failed",
        "jobs_retried",
        "jobs_in_progress",
    ];
    let mut last = serde_json::Value::Null;
    let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for(&format!("the job queue at {want:?}"), WAIT, || {
            last = serde_json::from_reader(ureq::get(&url).call().ok()?.into_reader()).ok()?;
            keys.iter()
                .zip(want)
                .all(|(k, v)| last[k].as_u64() == Some(v))
                .then_some(())
        })
    }));
    assert!(
        found.is_ok(),
        "job queue: wanted {want:?} as {keys:?}, has {last}"
    );
}

#[test]
fn go_job_queue_json_endpoint_exact_through_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = go_build(dir.path());
    let port = free_port();
    let service = "go-job-queue";
    let source = "job_queue";

    // Delta over gRPC here (the Collector turns it back into totals), cumulative over HTTP in
    // the Python test.
    let collector = Collector::start(&["delta_to_cumulative"]);
    let config = example_config(
        "examples/go/jobqueue/snapbridge.toml",
        &[
            ("interval = \"5s\"", "interval = \"500ms\""),
            (
                "\"http://127.0.0.1:8080/metrics\"",
                &format!("\"http://127.0.0.1:{port}/metrics\""),
            ),
        ],
        &otlp_section(&collector.grpc_endpoint(), "grpc", "delta", service),
    );
    let mut queue = start_job_queue(&bin, port, dir.path().join("jobqueue-1.log"));
    let bridge = Snapbridge::start(&config);
    let prom = Prometheus::start(&bridge.addr);

    // 1. Twenty jobs; every fifth fails its first attempt and is retried.
    post_jobs(port, 20, "5ms");
    wait_queue(port, [20, 20, 4, 4, 0]);
    bridge.wait_value("jobs_created_total", source, 20.0);
    bridge.wait_value("jobs_completed_total", source, 20.0);
    bridge.wait_value("jobs_retried_total", source, 4.0);

    // 2. The process restarts: its store starts from zero.
    let before = bridge.resets(source);
    let status = queue.terminate(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "the job queue should exit 0 on SIGTERM, got {status:?}\n{}",
        queue.log_tail()
    );
    drop(queue);
    let _queue = start_job_queue(&bin, port, dir.path().join("jobqueue-2.log"));
    bridge.wait_reset(source, before);

    // 3. Seven quick jobs (job 5 fails once), then two long ones still running at the end.
    post_jobs(port, 7, "5ms");
    wait_queue(port, [7, 7, 1, 1, 0]);
    post_jobs(port, 2, "10m");
    wait_queue(port, [9, 7, 1, 1, 2]);

    let want = [
        ("jobs_created_total", 29.0),
        ("jobs_completed_total", 27.0),
        ("jobs_failed_total", 5.0),
        ("jobs_retried_total", 5.0),
        ("jobs_in_progress", 2.0),
    ];
    for (name, value) in want {
        bridge.wait_value(name, source, value);
    }
    assert_everywhere(&prom, &collector, service, &[source], &want);
    let text = bridge.exposition();
    assert!(
        text.contains("# TYPE jobs_in_progress gauge")
            && text.contains("# TYPE jobs_created_total counter"),
        "{text}"
    );
}
