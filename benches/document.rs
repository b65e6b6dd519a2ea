//! The JSON document parser alone: a 100k-entry document (the array form with labels, as
//! `scripts/bench_process.py` writes it) parsed while refilling the previous snapshot, as a
//! source does every interval. Run:
//!
//!     cargo bench --bench document
//!
//! On a busy machine wall time varies too much to compare two builds: with
//! `DOCUMENT_CPU=<rounds>` the run skips criterion and prints the thread's CPU time per
//! parse of the array document (least and median over the rounds).
//!
//! `array` is the usual document; `map` the same entries under keys of a plain map;
//! `array_fallback` every entry with one unknown field, so each takes the tree route
//! (`src/sources/document/reader.rs`): the cost the streaming reader saves.

use criterion::{Criterion, criterion_group};
use snapbridge::sources::document::{DocumentOptions, parse};

const SERIES: usize = 100_000;

/// Entry `i` with its fields as the benchmark process writes them; `extra` goes last.
fn entry(i: usize, step: u64, extra: &str) -> String {
    let kind = if i.is_multiple_of(2) {
        "counter"
    } else {
        "gauge"
    };
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

/// The CPU time this thread has used.
fn thread_cpu() -> std::time::Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    std::time::Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn cpu_per_parse(rounds: usize) {
    let doc = array(1, "");
    let opts = DocumentOptions::default();
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..=rounds {
        let start = thread_cpu();
        let p = parse(doc.as_bytes(), &opts).expect("the document parses");
        times.push(thread_cpu() - start);
        opts.spare.put(p.snapshot.samples);
    }
    // The first parse had no previous snapshot to refill.
    times.remove(0);
    times.sort();
    println!(
        "array_100k CPU per parse: least {:.1} ms, median {:.1} ms ({rounds} parses)",
        times[0].as_secs_f64() * 1e3,
        times[rounds / 2].as_secs_f64() * 1e3
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench_document
}

fn main() {
    if let Some(rounds) = std::env::var("DOCUMENT_CPU")
        .ok()
        .and_then(|r| r.parse().ok())
    {
        return cpu_per_parse(rounds);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
