//! Hot reload with the real binary while a real Prometheus 3 scrapes it every second: a
//! config change that adds a source, removes one and changes another's labels, applied by
//! SIGHUP and (in the other test) by `POST /-/reload`. The unchanged source's counter
//! counts exactly through it (`increase()` over the window is the truth, `resets()` is 0),
//! no scrape fails, an invalid file keeps everything running and flips
//! `snapbridge_config_last_reload_successful` to 0, and a new listen address moves the
//! endpoint.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::prom::Prometheus;
use common::{Proc, free_port, http_get, wait_for};

/// The steady source's raw value after its restart, before the window.
const RESTARTED: u64 = 200;

/// How a test asks for the reload.
#[derive(Clone, Copy, Debug)]
enum Trigger {
    Sighup,
    Post,
}

/// Writes `{"jobs_done": value}` atomically (a temporary file renamed into place).
fn write_jobs(path: &Path, value: u64) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{{\"jobs_done\": {value}}}")).expect("write source file");
    std::fs::rename(&tmp, path).expect("rename source file");
}

/// A `file` source reading `dir/<name>.json`, its `jobs_*` keys counters.
fn source(dir: &Path, name: &str, labels: &str) -> String {
    format!(
        "[[source]]\nname = \"{name}\"\nkind = \"file\"\npath = \"{}\"\ncounters = [\"jobs_*\"]\nlabels = {{ {labels} }}\n",
        dir.join(format!("{name}.json")).display()
    )
}

fn config(listen: u16, sources: &[String]) -> String {
    format!(
        "interval = \"500ms\"\n[prometheus]\nlisten = \"127.0.0.1:{listen}\"\n{}",
        sources.concat()
    )
}

struct Bridge {
    proc: Proc,
    config: PathBuf,
    port: u16,
}

impl Bridge {
    fn reload(&self, trigger: Trigger, text: &str) -> Option<(u16, String)> {
        std::fs::write(&self.config, text).expect("write config");
        match trigger {
            Trigger::Sighup => {
                let status = Command::new("kill")
                    .arg("-HUP")
                    .arg(self.proc.child.id().to_string())
                    .status()
                    .expect("run kill");
                assert!(status.success());
                None
            }
            Trigger::Post => {
                let url = format!("http://127.0.0.1:{}/-/reload", self.port);
                let (status, body) = match ureq::post(&url).call() {
                    Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
                    Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap_or_default()),
                    Err(e) => panic!("POST {url}: {e}\n{}", self.proc.log_tail()),
                };
                Some((status, body))
            }
        }
    }

    fn metrics(&self, port: u16) -> String {
        let (status, _, _, body) = http_get(&format!("http://127.0.0.1:{port}/metrics"), &[]);
        assert_eq!(status, 200);
        String::from_utf8(body).expect("UTF-8 exposition")
    }
}

/// The value of the one series `expr` returns, if it returns one.
fn one(prom: &Prometheus, expr: &str) -> Option<f64> {
    let got = prom.query(expr);
    (got.len() == 1).then(|| got[0].1)
}

