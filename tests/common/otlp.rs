//! OTLP receivers for tests: the gRPC receiver built from the official protos
//! (tests/peers/otlp_grpc_receiver.py) and VictoriaMetrics' OTLP/HTTP receiver.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value as Json;

use super::{Proc, free_port, peer, python, wait_for};

/// The gRPC receiver: every Export request it accepted, one JSON document each.
pub struct GrpcReceiver {
    pub proc: Proc,
    pub port: u16,
    pub out: PathBuf,
}

impl GrpcReceiver {
    /// Starts a receiver on `port` (0: any free port), appending to `out`.
    pub fn start(port: u16, out: PathBuf, extra: &[&str]) -> GrpcReceiver {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/otlp_grpc_receiver.py");
        let mut child = Command::new(python())
            .arg(script)
            .args(["--port", &port.to_string(), "--out"])
            .arg(&out)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .stdin(Stdio::null())
            .spawn()
            .expect("start the gRPC receiver");
        let stdout = child.stdout.take().expect("stdout");
        let proc = Proc {
            child,
            name: "otlp_grpc_receiver".into(),
            log: None,
        };
        let mut lines = BufReader::new(stdout).lines();
        let port = wait_for("the receiver's PORT line", Duration::from_secs(20), || {
            let line = lines.next()?.ok()?;
            line.strip_prefix("PORT ")?.trim().parse().ok()
        });
        GrpcReceiver { proc, port, out }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Json> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits until at least `n` requests arrived.
    pub fn wait_requests(&self, n: usize) -> Vec<Json> {
        wait_for(
            &format!("{n} OTLP requests"),
            Duration::from_secs(20),
            || {
                let r = self.requests();
                (r.len() >= n).then_some(r)
            },
        )
    }
}

/// Every metric named `name` in a request, as (metric JSON).
pub fn metrics_named<'a>(request: &'a Json, name: &str) -> Vec<&'a Json> {
    let mut out = Vec::new();
    for rm in request["resourceMetrics"].as_array().into_iter().flatten() {
        for sm in rm["scopeMetrics"].as_array().into_iter().flatten() {
            for m in sm["metrics"].as_array().into_iter().flatten() {
                if m["name"] == name {
                    out.push(m);
                }
            }
        }
    }
    out
}

/// The numeric value of a NumberDataPoint (asInt comes as a string in JSON).
pub fn point_value(p: &Json) -> f64 {
    if let Some(i) = p.get("asInt") {
        return i
            .as_str()
            .and_then(|s| s.parse().ok())
            .or_else(|| i.as_f64())
            .unwrap_or(f64::NAN);
    }
    p["asDouble"].as_f64().unwrap_or(0.0)
}

/// A point's attributes as (key, string value) pairs.
pub fn attributes(p: &Json) -> Vec<(String, String)> {
    p["attributes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|kv| {
            (
                kv["key"].as_str().unwrap_or_default().to_string(),
                kv["value"]["stringValue"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

/// VictoriaMetrics with its OTLP/HTTP receiver and Prometheus naming.
pub struct Victoria {
    pub proc: Proc,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Victoria {
    pub fn start() -> Victoria {
        let bin = peer("SNAPBRIDGE_VICTORIA_METRICS", "bin/victoria-metrics");
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut cmd = Command::new(bin);
        cmd.arg(format!(
            "-storageDataPath={}",
            dir.path().join("data").display()
        ))
        .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
        .arg("-search.latencyOffset=0s")
        .arg("-opentelemetry.usePrometheusNaming")
        .arg("-loggerLevel=ERROR");
        let proc = Proc::spawn("victoria-metrics", cmd, dir.path().join("vm.log"));
        wait_for("victoria-metrics /health", Duration::from_secs(30), || {
            ureq::get(&format!("http://127.0.0.1:{port}/health"))
                .call()
                .ok()
        });
        Victoria {
            proc,
            port,
            _dir: dir,
        }
    }

    /// The base to give snapbridge (`/v1/metrics` is appended).
    pub fn otlp_base(&self) -> String {
        format!("http://127.0.0.1:{}/opentelemetry", self.port)
    }

    /// An instant query after a flush, as (labels, value) per series.
    pub fn query(&self, expr: &str) -> Vec<(serde_json::Map<String, Json>, f64)> {
        let _ = ureq::get(&format!(
            "http://127.0.0.1:{}/internal/force_flush",
            self.port
        ))
        .call();
        let resp = ureq::get(&format!("http://127.0.0.1:{}/api/v1/query", self.port))
            .query("query", expr)
            .call()
            .unwrap_or_else(|e| panic!("VictoriaMetrics query {expr}: {e}"));
        let json: Json = serde_json::from_reader(resp.into_reader()).expect("JSON");
        json["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|r| {
                let labels = r["metric"].as_object().cloned().unwrap_or_default();
                let v = r["value"][1]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(f64::NAN);
                (labels, v)
            })
            .collect()
    }
}
