//! The `snapbridge` binary: the embedded default serves a valid `/metrics`, `check` and
//! `once` print what would be exported, bad configs fail with one line naming the key and
//! the line, and SIGTERM ends a run cleanly.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Proc, http_get, promtool_check, python_parse, wait_for};

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_snapbridge"));
    cmd.env_remove("SNAPBRIDGE_CONFIG").env("RUST_LOG", "warn");
    cmd
}

#[test]
fn embedded_default_serves_a_valid_metrics_endpoint_and_stops_on_sigterm() {
    let mut cmd = bin();
    cmd.args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("start snapbridge");
    let stdout = child.stdout.take().expect("stdout");
    let mut proc = Proc {
        child,
        name: "snapbridge".into(),
        log: None,
    };
    let mut lines = BufReader::new(stdout).lines();
    let url = wait_for("the printed URL", Duration::from_secs(20), || {
        let line = lines.next()?.ok()?;
        let start = line.find("http://")?;
        let url = line[start..].split_whitespace().next()?.to_string();
        url.ends_with("/metrics").then_some(url)
    });
    let body = wait_for("the demo series", Duration::from_secs(20), || {
        let (status, _, _, body) = http_get(&url, &[]);
        (status == 200 && String::from_utf8_lossy(&body).contains("records_written_total"))
            .then_some(body)
    });
    if let Err(p) = promtool_check(&body) {
        panic!("promtool: {p}\n{}", String::from_utf8_lossy(&body));
    }
    let text = String::from_utf8_lossy(&body);
    for name in [
        "records_written_total",
        "records_read_total",
        "write_errors_total",
        "read_errors_total",
        "scan_runs_total",
        "anomalies_detected_total",
        "recoveries_attempted_total",
        "recoveries_failed_total",
        "compactions_run_total",
        "queue_size",
    ] {
        assert!(
            text.contains(&format!("{name}{{service=\"papyra\",source=\"papyra\"}}")),
            "{name} missing:\n{text}"
        );
    }
    let (_, ct, _, om) = http_get(&url, &[("Accept", "application/openmetrics-text")]);
    assert!(ct.starts_with("application/openmetrics-text"));
    python_parse(&om, "openmetrics").expect("OpenMetrics parser accepts the demo");
    let status = proc
        .terminate(Duration::from_secs(10))
        .expect("exits within 10 s of SIGTERM");
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn once_prints_one_exposition_and_check_prints_a_table() {
    let out = bin().arg("once").output().expect("run once");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("# TYPE records_written_total counter"),
        "{text}"
    );
    let out = bin()
        .args(["once", "--format", "openmetrics"])
        .output()
        .expect("run once");
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("# EOF\n"));
    let out = bin().arg("check").output().expect("run check");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("config ok: 1 source(s)"), "{text}");
    assert!(text.contains("source papyra: up, 11 series"), "{text}");
    let header = text
        .lines()
        .find(|l| l.starts_with("SOURCE"))
        .expect("table header");
    assert!(
        header.contains("METRIC") && header.contains("VALUE"),
        "{header}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("papyra")
            && l.contains("records_written_total")
            && l.contains("counter")),
        "{text}"
    );
}

#[test]
fn bad_config_fails_with_one_line_naming_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "interval = \"10s\"\n\n[[source]]\nname = \"a\"\nkind = \"demo\"\ninitial = \"maybe\"\n",
    )
    .unwrap();
    let out = bin()
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    let line = err
        .lines()
        .find(|l| l.starts_with("error:"))
        .expect("an error line");
    assert!(line.contains("bad.toml:6:"), "{err}");
    assert!(line.contains("key `initial`"), "{err}");
    assert!(line.contains("\"maybe\""), "{err}");

    std::fs::write(&path, "intervall = \"10s\"\n").unwrap();
    let out = bin()
        .args(["once", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("bad.toml:1:") && err.contains("intervall"),
        "{err}"
    );

    let out = bin()
        .args(["check", "--config", "/nonexistent/x.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.toml"));
}