fn reload_scenario(trigger: Trigger) {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    // steady: unchanged by every reload; leaving: removed; relabel: its labels change;
    // arriving: added.
    for (name, value) in [
        ("steady", 1000),
        ("leaving", 50),
        ("relabel", 70),
        ("arriving", 7),
    ] {
        write_jobs(&d.join(format!("{name}.json")), value);
    }
    let steady = source(d, "steady", "team = \"core\"");
    let port = free_port();
    let v1 = config(
        port,
        &[
            steady.clone(),
            source(d, "leaving", ""),
            source(d, "relabel", "team = \"a\""),
        ],
    );
    let config_path = d.join("snapbridge.toml");
    std::fs::write(&config_path, &v1).expect("write config");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_snapbridge"));
    cmd.arg("--config")
        .arg(&config_path)
        .env("RUST_LOG", "info");
    let bridge = Bridge {
        proc: Proc::spawn("snapbridge", cmd, d.join("snapbridge.log")),
        config: config_path,
        port,
    };
    let prom = Prometheus::start(&format!("127.0.0.1:{port}"));
    let sel = "jobs_done_total{source=\"steady\",team=\"core\"}";
    prom.wait_value(sel, 1000.0, Duration::from_secs(60));
    // The source restarts (raw 1000 -> 200): snapbridge's total (1200) is no longer the raw
    // value, so a reload that lost the tracker's state would show (as a drop to the raw
    // value, a reset in Prometheus' eyes).
    write_jobs(&d.join("steady.json"), RESTARTED);
    prom.wait_value(sel, (1000 + RESTARTED) as f64, Duration::from_secs(30));
    prom.wait_value(
        "snapbridge_config_last_reload_successful",
        1.0,
        Duration::from_secs(30),
    );
    // The window starts on the plateau at 1200, a few scrapes in.
    std::thread::sleep(Duration::from_secs(3));
    let window_start = Instant::now();

    // A scraper of our own beside Prometheus: every failed scrape is counted.
    let stop = Arc::new(AtomicBool::new(false));
    let (scrapes_ok, scrapes_failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let scraper = {
        let (stop, ok, failed) = (stop.clone(), scrapes_ok.clone(), scrapes_failed.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match ureq::get(&format!("http://127.0.0.1:{port}/metrics")).call() {
                    Ok(r) if r.status() == 200 => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    // steady counts on through every reload, in steps the test knows.
    // The source's raw value; the exported total is 1000 more.
    let counted = Arc::new(AtomicU64::new(RESTARTED));
    let writer = {
        let (stop, counted, path) = (stop.clone(), counted.clone(), d.join("steady.json"));
        std::thread::spawn(move || {
            let mut step = 1;
            while !stop.load(Ordering::Relaxed) {
                let value = counted.fetch_add(step, Ordering::Relaxed) + step;
                write_jobs(&path, value);
                step = step % 7 + 1;
                std::thread::sleep(Duration::from_millis(150));
            }
        })
    };
    std::thread::sleep(Duration::from_secs(2));

    // The change: arriving added, leaving removed, relabel's labels changed.
    let v2 = config(
        port,
        &[
            steady.clone(),
            source(d, "relabel", "team = \"b\""),
            source(d, "arriving", ""),
        ],
    );
    if let Some((status, body)) = bridge.reload(trigger, &v2) {
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("added: arriving"), "{body}");
        assert!(body.contains("removed: leaving"), "{body}");
        assert!(body.contains("changed: relabel"), "{body}");
    }
    prom.wait_value(
        "jobs_done_total{source=\"arriving\"}",
        7.0,
        Duration::from_secs(30),
    );
    // The relabelled source continues its total under its new labels.
    prom.wait_value(
        "jobs_done_total{source=\"relabel\",team=\"b\"}",
        70.0,
        Duration::from_secs(30),
    );
    wait_for(
        "the removed source's series to leave",
        Duration::from_secs(30),
        || {
            let gone = prom.query("jobs_done_total{source=\"leaving\"}").is_empty()
                && prom
                    .query("jobs_done_total{source=\"relabel\",team=\"a\"}")
                    .is_empty()
                && prom
                    .query("snapbridge_source_up{source=\"leaving\"}")
                    .is_empty();
            gone.then_some(())
        },
    );
    let exposition = bridge.metrics(port);
    assert!(!exposition.contains("source=\"leaving\""), "{exposition}");

    // An invalid file: logged, refused, everything keeps running.
    let invalid = format!("{v2}\n[[source]]\nname = \"broken\"\nkind = \"file\"\n");
    if let Some((status, body)) = bridge.reload(trigger, &invalid) {
        assert_eq!(status, 500, "{body}");
        assert!(body.contains("snapbridge.toml:"), "names the file: {body}");
        assert!(body.contains("path"), "names the key: {body}");
    }
    prom.wait_value(
        "snapbridge_config_last_reload_successful",
        0.0,
        Duration::from_secs(30),
    );
    let log = std::fs::read_to_string(d.join("snapbridge.log")).unwrap_or_default();
    let failure = log
        .lines()
        .find(|l| l.contains("config reload failed"))
        .unwrap_or_else(|| panic!("no reload failure logged:\n{log}"));
    assert!(failure.contains("snapbridge.toml:"), "{failure}");
    let before = (1000 + counted.load(Ordering::Relaxed)) as f64;
    wait_for(
        "steady to count on after the refused reload",
        Duration::from_secs(30),
        || one(&prom, sel).filter(|v| *v > before).map(|_| ()),
    );
    assert_eq!(
        one(&prom, "jobs_done_total{source=\"arriving\"}"),
        Some(7.0)
    );

    // The writer stops; Prometheus stores the last value, then the window ends.
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer");
    scraper.join().expect("scraper");
    let raw = counted.load(Ordering::Relaxed);
    let truth = raw - RESTARTED;
    prom.wait_value(sel, (1000 + raw) as f64, Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(2));
    let window = window_start.elapsed().as_secs() + 1;
    // `anchored`: the increase between the last sample before the window and the last one in
    // it, without extrapolation, so it is exactly what was counted.
    let increase = one(&prom, &format!("increase({sel}[{window}s] anchored)"));
    assert_eq!(increase, Some(truth as f64), "{}", bridge.proc.log_tail());
    assert_eq!(one(&prom, &format!("resets({sel}[{window}s])")), Some(0.0));
    // Prometheus' own scrapes never failed, and none came back empty.
    let up = format!("min_over_time(up{{instance=\"127.0.0.1:{port}\"}}[{window}s])");
    assert_eq!(one(&prom, &up), Some(1.0));
    let samples = one(
        &prom,
        &format!("min_over_time(scrape_samples_scraped[{window}s])"),
    );
    assert!(samples.is_some_and(|n| n > 0.0), "{samples:?}");
    let scrapes = one(&prom, &format!("count_over_time(up[{window}s])"));
    assert!(scrapes.is_some_and(|n| n >= 5.0), "{scrapes:?}");
    assert_eq!(
        scrapes_failed.load(Ordering::Relaxed),
        0,
        "our scrapes failed"
    );
    assert!(scrapes_ok.load(Ordering::Relaxed) > 20);
    eprintln!(
        "{trigger:?}: increase over {window}s = {increase:?} (truth {}), {scrapes:?} Prometheus scrapes all up, {} own scrapes, 0 failed",
        truth,
        scrapes_ok.load(Ordering::Relaxed)
    );

    // A new listen address moves the endpoint; the totals continue there.
    let moved = free_port();
    let v3 = v2.replace(&format!(":{port}\""), &format!(":{moved}\""));
    if let Some((status, body)) = bridge.reload(trigger, &v3) {
        assert_eq!(status, 200, "{body}");
        assert!(
            body.contains(&format!("/metrics moved to 127.0.0.1:{moved}")),
            "{body}"
        );
    }
    let text = wait_for(
        "the endpoint on its new address",
        Duration::from_secs(30),
        || {
            let url = format!("http://127.0.0.1:{moved}/metrics");
            ureq::get(&url)
                .call()
                .ok()
                .and_then(|r| r.into_string().ok())
        },
    );
    assert!(
        text.contains(&format!(
            "jobs_done_total{{source=\"steady\",team=\"core\"}} {}",
            1000 + raw
        )),
        "{text}"
    );
    wait_for("the old address to close", Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .err()
            .map(|_| ())
    });
    wait_for(
        "the reload metric back at 1",
        Duration::from_secs(30),
        || {
            let text = bridge.metrics(moved);
            text.contains("snapbridge_config_last_reload_successful 1")
                .then_some(())
        },
    );
}

#[test]
fn sighup_reloads_without_losing_a_count_or_a_scrape() {
    reload_scenario(Trigger::Sighup);
}

#[test]
fn post_reload_reloads_without_losing_a_count_or_a_scrape() {
    reload_scenario(Trigger::Post);
}
