//! `kind = "redis"` against a real redis-server started by the test: a hash (HGETALL), keys
//! by pattern (SCAN), a JSON string, a password that never shows, and a Redis restart that
//! the source survives (down while Redis is away, up again after, totals never lower).

mod common;

use common::Bridge;
use common::sources::{RedisServer, metric, scrape, status_page};

#[test]
fn hash_pattern_and_json_keys_and_a_restart() {
    let redis = RedisServer::start(Some("pa55word"));
    let fill = |r: &RedisServer, written: &str| {
        r.run(&[
            "HSET",
            "papyra:metrics",
            "records_written",
            written,
            "write_errors",
            "2",
            "queue_size",
            "1.5",
            "status",
            "green",
        ]);
        r.run(&["SET", "jobs:created", "120"]);
        r.run(&["SET", "jobs:in_progress", "2"]);
        r.run(&["HSET", "jobs:worker:1", "done_total", "40"]);
        r.run(&[
            "SET",
            "engine:doc",
            r#"{"engine": {"frames": {"type": "counter", "value": 9, "labels": {"ns": "render"}}}}"#,
        ]);
    };
    fill(&redis, "120394");
    let config = format!(
        r#"interval = "5s"
timeout = "2s"
[[source]]
name = "papyra"
kind = "redis"
url = "{url}"
key = "papyra:metrics"
counters = ["records_*", "*_errors"]
[[source]]
name = "jobs"
kind = "redis"
url = "{url}"
pattern = "jobs:*"
counters = ["jobs:created", "*_total"]
[[source]]
name = "engine"
kind = "redis"
url = "{url}"
key = "engine:doc"
pointer = "/engine"
"#,
        url = redis.url()
    );
    let mut bridge = Bridge::start(&config, vec![]);
    let view = bridge.cycle();
    let text = scrape(&bridge);
    let papyra = [("source", "papyra")];
    assert_eq!(
        metric(&text, "records_written_total", &papyra),
        Some(120394.0),
        "{text}"
    );
    assert_eq!(metric(&text, "write_errors_total", &papyra), Some(2.0));
    assert_eq!(metric(&text, "queue_size", &papyra), Some(1.5));
    let warning = view.sources[0].last_warning.clone().unwrap_or_default();
    assert!(warning.contains("\"status\""), "{warning}");
    assert_eq!(
        metric(
            &text,
            "snapbridge_rejected_values_total",
            &[("source", "papyra"), ("reason", "non_numeric")]
        ),
        Some(1.0)
    );
    let jobs = [("source", "jobs")];
    assert_eq!(metric(&text, "jobs_created_total", &jobs), Some(120.0));
    assert_eq!(metric(&text, "jobs_in_progress", &jobs), Some(2.0));
    assert_eq!(
        metric(&text, "done_total", &[("redis_key", "jobs:worker:1")]),
        Some(40.0)
    );
    assert_eq!(
        metric(&text, "frames_total", &[("ns", "render")]),
        Some(9.0)
    );

    // Redis goes away (killed by PID): the sources go down, with the address but never
    // the password.
    let port = redis.port;
    let mut redis = redis;
    let _ = redis.proc.child.kill();
    let _ = redis.proc.child.wait();
    let view = bridge.cycle();
    let page = status_page(&bridge);
    let s = &view.sources[0];
    assert!(!s.up);
    let e = s.last_error.clone().unwrap();
    assert!(e.contains(&format!("127.0.0.1:{port}")), "{e}");
    assert!(e.contains("redis://***@"), "{e}");
    assert!(!e.contains("pa55word") && !page.contains("pa55word"), "{e}");
    assert!(!e.contains('\n'));
    // An empty server on the same port; the application writes again, its counters
    // restarted too (500 < 120394: a reset).
    let redis = redis.restart();
    fill(&redis, "500");
    bridge.cycle();
    let text = scrape(&bridge);
    assert_eq!(
        metric(&text, "snapbridge_source_up", &papyra),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, "records_written_total", &papyra),
        Some(120394.0 + 500.0)
    );
    drop(redis);
}
