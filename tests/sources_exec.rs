//! `kind = "exec"` with real child processes: stdout's JSON is exported as is, a non-zero
//! exit is a failed snapshot with stderr's first line, and a hung command is killed (its
//! whole process group, by PID) within the timeout.

mod common;

use std::path::Path;
use std::time::Duration;

use common::sources::{metric, scrape, status_page};
use common::{Bridge, wait_for};

fn alive(pid: u32) -> bool {
    // A killed process may linger as a zombie until reaped: that is not alive.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[test]
fn a_command_s_stdout_is_exported_and_failures_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("snap.json");
    std::fs::write(
        &data,
        r#"[{"name": "compactions_run", "type": "counter", "value": 2},
            {"name": "queue_size", "type": "gauge", "value": 3.5, "labels": {"shard": "a"}}]"#,
    )
    .unwrap();
    let pidfile = dir.path().join("sleeper.pid");
    let config = format!(
        r#"interval = "5s"
timeout = "800ms"
[[source]]
name = "cat"
kind = "exec"
command = ["cat", "{}"]
[[source]]
name = "fails"
kind = "exec"
command = ["sh", "-c", "echo 'boom: disk on fire' >&2; echo second >&2; exit 3"]
[[source]]
name = "hung"
kind = "exec"
command = ["sh", "-c", "sleep 60 & echo $! > {}; wait"]
[[source]]
name = "nope"
kind = "exec"
command = ["/nonexistent/metrics-tool"]
"#,
        data.display(),
        pidfile.display()
    );
    let mut bridge = Bridge::start(&config, vec![]);
    let started = std::time::Instant::now();
    let view = bridge.cycle();
    // Bounded by the 800 ms timeout, not by the hung command's 60 s (5 s: margin for a busy
    // machine).
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let text = scrape(&bridge);
    assert_eq!(
        metric(&text, "compactions_run_total", &[("source", "cat")]),
        Some(2.0),
        "{text}"
    );
    assert_eq!(metric(&text, "queue_size", &[("shard", "a")]), Some(3.5));
    let err = |name: &str| {
        view.sources
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.last_error.clone())
            .unwrap_or_default()
    };
    assert_eq!(
        err("fails"),
        "command \"sh\": exited with exit status: 3: boom: disk on fire … second"
    );
    assert!(err("hung").contains("timed out after"), "{}", err("hung"));
    assert!(err("hung").contains("killed pid"), "{}", err("hung"));
    assert!(err("nope").contains("cannot start"), "{}", err("nope"));
    for name in ["fails", "hung", "nope"] {
        assert_eq!(
            metric(&text, "snapbridge_source_up", &[("source", name)]),
            Some(0.0)
        );
    }
    assert!(status_page(&bridge).contains("boom: disk on fire"));
    // The hung command's own child (in its process group) is gone too.
    let pid: u32 = wait_for("the sleeper's pid", Duration::from_secs(5), || {
        std::fs::read_to_string(&pidfile).ok()?.trim().parse().ok()
    });
    wait_for("the sleeper to be killed", Duration::from_secs(5), || {
        (!alive(pid)).then_some(())
    });

    // The command's data changes; a reset (2 -> 1) does not lower the total.
    std::fs::write(
        &data,
        r#"[{"name": "compactions_run", "type": "counter", "value": 1}]"#,
    )
    .unwrap();
    bridge.cycle();
    assert_eq!(
        metric(
            &scrape(&bridge),
            "compactions_run_total",
            &[("source", "cat")]
        ),
        Some(3.0)
    );
    assert!(Path::new(&data).exists());
}
