//! The fuzzing harness' engine (proptest): case counts, the corpus, byte-level mutations,
//! the JSON document grammar, and the loop that runs a target.

use std::path::PathBuf;
use std::time::Instant;

use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, TestRunner};

/// Cases per target: `SNAPBRIDGE_FUZZ_CASES`, or a smoke run's `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("SNAPBRIDGE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// For targets whose one input holds `per_input` cases (records in a batch file, values in
/// a Redis hash): `SNAPBRIDGE_FUZZ_CASES` counts the cases, `default` the inputs.
pub fn inputs_for(default: u32, per_input: usize) -> u32 {
    std::env::var("SNAPBRIDGE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(default, |n| {
            u32::try_from(n.div_ceil(per_input as u64)).unwrap_or(u32::MAX)
        })
}

pub fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .collect();
    files.sort();
    let entries: Vec<Vec<u8>> = files
        .iter()
        .map(|p| std::fs::read(p).expect("corpus file"))
        .collect();
    assert!(!entries.is_empty(), "corpus {} is empty", dir.display());
    entries
}

/// One edit of a mutation: where (a fraction of the length), what, and a byte.
#[derive(Clone, Debug)]
pub enum Edit {
    Flip(f64, u8),
    Insert(f64, Vec<u8>),
    Delete(f64, usize),
    Duplicate(f64, usize),
    Splice(f64, usize, f64),
}

pub fn edit() -> impl Strategy<Value = Edit> {
    let tokens: Vec<&'static [u8]> = vec![
        b"{",
        b"}",
        b"[",
        b"]",
        b"\"",
        b":",
        b",",
        b"\\",
        b"\\u0000",
        b"\\ud800",
        b"NaN",
        b"-Infinity",
        b"1e400",
        b"-0",
        b"18446744073709551616",
        b"null",
        b"true",
        b"=",
        b"\n",
        b"[[source]]",
        b"\"\"\"",
        b"'",
        b"#",
        b"q=",
        b";",
        b"*/*",
        b"\xff",
        b"\xc3",
    ];
    let token = prop::sample::select(tokens).prop_map(<[u8]>::to_vec);
    let bytes = prop::collection::vec(any::<u8>(), 1..8);
    prop_oneof![
        (0.0..1.0, any::<u8>()).prop_map(|(at, b)| Edit::Flip(at, b)),
        (0.0..1.0, prop_oneof![token, bytes]).prop_map(|(at, b)| Edit::Insert(at, b)),
        (0.0..1.0, 1usize..16).prop_map(|(at, n)| Edit::Delete(at, n)),
        (0.0..1.0, 1usize..64).prop_map(|(at, n)| Edit::Duplicate(at, n)),
        (0.0..1.0, 1usize..64, 0.0..1.0).prop_map(|(a, n, b)| Edit::Splice(a, n, b)),
    ]
}

pub fn apply(mut data: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    let at = |f: f64, len: usize| ((f * len as f64) as usize).min(len);
    for e in edits {
        let len = data.len();
        match e {
            Edit::Flip(f, b) if len > 0 => {
                let i = at(*f, len - 1);
                data[i] = *b;
            }
            Edit::Flip(..) => {}
            Edit::Insert(f, bytes) => {
                let i = at(*f, len);
                data.splice(i..i, bytes.iter().copied());
            }
            Edit::Delete(f, n) => {
                let i = at(*f, len);
                data.drain(i..(i + n).min(len));
            }
            Edit::Duplicate(f, n) => {
                let i = at(*f, len);
                let part: Vec<u8> = data[i..(i + n).min(len)].to_vec();
                data.splice(i..i, part);
            }
            Edit::Splice(f, n, g) => {
                let (i, j) = (at(*f, len), at(*g, len));
                let part: Vec<u8> = data[i..(i + n).min(len)].to_vec();
                data.splice(j..j, part);
            }
        }
    }
    data
}

/// Corpus entries mutated, the `structured` generator's inputs, and raw bytes.
pub fn inputs(
    entries: Vec<Vec<u8>>,
    structured: BoxedStrategy<Vec<u8>>,
) -> impl Strategy<Value = Vec<u8>> {
    let mutated = (
        prop::sample::select(entries),
        prop::collection::vec(edit(), 0..6),
    )
        .prop_map(|(entry, edits)| apply(entry, &edits));
    prop_oneof![
        5 => mutated,
        3 => structured,
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
}

/// A JSON value built from the document forms: plain numbers, nested groups, typed
/// entries (counter, gauge, histogram with buckets, labels, units), odd numbers.
pub fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{Value, json};
    let number = prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(json!("NaN")),
        Just(json!("-Infinity")),
        "[0-9a-zA-Z .+-]{0,8}".prop_map(Value::String),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ];
    let key = prop_oneof![
        "[a-z_]{1,10}",
        Just("type".to_string()),
        Just("value".to_string()),
        Just("labels".to_string()),
        Just("le".to_string()),
        Just("__name__".to_string()),
        ".{0,6}",
    ];
    let typed = (
        prop::sample::select(vec!["counter", "gauge", "histogram", "summary", "x"]),
        number.clone(),
        prop::collection::btree_map("[0-9.+Inf]{1,4}", number.clone(), 0..4),
        prop::collection::btree_map(key.clone(), ".{0,8}", 0..3),
        prop::option::of(prop::sample::select(vec!["s", "ms", "By", "1", "{x}", ""])),
    )
        .prop_map(|(kind, value, buckets, labels, unit)| {
            let mut o = json!({"type": kind, "value": value.clone(), "count": value.clone(),
                "sum": value, "buckets": buckets, "labels": labels});
            if let Some(u) = unit {
                o["unit"] = json!(u);
            }
            o
        });
    let leaf = prop_oneof![3 => number, 1 => typed];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::btree_map(key.clone(), inner.clone(), 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            prop::collection::vec(inner, 0..4).prop_map(Value::Array),
        ]
    })
}

pub fn json_bytes() -> BoxedStrategy<Vec<u8>> {
    (json_value(), any::<bool>())
        .prop_map(|(v, python)| {
            let text = serde_json::to_string(&v).unwrap_or_default();
            // Python's json module: bare NaN / Infinity tokens.
            let text = if python {
                text.replace("\"NaN\"", "NaN")
                    .replace("\"-Infinity\"", "-Infinity")
            } else {
                text
            };
            text.into_bytes()
        })
        .boxed()
}

/// Runs `check` on `n` inputs of `strategy`, the corpus first; reports the rate.
pub fn run<S: Strategy<Value = Vec<u8>>>(
    target: &str,
    n: u32,
    entries: &[Vec<u8>],
    strategy: S,
    check: impl Fn(&[u8]) -> Result<(), String>,
) {
    let started = Instant::now();
    for (i, entry) in entries.iter().enumerate() {
        if let Err(e) = check(entry) {
            panic!("{target}: corpus entry {i}: {e}");
        }
    }
    let mut runner = TestRunner::new(PtConfig {
        cases: n,
        failure_persistence: None,
        ..PtConfig::default()
    });
    let outcome = runner.run(&strategy, |input| {
        check(&input).map_err(TestCaseError::fail)
    });
    if let Err(e) = outcome {
        panic!("{target}: {e}");
    }
    eprintln!(
        "fuzz {target}: {n} cases + {} corpus entries, 0 failures, {:.1} s",
        entries.len(),
        started.elapsed().as_secs_f64()
    );
}

pub fn one_line(what: &str, e: &str) -> Result<(), String> {
    if e.trim().is_empty() || e.contains('\n') {
        return Err(format!("{what}: the error is not one line: {e:?}"));
    }
    Ok(())
}
