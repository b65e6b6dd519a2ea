//! Names and labels that clash only once snapbridge has named them: a histogram's own `le`
//! label, a `__name__` label, a typed entry with a unit beside a plain key of the final
//! name, a counter `x_sum` beside a histogram `x`. The body stays valid for promtool, both
//! reference parsers and a real Prometheus 3 scraping OpenMetrics and text; the refused
//! series are counted.

mod common;

use std::process::Command;
use std::time::Duration;

use common::prom::Prometheus;
use common::sources::{metric, scrape};
use common::{Bridge, http_get, promtool_check, python_parse};

const DOCUMENT: &str = r#"{
  "u": {"type": "gauge", "value": 1, "unit": "1"},
  "u_ratio": 5,
  "h": {"type": "histogram", "buckets": {"1": 1, "+Inf": 2}, "count": 2, "sum": 1.5,
        "labels": {"le": "spoof", "__name__": "evil"}},
  "x": {"type": "histogram", "buckets": {"1": 1, "+Inf": 1}, "count": 1, "sum": 0.5},
  "x_sum": {"type": "counter", "value": 3},
  "x_count": {"type": "counter", "value": 4},
  "jobs": {"type": "counter", "value": 2},
  "jobs_created": 9
}"#;

fn bridge(dir: &std::path::Path) -> Bridge {
    let path = dir.join("doc.json");
    std::fs::write(&path, DOCUMENT).unwrap();
    Bridge::start(
        &format!(
            "interval = \"1h\"\n[[source]]\nname = \"doc\"\nkind = \"file\"\npath = \"{}\"\n",
            path.display()
        ),
        vec![],
    )
}

#[test]
fn clashing_names_and_labels_are_refused_or_renamed_and_every_body_parses() {
    let dir = tempfile::tempdir().unwrap();
    let mut bridge = bridge(dir.path());
    bridge.cycle();
    bridge.cycle();
    let text = scrape(&bridge);
    // One u_ratio series, the typed entry's (it comes first); the plain key is a duplicate.
    let u: Vec<&str> = text.lines().filter(|l| l.starts_with("u_ratio")).collect();
    assert_eq!(u, ["u_ratio{source=\"doc\"} 1"], "{text}");
    assert_eq!(
        metric(
            &text,
            "snapbridge_rejected_values_total",
            &[("source", "doc"), ("reason", "duplicate")]
        ),
        Some(2.0),
        "one per cycle\n{text}"
    );
    // The histogram's own `le` is kept apart; `__name__` is not a label name a source sets.
    assert!(
        text.contains(
            "h_bucket{exported_le=\"spoof\",key__name__=\"evil\",source=\"doc\",le=\"1\"} 1"
        ),
        "{text}"
    );
    assert!(!text.contains("le=\"spoof\",le="), "{text}");
    // x_sum, x_count (a histogram x has those lines) and jobs_created (the counter jobs has
    // it) are refused.
    for refused in ["x_sum_total", "x_count_total", "jobs_created{"] {
        assert!(!text.contains(refused), "{refused}\n{text}");
    }
    assert_eq!(
        metric(
            &text,
            "snapbridge_dropped_series",
            &[("source", "doc"), ("reason", "kind_conflict")]
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(metric(&text, "jobs_total", &[]), Some(2.0));
    assert_eq!(metric(&text, "x_sum", &[]), Some(0.5));

    let om = http_get(
        &bridge.url("/metrics"),
        &[("Accept", "application/openmetrics-text; version=1.0.0")],
    )
    .3;
    promtool_check(text.as_bytes())
        .or_else(|e| {
            if e.contains("parsing error") {
                Err(e)
            } else {
                Ok(())
            }
        })
        .expect("promtool parses the text body");
    python_parse(text.as_bytes(), "text").expect("the text parser takes it");
    python_parse(&om, "openmetrics").expect("the OpenMetrics parser takes it");

    // Prometheus' verdict, in both formats: before, a duplicate `le` took the whole target down.
    let target = bridge.addr.to_string();
    let prom = Prometheus::start_with(&format!(
        "  - job_name: om\n    scrape_protocols: [OpenMetricsText1.0.0]\n    static_configs:\n      - targets: ['{target}']\n  - job_name: text\n    scrape_protocols: [PrometheusText0.0.4]\n    static_configs:\n      - targets: ['{target}']\n"
    ));
    for job in ["om", "text"] {
        prom.wait_value(
            &format!("up{{job=\"{job}\"}}"),
            1.0,
            Duration::from_secs(30),
        );
        prom.wait_value(
            &format!("h_bucket{{job=\"{job}\",exported_le=\"spoof\",le=\"+Inf\"}}"),
            2.0,
            Duration::from_secs(30),
        );
        prom.wait_value(
            &format!("u_ratio{{job=\"{job}\"}}"),
            1.0,
            Duration::from_secs(30),
        );
        prom.wait_value(
            &format!("x_count{{job=\"{job}\"}}"),
            1.0,
            Duration::from_secs(30),
        );
    }
}

#[test]
fn reserved_static_labels_are_config_errors_for_check() {
    let dir = tempfile::tempdir().unwrap();
    for key in ["le", "quantile"] {
        let config = dir.path().join(format!("{key}.toml"));
        std::fs::write(
            &config,
            format!("[[source]]\nname = \"d\"\nkind = \"demo\"\nlabels = {{ {key} = \"x\" }}\n"),
        )
        .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_snapbridge"))
            .env_remove("SNAPBRIDGE_CONFIG")
            .args(["check", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{key}: {err}");
        assert!(
            err.contains("labels") && err.contains(&format!("\"{key}\"")),
            "{err}"
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains("config ok"));
    }
}
