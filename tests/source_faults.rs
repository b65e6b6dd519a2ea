//! An HTTP source fails in every way a server can, for a few cycles, and comes back — once
//! restarted (its counter reset) while it was away. Each time: `snapbridge_source_up` is 0
//! from the first failed cycle and 1 again at the first good one, the other source never
//! blinks, and the exported total neither drops nor double counts.

mod common;

use std::path::Path;

use common::Bridge;
use common::sources::{HttpServer, Reply, metric, scrape};

fn body(written: u64) -> Reply {
    Reply::Json(format!(
        "{{\"records_written\": {written}, \"queue_size\": 3}}"
    ))
}

#[test]
fn outages_of_every_kind_keep_totals_exact() {
    let flaky = HttpServer::start(body(100));
    let steady = HttpServer::start(body(7));
    let config = format!(
        "interval = \"5s\"\ntimeout = \"500ms\"\n[[source]]\nname = \"flaky\"\nkind = \"http\"\nurl = \"{}\"\ncounters = [\"records_*\"]\n[[source]]\nname = \"steady\"\nkind = \"http\"\nurl = \"{}\"\ncounters = [\"records_*\"]\n",
        flaky.url("/m"),
        steady.url("/m")
    );
    let mut bridge = Bridge::start(&config, vec![]);
    let flaky_total = |text: &str| metric(text, "records_written_total", &[("source", "flaky")]);
    let up = |text: &str, s: &str| metric(text, "snapbridge_source_up", &[("source", s)]);

    bridge.cycle();
    let mut raw = 100u64;
    let mut truth = 100u64;
    assert_eq!(flaky_total(&scrape(&bridge)), Some(truth as f64));

    let faults: Vec<(&str, Reply)> = vec![
        ("500", Reply::Status(500, "boom".into())),
        ("hang", Reply::Hang),
        (
            "cut mid-body",
            Reply::CutShort(
                "{\"records_written\": 999999, \"pad\": \"xxxxxxxxxxxxxxxxxxxx\"}".into(),
            ),
        ),
        ("malformed", Reply::Json("{\"records_written\": ".into())),
    ];
    for (round, (what, fault)) in faults.into_iter().enumerate() {
        flaky.set(fault);
        for _ in 0..2 {
            bridge.cycle();
            let text = scrape(&bridge);
            assert_eq!(
                up(&text, "flaky"),
                Some(0.0),
                "{what}: down from the first failed cycle"
            );
            assert_eq!(
                flaky_total(&text),
                None,
                "{what}: a down source's series are not exposed"
            );
            assert_eq!(
                up(&text, "steady"),
                Some(1.0),
                "{what}: the other source is unaffected"
            );
        }
        // While away the source counted more; every other time it also restarted.
        if round % 2 == 1 {
            raw = 0;
        }
        raw += 25;
        truth += 25;
        flaky.set(body(raw));
        bridge.cycle();
        let text = scrape(&bridge);
        assert_eq!(
            up(&text, "flaky"),
            Some(1.0),
            "{what}: up at the first good cycle"
        );
        assert_eq!(
            flaky_total(&text),
            Some(truth as f64),
            "{what}: total after recovery"
        );
    }
    // Connection refused: the server is gone.
    drop(flaky);
    bridge.cycle();
    let text = scrape(&bridge);
    assert_eq!(up(&text, "flaky"), Some(0.0), "refused");
    assert_eq!(up(&text, "steady"), Some(1.0));
    assert_eq!(
        metric(&text, "records_written_total", &[("source", "steady")]),
        Some(7.0)
    );
}

/// A `file` source and an `exec` source (a script printing the same file) broken four ways
/// — deleted, truncated, half written, garbage; exit status 3, hung past the timeout — each
/// for one cycle, then back with 10 more counted, restarted while away every other time.
fn file_and_command_faults(dir: &Path) {
    let doc = dir.join("metrics.json");
    let mode = dir.join("mode");
    let good = |n: u64| {
        std::fs::write(&doc, format!("{{\"records_written\": {n}}}")).unwrap();
        std::fs::write(&mode, "ok").unwrap();
    };
    good(100);
    // The command prints the file, fails, or hangs, as `mode` says.
    let script = format!(
        "m=$(cat {mode}); if [ \"$m\" = fail ]; then echo broken >&2; exit 3; elif [ \"$m\" = hang ]; then sleep 30; else cat {doc}; fi",
        mode = mode.display(),
        doc = doc.display()
    );
    let config = format!(
        "interval = \"5s\"\ntimeout = \"500ms\"\n[[source]]\nname = \"file\"\nkind = \"file\"\npath = \"{}\"\ncounters = [\"records_*\"]\n[[source]]\nname = \"command\"\nkind = \"exec\"\ncommand = [\"sh\", \"-c\", {script:?}]\ncounters = [\"records_*\"]\n",
        doc.display()
    );
    let mut bridge = Bridge::start(&config, vec![]);
    bridge.cycle();
    let total = |t: &str, s: &str| metric(t, "records_written_total", &[("source", s)]);
    let up = |t: &str, s: &str| metric(t, "snapbridge_source_up", &[("source", s)]);
    let text = scrape(&bridge);
    assert_eq!(
        (total(&text, "file"), total(&text, "command")),
        (Some(100.0), Some(100.0))
    );

    let (mut raw, mut truth) = (100u64, 100u64);
    let faults: [(&str, &dyn Fn()); 4] = [
        ("file deleted, command exits 3", &|| {
            std::fs::remove_file(&doc).unwrap();
            std::fs::write(&mode, "fail").unwrap();
        }),
        ("file truncated, command hangs", &|| {
            std::fs::write(&doc, "").unwrap();
            std::fs::write(&mode, "hang").unwrap();
        }),
        ("file half written, command exits 3", &|| {
            std::fs::write(&doc, "{\"records_written\": 12").unwrap();
            std::fs::write(&mode, "fail").unwrap();
        }),
        ("file holds a string, command hangs", &|| {
            std::fs::write(&doc, "not json at all").unwrap();
            std::fs::write(&mode, "hang").unwrap();
        }),
    ];
    for (round, (what, fault)) in faults.iter().enumerate() {
        fault();
        bridge.cycle();
        let text = scrape(&bridge);
        for s in ["file", "command"] {
            assert_eq!(
                up(&text, s),
                Some(0.0),
                "{what}: {s} down at the first failed cycle"
            );
            assert_eq!(total(&text, s), None, "{what}: {s}");
        }
        if round % 2 == 0 {
            raw = 0; // restarted while away
        }
        raw += 10;
        truth += 10;
        good(raw);
        bridge.cycle();
        let text = scrape(&bridge);
        for s in ["file", "command"] {
            assert_eq!(
                up(&text, s),
                Some(1.0),
                "{what}: {s} up at the first good cycle"
            );
            assert_eq!(
                total(&text, s),
                Some(truth as f64),
                "{what}: {s} total after recovery"
            );
        }
    }
}

#[test]
fn file_and_command_outages_keep_totals_exact() {
    let dir = tempfile::tempdir().unwrap();
    file_and_command_faults(dir.path());
}
