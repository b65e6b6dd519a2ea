//! A real OpenTelemetry Collector (built by scripts/peers.sh from tests/peers/otelcol), started
//! on free loopback ports in a temp dir, and a reader for its `prometheus` exporter.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use super::{Proc, free_port, peer, wait_for};

/// One Collector process: an `otlp` receiver (gRPC and HTTP) and/or a `prometheus` receiver,
/// feeding a `prometheus` exporter the test reads back.
pub struct Collector {
    pub proc: Proc,
    /// The `otlp` receiver's gRPC port.
    pub grpc: u16,
    /// The `otlp` receiver's HTTP port.
    pub http: u16,
    /// The `prometheus` exporter's port.
    pub exporter: u16,
    _dir: tempfile::TempDir,
}

/// What the Collector's pipeline does between its receivers and its `prometheus` exporter.
#[derive(Default)]
pub struct Pipeline<'a> {
    /// Processors, in order (`delta_to_cumulative`, `cumulative_to_delta`, `batch`).
    pub processors: &'a [&'a str],
    /// Also forward every batch with the `otlp_grpc` exporter to this `host:port`.
    pub forward_to: Option<String>,
    /// Scrape this `host:port` with the `prometheus` receiver (every second) as well.
    pub scrape: Option<String>,
}

impl Collector {
    /// OTLP in, straight to the `prometheus` exporter (plus `processors`).
    pub fn start(processors: &[&str]) -> Collector {
        Collector::start_with(Pipeline {
            processors,
            ..Pipeline::default()
        })
    }

    /// A Collector with the given pipeline.
    pub fn start_with(pipeline: Pipeline<'_>) -> Collector {
        let bin = peer("SNAPBRIDGE_OTELCOL", "bin/otelcol");
        let dir = tempfile::tempdir().expect("temp dir");
        let (grpc, http, exporter) = (free_port(), free_port(), free_port());
        let mut receivers = vec!["otlp"];
        let mut exporters = vec!["prometheus"];
        let mut yaml = format!(
            "receivers:\n  otlp:\n    protocols:\n      grpc:\n        endpoint: 127.0.0.1:{grpc}\n      http:\n        endpoint: 127.0.0.1:{http}\n"
        );
        if let Some(target) = &pipeline.scrape {
            receivers.push("prometheus");
            yaml.push_str(&format!(
                "  prometheus:\n    config:\n      scrape_configs:\n        - job_name: snapbridge\n          scrape_interval: 1s\n          scrape_timeout: 1s\n          static_configs:\n            - targets: ['{target}']\n"
            ));
        }
        yaml.push_str("processors:\n");
        for p in pipeline.processors {
            yaml.push_str(&format!("  {p}: {{}}\n"));
        }
        if pipeline.processors.is_empty() {
            yaml.push_str("  batch: {}\n");
        }
        yaml.push_str(&format!(
            "exporters:\n  prometheus:\n    endpoint: 127.0.0.1:{exporter}\n    metric_expiration: 10m\n"
        ));
        if let Some(to) = &pipeline.forward_to {
            exporters.push("otlp_grpc");
            yaml.push_str(&format!(
                "  otlp_grpc:\n    endpoint: {to}\n    tls:\n      insecure: true\n    retry_on_failure:\n      enabled: false\n"
            ));
        }
        let processors: Vec<&str> = if pipeline.processors.is_empty() {
            vec!["batch"]
        } else {
            pipeline.processors.to_vec()
        };
        yaml.push_str(&format!(
            "service:\n  telemetry:\n    logs:\n      level: warn\n    metrics:\n      level: none\n  pipelines:\n    metrics:\n      receivers: [{}]\n      processors: [{}]\n      exporters: [{}]\n",
            receivers.join(", "),
            processors.join(", "),
            exporters.join(", ")
        ));
        let config = dir.path().join("otelcol.yaml");
        std::fs::write(&config, &yaml).expect("write otelcol.yaml");
        let mut cmd = Command::new(bin);
        cmd.arg("--config").arg(&config);
        let proc = Proc::spawn("otelcol", cmd, dir.path().join("otelcol.log"));
        let mut collector = Collector {
            proc,
            grpc,
            http,
            exporter,
            _dir: dir,
        };
        wait_for("the Collector's ports", Duration::from_secs(30), || {
            if let Ok(Some(status)) = collector.proc.child.try_wait() {
                panic!(
                    "the Collector exited ({status}):\n{}\nconfig:\n{yaml}",
                    collector.proc.log_tail()
                );
            }
            let up = |port: u16| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
            (up(grpc) && up(http) && up(exporter)).then_some(())
        });
        collector
    }

