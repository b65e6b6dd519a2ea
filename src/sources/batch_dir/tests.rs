use super::*;
use snapbridge_core::Value;

fn source(dir: &Path) -> BatchDirSource {
    let text = format!(
        "path = {:?}\nmetadata_labels = [\"region\"]\n",
        dir.display().to_string()
    );
    let config: BatchDirConfig = toml::from_str(&text).unwrap();
    BatchDirSource::new(&config, &SourceConfig::new("ops"))
}

fn batch(records: &[Json]) -> String {
    serde_json::json!({"records": records, "batch_id": "x", "total_records": records.len()})
        .to_string()
}

fn ops_total(p: &Pulled) -> u64 {
    p.snapshot
        .samples
        .iter()
        .filter_map(|s| match &s.value {
            Value::Counter(snapbridge_core::Number::Int(n)) => Some(*n),
            _ => None,
        })
        .sum()
}

#[test]
fn names() {
    assert!(is_batch_name("metrics_20251216_080005_123456.json"));
    assert!(is_batch_name("metrics_20251216_080005.json"));
    assert!(!is_batch_name("metrics_20251216_080005_123456.json.tmp"));
    assert!(!is_batch_name(".snapbridge-ops.checkpoint.json"));
    assert!(!is_batch_name("metrics_2025_080005.json"));
}

#[test]
fn records_are_counted_once_across_restarts_and_growth() {
    let dir = tempfile::tempdir().unwrap();
    let rec = |t: &str, ms: f64, ok: bool| {
        serde_json::json!({"operation_type": t, "operation_name": "GET /u", "duration_ms": ms,
            "success": ok, "metadata": {"region": "us", "email": "a@b.c"}})
    };
    let f1 = dir.path().join("metrics_20250101_000001_000001.json");
    fs::write(
        &f1,
        batch(&[rec("api", 5.0, true), rec("api", 50.0, false)]),
    )
    .unwrap();
    fs::write(
        dir.path().join("metrics_20250101_000002_000001.json"),
        "{\"records\": [",
    )
    .unwrap();
    let s = source(dir.path());
    let p = s.inner.pull().unwrap();
    assert_eq!(ops_total(&p), 2);
    assert_eq!(p.rejected.len(), 1, "{:?}", p.rejected);
    assert_eq!(p.rejected[0].reason, "malformed_batch");
    let labels = &p.snapshot.samples[0].key.labels;
    assert_eq!(labels.get("region"), Some("us"));
    assert_eq!(labels.get("email"), None);
    // Same files again: nothing new, the broken one not reported twice.
    let p = s.inner.pull().unwrap();
    assert_eq!((ops_total(&p), p.rejected.len()), (2, 0));
    // A restart reads the checkpoint; a file that appears out of order and one that grew
    // are counted from their first new record.
    drop(s);
    fs::write(
        dir.path().join("metrics_20240101_000000_000001.json"),
        batch(&[rec("db", 1.0, true)]),
    )
    .unwrap();
    fs::write(
        &f1,
        batch(&[
            rec("api", 5.0, true),
            rec("api", 50.0, false),
            rec("api", 7.0, true),
            serde_json::json!({"operation_type": "x"}),
        ]),
    )
    .unwrap();
    let s = source(dir.path());
    let p = s.inner.pull().unwrap();
    assert_eq!(ops_total(&p), 4);
    assert_eq!(p.rejected.len(), 2, "{:?}", p.rejected);
    // The same name holding another batch (another batch_id) counts from its first record.
    let f2 = dir.path().join("metrics_20240101_000000_000001.json");
    let other = serde_json::json!({"records": [rec("db", 2.0, true), rec("db", 3.0, true)], "batch_id": "other"});
    fs::write(&f2, other.to_string()).unwrap();
    let p = s.inner.pull().unwrap();
    assert_eq!(ops_total(&p), 6);
    // Deleted files leave the checkpoint, totals stay.
    fs::remove_file(&f1).unwrap();
    let p = s.inner.pull().unwrap();
    assert_eq!(ops_total(&p), 6);
    let state = s.inner.state.lock().unwrap();
    assert_eq!(state.as_ref().unwrap().files.len(), 1);
}
