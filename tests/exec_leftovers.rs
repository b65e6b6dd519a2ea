//! `exec` commands that misbehave around their pipes and children, with real child
//! processes: a flood on stderr, a background child that keeps stdout open, and children
//! that leave the process group (`setsid`, with and without their environment). The
//! command's own exit decides; nothing it leaves behind survives the run.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::sources::{metric, scrape};
use common::{Bridge, Proc, free_port, wait_for};

/// PIDs of live processes whose command line is exactly `argv`.
fn processes(argv: &[&str]) -> Vec<i32> {
    let want: Vec<u8> = argv
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .map(|(_, r)| r.trim_start().starts_with('Z'))
            })
            .unwrap_or(true);
        if !zombie && std::fs::read(format!("/proc/{pid}/cmdline")).ok() == Some(want.clone()) {
            found.push(pid);
        }
    }
    found
}

/// Kills, when dropped (also on a failed assertion), every process run as `argv`.
struct KillAll(Vec<String>);

impl Drop for KillAll {
    fn drop(&mut self) {
        let argv: Vec<&str> = self.0.iter().map(String::as_str).collect();
        for pid in processes(&argv) {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
        }
    }
}

/// A sleep duration no other test uses, so its processes can be told apart.
fn unique_secs(offset: u32) -> String {
    (700_000 + (std::process::id() % 100_000) * 4 + offset).to_string()
}

#[test]
fn stderr_floods_and_a_background_child_holding_stdout_do_not_fail_a_command() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("bg.pid");
    let held = unique_secs(0);
    let _cleanup = KillAll(vec!["sleep".into(), held.clone()]);
    let config = format!(
        r#"interval = "10s"
timeout = "6s"
[[source]]
name = "chatty"
kind = "exec"
command = ["sh", "-c", "head -c 400000 /dev/zero | tr '\\000' x >&2; echo '{{\"chatty_ok\": 1}}'"]
[[source]]
name = "chatty_fails"
kind = "exec"
command = ["sh", "-c", "echo 'Traceback (most recent call last):' >&2; head -c 400000 /dev/zero | tr '\\000' '\\n' >&2; echo 'ValueError: the real reason' >&2; exit 4"]
[[source]]
name = "background"
kind = "exec"
command = ["sh", "-c", "sleep {held} & echo $! > {pidfile}; echo '{{\"background_ok\": 2}}'"]
"#,
        pidfile = pidfile.display()
    );
    let mut bridge = Bridge::start(&config, vec![]);
    let started = Instant::now();
    let view = bridge.cycle();
    let took = started.elapsed();
    let text = scrape(&bridge);
    // Before: 400 KB on stderr filled the pipe nobody read past 64 KiB, and the background
    // sleep held stdout open: both ran into the 6 s timeout.
    assert!(took < Duration::from_secs(4), "the cycle took {took:?}");
    assert_eq!(metric(&text, "chatty_ok", &[]), Some(1.0), "{text}");
    assert_eq!(metric(&text, "background_ok", &[]), Some(2.0), "{text}");
    for name in ["chatty", "background"] {
        assert_eq!(
            metric(&text, "snapbridge_source_up", &[("source", name)]),
            Some(1.0),
            "{name}"
        );
    }
    let err = view
        .sources
        .iter()
        .find(|s| s.name == "chatty_fails")
        .and_then(|s| s.last_error.clone())
        .unwrap_or_default();
    assert!(
        err.starts_with("command \"sh\": exited with exit status: 4: Traceback (most recent call last): … ValueError: the real reason"),
        "{err}"
    );
    // What the command left running is gone with the run.
    let pid: i32 = wait_for("the background pid", Duration::from_secs(5), || {
        std::fs::read_to_string(&pidfile).ok()?.trim().parse().ok()
    });
    wait_for(
        "the background sleep to be killed",
        Duration::from_secs(5),
        || (!processes(&["sleep", &held]).contains(&pid)).then_some(()),
    );
}

#[test]
fn children_that_leave_the_process_group_do_not_pile_up() {
    let dir = tempfile::tempdir().unwrap();
    let keeps_env = unique_secs(1);
    let clears_env = unique_secs(2);
    let _cleanup = (
        KillAll(vec!["sleep".into(), keeps_env.clone()]),
        KillAll(vec!["sleep".into(), clears_env.clone()]),
    );
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            r#"interval = "200ms"
[[source]]
name = "setsid"
kind = "exec"
command = ["sh", "-c", "setsid sleep {keeps_env} </dev/null >/dev/null 2>&1 & echo '{{\"a\": 1}}'"]
[[source]]
name = "setsid_env_cleared"
kind = "exec"
command = ["sh", "-c", "setsid env -i sleep {clears_env} </dev/null >/dev/null 2>&1 & echo '{{\"b\": 1}}'"]
"#
        ),
    )
    .unwrap();
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_snapbridge"));
    cmd.env_remove("SNAPBRIDGE_CONFIG")
        .env("RUST_LOG", "warn")
        .args(["--listen", &format!("127.0.0.1:{port}"), "--config"])
        .arg(&config)
        .stdin(Stdio::null());
    let mut bridge = Proc::spawn("snapbridge", cmd, dir.path().join("snapbridge.log"));
    let cycle = || {
        let body = ureq::get(&format!("http://127.0.0.1:{port}/metrics"))
            .call()
            .ok()?
            .into_string()
            .ok()?;
        metric(&body, "snapbridge_cycle", &[]).map(|c| (c, body))
    };
    // 15 cycles at 200 ms: before, 15 sleepers of each kind were left running.
    let (_, body) = wait_for("15 cycles", Duration::from_secs(30), || {
        cycle().filter(|(c, _)| *c >= 15.0)
    });
    for source in ["setsid", "setsid_env_cleared"] {
        assert_eq!(
            metric(&body, "snapbridge_source_up", &[("source", source)]),
            Some(1.0),
            "{body}"
        );
    }
    // A sweep may be between a spawn and its run's end: at most one each at any time.
    for argv in [&keeps_env, &clears_env] {
        let n = processes(&["sleep", argv]).len();
        assert!(
            n <= 1,
            "{n} sleepers {argv} left by 15 cycles\n{}",
            bridge.log_tail()
        );
    }
    let status = bridge
        .terminate(Duration::from_secs(10))
        .expect("exits on SIGTERM");
    assert!(status.success(), "{status}\n{}", bridge.log_tail());
    for argv in [&keeps_env, &clears_env] {
        let left = processes(&["sleep", argv]);
        assert!(
            left.is_empty(),
            "left after exit: {left:?}\n{}",
            bridge.log_tail()
        );
    }
}
