//! Every dashboard in dashboards/ follows the import conventions: valid JSON, a current
//! schemaVersion, the DS_PROMETHEUS input and a datasource variable used by every panel and
//! target, `source` as the first query variable, no unknown variable in any expression,
//! units and descriptions on every panel, `$__rate_interval` in every rate window, stable
//! uids, tags and links between the dashboards.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value as Json;

const EXPECTED: [&str; 4] = [
    "snapbridge-overview.json",
    "persistence.json",
    "job-queue.json",
    "operations.json",
];

/// Grafana's built-in variables that expressions may use.
const BUILTIN: [&str; 6] = [
    "__rate_interval",
    "__interval",
    "__range",
    "__interval_ms",
    "__range_s",
    "__all",
];

fn dashboards() -> Vec<(String, Json)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dashboards");
    EXPECTED
        .iter()
        .map(|name| {
            let text =
                std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            let json: Json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{name} is not valid JSON: {e}"));
            (name.to_string(), json)
        })
        .collect()
}

/// `$name`, `${name}` and `[[name]]` references in an expression.
fn variables_in(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let rest = &expr[i + 1..];
            let name: String = if let Some(inner) = rest.strip_prefix('{') {
                inner
                    .chars()
                    .take_while(|c| *c != '}' && *c != ':')
                    .collect()
            } else {
                rest.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect()
            };
            if !name.is_empty() {
                out.insert(name);
            }
        }
        i += 1;
    }
    out
}

#[test]
fn every_dashboard_follows_the_import_conventions() {
    let all = dashboards();
    let uids: BTreeSet<&str> = all
        .iter()
        .map(|(_, d)| d["uid"].as_str().expect("uid"))
        .collect();
    assert_eq!(
        uids.len(),
        EXPECTED.len(),
        "uids must be unique and present"
    );
    for (name, d) in &all {
        assert!(
            d["schemaVersion"].as_u64().unwrap_or(0) >= 36,
            "{name}: schemaVersion"
        );
        assert!(
            d["uid"].as_str().unwrap().starts_with("snapbridge-"),
            "{name}: stable uid"
        );
        assert!(
            d["tags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t == "snapbridge"),
            "{name}: tags"
        );
        let input = &d["__inputs"][0];
        assert_eq!(input["name"], "DS_PROMETHEUS", "{name}");
        assert_eq!(input["pluginId"], "prometheus", "{name}");
        assert!(
            d["links"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["type"] == "dashboards" && l["tags"][0] == "snapbridge"),
            "{name}: links to the other dashboards"
        );
        let vars = d["templating"]["list"].as_array().unwrap();
        let names: Vec<&str> = vars.iter().map(|v| v["name"].as_str().unwrap()).collect();
        assert_eq!(
            vars[0]["type"], "datasource",
            "{name}: the datasource variable comes first"
        );
        assert_eq!(vars[0]["query"], "prometheus");
        let queries: Vec<&str> = vars
            .iter()
            .filter(|v| v["type"] == "query")
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            queries,
            ["source", "job", "instance"],
            "{name}: source first, then job and instance"
        );
        for v in vars.iter().filter(|v| v["type"] == "query") {
            assert_eq!(
                v["datasource"]["uid"], "${datasource}",
                "{name}: variable {}",
                v["name"]
            );
            for used in variables_in(v["definition"].as_str().unwrap()) {
                assert!(
                    names.contains(&used.as_str()),
                    "{name}: variable {} uses unknown ${used}",
                    v["name"]
                );
            }
        }
        let text = d.to_string();
        assert!(
            !text.contains("\"uid\":\"P") && !text.contains("PBFA97CFB590B2093"),
            "{name}: hard-coded datasource uid"
        );
        let panels = d["panels"].as_array().unwrap();
        assert!(!panels.is_empty(), "{name}: no panel");
        for p in panels {
            let title = p["title"].as_str().unwrap_or("?");
            assert_eq!(
                p["datasource"]["uid"], "${datasource}",
                "{name}/{title}: panel datasource"
            );
            assert!(
                p["fieldConfig"]["defaults"]["unit"]
                    .as_str()
                    .is_some_and(|u| !u.is_empty()),
                "{name}/{title}: unit"
            );
            assert!(
                p["description"].as_str().is_some_and(|s| s.len() > 10),
                "{name}/{title}: description"
            );
            let targets = p["targets"].as_array().unwrap();
            assert!(!targets.is_empty(), "{name}/{title}: no target");
            for t in targets {
                assert_eq!(
                    t["datasource"]["uid"], "${datasource}",
                    "{name}/{title}: target datasource"
                );
                let expr = t["expr"].as_str().unwrap();
                for used in variables_in(expr) {
                    assert!(
                        names.contains(&used.as_str()) || BUILTIN.contains(&used.as_str()),
                        "{name}/{title}: unknown variable ${used} in {expr}"
                    );
                }
                if expr.contains("rate(") || expr.contains("increase(") {
                    assert!(
                        expr.contains("[$__rate_interval]"),
                        "{name}/{title}: rate window must be $__rate_interval: {expr}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_committed_dashboards_are_what_the_generator_writes() {
    // scripts/dashboards.py is the source; a hand edit of the JSON would be lost.
    let dir = tempfile::tempdir().unwrap();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let copy = dir.path().join("scripts");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::create_dir_all(dir.path().join("dashboards")).unwrap();
    std::fs::copy(
        root.join("scripts/dashboards.py"),
        copy.join("dashboards.py"),
    )
    .unwrap();
    let status = std::process::Command::new("python3")
        .arg(copy.join("dashboards.py"))
        .stdout(std::process::Stdio::null())
        .status()
        .expect("python3");
    assert!(status.success());
    for name in EXPECTED {
        let generated = std::fs::read_to_string(dir.path().join("dashboards").join(name)).unwrap();
        let committed = std::fs::read_to_string(root.join("dashboards").join(name)).unwrap();
        assert_eq!(
            generated, committed,
            "dashboards/{name} differs from scripts/dashboards.py's output"
        );
    }
}
