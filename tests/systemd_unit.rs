//! dist/snapbridge.service is a unit systemd accepts, with the hardening it promises, and
//! dist/snapbridge.toml is a config snapbridge accepts.
//!
//! Needs `systemd-analyze` (Debian package `systemd`, installed by scripts/peers.sh): the
//! test fails when it is missing, it is never skipped. `systemd-analyze verify` checks that
//! ExecStart's binary exists, so it runs on a copy of the unit whose ExecStart is the
//! snapbridge binary cargo built for this test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    let path = repo().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs `systemd-analyze ARGS`; panics (never skips) when it is not installed.
fn systemd_analyze(args: &[&str]) -> Output {
    Command::new("systemd-analyze")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run systemd-analyze ({e}): install the `systemd` package \
                 (scripts/peers.sh does); this test is never skipped"
            )
        })
}

/// The unit with its ExecStart binary replaced by `binary` (arguments kept).
fn with_binary(unit: &str, binary: &Path) -> String {
    let mut replaced = 0;
    let out: Vec<String> = unit
        .lines()
        .map(|line| match line.strip_prefix("ExecStart=") {
            Some(command) if !command.is_empty() => {
                replaced += 1;
                let args = command.split_once(' ').map_or("", |(_, args)| args);
                format!("ExecStart={} {args}", binary.display())
            }
            _ => line.to_string(),
        })
        .collect();
    assert_eq!(
        replaced, 1,
        "the unit must have exactly one ExecStart= command"
    );
    out.join("\n") + "\n"
}

/// `systemd-analyze verify` on `unit` written as `<dir>/snapbridge.service`.
fn verify(dir: &Path, unit: &str) -> (Output, String) {
    let path = dir.join("snapbridge.service");
    std::fs::write(&path, unit).unwrap();
    let out = systemd_analyze(&["verify", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    (out, stderr)
}

#[test]
fn the_unit_verifies_without_a_warning() {
    let unit = read("dist/snapbridge.service");
    let dir = tempfile::tempdir().unwrap();
    let unit = with_binary(&unit, Path::new(env!("CARGO_BIN_EXE_snapbridge")));
    let (out, stderr) = verify(dir.path(), &unit);
    assert!(
        out.status.success(),
        "systemd-analyze verify failed ({}): {stderr}",
        out.status
    );
    assert!(
        stderr.is_empty(),
        "systemd-analyze verify warned:\n{stderr}"
    );
}

#[test]
fn verify_catches_a_bad_key_and_a_missing_binary() {
    // The check above can fail: a misspelt directive is only a warning on stderr (exit 0),
    // a missing binary an error.
    let unit = with_binary(
        &read("dist/snapbridge.service"),
        Path::new(env!("CARGO_BIN_EXE_snapbridge")),
    );
    let dir = tempfile::tempdir().unwrap();
    let misspelt = unit.replace("\nProtectHome=", "\nProtectHom=");
    assert_ne!(misspelt, unit);
    let (_, stderr) = verify(dir.path(), &misspelt);
    assert!(
        stderr.contains("ProtectHom"),
        "no warning for a bad key: {stderr:?}"
    );
    let missing = with_binary(&unit, &dir.path().join("no-such-snapbridge"));
    let (out, stderr) = verify(dir.path(), &missing);
    assert!(!out.status.success(), "a missing binary verified: {stderr}");
}

#[test]
fn the_unit_is_hardened() {
    let unit = read("dist/snapbridge.service");
    let lines: Vec<&str> = unit.lines().map(str::trim).collect();
    for directive in [
        "DynamicUser=yes",
        "StateDirectory=snapbridge",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "KillSignal=SIGTERM",
    ] {
        assert!(
            lines.contains(&directive),
            "dist/snapbridge.service lacks `{directive}`"
        );
    }
    let exec = lines
        .iter()
        .find(|l| l.starts_with("ExecStart="))
        .expect("ExecStart=");
    assert!(
        exec.ends_with(" --config /etc/snapbridge/snapbridge.toml"),
        "{exec}"
    );
    // systemd's own score of the sandbox: exposure at most 2.0 of 10 ("OK").
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snapbridge.service");
    std::fs::write(
        &path,
        with_binary(&unit, Path::new(env!("CARGO_BIN_EXE_snapbridge"))),
    )
    .unwrap();
    let out = systemd_analyze(&[
        "security",
        "--offline=true",
        "--threshold=20",
        path.to_str().unwrap(),
    ]);
    let report = String::from_utf8_lossy(&out.stdout);
    let overall = report
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or("");
    assert!(
        out.status.success(),
        "exposure above 2.0: {overall}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_example_config_is_accepted_and_keeps_state_in_the_state_directory() {
    let config = read("dist/snapbridge.toml");
    let state = "state_file = \"/var/lib/snapbridge/state.tsv\"";
    assert!(
        config.lines().any(|l| l.trim() == state),
        "dist/snapbridge.toml must set {state} (the unit's StateDirectory)"
    );
    // `check` reads the config and pulls once; the state file goes to a temporary directory
    // so the test writes nothing under /var/lib.
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("state.tsv");
    let path = dir.path().join("snapbridge.toml");
    std::fs::write(
        &path,
        config.replace(
            "/var/lib/snapbridge/state.tsv",
            state_file.to_str().unwrap(),
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_snapbridge"))
        .args(["check", "--config", path.to_str().unwrap()])
        .env_remove("SNAPBRIDGE_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.starts_with("config ok:"),
        "snapbridge check rejected dist/snapbridge.toml ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
