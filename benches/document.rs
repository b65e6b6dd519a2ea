//! The JSON document parser alone: a 100k-entry document (the array form with labels, as
//! `scripts/bench_process.py` writes it) parsed while refilling the previous snapshot, as a
//! source does every interval. Run:
//!
//!     cargo bench --bench document
//!
//! `array` is the usual document; `map` the same entries under keys of a plain map;
//! `array_fallback` every entry with one unknown field, so each takes the tree route
//! (`src/sources/document/reader.rs`): the cost the streaming reader saves.

use criterion::{Criterion, criterion_group, criterion_main};
use snapbridge::sources::document::{DocumentOptions, parse};

const SERIES: usize = 100_000;

/// Entry `i` with its fields as the benchmark process writes them; `extra` goes last.
fn entry(i: usize, step: u64, extra: &str) -> String {
    let kind = if i.is_multiple_of(2) { "counter" } else { "gauge" };
    format!(
        r#"{{"name": "metric_{:02}", "type": "{kind}", "value": {}, "labels": {{"region": "r{}", "instance": "i-{}", "shard": "s{}"}}{extra}}}"#,
        i % 50,
        i as u64 * 3 + step,
        i % 7,
        i / 50,
        i % 13
    )
}

fn array(step: u64, extra: &str) -> String {
    let items: Vec<String> = (0..SERIES).map(|i| entry(i, step, extra)).collect();
    format!("[{}]", items.join(", "))
}

fn map(step: u64) -> String {
    let items: Vec<String> = (0..SERIES)
        .map(|i| format!(r#""k{i}": {}"#, entry(i, step, "")))
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// Parses `doc` refilling the snapshot the previous parse gave, as a source does.
fn refilling(c: &mut Criterion, name: &str, doc: &str) {
    let opts = DocumentOptions::default();
    let first = parse(doc.as_bytes(), &opts).expect("the document parses");
    assert_eq!(first.snapshot.len(), SERIES);
    opts.spare.put(first.snapshot.samples);
    c.bench_function(name, |b| {
        b.iter(|| {
            let p = parse(doc.as_bytes(), &opts).expect("the document parses");
            opts.spare.put(p.snapshot.samples);
        })
    });
}

fn bench_document(c: &mut Criterion) {
    refilling(c, "document/array_100k", &array(1, ""));
    refilling(c, "document/map_100k", &map(1));
    refilling(
        c,
        "document/array_fallback_100k",
        &array(1, r#", "help": "h""#),
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench_document
}
criterion_main!(benches);
