//! `kind = "http"` against a real HTTP server: values on /metrics equal what the server
//! holds, resets never lower a `_total`, headers and basic auth are sent, and every way an
//! endpoint can fail (500, a hang, a body cut short, bad JSON, too large, nothing
//! listening) is one line naming the URL, with the other sources unaffected and secrets
//! never shown.

mod common;

use common::sources::{HttpServer, Reply, metric, scrape, status_page};
use common::{Bridge, free_port};

#[test]
fn values_follow_the_server_and_a_reset_never_lowers_the_total() {
    let server = HttpServer::start(Reply::Json(
        r#"{"meta": {"v": 1}, "metrics": {"jobs_created": 5, "jobs_in_progress": 2,
            "latency": {"type": "histogram", "buckets": {"0.1": 1, "1": 2}, "count": 3, "sum": 1.5, "unit": "s"},
            "by_queue": {"name": "queue_depth", "type": "gauge", "value": 7, "labels": {"queue": "mail"}}}}"#
            .into(),
    ));
    let config = format!(
        r#"interval = "5s"
[[source]]
name = "jobs"
kind = "http"
url = "{}"
pointer = "/metrics"
counters = ["jobs_created"]
bearer_token = "s3cret-token"
headers = {{ X-Tenant = "blue" }}
"#,
        server.url("/metrics")
    );
    let mut bridge = Bridge::start(&config, vec![]);
    bridge.cycle();
    let text = scrape(&bridge);
    let jobs = [("source", "jobs")];
    assert_eq!(
        metric(&text, "jobs_created_total", &jobs),
        Some(5.0),
        "{text}"
    );
    assert_eq!(metric(&text, "jobs_in_progress", &jobs), Some(2.0));
    assert_eq!(metric(&text, "latency_seconds_count", &jobs), Some(3.0));
    assert_eq!(
        metric(&text, "latency_seconds_bucket", &[("le", "0.1")]),
        Some(1.0)
    );
    assert_eq!(
        metric(&text, "queue_depth", &[("queue", "mail")]),
        Some(7.0)
    );
    let head = server.requests.lock().unwrap().last().cloned().unwrap();
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains("authorization: bearer s3cret-token"),
        "{head}"
    );
    assert!(head.contains("x-tenant: blue"), "{head}");

    let mut last = 5.0;
    // Rises, then the job queue restarts (its counter falls to 3), then rises again.
    for (raw, want) in [(12u64, 12.0), (3, 15.0), (4, 16.0)] {
        server.set(Reply::Json(format!(
            r#"{{"metrics": {{"jobs_created": {raw}, "jobs_in_progress": 0}}}}"#
        )));
        bridge.cycle();
        let text = scrape(&bridge);
        let total = metric(&text, "jobs_created_total", &jobs).unwrap();
        assert_eq!(total, want, "{text}");
        assert!(total >= last, "a _total went down: {last} -> {total}");
        last = total;
    }
    assert_eq!(
        metric(&text_of(&bridge), "snapbridge_source_resets_total", &jobs),
        Some(1.0)
    );
}

fn text_of(bridge: &Bridge) -> String {
    scrape(bridge)
}

