//! A real Prometheus, started on a free port in a temp dir, scraping one target every second.

use std::process::Command;
use std::time::Duration;

use super::{Proc, free_port, peer, wait_for};

/// Which Prometheus: 3.x (built from its Go module) or Debian's 2.53 LTS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    Current,
    Lts,
}

pub struct Prometheus {
    pub proc: Proc,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `target` (host:port) at `/metrics` every second.
    pub fn start(target: &str) -> Prometheus {
        Prometheus::start_with(&format!(
            "  - job_name: snapbridge\n    static_configs:\n      - targets: ['{target}']\n"
        ))
    }

    /// Runs an instant query; returns `(labels, value)` per series.
    pub fn query(&self, expr: &str) -> Vec<(serde_json::Map<String, serde_json::Value>, f64)> {
        let url = format!("http://127.0.0.1:{}/api/v1/query", self.port);
        let resp = ureq::get(&url)
            .query("query", expr)
            .call()
            .unwrap_or_else(|e| panic!("query {expr}: {e}\n{}", self.proc.log_tail()));
        let json: serde_json::Value =
            serde_json::from_reader(resp.into_reader()).expect("query JSON");
        assert_eq!(json["status"], "success", "query {expr}: {json}");
        let result = json["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        result
            .into_iter()
            .map(|r| {
                let labels = r["metric"].as_object().cloned().unwrap_or_default();
                let value = r["value"][1]
                    .as_str()
                    .and_then(|s| s.parse::<f64>().ok())
                    .unwrap_or(f64::NAN);
                (labels, value)
            })
            .collect()
    }

    /// Waits until `expr` returns exactly one series with value `want`.
    pub fn wait_value(&self, expr: &str, want: f64, timeout: Duration) {
        let mut last = Vec::new();
        let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait_for(&format!("{expr} == {want}"), timeout, || {
                last = self.query(expr);
                (last.len() == 1 && last[0].1 == want).then_some(())
            })
        }));
        if found.is_err() {
            panic!(
                "{expr}: wanted {want}, Prometheus has {:?}\nprometheus log:\n{}",
                last.iter().map(|(_, v)| *v).collect::<Vec<_>>(),
                self.proc.log_tail()
            );
        }
    }
}

impl Prometheus {
    /// Starts Prometheus 3 with the given `scrape_configs` entries (YAML, indented as list items).
    pub fn start_with(scrape_configs: &str) -> Prometheus {
        Prometheus::start_full(Version::Current, scrape_configs, &[])
    }

    /// Prometheus 3 with its OTLP receiver on (`/api/v1/otlp/v1/metrics`), scraping nothing;
    /// `args` adds flags (`--enable-feature=otlp-deltatocumulative`, ...).
    pub fn otlp_receiver(args: &[&str]) -> Prometheus {
        let mut all = vec!["--web.enable-otlp-receiver"];
        all.extend_from_slice(args);
        Prometheus::start_full(Version::Current, "", &all)
    }

    /// The base URL for snapbridge's `http/protobuf` protocol (`/v1/metrics` is appended).
    pub fn otlp_base(&self) -> String {
        format!("http://127.0.0.1:{}/api/v1/otlp", self.port)
    }

    /// Starts `version` with the given scrape configs and extra flags.
    pub fn start_full(version: Version, scrape_configs: &str, args: &[&str]) -> Prometheus {
        Prometheus::start_config(version, "", scrape_configs, args)
    }

    /// Starts `version` with top-level `sections` of prometheus.yml (YAML, e.g. `otlp:`),
    /// the given scrape configs and extra flags.
    pub fn start_config(
        version: Version,
        sections: &str,
        scrape_configs: &str,
        args: &[&str],
    ) -> Prometheus {
        let bin = match version {
            Version::Current => peer("SNAPBRIDGE_PROMETHEUS", "bin/prometheus"),
            Version::Lts => peer("SNAPBRIDGE_PROMETHEUS_LTS", "bin/prometheus-2.53"),
        };
        let scrape_configs = if scrape_configs.is_empty() {
            " []\n"
        } else {
            scrape_configs
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n{sections}scrape_configs:\n{scrape_configs}"),
        )
        .expect("write prometheus.yml");
        let port = free_port();
        let mut cmd = Command::new(bin);
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .args(args);
        let proc = Proc::spawn("prometheus", cmd, dir.path().join("prometheus.log"));
        let prom = Prometheus {
            proc,
            port,
            _dir: dir,
        };
        wait_for("prometheus /-/ready", Duration::from_secs(30), || {
            ureq::get(&format!("http://127.0.0.1:{port}/-/ready"))
                .call()
                .ok()
                .filter(|r| r.status() == 200)
        });
        prom
    }
}
