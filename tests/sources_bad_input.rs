//! Bad input in every kind, all in one snapbridge: malformed JSON (http), a truncated file,
//! a string where a number belongs, a negative counter, NaN, a 1 MB label value, 100 000
//! keys, an unreachable host (http and redis), a hung command, broken batch files.
//! Each gives one line naming the source's target, the key and the reason; nothing panics;
//! the good sources are unaffected; `snapbridge_source_up` says which failed; the status
//! page shows every error.

mod common;

use common::sources::{HttpServer, Reply, metric, scrape, status_page};
use common::{Bridge, free_port};

#[test]
fn bad_input_in_every_kind_is_contained_and_explained() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let http_bad = HttpServer::start(Reply::Json(r#"{"jobs_created": 1,, }"#.into()));
    std::fs::write(d.join("truncated.json"), r#"{"records_written": 5, "rea"#).unwrap();
    std::fs::write(
        d.join("keys.json"),
        format!(
            r#"{{"ok_total": 3, "word_total": "many", "neg_total": -4, "nan_total": NaN,
               "gauge_nan": NaN, "label": {{"type": "gauge", "value": 1, "labels": {{"big": "{}"}}}},
               "weird": {{"type": "meter", "value": 1}}}}"#,
            "x".repeat(1 << 20)
        ),
    )
    .unwrap();
    let mut big = String::from("{");
    for i in 0..99_999 {
        big.push_str(&format!("\"k_{i}\": {i},"));
    }
    big.push_str("\"k_last\": 1}");
    std::fs::write(d.join("big.json"), &big).unwrap();
    std::fs::write(d.join("good.json"), r#"{"records_written": 42}"#).unwrap();
    let batches = d.join("batches");
    std::fs::create_dir(&batches).unwrap();
    std::fs::write(
        batches.join("metrics_20251216_080005_000001.json"),
        "{\"records\": [",
    )
    .unwrap();
    std::fs::write(
        batches.join("metrics_20251216_080006_000001.json"),
        r#"{"records": [{"operation_type": "api", "operation_name": "GET /", "duration_ms": "slow"},
                        {"operation_type": "api", "operation_name": "GET /", "duration_ms": 4}]}"#,
    )
    .unwrap();
    let (closed_http, closed_redis) = (free_port(), free_port());
    let config = format!(
        r#"interval = "10s"
timeout = "1s"
[[source]]
name = "good"
kind = "file"
path = "{d}/good.json"
counters = ["records_*"]
[[source]]
name = "http_bad"
kind = "http"
url = "{http}"
[[source]]
name = "truncated"
kind = "file"
path = "{d}/truncated.json"
[[source]]
name = "keys"
kind = "file"
path = "{d}/keys.json"
counters = ["*_total"]
[[source]]
name = "big"
kind = "file"
path = "{d}/big.json"
# 100 000 keys take longer than the others' 1 s in a debug build on a busy machine.
timeout = "30s"
[[source]]
name = "unreachable"
kind = "http"
url = "http://127.0.0.1:{closed_http}/metrics"
[[source]]
name = "redis_down"
kind = "redis"
url = "redis://:sekrit@127.0.0.1:{closed_redis}"
key = "app:metrics"
[[source]]
name = "hung"
kind = "exec"
command = ["sleep", "30"]
[[source]]
name = "batches"
kind = "batch_dir"
path = "{batches}"
"#,
        d = d.display(),
        http = http_bad.url("/metrics"),
        batches = batches.display(),
    );
    let mut bridge = Bridge::start(&config, vec![]);
    let view = bridge.cycle();
    let text = scrape(&bridge);
    let page = status_page(&bridge);
    let up = |name: &str| metric(&text, "snapbridge_source_up", &[("source", name)]);

    // Document-level problems: the source is down, its error names the target and reason.
    for (name, target, reason) in [
        ("http_bad", "GET http://127.0.0.1:", "malformed JSON"),
        ("truncated", "truncated.json", "truncated JSON"),
        (
            "unreachable",
            &format!("127.0.0.1:{closed_http}"),
            "Connection refused",
        ),
        ("redis_down", "redis://***@127.0.0.1:", "cannot connect"),
        ("hung", "command \"sleep\"", "timed out"),
    ] {
        let s = view.sources.iter().find(|s| s.name == name).unwrap();
        let e = s.last_error.clone().unwrap_or_default();
        assert!(e.contains(target) && e.contains(reason), "{name}: {e}");
        assert!(!e.contains('\n'), "{name}: {e}");
        assert_eq!(up(name), Some(0.0), "{name}");
        assert!(
            page.contains(&e.replace('"', "&quot;")),
            "{name} not on the page"
        );
    }
    assert!(!page.contains("sekrit") && !text.contains("sekrit"));

    // Per-key problems: the source stays up, the rest of its keys are exported, each
    // rejection is counted by reason and the first is shown with its key.
    assert_eq!(up("keys"), Some(1.0));
    assert_eq!(metric(&text, "ok_total", &[("source", "keys")]), Some(3.0));
    assert_eq!(
        metric(&text, "gauge_nan", &[("source", "keys")]).map(f64::is_nan),
        Some(true)
    );
    for reason in [
        "non_numeric",
        "negative",
        "nan",
        "label_value_too_long",
        "unknown_type",
    ] {
        assert_eq!(
            metric(
                &text,
                "snapbridge_rejected_values_total",
                &[("source", "keys"), ("reason", reason)]
            ),
            Some(1.0),
            "{reason}"
        );
    }
    let keys = view.sources.iter().find(|s| s.name == "keys").unwrap();
    let warning = keys.last_warning.clone().unwrap();
    assert!(warning.starts_with("key \""), "{warning}");
    assert!(warning.contains("and 4 more rejected values"), "{warning}");
    assert!(warning.len() < 600);
    assert!(page.contains(&warning.replace('"', "&quot;")));

    // 100 000 keys (the default max_series): all exported.
    assert_eq!(up("big"), Some(1.0));
    assert_eq!(
        view.sources
            .iter()
            .find(|s| s.name == "big")
            .unwrap()
            .series,
        100_000
    );
    assert_eq!(metric(&text, "k_99998", &[]), Some(99_998.0));

    // Batch files: the broken file and the bad record are reported; the good record counts.
    assert_eq!(up("batches"), Some(1.0));
    assert_eq!(
        metric(&text, "operations_total", &[("source", "batches")]),
        Some(1.0)
    );
    for reason in ["malformed_batch", "non_numeric"] {
        assert_eq!(
            metric(
                &text,
                "snapbridge_rejected_values_total",
                &[("source", "batches"), ("reason", reason)]
            ),
            Some(1.0),
            "{reason}"
        );
    }

    // The good source is unaffected.
    assert_eq!(up("good"), Some(1.0));
    assert_eq!(
        metric(&text, "records_written_total", &[("source", "good")]),
        Some(42.0)
    );
}