#[test]
fn every_failure_is_one_line_naming_the_url_and_the_others_stay_up() {
    let good = HttpServer::start(Reply::Json(r#"{"ok": 1}"#.into()));
    let status = HttpServer::start(Reply::Status(500, "database is down\nstack...".into()));
    let hang = HttpServer::start(Reply::Hang);
    let cut = HttpServer::start(Reply::CutShort(format!(
        "{{\"a\": 1, \"pad\": \"{}\"}}",
        "x".repeat(4000)
    )));
    let bad = HttpServer::start(Reply::Json(r#"{"a": 1, "b": "#.into()));
    let big = HttpServer::start(Reply::Json(format!("{{\"a\": {}}}", "1".repeat(300))));
    let closed = free_port();
    let url_with_password = |s: &HttpServer| s.url("/m").replace("http://", "http://bob:hunter2@");
    let config = format!(
        r#"interval = "5s"
timeout = "800ms"
[[source]]
name = "good"
kind = "http"
url = "{}"
[[source]]
name = "status"
kind = "http"
url = "{}"
[[source]]
name = "hang"
kind = "http"
url = "{}"
[[source]]
name = "cut"
kind = "http"
url = "{}"
[[source]]
name = "bad"
kind = "http"
url = "{}?token=tok-123"
[[source]]
name = "big"
kind = "http"
url = "{}"
max_bytes = 100
[[source]]
name = "closed"
kind = "http"
url = "http://127.0.0.1:{closed}/metrics"
"#,
        good.url("/m"),
        url_with_password(&status),
        hang.url("/m"),
        cut.url("/m"),
        bad.url("/m"),
        big.url("/m"),
    );
    let mut bridge = Bridge::start(&config, vec![]);
    let view = bridge.cycle();
    let text = scrape(&bridge);
    let page = status_page(&bridge);
    for (name, want) in [
        ("status", "HTTP 500 Internal Server Error: database is down"),
        ("hang", "timeout"),
        ("cut", "cut short"),
        ("bad", "truncated JSON"),
        ("big", "max_bytes = 100"),
        ("closed", "Connection refused"),
    ] {
        let s = view.sources.iter().find(|s| s.name == name).unwrap();
        let err = s.last_error.clone().unwrap_or_default();
        assert!(!s.up, "{name} should be down");
        assert!(err.contains(want), "{name}: {err}");
        assert!(err.starts_with("GET http://"), "{name}: {err}");
        assert!(err.contains("127.0.0.1:"), "{name}: {err}");
        assert!(!err.contains('\n'), "{name}: {err}");
        assert_eq!(
            metric(&text, "snapbridge_source_up", &[("source", name)]),
            Some(0.0),
            "{name}"
        );
        assert!(
            page.contains(&err.replace('"', "&quot;")),
            "{name}: status page lacks {err}"
        );
    }
    assert_eq!(metric(&text, "ok", &[("source", "good")]), Some(1.0));
    assert_eq!(
        metric(&text, "snapbridge_source_up", &[("source", "good")]),
        Some(1.0)
    );
    // Secrets: the password and the token never appear; the redacted URL does.
    for hay in [&text, &page] {
        assert!(!hay.contains("hunter2") && !hay.contains("tok-123"));
    }
    assert!(page.contains("http://***@127.0.0.1"), "{page}");
    assert!(page.contains("token=***"), "{page}");
    let check = format!(
        "{:?}",
        snapbridge::config::Config::parse(&config, "t").unwrap()
    );
    assert!(!check.contains("hunter2") && !check.contains("tok-123"));
}

#[test]
fn https_with_a_private_ca() {
    use common::{Proc, wait_for};
    let dir = tempfile::tempdir().unwrap();
    common::tls::certificates(dir.path());
    std::fs::write(
        dir.path().join("metrics.json"),
        r#"{"records_written": 77}"#,
    )
    .unwrap();
    // A real TLS server: openssl's s_server serving the directory's files.
    let port = free_port();
    let mut cmd = std::process::Command::new("openssl");
    cmd.current_dir(dir.path()).args([
        "s_server",
        "-accept",
        &format!("127.0.0.1:{port}"),
        "-cert",
        "server.pem",
        "-key",
        "server.key",
        "-WWW",
        "-quiet",
    ]);
    let _server = Proc::spawn("openssl s_server", cmd, dir.path().join("s_server.log"));
    wait_for(
        "s_server to listen",
        std::time::Duration::from_secs(10),
        || std::net::TcpStream::connect(("127.0.0.1", port)).ok(),
    );
    let config = format!(
        r#"interval = "5s"
timeout = "3s"
[[source]]
name = "trusted"
kind = "http"
url = "https://127.0.0.1:{port}/metrics.json"
ca_file = "{ca}"
counters = ["records_*"]
[[source]]
name = "untrusted"
kind = "http"
url = "https://127.0.0.1:{port}/metrics.json"
"#,
        ca = dir.path().join("ca.pem").display()
    );
    let mut bridge = Bridge::start(&config, vec![]);
    let view = bridge.cycle();
    let text = scrape(&bridge);
    assert_eq!(
        metric(&text, "records_written_total", &[("source", "trusted")]),
        Some(77.0),
        "{:?}",
        view.sources
    );
    let untrusted = view.sources.iter().find(|s| s.name == "untrusted").unwrap();
    let e = untrusted.last_error.clone().unwrap_or_default();
    assert!(e.to_lowercase().contains("certificate"), "{e}");
}
