//! Churn: label values and metric names that are new every cycle. `max_series` limits the
//! series exposed now, not the state kept for the ones that left; families and their names
//! go when their last series' state does; dropping series is logged.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::sources::{metric, scrape};
use common::{Bridge, Scripted, source_config};
use snapbridge::core::{Sample, Snapshot};

fn labels_cycle(cycle: usize, n: usize) -> Snapshot {
    (0..n)
        .map(|i| {
            Sample::gauge("requests_in_flight", 1.0)
                .with_label("request_id", format!("{cycle}-{i}"))
        })
        .collect()
}

#[test]
fn label_churn_under_default_limits_never_drops_current_series() {
    let (scripted, small) = (Scripted::default(), Scripted::default());
    let mut bridge = Bridge::start(
        "interval = \"1h\"\n",
        vec![
            (source_config("churn", ""), Arc::new(scripted.clone())),
            (
                source_config("small", "max_series = 1000"),
                Arc::new(small.clone()),
            ),
        ],
    );
    // 10 000 new series a cycle: after ten cycles 100 000 (the default max_series) have
    // state. Before, cycle 11 exposed none of its 10 000 and said nothing.
    for cycle in 0..12 {
        scripted.set(labels_cycle(cycle, 10_000));
        small.set(labels_cycle(cycle, 300));
        let view = bridge.cycle();
        let status = |name: &str| {
            view.sources
                .iter()
                .find(|s| s.name == name)
                .unwrap()
                .clone()
        };
        assert_eq!(status("churn").series, 10_000, "cycle {cycle}");
        assert_eq!(status("small").series, 300, "cycle {cycle}");
    }
    let text = scrape(&bridge);
    assert_eq!(
        metric(&text, "snapbridge_source_series", &[("source", "churn")]),
        Some(10_000.0)
    );
    assert_eq!(
        metric(
            &text,
            "snapbridge_dropped_series",
            &[("source", "churn"), ("reason", "series_limit")]
        ),
        Some(0.0)
    );
    // Stale state is bounded on its own (2 x max_series, evicted down to 7/8 of that).
    let tracked =
        |s| metric(&text, "snapbridge_source_tracked_series", &[("source", s)]).unwrap_or(f64::NAN);
    assert_eq!(tracked("churn"), 120_000.0);
    // 3 600 series seen, 2 000 may have state: the longest absent were evicted.
    assert!(
        (300.0..=2_000.0).contains(&tracked("small")),
        "{}",
        tracked("small")
    );
}

#[test]
fn past_max_series_the_current_series_are_kept_and_the_drop_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("doc.json");
    let entries: Vec<String> = (0..30).map(|i| format!("\"g{i:02}\": {i}")).collect();
    std::fs::write(&doc, format!("{{{}}}", entries.join(","))).unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            "[[source]]\nname = \"big\"\nkind = \"file\"\npath = \"{}\"\nmax_series = 20\n",
            doc.display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_snapbridge"))
        .env_remove("SNAPBRIDGE_CONFIG")
        .env("RUST_LOG", "warn")
        .args(["once", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let (body, log) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{log}");
    assert_eq!(
        metric(&body, "snapbridge_source_series", &[("source", "big")]),
        Some(20.0),
        "{body}"
    );
    assert_eq!(
        metric(
            &body,
            "snapbridge_dropped_series",
            &[("source", "big"), ("reason", "series_limit")]
        ),
        Some(10.0)
    );
    assert!(
        log.contains("series dropped: the snapshot has more series than max_series"),
        "{log}"
    );
    assert!(
        log.contains("big") && log.contains("max_series=20"),
        "{log}"
    );
}

#[test]
fn churning_names_take_their_families_with_them() {
    let scripted = Scripted::default();
    let mut bridge = Bridge::start(
        "interval = \"1h\"\nmax_staleness = \"1s\"\n",
        vec![(source_config("names", ""), Arc::new(scripted.clone()))],
    );
    let mut most = 0;
    // 2 000 new names every 250 ms for 4 s: 32 000 names, state kept 1 s.
    for cycle in 0..16 {
        let snap: Snapshot = (0..2_000)
            .map(|i| Sample::gauge(format!("job_{cycle}_{i}_seconds"), 1.0))
            .collect();
        scripted.set(snap);
        let view = bridge.cycle();
        most = most.max(view.families.len());
        std::thread::sleep(Duration::from_millis(250));
    }
    let view = bridge.cycle();
    // Before, every name ever seen stayed: 32 000 families. Now those of the last second and
    // a bit (the sweep runs every max_staleness/8), plus snapbridge's own.
    assert!(most < 14_000, "at most {most} families");
    assert!(
        view.families.len() < 14_000,
        "{} families",
        view.families.len()
    );
    let text = scrape(&bridge);
    assert!(
        text.contains("job_15_1999_seconds{source=\"names\"} 1"),
        "the current names stay"
    );
    assert!(!text.contains("job_0_0_seconds"));
}
