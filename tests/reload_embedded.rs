//! Reload through the embedding API (`Handle::reload`, `Builder::reload_with`), cycle by
//! cycle: which sources keep their totals, which start afresh, and what `/-/reload` asks
//! of a client.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::{Bridge, Scripted, source_config};
use snapbridge::Builder;
use snapbridge::config::{Config, SourceConfig};
use snapbridge::core::{MetricsSource, Sample, Snapshot, TrackedValue};
use snapbridge::view::View;

/// The builder `Bridge::start` makes, for the reload to compare with.
fn builder(toml: &str, extra: &[(SourceConfig, Arc<dyn MetricsSource>)]) -> Builder {
    let config = Config::parse(toml, "test config").expect("test config parses");
    let mut b = Builder::from_config(&config)
        .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
        .healthz_stale_after(Duration::from_secs(3600))
        .otlp_from_env(false)
        .manual_cycles()
        .instance("test");
    for (sc, source) in extra {
        b = b.source(sc.clone(), source.clone());
    }
    b
}

fn jobs(n: u64) -> Snapshot {
    Snapshot::from_iter([Sample::counter("jobs_done", n)])
}

/// `jobs_done_total` of `source`: its labels (`key=value,...`) and total.
fn totals(view: &View, source: &str) -> Vec<(String, f64)> {
    view.points
        .iter()
        .filter(|p| p.meta.family.exposed == "jobs_done_total")
        .filter(|p| {
            p.meta
                .labels()
                .iter()
                .any(|(k, v)| k == "source" && v == source)
        })
        .map(|p| {
            let labels: Vec<String> = p
                .meta
                .labels()
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let total = match &p.value {
                TrackedValue::Counter { total, .. } => total.as_f64(),
                other => panic!("not a counter: {other:?}"),
            };
            (labels.join(","), total)
        })
        .collect()
}

#[test]
fn sources_keep_their_totals_by_name_and_kind() {
    let (steady, relabel, leaving, arriving) = (
        Scripted::default(),
        Scripted::default(),
        Scripted::default(),
        Scripted::default(),
    );
    let src = |s: &Scripted| -> Arc<dyn MetricsSource> { Arc::new(s.clone()) };
    let v1 = vec![
        (source_config("steady", ""), src(&steady)),
        (
            source_config("relabel", "labels = { team = \"a\" }"),
            src(&relabel),
        ),
        (source_config("leaving", ""), src(&leaving)),
    ];
    let mut bridge = Bridge::start("interval = \"1h\"\n", v1.clone());
    steady.set(jobs(100));
    relabel.set(jobs(10));
    leaving.set(jobs(3));
    let view = bridge.cycle();
    assert_eq!(totals(&view, "steady"), [("source=steady".into(), 100.0)]);
    assert_eq!(
        totals(&view, "relabel"),
        [("source=relabel,team=a".into(), 10.0)]
    );

    // Both sources restart (raw 100 -> 40, 10 -> 4): their totals are no longer their raw
    // values, so a reload that lost the tracker's state would show.
    steady.set(jobs(40));
    relabel.set(jobs(4));
    let view = bridge.cycle();
    assert_eq!(totals(&view, "steady"), [("source=steady".into(), 140.0)]);
    assert_eq!(
        totals(&view, "relabel"),
        [("source=relabel,team=a".into(), 14.0)]
    );

    let v2 = vec![
        v1[0].clone(),
        (
            source_config("relabel", "labels = { team = \"b\" }"),
            src(&relabel),
        ),
        (
            source_config("arriving", "initial = \"drop\""),
            src(&arriving),
        ),
    ];
    let applied = bridge
        .runtime
        .block_on(bridge.handle.reload(builder("interval = \"1h\"\n", &v2)))
        .expect("reload applies");
    assert_eq!(
        applied,
        "sources added: arriving; removed: leaving; changed: relabel; unchanged: 1"
    );
    steady.set(jobs(70));
    relabel.set(jobs(9));
    arriving.set(jobs(5));
    let view = bridge.cycle();
    // 30 more: neither back to the raw value (70) nor the restart counted again.
    assert_eq!(totals(&view, "steady"), [("source=steady".into(), 170.0)]);
    // The same tracker under the new labels: 5 more, the old label set gone.
    assert_eq!(
        totals(&view, "relabel"),
        [("source=relabel,team=b".into(), 19.0)]
    );
    assert!(totals(&view, "leaving").is_empty());
    assert!(view.sources.iter().all(|s| s.name != "leaving"));
    // `initial = "drop"`: the first value only sets the baseline.
    assert_eq!(totals(&view, "arriving"), [("source=arriving".into(), 0.0)]);
    arriving.set(jobs(8));
    let view = bridge.cycle();
    assert_eq!(totals(&view, "arriving"), [("source=arriving".into(), 3.0)]);
    let resets = view
        .points
        .iter()
        .filter(|p| p.meta.family.exposed == "snapbridge_source_resets_total")
        .map(|p| match &p.value {
            TrackedValue::Counter { total, .. } => total.as_f64(),
            _ => f64::NAN,
        })
        .sum::<f64>();
    // The one restart of steady and of relabel, each counted once; none by the reload.
    assert_eq!(resets, 2.0);
}

