//! snapbridge-core must stay std-only: an application depends on it alone to become
//! exportable, so it may not pull in any crate — normal, dev or build dependency.

use std::process::Command;

fn cargo(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "cargo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn core_declares_no_dependency_of_any_kind() {
    let metadata: serde_json::Value = serde_json::from_str(&cargo(&[
        "metadata",
        "--format-version",
        "1",
        "--no-deps",
        "--offline",
    ]))
    .expect("cargo metadata JSON");
    let core = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == "snapbridge-core")
        .expect("snapbridge-core is a workspace member");
    assert_eq!(
        core["dependencies"],
        serde_json::json!([]),
        "snapbridge-core must have no dependencies"
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
        "--offline",
    ]);
    let lines: Vec<&str> = tree.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "cargo tree shows dependencies:\n{tree}");
    assert!(lines[0].starts_with("snapbridge-core v"), "{tree}");
}