#[test]
fn secrets_never_reach_check_output_or_logs() {
    let dir = tempfile::tempdir().unwrap();
    let (closed_http, closed_redis) = (free_port(), free_port());
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            r#"interval = "2s"
timeout = "1s"
[[source]]
name = "api"
kind = "http"
url = "http://bob:hunter2@127.0.0.1:{closed_http}/metrics?api_key=k3y-123"
[[source]]
name = "tokened"
kind = "http"
url = "http://127.0.0.1:{closed_http}/metrics"
bearer_token = "t0ken-456"
headers = {{ X-Secret = "h3ader-789" }}
[[source]]
name = "cache"
kind = "redis"
url = "redis://:pa55-000@127.0.0.1:{closed_redis}/2"
key = "app:metrics"
"#
        ),
    )
    .unwrap();
    for cmd in ["check", "once"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_snapbridge"))
            .args([cmd, "--config"])
            .arg(&config)
            .env("RUST_LOG", "debug")
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for secret in ["hunter2", "k3y-123", "t0ken-456", "h3ader-789", "pa55-000"] {
            assert!(!all.contains(secret), "{cmd} shows {secret}:\n{all}");
        }
        if cmd == "check" {
            // Every source down: check says so in its exit status.
            assert_eq!(out.status.code(), Some(1), "{all}");
            for line in [
                "source api: DOWN: GET http://***@127.0.0.1:",
                "source cache: DOWN: redis://***@127.0.0.1:",
            ] {
                assert!(all.contains(line), "{line}:\n{all}");
            }
            assert!(all.contains("api_key=***"), "{all}");
        }
    }
}