#[test]
fn a_refused_reload_changes_nothing_and_says_why() {
    let steady = Scripted::default();
    let v1: Vec<(SourceConfig, Arc<dyn MetricsSource>)> =
        vec![(source_config("steady", ""), Arc::new(steady.clone()))];
    let mut bridge = Bridge::start("interval = \"1h\"\n", v1.clone());
    steady.set(jobs(1));
    bridge.cycle();
    let bad = "interval = \"1h\"\n[prometheus.tls_server_config]\ncert_file = \"/nonexistent/cert.pem\"\nkey_file = \"/nonexistent/key.pem\"\n";
    let err = bridge
        .runtime
        .block_on(bridge.handle.reload(builder(bad, &[])))
        .expect_err("a missing certificate refuses the reload");
    assert!(err.to_string().contains("/nonexistent/cert.pem"), "{err}");
    let last = bridge.telemetry.reload.last().expect("an outcome");
    assert!(last.result.is_err(), "{last:?}");
    // The running config stays: the source is there, still plain HTTP.
    steady.set(jobs(4));
    let view = bridge.cycle();
    assert_eq!(totals(&view, "steady"), [("source=steady".into(), 4.0)]);
    let (status, _, _, body) = common::http_get(&bridge.url("/metrics"), &[]);
    assert_eq!(status, 200);
    let body = String::from_utf8(body).unwrap();
    assert!(
        body.contains("snapbridge_config_last_reload_successful 0"),
        "{body}"
    );
    // When the config in force was loaded: the start, a moment ago.
    let loaded = body
        .lines()
        .find_map(|l| l.strip_prefix("snapbridge_config_last_reload_success_timestamp_seconds "))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no success timestamp:\n{body}"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(now - loaded < 60.0 && now >= loaded, "{loaded} vs {now}");
    let (_, _, _, page) = common::http_get(&bridge.url("/"), &[]);
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("last reload FAILED"), "{page}");
    assert!(page.contains("/nonexistent/cert.pem"), "{page}");
}

