//! A restart of the snapbridge process with a state file keeps each series' created
//! timestamp: the real binary, scraped as OpenMetrics (`_created`) and as protobuf
//! (`created_timestamp`), stopped with SIGTERM and started again on the same files.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Proc, free_port, http_get, wait_for};
use prost::Message;

const OPENMETRICS: &str = "application/openmetrics-text;version=1.0.0";
const PROTOBUF: &str =
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited";

// The `prometheus` crate's generated types lack `created_timestamp`: these prost messages,
// declared from metrics.proto's field numbers, read just the name and that field.
#[derive(Clone, PartialEq, Message)]
struct Family {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(message, repeated, tag = "4")]
    metric: Vec<Metric>,
}

#[derive(Clone, PartialEq, Message)]
struct Metric {
    #[prost(message, optional, tag = "3")]
    counter: Option<Counter>,
}

#[derive(Clone, PartialEq, Message)]
struct Counter {
    #[prost(double, optional, tag = "1")]
    value: Option<f64>,
    #[prost(message, optional, tag = "3")]
    created_timestamp: Option<Timestamp>,
}

#[derive(Clone, PartialEq, Message)]
struct Timestamp {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

/// The snapbridge binary on `config`, serving on `addr`, until dropped (killed by PID).
fn start(config: &Path, addr: &str, log: &Path) -> Proc {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_snapbridge"));
    cmd.arg("--config")
        .arg(config)
        .args(["--listen", addr])
        .env_remove("SNAPBRIDGE_CONFIG")
        .env("RUST_LOG", "warn");
    for (key, _) in std::env::vars() {
        if key.starts_with("OTEL_") {
            cmd.env_remove(key);
        }
    }
    Proc::spawn("snapbridge", cmd, log.to_path_buf())
}

/// `jobs_done_total`'s value and created time (OpenMetrics, ms precision; protobuf, ns),
/// once the process serves a cycle in which it is `want`.
fn created(proc: &mut Proc, addr: &str, want: f64) -> (String, (i64, i32)) {
    let url = format!("http://{addr}/metrics");
    wait_for(
        "jobs_done_total in both formats",
        Duration::from_secs(30),
        || {
            if let Ok(Some(status)) = proc.child.try_wait() {
                panic!("snapbridge exited ({status}):\n{}", proc.log_tail());
            }
            let (status, _, _, om) = http_get_quiet(&url, OPENMETRICS)?;
            let (_, _, _, pb) = http_get_quiet(&url, PROTOBUF)?;
            if status != 200 {
                return None;
            }
            let om = String::from_utf8_lossy(&om).into_owned();
            let value_line = format!("jobs_done_total{{source=\"app\"}} {want}");
            if !om.lines().any(|l| l == value_line) {
                return None;
            }
            let om_created = om
                .lines()
                .find_map(|l| l.strip_prefix("jobs_done_created{source=\"app\"} "))?
                .to_string();
            let mut body = &pb[..];
            let mut pb_created = None;
            while !body.is_empty() {
                let f = Family::decode_length_delimited(&mut body).ok()?;
                if f.name.as_deref() == Some("jobs_done_total") {
                    let c = f.metric.first()?.counter.clone()?;
                    if c.value != Some(want) {
                        return None;
                    }
                    let t = c.created_timestamp?;
                    pb_created = Some((t.seconds, t.nanos));
                }
            }
            Some((om_created, pb_created?))
        },
    )
}

/// [`http_get`], `None` while the process does not answer yet.
fn http_get_quiet(url: &str, accept: &str) -> Option<(u16, String, String, Vec<u8>)> {
    ureq::get(url).call().ok()?;
    Some(http_get(url, &[("Accept", accept)]))
}

#[test]
fn a_restart_with_a_state_file_keeps_the_created_timestamp() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("app.json");
    std::fs::write(&data, r#"{"jobs_done": 7}"#).expect("write app.json");
    let config = dir.path().join("snapbridge.toml");
    std::fs::write(
        &config,
        format!(
            "interval = \"1s\"\nstate_file = \"{}\"\n[[source]]\nname = \"app\"\nkind = \"file\"\npath = \"{}\"\ncounters = [\"jobs_*\"]\n",
            dir.path().join("state.tsv").display(),
            data.display()
        ),
    )
    .expect("write config");
    let addr = format!("127.0.0.1:{}", free_port());
    let log = dir.path().join("snapbridge.log");

    let mut first = start(&config, &addr, &log);
    let (om_before, pb_before) = created(&mut first, &addr, 7.0);
    std::fs::write(&data, r#"{"jobs_done": 9}"#).expect("update app.json");
    let _ = created(&mut first, &addr, 9.0);
    let status = first.terminate(Duration::from_secs(20));
    assert!(
        status.is_some_and(|s| s.success()),
        "SIGTERM: {status:?}\n{}",
        first.log_tail()
    );
    assert!(
        dir.path().join("state.tsv").exists(),
        "the state file was written"
    );

    // Meanwhile the application counted on; the restarted process continues the total.
    std::fs::write(&data, r#"{"jobs_done": 12}"#).expect("update app.json");
    let mut second = start(&config, &addr, &dir.path().join("snapbridge-2.log"));
    let (om_after, pb_after) = created(&mut second, &addr, 12.0);
    assert_eq!(
        om_after, om_before,
        "OpenMetrics _created after the restart (left) vs before (right)"
    );
    assert_eq!(
        pb_after, pb_before,
        "protobuf created_timestamp after the restart (left) vs before (right)"
    );
    // The two formats say the same instant (OpenMetrics in milliseconds).
    let ms = pb_before.0 * 1000 + i64::from(pb_before.1) / 1_000_000;
    assert_eq!(om_before, format!("{}.{:03}", ms / 1000, ms % 1000));
}
