//! Each example of a seed system, started the way its `main` starts it (the test calls the
//! example's `start` on a free port with a fast cycle) and checked on `/metrics`: the values
//! snapbridge exports equal what the example's own system holds.
// Each example includes the shared `examples/support` module, so it is loaded once per
// example here: separate copies are what each example binary has too.
#![allow(clippy::duplicate_mod)]

mod common;

#[path = "../examples/persistence.rs"]
#[allow(dead_code)]
mod persistence;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::sources::metric;
use common::{http_get, wait_for};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn get(url: &str) -> String {
    let (status, _, _, body) = http_get(url, &[]);
    assert_eq!(status, 200, "{url}");
    String::from_utf8(body).expect("utf-8")
}

/// Waits until two scrapes a few cycles apart agree and satisfy `check`.
fn settled(url: &str, what: &str, check: impl Fn(&str) -> bool) -> String {
    // 60 s, not 20: on a busy 2-core machine (a whole suite building beside it) the
    // example's threads and cycles can lag well behind their 100 ms period.
    wait_for(what, Duration::from_secs(60), || {
        let a = get(url);
        std::thread::sleep(Duration::from_millis(450));
        let b = get(url);
        let strip = |t: &str| -> String {
            t.lines()
                .filter(|l| !l.starts_with("snapbridge_"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        (strip(&a) == strip(&b) && check(&b)).then_some(b)
    })
}

#[test]
fn persistence_exports_the_nine_counters_through_resets_and_a_bare_backend() {
    let rt = runtime();
    let (running, handle) = rt
        .block_on(persistence::start(persistence::support::Options::for_test(
            None,
        )))
        .expect("start");
    let url = running.served.metrics_url();
    // Let it work, reset its metrics object in the middle, work more.
    wait_for("records written", Duration::from_secs(10), || {
        let t = get(&url);
        (metric(&t, "records_written_total", &[("source", "papyra")])? > 100.0).then_some(())
    });
    let b = &handle.backend;
    // Writes made between snapbridge's last pull and a reset() are gone with the reset (no
    // snapshot ever held them), so the test resets while the workload is paused and
    // snapbridge has pulled everything it did; the workload then goes on.
    handle.paused.store(true, Ordering::Release);
    settled(&url, "the totals before the reset", |t| {
        metric(t, "records_written_total", &[("source", "papyra")])
            == Some(b.lifetime[0].load(Ordering::Relaxed) as f64)
    });
    handle.backend.metrics.reset();
    handle.paused.store(false, Ordering::Release);
    std::thread::sleep(Duration::from_millis(500));
    handle.paused.store(true, Ordering::Release);
    let text = settled(&url, "the paused totals", |t| {
        metric(t, "records_written_total", &[("source", "papyra")])
            == Some(b.lifetime[0].load(Ordering::Relaxed) as f64)
    });
    let papyra = [("source", "papyra"), ("service", "papyra")];
    assert_eq!(
        metric(&text, "write_errors_total", &papyra),
        Some(b.lifetime[1].load(Ordering::Relaxed) as f64),
        "{text}"
    );
    for name in persistence::CORE {
        assert!(
            metric(&text, &format!("{name}_total"), &papyra).is_some(),
            "{name}_total missing:\n{text}"
        );
    }
    assert!(
        metric(
            &text,
            "snapbridge_source_resets_total",
            &[("source", "papyra")]
        ) >= Some(1.0)
    );
    // The backend without metrics: up, no series, no error.
    assert_eq!(
        metric(&text, "snapbridge_source_up", &[("source", "bare")]),
        Some(1.0)
    );
    assert_eq!(
        metric(&text, "snapbridge_source_series", &[("source", "bare")]),
        Some(0.0)
    );
    let page = get(&url.replace("/metrics", "/"));
    assert!(page.contains("bare"));
    rt.block_on(running.stop());
}

#[path = "../examples/engine.rs"]
#[allow(dead_code)]
mod engine;

#[test]
fn engine_exports_namespaces_labels_units_and_histograms_as_the_registry_holds_them() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let (running, handle) = rt
        .block_on(engine::start(engine::support::Options::for_test(Some(
            dir.path().to_path_buf(),
        ))))
        .expect("start");
    let url = running.served.metrics_url();
    wait_for("frames", Duration::from_secs(10), || {
        let t = get(&url);
        (metric(&t, "khora_frames_rendered_total", &[])? > 20.0).then_some(())
    });
    handle.paused.store(true, Ordering::Release);
    let values = || handle.registry.values();
    let frames = |v: &std::collections::HashMap<engine::MetricId, engine::MetricValue>| {
        v.iter()
            .find_map(|(id, v)| match v {
                engine::MetricValue::Counter(c) if id.name == "frames_rendered" => Some(*c),
                _ => None,
            })
            .unwrap()
    };
    let text = settled(&url, "the paused engine", |t| {
        metric(t, "khora_frames_rendered_total", &[]) == Some(frames(&values()) as f64)
    });
    let v = values();
    let samples = v
        .iter()
        .find_map(|(id, v)| match v {
            engine::MetricValue::Histogram { samples, .. } if id.name == "frame_time" => {
                Some(samples.clone())
            }
            _ => None,
        })
        .unwrap();
    let labels = [("renderer", "vulkan"), ("source", "engine")];
    assert_eq!(
        metric(&text, "khora_frames_rendered_total", &labels),
        Some(frames(&v) as f64)
    );
    assert_eq!(
        metric(&text, "khora_frame_time_seconds_count", &labels),
        Some(samples.len() as f64),
        "{text}"
    );
    let under_16ms = samples.iter().filter(|s| **s <= 0.016).count();
    assert_eq!(
        metric(
            &text,
            "khora_frame_time_seconds_bucket",
            &[("renderer", "vulkan"), ("le", "0.016")]
        ),
        Some(under_16ms as f64)
    );
    assert!(metric(&text, "khora_ecs_entities", &[("world", "main")]).is_some());
    assert!(metric(&text, "khora_assets_loads_total", &[("kind", "texture")]).is_some());
    assert!(text.contains("# HELP khora_frame_time_seconds Time to render one frame"));
    assert!(dir.path().join("engine_metrics.json").exists());
    rt.block_on(running.stop());
}

#[path = "../examples/job_queue.rs"]
#[allow(dead_code)]
mod job_queue;

#[test]
fn job_queue_json_endpoint_is_exported_through_the_http_source() {
    let rt = runtime();
    let (running, handle) = rt
        .block_on(job_queue::start(job_queue::support::Options::for_test(
            None,
        )))
        .expect("start");
    let url = running.served.metrics_url();
    let q = [("source", "job_queue")];
    wait_for("jobs completed and failed", Duration::from_secs(15), || {
        let t = get(&url);
        (metric(&t, "jobs_failed_total", &q)? > 0.0 && metric(&t, "jobs_retried_total", &q)? > 0.0)
            .then_some(())
    });
    handle.queue.paused.store(true, Ordering::Release);
    let text = settled(&url, "the paused queue", |t| {
        let m = handle.queue.store.get();
        m.jobs_in_progress == 0
            && metric(t, "jobs_created_total", &q) == Some(m.jobs_created as f64)
    });
    // What the queue's own endpoint says is what snapbridge exports.
    let json: serde_json::Value = serde_json::from_str(&get(&handle.json_url)).unwrap();
    for key in [
        "jobs_created",
        "jobs_completed",
        "jobs_failed",
        "jobs_retried",
    ] {
        assert_eq!(
            metric(&text, &format!("{key}_total"), &q),
            json[key].as_f64(),
            "{key}: {json}\n{text}"
        );
    }
    assert_eq!(metric(&text, "jobs_in_progress", &q), Some(0.0));
    assert!(text.contains("# TYPE jobs_in_progress gauge"));
    rt.block_on(running.stop());
}

#[path = "../examples/operations.rs"]
#[allow(dead_code)]
mod operations;

#[test]
fn operations_batch_files_are_counted_once_through_the_batch_dir_source() {
    use common::sources::metric_sum;
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let (running, handle) = rt
        .block_on(operations::start(operations::support::Options::for_test(
            Some(dir.path().to_path_buf()),
        )))
        .expect("start");
    let url = running.served.metrics_url();
    wait_for("batches", Duration::from_secs(15), || {
        (handle.manager.stats.batches_written.load(Ordering::Relaxed) >= 3).then_some(())
    });
    // PII in metadata is refused before it reaches a file.
    let mut meta = serde_json::Map::new();
    meta.insert("email".into(), "user@example.com".into());
    let refused =
        handle
            .manager
            .record_operation("api_request", "GET /api/profile", 50.0, true, None, meta);
    assert!(refused.unwrap_err().contains("PII"));
    handle.paused.store(true, Ordering::Release);
    let stats = &handle.manager.stats;
    wait_for("everything flushed", Duration::from_secs(10), || {
        (stats.total_persisted.load(Ordering::Relaxed)
            == stats.total_recorded.load(Ordering::Relaxed))
        .then_some(())
    });
    let persisted = stats.total_persisted.load(Ordering::Relaxed) as f64;
    let text = settled(&url, "all records counted", |t| {
        metric_sum(t, "operations_total", &[]) == persisted
    });
    assert_eq!(
        metric_sum(&text, "operation_duration_seconds_count", &[]),
        persisted
    );
    assert!(
        metric(
            &text,
            "operations_total",
            &[
                ("operation_type", "api_request"),
                ("operation_name", "GET /api/users"),
                ("region", "us-east"),
                ("success", "true"),
            ]
        )
        .is_some(),
        "{text}"
    );
    assert!(metric_sum(&text, "operations_total", &[("success", "false")]) > 0.0);
    assert!(text.contains("operation_duration_seconds_bucket{"));
    assert!(!text.contains("status_code") && !text.contains("email"));
    let files = std::fs::read_dir(&handle.dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("metrics_"))
        .count();
    assert!(files >= 3, "{files} batch files");
    rt.block_on(running.stop());
}

#[test]
fn persistence_once_reports_a_backend_without_metrics_as_unavailable() {
    let lines = runtime()
        .block_on(persistence::report_once())
        .expect("one pull");
    assert_eq!(lines[0], "papyra: 9 metrics", "{lines:?}");
    assert_eq!(lines[1], "bare: metrics: <unavailable>", "{lines:?}");
    assert!(
        lines.iter().any(|l| l == "  records_written_total 29"),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l == "  write_errors_total 1"),
        "{lines:?}"
    );
}

#[test]
fn operations_stop_flushes_the_last_batch_and_snapbridge_counts_it() {
    use common::sources::metric_sum;
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let mut options = operations::support::Options::for_test(Some(dir.path().to_path_buf()));
    // Slow flushes: the records below are still queued when stop() begins.
    options.interval = Duration::from_secs(30);
    let (running, handle) = rt.block_on(operations::start(options)).expect("start");
    handle.paused.store(true, Ordering::Release);
    for i in 0..25 {
        handle
            .manager
            .record_operation(
                "db_query",
                "SELECT 1",
                i as f64,
                true,
                None,
                Default::default(),
            )
            .unwrap();
    }
    rt.block_on(running.stop());
    let stats = &handle.manager.stats;
    let recorded = stats.total_recorded.load(Ordering::Relaxed);
    assert!(recorded >= 25);
    assert_eq!(stats.total_persisted.load(Ordering::Relaxed), recorded);
    assert!(
        handle
            .manager
            .record_operation("db_query", "SELECT 1", 1.0, true, None, Default::default())
            .unwrap_err()
            .contains("stopped")
    );
    // A fresh batch_dir source over the same directory counts every record once.
    let config = format!(
        "[[source]]\nname = \"ops\"\nkind = \"batch_dir\"\npath = {:?}\n",
        dir.path().display().to_string()
    );
    let mut bridge = common::Bridge::start(&config, vec![]);
    bridge.cycle();
    let text = common::sources::scrape(&bridge);
    assert_eq!(metric_sum(&text, "operations_total", &[]), recorded as f64);
}
