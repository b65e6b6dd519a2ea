//! `check` fails (exit status 1) when a source cannot be pulled or a sink is invalid, and
//! says which; `[otlp]` is checked as `run` would set it up.

use std::process::{Command, Output};

fn check(dir: &std::path::Path, config: &str) -> (Option<i32>, String, String) {
    let path = dir.join("c.toml");
    std::fs::write(&path, config).expect("write config");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_snapbridge"));
    cmd.env_remove("SNAPBRIDGE_CONFIG");
    for (k, _) in std::env::vars() {
        if k.starts_with("OTEL_") {
            cmd.env_remove(k);
        }
    }
    let Output {
        status,
        stdout,
        stderr,
    } = cmd
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .expect("run check");
    (
        status.code(),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

const DEMO: &str = "[[source]]\nname = \"papyra\"\nkind = \"demo\"\n";

#[test]
fn check_fails_on_a_source_that_cannot_be_pulled_and_names_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let dead = format!(
        "{DEMO}[[source]]\nname = \"dead\"\nkind = \"http\"\nurl = \"http://127.0.0.1:{port}/m\"\ntimeout = \"2s\"\n"
    );
    let (code, out, err) = check(dir.path(), &dead);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains("source dead: DOWN: GET http://127.0.0.1:"),
        "{out}"
    );
    // The table of what the good source would export is still printed.
    assert!(out.contains("source papyra: up"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("papyra")), "{out}");
    assert!(
        err.contains("error: 1 of 2 source(s) failed to pull: dead"),
        "{err}"
    );

    let (code, out, err) = check(dir.path(), DEMO);
    assert_eq!(code, Some(0), "{out}{err}");
}

#[test]
fn check_validates_the_otlp_sink_as_run_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ftp = format!("{DEMO}[otlp]\nendpoint = \"ftp://user:s3cr3t-ftp@collector.example/\"\n");
    let (code, out, err) = check(dir.path(), &ftp);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(err.contains("sink otlp:"), "{err}");
    assert!(err.contains("must start with http:// or https://"), "{err}");
    assert!(!format!("{out}{err}").contains("s3cr3t-ftp"), "{out}{err}");

    let missing_ca = format!(
        "{DEMO}[otlp]\nendpoint = \"https://127.0.0.1:4318\"\nca_file = \"{}\"\n",
        dir.path().join("nope.pem").display()
    );
    let (code, _, err) = check(dir.path(), &missing_ca);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("sink otlp: cannot read the OTLP CA file"),
        "{err}"
    );

    // A valid sink is named with its URL, secrets masked; nothing is pushed by check.
    let ok =
        format!("{DEMO}[otlp]\nendpoint = \"http://u:k3y-ok@127.0.0.1:4318/x?api_key=q-k3y-ok\"\n");
    let (code, out, err) = check(dir.path(), &ok);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("sink otlp: pushes to http://127.0.0.1:4318/x/v1/metrics?api_key=***"),
        "{out}"
    );
    assert!(!format!("{out}{err}").contains("k3y-ok"), "{out}{err}");
}
