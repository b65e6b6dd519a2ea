//! Two rules of the JSON documents every kind reads, through a real file source and a
//! scrape: a number beyond an f64 (`1e400`) fails its own key only, named, while the rest of
//! the document is exported; a key listed twice follows one rule in the map and the array
//! form alike (also two keys that are one series once normalised, `q.x` and `q_x`): the
//! first is exported, the second counted as a duplicate (every cycle) and named on the
//! status page.

mod common;

use common::Bridge;
use common::sources::{metric, scrape, status_page};

fn rejected(text: &str, source: &str, reason: &str) -> Option<f64> {
    metric(
        text,
        "snapbridge_rejected_values_total",
        &[("source", source), ("reason", reason)],
    )
}

#[test]
fn an_out_of_range_number_fails_its_key_and_duplicates_keep_the_first_in_every_form() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("huge.json"),
        r#"{"ok_total": 3, "huge_total": 1e400, "tiny": -1e999, "level": NaN, "after": 7}"#,
    )
    .unwrap();
    std::fs::write(
        d.join("map.json"),
        r#"{"jobs_total": 5, "queue": 1, "jobs_total": 9, "q.x": 1, "q_x": 2}"#,
    )
    .unwrap();
    std::fs::write(
        d.join("array.json"),
        r#"[{"name": "jobs_total", "type": "counter", "value": 5, "labels": {"op": "a"}},
            {"name": "queue", "type": "gauge", "value": 1},
            {"name": "jobs_total", "type": "counter", "value": 9, "labels": {"op": "a"}},
            {"name": "q.x", "type": "gauge", "value": 1}, {"name": "q_x", "type": "gauge", "value": 2}]"#,
    )
    .unwrap();
    let config = format!(
        r#"interval = "10s"
[[source]]
name = "huge"
kind = "file"
path = "{d}/huge.json"
counters = ["*_total"]
[[source]]
name = "map"
kind = "file"
path = "{d}/map.json"
counters = ["*_total"]
[[source]]
name = "array"
kind = "file"
path = "{d}/array.json"
"#,
        d = d.display()
    );
    let mut bridge = Bridge::start(&config, vec![]);
    bridge.cycle();
    let text = scrape(&bridge);

    // 1e400: its key alone is rejected, the document is up and its other keys exported.
    let up = |s: &str| metric(&text, "snapbridge_source_up", &[("source", s)]);
    assert_eq!(up("huge"), Some(1.0), "{text}");
    assert_eq!(metric(&text, "ok_total", &[("source", "huge")]), Some(3.0));
    assert_eq!(metric(&text, "after", &[("source", "huge")]), Some(7.0));
    assert!(metric(&text, "level", &[("source", "huge")]).is_some_and(f64::is_nan));
    assert_eq!(metric(&text, "huge_total", &[("source", "huge")]), None);
    assert_eq!(rejected(&text, "huge", "out_of_range"), Some(2.0), "{text}");
    let status = status_page(&bridge);
    assert!(
        status.contains("huge_total") && status.contains("1e400"),
        "the status page names the key and the number: {status}"
    );

    // Duplicates: the first is exported in both forms, the second counted.
    for source in ["map", "array"] {
        assert_eq!(up(source), Some(1.0), "{source}: {text}");
        let jobs: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("jobs_total{") && l.contains(&format!("source=\"{source}\"")))
            .collect();
        assert_eq!(jobs.len(), 1, "{source}: one series: {jobs:?}");
        assert!(
            jobs[0].ends_with(" 5"),
            "{source}: the first value wins: {jobs:?}"
        );
        assert_eq!(metric(&text, "queue", &[("source", source)]), Some(1.0));
        // Two keys that differ only until normalised are the same series too.
        assert_eq!(metric(&text, "q_x", &[("source", source)]), Some(1.0));
        assert_eq!(rejected(&text, source, "duplicate"), Some(2.0), "{source}");
    }
    assert!(
        status.contains("jobs_total") && status.contains("more than once"),
        "the status page names the duplicate: {status}"
    );

    // Counted on every cycle it happens; the first value still wins.
    bridge.cycle();
    let text = scrape(&bridge);
    for source in ["map", "array"] {
        assert_eq!(rejected(&text, source, "duplicate"), Some(4.0), "{source}");
    }
    assert_eq!(rejected(&text, "huge", "out_of_range"), Some(4.0));
}
