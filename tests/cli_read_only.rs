//! `check` and `once` beside a running instance: they read its state file and its batch_dir
//! checkpoint, and leave both exactly as they were (bytes and mtime), while still counting
//! what arrived since.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use common::{Proc, free_port, wait_for};

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_snapbridge"));
    cmd.env_remove("SNAPBRIDGE_CONFIG").env("RUST_LOG", "warn");
    cmd
}

fn write_batch(dir: &Path, name: &str, records: usize) {
    let records: Vec<serde_json::Value> = (0..records)
        .map(|i| {
            serde_json::json!({"operation_type": "api_request", "operation_name": "GET /u",
                "duration_ms": i as f64, "success": true, "metadata": {}})
        })
        .collect();
    let body = serde_json::json!({ "records": records }).to_string();
    std::fs::write(dir.join(name), body).expect("write a batch file");
}

fn stamp(path: &Path) -> (Vec<u8>, SystemTime) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mtime = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .expect("mtime");
    (bytes, mtime)
}

#[test]
fn check_and_once_leave_the_state_file_and_checkpoint_untouched() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let batches = tmp.path().join("batches");
    std::fs::create_dir(&batches).expect("mkdir");
    let state = tmp.path().join("snapbridge.state");
    let checkpoint = tmp.path().join("ops.checkpoint.json");
    let config = tmp.path().join("snapbridge.toml");
    std::fs::write(
        &config,
        format!(
            "interval = \"100ms\"\nstate_file = \"{}\"\n[[source]]\nname = \"ops\"\nkind = \"batch_dir\"\npath = \"{}\"\ncheckpoint = \"{}\"\n",
            state.display(),
            batches.display(),
            checkpoint.display()
        ),
    )
    .expect("write config");
    write_batch(&batches, "metrics_20250101_000001.json", 3);

    // A real instance writes both files, then stops.
    let port = free_port();
    let mut cmd = bin();
    cmd.arg("--config")
        .arg(&config)
        .args(["--listen", &format!("127.0.0.1:{port}")]);
    let mut run = Proc::spawn("snapbridge", cmd, tmp.path().join("run.log"));
    wait_for(
        "the checkpoint and the state file",
        Duration::from_secs(30),
        || (checkpoint.exists() && state.exists()).then_some(()),
    );
    let status = run.terminate(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "run: {status:?}\n{}",
        run.log_tail()
    );
    let before = (stamp(&state), stamp(&checkpoint));

    // New work since: a one-shot run that wrote what it counted would move the checkpoint
    // past it, and the running instance would never count it.
    write_batch(&batches, "metrics_20250101_000002.json", 4);
    std::thread::sleep(Duration::from_millis(20));
    let out = bin()
        .arg("--config")
        .arg(&config)
        .arg("once")
        .output()
        .expect("run once");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let ops: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("operations_total{"))
        .collect();
    assert_eq!(ops.len(), 1, "{text}");
    assert!(
        ops[0].ends_with(" 7"),
        "once reads the checkpoint and counts on: {text}"
    );
    let out = bin()
        .arg("--config")
        .arg(&config)
        .arg("check")
        .output()
        .expect("run check");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("source ops: up"));

    assert!(
        (stamp(&state), stamp(&checkpoint)) == before,
        "check or once changed the state file or the checkpoint"
    );
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn help_says_check_and_once_write_nothing() {
    for sub in ["check", "once"] {
        let out = bin().args([sub, "--help"]).output().expect("help");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("never writes them"), "{sub}: {text}");
    }
}