/// The `jobs_done` delta points of every request a receiver got.
fn deltas(rx: &common::otlp::GrpcReceiver) -> Vec<serde_json::Value> {
    rx.requests()
        .iter()
        .flat_map(|r| {
            common::otlp::metrics_named(r, "jobs_done")
                .into_iter()
                .flat_map(|m| {
                    m["sum"]["dataPoints"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A reload that points the OTLP sink at another receiver keeps every series' delta state:
/// the new receiver's first delta is the increase since the last accepted export, not the
/// whole total again.
#[test]
fn otlp_settings_reload_keeps_the_delta_state() {
    let dir = tempfile::tempdir().unwrap();
    let first = common::otlp::GrpcReceiver::start(0, dir.path().join("first.jsonl"), &[]);
    let second = common::otlp::GrpcReceiver::start(0, dir.path().join("second.jsonl"), &[]);
    let otlp = |endpoint: &str| {
        format!(
            "interval = \"1h\"\n[otlp]\nendpoint = \"{endpoint}\"\nprotocol = \"grpc\"\ntemporality = \"delta\"\ntimeout = \"5s\"\n"
        )
    };
    let scripted = Scripted::default();
    let sources: Vec<(SourceConfig, Arc<dyn MetricsSource>)> =
        vec![(source_config("jobs", ""), Arc::new(scripted.clone()))];
    let mut bridge = Bridge::start(&otlp(&first.endpoint()), sources.clone());
    for (n, value) in [(1, 100), (2, 130)] {
        scripted.set(jobs(value));
        bridge.cycle();
        first.wait_requests(n);
    }
    let applied = bridge
        .runtime
        .block_on(
            bridge
                .handle
                .reload(builder(&otlp(&second.endpoint()), &sources)),
        )
        .expect("reload applies");
    assert!(applied.contains("unchanged: 1"), "{applied}");
    scripted.set(jobs(150));
    bridge.cycle();
    second.wait_requests(1);
    let before: Vec<f64> = deltas(&first)
        .iter()
        .map(common::otlp::point_value)
        .collect();
    let after = deltas(&second);
    assert_eq!(before, [100.0, 130.0 - 100.0]);
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(common::otlp::point_value(&after[0]), 150.0 - 130.0);
    // Contiguous: the new receiver's interval starts where the last accepted one ended.
    let last_end = deltas(&first)[1]["timeUnixNano"].clone();
    assert_eq!(after[0]["startTimeUnixNano"], last_end);
}

/// A source's identity is its name and kind: a new target of the same kind keeps the
/// tracker state (a new puller, the same totals); another kind under the same name is a
/// new source.
#[test]
fn a_new_target_keeps_the_totals_and_a_new_kind_starts_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, value: u64| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("{{\"jobs_done\": {value}}}")).unwrap();
        format!(
            "interval = \"1h\"\n[[source]]\nname = \"x\"\nkind = \"file\"\npath = \"{}\"\ncounters = [\"jobs_*\"]\n",
            path.display()
        )
    };
    let v1 = file("a.json", 50);
    let mut bridge = Bridge::start(&v1, vec![]);
    assert_eq!(totals(&bridge.cycle(), "x"), [("source=x".into(), 50.0)]);
    file("a.json", 20); // the source restarted: 20 more
    assert_eq!(totals(&bridge.cycle(), "x"), [("source=x".into(), 70.0)]);

    let v2 = file("b.json", 30);
    let applied = bridge
        .runtime
        .block_on(bridge.handle.reload(builder(&v2, &[])))
        .expect("reload applies");
    assert!(applied.contains("changed: x"), "{applied}");
    // The new file continues the same series: 10 more, not its raw 30.
    assert_eq!(totals(&bridge.cycle(), "x"), [("source=x".into(), 80.0)]);

    let scripted = Scripted::default();
    scripted.set(jobs(25));
    let in_process: Vec<(SourceConfig, Arc<dyn MetricsSource>)> = vec![(
        source_config("x", "initial = \"drop\""),
        Arc::new(scripted.clone()),
    )];
    let applied = bridge
        .runtime
        .block_on(
            bridge
                .handle
                .reload(builder("interval = \"1h\"\n", &in_process)),
        )
        .expect("reload applies");
    assert!(applied.contains("added: x; removed: x"), "{applied}");
    assert_eq!(totals(&bridge.cycle(), "x"), [("source=x".into(), 0.0)]);
}
