//! `kind = "file"` against real files while a writer thread rewrites them in place (with a
//! half-written window), replaces them by atomic rename, truncates them, and rotates them:
//! snapbridge never crashes, a half-written file is a failed snapshot for that cycle, the
//! exported total never goes down and ends equal to what the writer wrote.

mod common;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::Bridge;
use common::sources::{metric, scrape, status_page};

fn doc(n: u64) -> String {
    format!("{{\"records_written\": {n}, \"queue_size\": {}}}", n % 7)
}

fn atomic_write(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn a_writer_that_rewrites_truncates_and_rotates_never_lowers_a_total() {
    let dir = tempfile::tempdir().unwrap();
    let single = dir.path().join("papyra.json");
    let rotated = |i: u64| dir.path().join(format!("papyra-{i:04}.json"));
    atomic_write(&single, &doc(0));
    atomic_write(&rotated(0), &doc(0));
    let config = format!(
        r#"interval = "5s"
[[source]]
name = "single"
kind = "file"
path = "{}"
counters = ["records_*"]
[[source]]
name = "rotating"
kind = "file"
path_glob = "{}/papyra-*.json"
counters = ["records_*"]
"#,
        single.display(),
        dir.path().display()
    );
    let mut bridge = Bridge::start(&config, vec![]);

    let written = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (written, stop) = (written.clone(), stop.clone());
        let (single, dir) = (single.clone(), dir.path().to_path_buf());
        std::thread::spawn(move || {
            let mut n = 0u64;
            let mut generation = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1 + n % 5;
                match n % 3 {
                    // In place: truncate, write half, pause, write the rest.
                    0 => {
                        let text = doc(n);
                        let mut f = std::fs::File::create(&single).unwrap();
                        f.write_all(&text.as_bytes()[..text.len() / 2]).unwrap();
                        f.flush().unwrap();
                        std::thread::sleep(Duration::from_millis(3));
                        f.write_all(&text.as_bytes()[text.len() / 2..]).unwrap();
                    }
                    // Truncated to nothing for a moment, then rewritten.
                    1 => {
                        std::fs::File::create(&single).unwrap();
                        std::thread::sleep(Duration::from_millis(2));
                        std::fs::write(&single, doc(n)).unwrap();
                    }
                    _ => atomic_write(&single, &doc(n)),
                }
                // Rotation: every few writes a new file; old ones deleted.
                if n.is_multiple_of(4) {
                    generation += 1;
                    let old = dir.join(format!("papyra-{:04}.json", generation - 1));
                    atomic_write(&dir.join(format!("papyra-{generation:04}.json")), &doc(n));
                    let _ = std::fs::remove_file(old);
                } else {
                    atomic_write(&dir.join(format!("papyra-{generation:04}.json")), &doc(n));
                }
                written.store(n, Ordering::Release);
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };

    let (mut last_single, mut last_rot) = (0.0, 0.0);
    let (mut up, mut down) = (0, 0);
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        let view = bridge.cycle();
        let text = scrape(&bridge);
        let ceiling = written.load(Ordering::Acquire) as f64 + 10.0;
        for (name, last) in [("single", &mut last_single), ("rotating", &mut last_rot)] {
            let status = view.sources.iter().find(|s| s.name == name).unwrap();
            if status.up {
                up += 1;
                let total = metric(&text, "records_written_total", &[("source", name)]).unwrap();
                assert!(total >= *last, "{name}: total went down {last} -> {total}");
                assert!(total <= ceiling, "{name}: {total} > what was written");
                *last = total;
            } else {
                down += 1;
                let e = status.last_error.clone().unwrap_or_default();
                assert!(e.starts_with("file "), "{e}");
                assert!(!e.contains('\n'));
            }
        }
        std::thread::sleep(Duration::from_millis(7));
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let n = written.load(Ordering::Acquire);
    atomic_write(&single, &doc(n));
    bridge.cycle();
    let text = scrape(&bridge);
    // The writer never reset: the exported total is exactly the last value written.
    assert_eq!(
        metric(&text, "records_written_total", &[("source", "single")]),
        Some(n as f64)
    );
    assert_eq!(
        metric(&text, "records_written_total", &[("source", "rotating")]),
        Some(n as f64)
    );
    assert!(up > 20, "only {up} successful reads ({down} failed)");
}

#[test]
fn a_missing_or_half_written_file_is_a_failed_snapshot_shown_on_the_status_page() {
    let dir = tempfile::tempdir().unwrap();
    let half = dir.path().join("half.json");
    std::fs::write(&half, r#"{"records_written": 12, "records_re"#).unwrap();
    let config = format!(
        r#"[[source]]
name = "half"
kind = "file"
path = "{}"
[[source]]
name = "missing"
kind = "file"
path = "{}/nope.json"
[[source]]
name = "noglob"
kind = "file"
path_glob = "{}/none-*.json"
"#,
        half.display(),
        dir.path().display(),
        dir.path().display()
    );
    let mut bridge = Bridge::start(&config, vec![]);
    let view = bridge.cycle();
    let page = status_page(&bridge);
    for (name, want) in [
        ("half", "truncated JSON"),
        ("missing", "No such file"),
        ("noglob", "no file matches"),
    ] {
        let s = view.sources.iter().find(|s| s.name == name).unwrap();
        let e = s.last_error.clone().unwrap();
        assert!(e.contains(want), "{name}: {e}");
        assert!(page.contains(want), "{page}");
    }
    // The writer finishes: the next cycle is up with the whole value.
    std::fs::write(&half, r#"{"records_written": 12}"#).unwrap();
    bridge.cycle();
    assert_eq!(
        metric(
            &scrape(&bridge),
            "snapbridge_source_up",
            &[("source", "half")]
        ),
        Some(1.0)
    );
}
