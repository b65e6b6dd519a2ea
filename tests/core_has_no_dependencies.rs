//! snapbridge-core must stay std-only: an application depends on it alone to become
//! exportable, so it may not pull in any crate — normal, dev or build dependency.

use std::process::Command;

/// Runs cargo (the one running this test) in the workspace; returns its stdout.
fn cargo(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "cargo {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("cargo output is UTF-8")
}

fn package<'a>(metadata: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    metadata["packages"]
        .as_array()
        .expect("cargo metadata lists packages")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not a workspace member"))
}

#[test]
fn core_declares_no_dependency_of_any_kind() {
    // `--no-deps` lists the workspace members only, each with every dependency it declares
    // (normal, dev and build, for every target); `--offline`: nothing to fetch for that.
    let json = cargo(&[
        "metadata",
        "--format-version",
        "1",
        "--no-deps",
        "--offline",
    ]);
    let metadata: serde_json::Value = serde_json::from_str(&json).expect("cargo metadata JSON");

    let core = package(&metadata, "snapbridge-core");
    let manifest = core["manifest_path"].as_str().expect("manifest_path");
    assert!(
        manifest.ends_with("core/Cargo.toml"),
        "snapbridge-core is not the crate in core/: {manifest}"
    );
    let deps = core["dependencies"]
        .as_array()
        .expect("a dependencies array");
    let named: Vec<String> = deps
        .iter()
        .map(|d| format!("{} ({})", d["name"], d["kind"]))
        .collect();
    assert!(
        deps.is_empty(),
        "snapbridge-core must have no dependencies, found: {named:?}"
    );

    // The same reading does see dependencies where there are some: the root package
    // depends on the core.
    let root = package(&metadata, "snapbridge");
    assert!(
        root["dependencies"]
            .as_array()
            .expect("a dependencies array")
            .iter()
            .any(|d| d["name"] == "snapbridge-core"),
        "the root package's dependencies do not list snapbridge-core"
    );
}

#[test]
fn cargo_tree_of_core_is_core_alone() {
    let tree = cargo(&[
        "tree",
        "-p",
        "snapbridge-core",
        "--edges",
        "all",
        "--prefix",
        "none",
        // Every platform, not only this one: a `cfg(windows)` dependency counts too.
        "--target",
        "all",
        "--offline",
    ]);
    let lines: Vec<&str> = tree.lines().collect();
    assert_eq!(lines.len(), 1, "cargo tree shows dependencies:\n{tree}");
    assert!(
        lines[0].starts_with("snapbridge-core v"),
        "cargo tree does not name snapbridge-core:\n{tree}"
    );
}
