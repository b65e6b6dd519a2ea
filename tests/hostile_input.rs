//! Hostile input through the whole pipeline: random names with any character, label keys
//! and values with quotes, backslashes, newlines, control characters and non-ASCII, huge
//! values, duplicated series. Whatever the source says, `/metrics` parses with promtool and
//! both reference parsers, in both text formats, and the protobuf body decodes into as many
//! families as the text announces — or the series is refused and counted.
//!
//! `SNAPBRIDGE_FUZZ_CASES` raises the number of snapshots (default 300); past 300 the
//! external parsers read an evenly spread 300 of them, the protobuf decoder every one.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::{Bridge, Scripted, python, source_config};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as PtConfig, TestRunner};
use prost::Message;
use snapbridge::core::{Sample, Snapshot};
use snapbridge::sinks::prometheus::{Format, render};

fn hostile_string(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z_]{1,12}",
        2 => prop::collection::vec(any::<char>(), 0..max).prop_map(|v| v.into_iter().collect()),
        1 => Just("quote \" backslash \\ newline \n tab \t end".to_string()),
        1 => Just("\\n\\\\\"".to_string()),
        1 => (1usize..3).prop_map(|k| "x".repeat(k * 3000)),
    ]
}

fn sample() -> impl Strategy<Value = Sample> {
    (
        hostile_string(20),
        prop::collection::vec((hostile_string(10), hostile_string(30)), 0..4),
        prop_oneof![
            any::<u32>().prop_map(|v| Sample::counter("x", v as u64)),
            any::<f64>().prop_map(|v| Sample::gauge("x", v)),
            any::<f64>().prop_map(|v| Sample::counter_f64("x", v)),
        ],
        prop::option::of(hostile_string(40)),
        prop::option::of(prop_oneof![
            Just("s"),
            Just("By"),
            Just("1"),
            Just("{req}"),
            Just("weird unit")
        ]),
    )
        .prop_map(|(name, labels, mut s, help, unit)| {
            s.key.name = name;
            for (k, v) in labels {
                s.key.labels.insert(k, v);
            }
            s.description = help;
            s.unit = unit.map(str::to_string);
            s
        })
}

fn parse_many(format: &str, docs: &[Vec<u8>]) -> Vec<String> {
    let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers/parse_exposition.py");
    let mut child = Command::new(python())
        .arg(script)
        .args(["--format", format, "--many"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python parser");
    let mut stdin = child.stdin.take().unwrap();
    for d in docs {
        stdin.write_all(d).unwrap();
        stdin.write_all(b"\n#=SPLIT=\n").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The fields of `io.prometheus.client.MetricFamily` this test reads.
#[derive(Clone, PartialEq, Message)]
struct MetricFamily {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(int32, optional, tag = "3")]
    kind: Option<i32>,
}

/// Decodes a delimited protobuf body; `Err` says where it broke.
fn protobuf_families(mut body: &[u8]) -> Result<Vec<MetricFamily>, String> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let family = MetricFamily::decode_length_delimited(&mut body)
            .map_err(|e| format!("family {}: {e}", out.len()))?;
        if family.name.as_deref().is_none_or(str::is_empty) {
            return Err(format!("family {} has no name", out.len()));
        }
        out.push(family);
    }
    Ok(out)
}

#[test]
fn any_snapshot_renders_to_valid_expositions() {
    let cases: u32 = std::env::var("SNAPBRIDGE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let sample_every = (cases / 300).max(1);
    let started = std::time::Instant::now();
    let scripted = Scripted::default();
    // Series of earlier cases expire after a second: a long run's view (and so each case's
    // cost) stays bounded instead of growing with every random name ever seen.
    let mut bridge = Bridge::start(
        "interval = \"1h\"\nmax_staleness = \"1s\"\n",
        vec![(
            source_config("hostile", "default_kind = \"gauge\""),
            Arc::new(scripted.clone()),
        )],
    );
    let mut runner = TestRunner::new(PtConfig::with_cases(cases));
    let (mut text_docs, mut om_docs) = (Vec::new(), Vec::new());
    let strategy = prop::collection::vec(sample(), 1..12);
    for i in 0..cases {
        let samples = strategy.new_tree(&mut runner).unwrap().current();
        // Duplicates within one snapshot, too.
        let mut snap: Snapshot = samples.clone().into_iter().collect();
        snap.samples.extend(samples.into_iter().take(2));
        scripted.set(snap);
        let view = bridge.cycle();
        let text = render(&view, Format::Text, 0);
        let families = protobuf_families(&render(&view, Format::Protobuf, 0))
            .unwrap_or_else(|e| panic!("protobuf case {i}: {e}"));
        let typed = text
            .split(|b| *b == b'\n')
            .filter(|l| l.starts_with(b"# TYPE "))
            .count();
        assert_eq!(
            families.len(),
            typed,
            "case {i}: protobuf families vs text TYPE lines"
        );
        if i % sample_every == 0 {
            text_docs.push(text);
            om_docs.push(render(&view, Format::OpenMetrics, 0));
        }
    }
    for (format, docs) in [("text", &text_docs), ("openmetrics", &om_docs)] {
        let results = parse_many(format, docs);
        assert_eq!(results.len(), docs.len());
        for (i, r) in results.iter().enumerate() {
            assert!(
                r.starts_with("OK"),
                "{format} case {i}: {r}\n---\n{}",
                String::from_utf8_lossy(&docs[i])
            );
        }
    }
    for (i, doc) in text_docs.iter().enumerate().step_by(3) {
        if let Err(e) = common::promtool_check(doc) {
            // promtool also lints names (a metric called "x_count" that is not a summary,
            // camelCase...): only a parse error is ours.
            assert!(
                !e.contains("error while linting") && !e.contains("text format parsing error"),
                "promtool case {i}: {e}\n---\n{}",
                String::from_utf8_lossy(doc)
            );
        }
    }
    eprintln!(
        "hostile input: {cases} random snapshots, {cases} protobuf bodies decoded, {} text expositions parsed, {:.1} s",
        text_docs.len() + om_docs.len(),
        started.elapsed().as_secs_f64()
    );
}
