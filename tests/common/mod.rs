//! Shared test helpers: real peers (found where scripts/peers.sh installs them), free
//! ports, processes stopped by PID, and an in-process snapbridge driven cycle by cycle.
#![allow(dead_code)]

pub mod durable;
pub mod fuzz;
pub mod otelcol;
pub mod otlp;
pub mod prom;
pub mod scenario;
pub mod sources;
pub mod tls;

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use snapbridge::config::{Config, SourceConfig};
use snapbridge::core::{MetricsSource, Snapshot, SourceError};
use snapbridge::pipeline::Telemetry;
use snapbridge::view::View;
use snapbridge::{Builder, Handle};

/// Path of a peer installed by scripts/peers.sh. A missing peer fails the test loudly:
/// tests never skip.
pub fn peer(var: &str, relative: &str) -> PathBuf {
    if let Ok(p) = std::env::var(var) {
        let p = PathBuf::from(p);
        assert!(
            p.exists(),
            "{var}={} does not exist: run scripts/peers.sh",
            p.display()
        );
        return p;
    }
    let dir = std::env::var("SNAPBRIDGE_PEERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
                .join(".cache/snapbridge-peers")
        });
    let p = dir.join(relative);
    assert!(
        p.exists(),
        "test peer {relative} not found (looked at ${var} and {}): run scripts/test.sh, which installs the peers",
        p.display()
    );
    p
}

/// The Python interpreter that has prometheus_client and the OTLP protos.
pub fn python() -> PathBuf {
    peer("SNAPBRIDGE_PYTHON", "venv/bin/python")
}

/// This process' resident memory (VmRSS), in KiB.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .expect("VmRSS in /proc/self/status")
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

/// A child process killed by its PID when dropped, also when the test panics.
pub struct Proc {
    pub child: Child,
    pub name: String,
    pub log: Option<PathBuf>,
}

impl Proc {
    /// Starts `cmd` with stdout and stderr going to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: PathBuf) -> Proc {
        let out = std::fs::File::create(&log).expect("create log file");
        let err = out.try_clone().expect("clone log handle");
        cmd.stdout(out).stderr(err).stdin(Stdio::null());
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Proc {
            child,
            name: name.to_string(),
            log: Some(log),
        }
    }

    /// The last lines of the process' log, for failure messages.
    pub fn log_tail(&self) -> String {
        let Some(log) = &self.log else {
            return String::new();
        };
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Sends SIGTERM to the PID and waits up to `timeout`; returns the exit status.
    pub fn terminate(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // Child::kill sends SIGKILL to this child's PID only.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `f` until it returns `Some`, or panics with `what` after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A plain HTTP GET: status, content type, content encoding and body bytes (not decoded).
pub fn http_get(url: &str, headers: &[(&str, &str)]) -> (u16, String, String, Vec<u8>) {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .build();
    let mut req = agent.get(url);
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let resp = match req.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET {url}: {e}"),
    };
    let status = resp.status();
    let ct = resp.header("content-type").unwrap_or("").to_string();
    let ce = resp.header("content-encoding").unwrap_or("").to_string();
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut resp.into_reader(), &mut body).expect("read body");
    (status, ct, ce, body)
}

/// Runs `promtool check metrics` on an exposition; `Err` carries its complaint.
pub fn promtool_check(exposition: &[u8]) -> Result<(), String> {
    let promtool = peer("SNAPBRIDGE_PROMTOOL", "bin/promtool");
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start promtool");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(exposition)
        .expect("feed promtool");
    let out = child.wait_with_output().expect("promtool output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && text.trim().is_empty() {
        Ok(())
    } else {
        Err(text)
    }
}

/// Parses an exposition with the reference Python parser (`text` or `openmetrics`) and
/// returns its families as JSON; `Err` carries the parser's error.
pub fn python_parse(exposition: &[u8], format: &str) -> Result<serde_json::Value, String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/parse_exposition.py");
    let mut child = Command::new(python())
        .arg(script)
        .args(["--format", format])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the python parser");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(exposition)
        .expect("feed the parser");
    let out = child.wait_with_output().expect("parser output");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("parser printed no JSON: {e}"))
}

/// A source whose values the test sets: a shared map of typed samples.
#[derive(Clone)]
pub struct Scripted {
    pub snapshot: Arc<Mutex<Result<Snapshot, String>>>,
}

impl Default for Scripted {
    fn default() -> Self {
        Scripted {
            snapshot: Arc::new(Mutex::new(Ok(Snapshot::new()))),
        }
    }
}

impl Scripted {
    pub fn set(&self, snap: Snapshot) {
        *self.snapshot.lock().unwrap() = Ok(snap);
    }
    pub fn fail(&self, message: &str) {
        *self.snapshot.lock().unwrap() = Err(message.to_string());
    }
}

impl MetricsSource for Scripted {
    fn snapshot(&self) -> Result<Snapshot, SourceError> {
        match &*self.snapshot.lock().unwrap() {
            Ok(s) => Ok(s.clone()),
            Err(e) => Err(SourceError::new(e.clone())),
        }
    }
}

/// A snapbridge built in the test with the embedding API: no clock, its cycles run by
/// hand; its endpoint served on a free port by a runtime of its own.
pub struct Bridge {
    pub handle: Handle,
    pub addr: SocketAddr,
    pub telemetry: Arc<Telemetry>,
    pub runtime: tokio::runtime::Runtime,
}

impl Bridge {
    /// A bridge with `config`'s sources plus in-process `extra` sources.
    pub fn start(config_toml: &str, extra: Vec<(SourceConfig, Arc<dyn MetricsSource>)>) -> Bridge {
        let config = Config::parse(config_toml, "test config").expect("test config parses");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let mut builder = Builder::from_config(&config)
            .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
            .healthz_stale_after(Duration::from_secs(3600))
            // Only the test's config counts: the environment of the test run is ignored.
            .otlp_from_env(false)
            .manual_cycles();
        if config.instance.is_none() {
            builder = builder.instance("test");
        }
        for (sc, source) in extra {
            builder = builder.source(sc, source);
        }
        let handle = {
            let _on = runtime.enter();
            builder.spawn().expect("bridge starts")
        };
        Bridge {
            addr: handle.local_addr().expect("an endpoint"),
            telemetry: handle.telemetry(),
            handle,
            runtime,
        }
    }

    /// Runs one cycle and returns its view.
    pub fn cycle(&mut self) -> Arc<View> {
        self.runtime
            .block_on(self.handle.run_cycle())
            .expect("a cycle")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn scrapes(&self) -> u64 {
        self.telemetry.prometheus.exports.load(Ordering::Relaxed)
    }
}

/// A source config for in-process test sources, with extra TOML keys (rules, labels).
pub fn source_config(name: &str, extra_toml: &str) -> SourceConfig {
    let text = format!("[[source]]\nname = \"{name}\"\nkind = \"demo\"\n{extra_toml}\n");
    Config::parse(&text, "test source")
        .expect("test source config parses")
        .sources
        .remove(0)
        .config
}

/// Serves HTTP/1.1 on a free loopback port (on the current tokio runtime), answering every
/// request with `answer`: a receiver or server a test scripts. Returns its address.
pub async fn serve_http<F, Fut>(answer: F) -> SocketAddr
where
    F: Fn(hyper::Request<hyper::body::Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = hyper::Response<http_body_util::Full<bytes::Bytes>>>
        + Send
        + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let answer = answer.clone();
            let service = hyper::service::service_fn(move |req| {
                let reply = answer(req);
                async move { Ok::<_, std::convert::Infallible>(reply.await) }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
            );
        }
    });
    addr
}