    /// The base URL for snapbridge's `grpc` protocol.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc)
    }

    /// The base URL for snapbridge's `http/protobuf` protocol (`/v1/metrics` is appended).
    pub fn http_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.http)
    }

    /// The `prometheus` exporter's exposition, parsed.
    pub fn samples(&self) -> Vec<TextSample> {
        let url = format!("http://127.0.0.1:{}/metrics", self.exporter);
        match ureq::get(&url).call() {
            Ok(resp) => parse_text(&resp.into_string().unwrap_or_default()),
            Err(e) => panic!("GET {url}: {e}\n{}", self.proc.log_tail()),
        }
    }

    /// The value of the one sample named `name` whose labels include `labels`, if any.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let matching: Vec<f64> = self
            .samples()
            .into_iter()
            .filter(|s| s.matches(name, labels))
            .map(|s| s.value)
            .collect();
        match matching[..] {
            [v] => Some(v),
            [] => None,
            _ => panic!("{name}{labels:?}: {} samples match", matching.len()),
        }
    }

    /// Waits until [`value`](Self::value) is `want`; on timeout, panics with what it has.
    pub fn wait_value(&self, name: &str, labels: &[(&str, &str)], want: f64) {
        let mut last = None;
        let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait_for(
                &format!("{name}{labels:?} == {want}"),
                Duration::from_secs(30),
                || {
                    last = self.value(name, labels);
                    (last == Some(want)).then_some(())
                },
            )
        }));
        if found.is_err() {
            panic!(
                "Collector: {name}{labels:?} wanted {want}, has {last:?}\ncollector log:\n{}",
                self.proc.log_tail()
            );
        }
    }
}

/// One sample line of a text exposition.
#[derive(Clone, Debug, PartialEq)]
pub struct TextSample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl TextSample {
    /// True when the name is `name` and every pair of `labels` is present.
    pub fn matches(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        self.name == name && self.has(labels)
    }

    /// True when every pair of `labels` is present.
    pub fn has(&self, labels: &[(&str, &str)]) -> bool {
        labels
            .iter()
            .all(|(k, v)| self.labels.get(*k).map(String::as_str) == Some(*v))
    }
}

/// Parses the sample lines of a Prometheus text exposition (comments skipped; label values
/// unescaped). Panics on a line it cannot read: the exporter under test must be valid.
pub fn parse_text(body: &str) -> Vec<TextSample> {
    let mut out = Vec::new();
    for line in body.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) => line.split_at(i),
            None => panic!("bad exposition line {line:?}"),
        };
        let mut labels = BTreeMap::new();
        let mut rest = rest;
        if let Some(inner) = rest.strip_prefix('{') {
            let mut end = None;
            let (mut key, mut value, mut in_value, mut escaped) =
                (String::new(), String::new(), false, false);
            for (i, c) in inner.char_indices() {
                if in_value {
                    if escaped {
                        value.push(if c == 'n' { '\n' } else { c });
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        in_value = false;
                        labels.insert(
                            std::mem::take(&mut key).trim().to_string(),
                            std::mem::take(&mut value),
                        );
                    } else {
                        value.push(c);
                    }
                    continue;
                }
                match c {
                    '}' => {
                        end = Some(i);
                        break;
                    }
                    '"' => in_value = true,
                    '=' | ',' => {}
                    c => key.push(c),
                }
            }
            let end = end.unwrap_or_else(|| panic!("unterminated labels in {line:?}"));
            rest = &inner[end + 1..];
        }
        let value = rest
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("bad value in {line:?}"));
        out.push(TextSample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    out
}