#[test]
fn a_config_file_drives_names_labels_and_initial_drop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        "interval = \"500ms\"\n[[source]]\nname = \"two\"\nkind = \"demo\"\ncounters = [\"records_*\"]\ndefault_kind = \"ignore\"\ninitial = \"drop\"\nprefix = \"papyra_\"\nlabels = { env = \"test\" }\n",
    )
    .unwrap();
    let out = bin()
        .args(["once", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    // initial = "drop": the first sighting only sets the baseline.
    assert!(
        text.contains("papyra_records_written_total{env=\"test\",source=\"two\"} 0\n"),
        "{text}"
    );
    assert!(
        !text.contains("queue_size"),
        "ignored by default_kind: {text}"
    );
}

/// Issue 17 #17: a duration out of range is one error line naming file, line and key, not
/// a panic (a huge interval overflowed `Instant + Duration`) nor a busy loop (`1ns`).
#[test]
fn out_of_range_durations_fail_with_one_line_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("range.toml");
    let source = "[[source]]\nname = \"a\"\nkind = \"demo\"\n";
    let cases = [
        (
            format!("interval = \"584542046090y\"\n{source}"),
            1,
            "interval",
        ),
        (format!("\ninterval = \"1ns\"\n{source}"), 2, "interval"),
        (
            format!("max_staleness = \"1000y\"\n{source}"),
            1,
            "max_staleness",
        ),
        (
            format!("shutdown_timeout = \"0s\"\n{source}"),
            1,
            "shutdown_timeout",
        ),
        (format!("timeout = \"2h\"\n{source}"), 1, "timeout"),
        (
            format!("{source}timeout = \"584542046090y\"\n"),
            4,
            "timeout",
        ),
    ];
    for (text, line, key) in cases {
        std::fs::write(&path, &text).unwrap();
        let out = bin()
            .args(["check", "--config"])
            .arg(&path)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}\n{err}");
        assert!(!err.contains("panicked"), "{text}\n{err}");
        let first = err.lines().find(|l| l.starts_with("error:")).unwrap_or("");
        assert!(
            first.contains(&format!("range.toml:{line}:")),
            "{text}\n{err}"
        );
        assert!(first.contains(&format!("key `{key}`")), "{text}\n{err}");
        assert!(first.contains("out of range"), "{text}\n{err}");
    }
}

/// Issue 17 #3: SIGTERM while a pull hangs (an `exec` source with `timeout = "30s"`) ends
/// the process within `shutdown_timeout` (2 s) plus a margin, not the source's timeout.
#[test]
fn sigterm_during_a_hung_pull_exits_within_shutdown_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hang.toml");
    std::fs::write(
        &config,
        "interval = \"60s\"\nshutdown_timeout = \"2s\"\n[[source]]\nname = \"hang\"\n\
         kind = \"exec\"\ncommand = [\"sleep\", \"60\"]\ntimeout = \"30s\"\n",
    )
    .unwrap();
    let mut cmd = bin();
    cmd.args(["--listen", "127.0.0.1:0", "--config"])
        .arg(&config);
    let mut proc = Proc::spawn("snapbridge", cmd, dir.path().join("log"));
    wait_for("the serving line", Duration::from_secs(20), || {
        std::fs::read_to_string(dir.path().join("log"))
            .ok()
            .filter(|l| l.contains("/metrics"))
    });
    // The first cycle starts at once; let its pull be under way.
    std::thread::sleep(Duration::from_millis(500));
    let started = std::time::Instant::now();
    let status = proc.terminate(Duration::from_secs(20));
    let took = started.elapsed();
    assert!(status.is_some(), "no exit in 20 s\n{}", proc.log_tail());
    assert!(
        took < Duration::from_secs(5),
        "exit took {took:?}\n{}",
        proc.log_tail()
    );
}
