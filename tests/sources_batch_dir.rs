//! `kind = "batch_dir"` with the real binary: 10 000 seed-002 records over 50 batch files,
//! written atomically (some out of order) while snapbridge reads them, snapbridge killed
//! with SIGKILL twice in the middle and restarted: `operations_total` sums to exactly
//! 10 000, the duration histogram counts 10 000 with the right sum, never more on the way,
//! and metadata keys on the deny-list never become labels.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::sources::metric_sum;
use common::{Proc, free_port, http_get, wait_for};

const FILES: usize = 50;
const PER_FILE: usize = 200;

fn start(config: &Path, dir: &Path, run: usize) -> (Proc, String) {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_snapbridge"));
    cmd.arg("--config")
        .arg(config)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "warn");
    let proc = Proc::spawn("snapbridge", cmd, dir.join(format!("snapbridge-{run}.log")));
    (proc, format!("http://127.0.0.1:{port}/metrics"))
}

fn scrape(url: &str) -> Option<String> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(5))
        .build();
    let resp = agent.get(url).call().ok()?;
    resp.into_string().ok()
}

fn duration_ms(file: usize, i: usize) -> f64 {
    ((file * PER_FILE + i) % 997) as f64 * 0.25
}

#[test]
fn ten_thousand_records_are_counted_exactly_once_across_two_kills() {
    let tmp = tempfile::tempdir().unwrap();
    let batches = tmp.path().join("metrics");
    std::fs::create_dir(&batches).unwrap();
    let config = tmp.path().join("snapbridge.toml");
    std::fs::write(
        &config,
        format!(
            "interval = \"100ms\"\n[[source]]\nname = \"ops\"\nkind = \"batch_dir\"\npath = \"{}\"\ncheckpoint = \"{}\"\nmetadata_labels = [\"region\"]\n",
            batches.display(),
            tmp.path().join("ops.checkpoint.json").display()
        ),
    )
    .unwrap();

    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (dir, done) = (batches.clone(), done.clone());
        std::thread::spawn(move || {
            // Files 2k+1 land before 2k: names arrive out of order.
            let order: Vec<usize> = (0..FILES).map(|f| f ^ 1).collect();
            for f in order {
                let records: Vec<serde_json::Value> = (0..PER_FILE)
                    .map(|i| {
                        let op_type = ["api_request", "db_query", "computation"][i % 3];
                        let op_name = ["GET /api/users", "SELECT products"][i % 2];
                        serde_json::json!({
                            "operation_type": op_type,
                            "operation_name": op_name,
                            "duration_ms": duration_ms(f, i),
                            "timestamp": "2025-12-16T08:00:00.000000+00:00",
                            "success": i % 10 != 0,
                            "error_message": null,
                            "metadata": {"region": "us-east", "email": "user@example.com"}
                        })
                    })
                    .collect();
                let id = format!("20251216_0800{:02}_{:06}", f / 10, f * 1000);
                let body = serde_json::json!({"records": records, "batch_id": id,
                    "batch_timestamp": "2025-12-16T08:00:05.123456+00:00", "total_records": PER_FILE});
                let tmp = dir.join(format!(".metrics_{id}.json.tmp"));
                std::fs::write(&tmp, body.to_string()).unwrap();
                std::fs::rename(&tmp, dir.join(format!("metrics_{id}.json"))).unwrap();
                std::thread::sleep(Duration::from_millis(40));
            }
            done.store(true, Ordering::Release);
        })
    };

    let total = |url: &str| {
        scrape(url).map(|t| {
            (
                metric_sum(&t, "operations_total", &[]),
                metric_sum(&t, "operation_duration_seconds_count", &[]),
                metric_sum(&t, "operation_duration_seconds_sum", &[]),
                t,
            )
        })
    };
    let mut run = 0;
    for kill_at in [2_000.0, 6_000.0] {
        let (mut proc, url) = start(&config, tmp.path(), run);
        run += 1;
        wait_for(
            &format!("operations_total >= {kill_at}"),
            Duration::from_secs(30),
            || {
                let (ops, _, _, _) = total(&url)?;
                assert!(ops <= (FILES * PER_FILE) as f64, "{ops}");
                (ops >= kill_at).then_some(())
            },
        );
        // SIGKILL by PID, mid-run: no shutdown, no final pull.
        proc.child.kill().unwrap();
        proc.child.wait().unwrap();
    }
    let (proc, url) = start(&config, tmp.path(), run);
    let started = Instant::now();
    let (ops, count, sum, text) = wait_for("all records", Duration::from_secs(30), || {
        let t = total(&url)?;
        assert!(t.0 <= (FILES * PER_FILE) as f64, "{}", t.0);
        (done.load(Ordering::Acquire) && t.0 == (FILES * PER_FILE) as f64).then_some(t)
    });
    writer.join().unwrap();
    assert_eq!(ops, 10_000.0);
    assert_eq!(count, 10_000.0);
    let want: f64 = (0..FILES)
        .flat_map(|f| (0..PER_FILE).map(move |i| duration_ms(f, i) / 1000.0))
        .sum();
    assert!((sum - want).abs() < 1e-6 * want, "sum {sum} vs {want}");
    // Seed 002's labels; the deny-listed metadata key never shows.
    assert!(text.contains("operations_total{operation_name=\"GET /api/users\",operation_type=\"api_request\",region=\"us-east\",source=\"ops\",success=\"true\"}"), "{text}");
    assert!(!text.contains("email") && !text.contains("example.com"));
    assert!(text.contains("operation_duration_seconds_bucket{"));
    // Stays exact on further cycles.
    std::thread::sleep(Duration::from_millis(300));
    let (ops, count, _, _) = total(&url).unwrap();
    assert_eq!((ops, count), (10_000.0, 10_000.0));
    let (status, _, _, page) = http_get(&url.replace("/metrics", "/"), &[]);
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&page).contains("batch_dir"));
    assert!(started.elapsed() < Duration::from_secs(30));
    drop(proc);
}
