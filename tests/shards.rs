//! Two snapbridges with the same config and `shard = "1/2"` / `"2/2"` push to one
//! VictoriaMetrics: every source arrives exactly once, from one instance, with the totals
//! that instance serves on /metrics.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::otlp::Victoria;
use common::{Proc, free_port, http_get, wait_for};

const SOURCES: usize = 6;

fn metrics_values(port: u16) -> BTreeMap<String, f64> {
    let (_, _, _, body) = http_get(&format!("http://127.0.0.1:{port}/metrics"), &[]);
    String::from_utf8(body)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("records_written_total{"))
        .filter_map(|l| {
            let source = l.split("source=\"").nth(1)?.split('"').next()?.to_string();
            let value = l.rsplit(' ').next()?.parse().ok()?;
            Some((source, value))
        })
        .collect()
}

#[test]
fn two_shards_export_every_source_exactly_once() {
    let vm = Victoria::start();
    let dir = tempfile::tempdir().unwrap();
    let mut sources = String::new();
    for i in 0..SOURCES {
        sources.push_str(&format!(
            "[[source]]\nname = \"s{i}\"\nkind = \"demo\"\ncounters = [\"records_*\"]\n"
        ));
    }
    let mut instances = Vec::new();
    for (i, name) in [(1, "a"), (2, "b")] {
        let config = dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &config,
            format!(
                "interval = \"1h\"\nshard = \"{i}/2\"\ninstance = \"bridge-{name}\"\n[otlp]\nendpoint = \"{}\"\n{sources}",
                vm.otlp_base()
            ),
        )
        .unwrap();
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_snapbridge"))
            .arg("--config")
            .arg(&config)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start snapbridge");
        let stdout = child.stdout.take().unwrap();
        let proc = Proc {
            child,
            name: format!("snapbridge-{name}"),
            log: None,
        };
        let mut lines = BufReader::new(stdout).lines();
        let owned: usize = wait_for("the shard line", Duration::from_secs(20), || {
            let line = lines.next()?.ok()?;
            line.split("exporting ")
                .nth(1)?
                .split(' ')
                .next()?
                .parse()
                .ok()
        });
        // Keep reading stdout open for the life of the process.
        instances.push((proc, port, owned, lines));
    }
    assert_eq!(
        instances.iter().map(|i| i.2).sum::<usize>(),
        SOURCES,
        "the shards split the sources"
    );
    let got = wait_for(
        "every source in VictoriaMetrics",
        Duration::from_secs(30),
        || {
            let rows = vm.query("records_written_total");
            (rows.len() >= SOURCES).then_some(rows)
        },
    );
    assert_eq!(
        got.len(),
        SOURCES,
        "one series per source, none twice: {got:?}"
    );
    let mut served = BTreeMap::new();
    for (_, port, _, _) in &instances {
        served.extend(metrics_values(*port));
    }
    assert_eq!(served.len(), SOURCES);
    for (labels, value) in &got {
        let source = labels["source"].as_str().unwrap();
        assert_eq!(Some(value), served.get(source), "source {source}");
        let instance = labels["service_instance_id"].as_str().unwrap();
        assert!(
            instance == "bridge-a" || instance == "bridge-b",
            "{instance}"
        );
    }
}
