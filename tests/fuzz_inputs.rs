//! Fuzzing of everything that parses outside input, with proptest: the JSON document forms
//! (http, file, and `exec` output, Python's bare NaN/Infinity included), batch records,
//! Redis values, the config file, the `Accept` and `Accept-Encoding` headers, and the
//! redaction of free text. Each target starts from its corpus (`tests/fuzz_corpus/<target>/`),
//! then runs random inputs: corpus entries mutated byte by byte and spliced, structured
//! inputs built from the format's grammar, and raw bytes. Properties: nothing panics, and
//! every error is one non-empty line.
//!
//! CI runs a smoke run (a few seconds per target). The documented run (docs/RELIABILITY.md):
//! `SNAPBRIDGE_FUZZ_CASES=1000000 cargo test --release --test fuzz_inputs -- --nocapture --test-threads 1`.

mod common;

use std::path::PathBuf;
use std::time::Instant;

use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, TestRunner};
use snapbridge::config::Config;
use snapbridge::sinks::prometheus::{accepts_gzip, negotiate};
use snapbridge::sources::document::{self, DocumentOptions};

/// Cases per target: `SNAPBRIDGE_FUZZ_CASES`, or a smoke run's `default`.
fn cases(default: u32) -> u32 {
    std::env::var("SNAPBRIDGE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// For targets whose one input holds `per_input` cases (records in a batch file, values in
/// a Redis hash): `SNAPBRIDGE_FUZZ_CASES` counts the cases, `default` the inputs.
fn inputs_for(default: u32, per_input: usize) -> u32 {
    std::env::var("SNAPBRIDGE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(default, |n| {
            u32::try_from(n.div_ceil(per_input as u64)).unwrap_or(u32::MAX)
        })
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .collect();
    files.sort();
    let seeds: Vec<Vec<u8>> = files
        .iter()
        .map(|p| std::fs::read(p).expect("corpus file"))
        .collect();
    assert!(!seeds.is_empty(), "corpus {} is empty", dir.display());
    seeds
}

/// One edit of a mutation: where (a fraction of the length), what, and a byte.
#[derive(Clone, Debug)]
enum Edit {
    Flip(f64, u8),
    Insert(f64, Vec<u8>),
    Delete(f64, usize),
    Duplicate(f64, usize),
    Splice(f64, usize, f64),
}

fn edit() -> impl Strategy<Value = Edit> {
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

fn apply(mut data: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
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
fn inputs(
    seeds: Vec<Vec<u8>>,
    structured: BoxedStrategy<Vec<u8>>,
) -> impl Strategy<Value = Vec<u8>> {
    let mutated = (
        prop::sample::select(seeds),
        prop::collection::vec(edit(), 0..6),
    )
        .prop_map(|(seed, edits)| apply(seed, &edits));
    prop_oneof![
        5 => mutated,
        3 => structured,
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
}

/// A JSON value built from the document forms: plain numbers, nested groups, typed
/// entries (counter, gauge, histogram with buckets, labels, units), odd numbers.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
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

fn json_bytes() -> BoxedStrategy<Vec<u8>> {
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
fn run<S: Strategy<Value = Vec<u8>>>(
    target: &str,
    n: u32,
    seeds: &[Vec<u8>],
    strategy: S,
    check: impl Fn(&[u8]) -> Result<(), String>,
) {
    let started = Instant::now();
    for (i, seed) in seeds.iter().enumerate() {
        if let Err(e) = check(seed) {
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
        seeds.len(),
        started.elapsed().as_secs_f64()
    );
}

fn one_line(what: &str, e: &str) -> Result<(), String> {
    if e.trim().is_empty() || e.contains('\n') {
        return Err(format!("{what}: the error is not one line: {e:?}"));
    }
    Ok(())
}

fn document_target(target: &str, n: u32) {
    let seeds = corpus(target);
    let plain = DocumentOptions::default();
    let pointed = DocumentOptions {
        pointer: Some("/metrics".into()),
        ..DocumentOptions::default()
    };
    run(
        target,
        n,
        &seeds,
        inputs(seeds.clone(), json_bytes()),
        |bytes| {
            for opts in [&plain, &pointed] {
                match document::parse(bytes, opts) {
                    Ok(pulled) => {
                        for r in &pulled.rejected {
                            one_line("a rejection", &r.detail)?;
                        }
                    }
                    Err(e) => one_line("document", &e)?,
                }
            }
            Ok(())
        },
    );
}

#[test]
fn json_documents() {
    document_target("json_document", cases(400));
}

/// `exec` hands its stdout to the same parser; its corpus holds what commands print
/// (Python's `json.dumps` with NaN, trailing newlines, a banner before the JSON).
#[test]
fn exec_output() {
    document_target("exec_output", cases(400));
}

#[test]
fn config_files() {
    let seeds = corpus("config");
    let structured = (
        prop::collection::vec(
            (
                prop::sample::select(vec![
                    "interval",
                    "timeout",
                    "max_staleness",
                    "state_file",
                    "name",
                    "kind",
                    "url",
                    "path",
                    "bearer_token",
                    "basic_auth",
                    "headers",
                    "counters",
                    "max_bytes",
                    "pointer",
                    "labels",
                    "initial",
                    "endpoint",
                    "listen",
                ]),
                prop::sample::select(vec![
                    "\"10s\"",
                    "\"1ns\"",
                    "\"584542046090y\"",
                    "1",
                    "-1",
                    "1e400",
                    "\"\"",
                    "[]",
                    "{}",
                    "{ a = 1 }",
                    "\"http://u:p@h/m?t=x\"",
                    "\"ftp://h\"",
                    "true",
                    "\"keep\"",
                    "\"16MiB\"",
                    "\"99999999999TiB\"",
                    "\"/m\"",
                    "nan",
                ]),
            ),
            0..10,
        ),
        prop::sample::select(vec!["", "[[source]]\n", "[otlp]\n", "[prometheus]\n"]),
    )
        .prop_map(|(pairs, table)| {
            let mut text = String::from(table);
            for (k, v) in pairs {
                text.push_str(&format!("{k} = {v}\n"));
            }
            text.into_bytes()
        })
        .boxed();
    run(
        "config",
        cases(400),
        &seeds,
        inputs(seeds.clone(), structured),
        |bytes| {
            let text = String::from_utf8_lossy(bytes);
            match Config::parse(&text, "fuzz.toml") {
                Ok(_) => Ok(()),
                Err(e) => {
                    let e = e.to_string();
                    one_line("config", &e)?;
                    if !e.starts_with("fuzz.toml") {
                        return Err(format!("the error does not name the file: {e}"));
                    }
                    Ok(())
                }
            }
        },
    );
}

#[test]
fn accept_and_accept_encoding_headers() {
    let seeds = corpus("accept");
    let structured = prop::collection::vec(
        (
            prop::sample::select(vec![
                "application/openmetrics-text",
                "text/plain",
                "*/*",
                "application/vnd.google.protobuf",
                "gzip",
                "identity",
                "*",
                "br",
                "",
            ]),
            prop::collection::vec(
                (
                    prop::sample::select(vec!["q", "version", "proto", "encoding", "escaping", ""]),
                    prop::sample::select(vec![
                        "0", "1", "0.5", "1.0.0", "-1", "NaN", "1e9", "x", "",
                    ]),
                ),
                0..3,
            ),
        ),
        0..5,
    )
    .prop_map(|items| {
        items
            .iter()
            .map(|(t, params)| {
                let p: Vec<String> = params.iter().map(|(k, v)| format!(";{k}={v}")).collect();
                format!("{t}{}", p.concat())
            })
            .collect::<Vec<_>>()
            .join(",")
            .into_bytes()
    })
    .boxed();
    run(
        "accept",
        cases(3000),
        &seeds,
        inputs(seeds.clone(), structured),
        |bytes| {
            let text = String::from_utf8_lossy(bytes);
            let _ = negotiate(Some(&text));
            let gzip = accepts_gzip(Some(&text));
            if gzip && !text.to_ascii_lowercase().contains("gzip") && !text.contains('*') {
                return Err(format!("gzip accepted from {text:?}"));
            }
            Ok(())
        },
    );
}

#[test]
fn redaction_of_free_text() {
    let seeds = corpus("redact");
    snapbridge::redact::remember("fuzz-secret-2f9c");
    let structured = prop::collection::vec(
        prop::sample::select(vec![
            "http://",
            "https://u:p@",
            "redis://:",
            "@",
            "?",
            "&",
            "=",
            "#",
            "Authorization: ",
            "Basic ",
            "Bearer ",
            "token=",
            "\"api_key\": \"",
            "fuzz-secret-2f9c",
            " ",
            "é",
            "/",
            ":",
            "\n",
        ]),
        0..24,
    )
    .prop_map(|parts| parts.concat().into_bytes())
    .boxed();
    run(
        "redact",
        cases(2000),
        &seeds,
        inputs(seeds.clone(), structured),
        |bytes| {
            let text = String::from_utf8_lossy(bytes);
            for shown in [
                snapbridge::redact::text(&text),
                snapbridge::redact::url(&text),
            ] {
                if shown.contains("fuzz-secret-2f9c") {
                    return Err(format!("a remembered secret survived: {shown:?}"));
                }
            }
            let _ = snapbridge::redact::quoted_values(&text);
            Ok(())
        },
    );
}

/// Records per batch file: a case is one file of this many records (a whole file of
/// garbage now and then), through the real `batch_dir` source.
const RECORDS_PER_FILE: usize = 100;

fn record() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{Value, json};
    let any_json = json_value().boxed();
    prop_oneof![
        4 => (
            prop_oneof![".{0,12}".prop_map(Value::String), any_json.clone()],
            prop_oneof!["[A-Z /a-z]{0,12}".prop_map(Value::String), any_json.clone()],
            prop_oneof![any::<f64>().prop_map(|f| json!(f)), any_json.clone()],
            prop_oneof![any::<bool>().prop_map(Value::Bool), any_json.clone()],
            prop::collection::btree_map("[a-z_]{1,8}", ".{0,10}", 0..3),
        )
            .prop_map(|(t, n, d, s, meta)| json!({"operation_type": t, "operation_name": n,
                "duration_ms": d, "success": s, "metadata": meta})),
        1 => any_json,
    ]
}

fn batch_file() -> BoxedStrategy<Vec<u8>> {
    (
        prop::collection::vec(record(), RECORDS_PER_FILE),
        prop::option::of(".{0,10}"),
    )
        .prop_map(|(records, id)| {
            let mut doc = serde_json::json!({ "records": records });
            if let Some(id) = id {
                doc["batch_id"] = serde_json::json!(id);
            }
            serde_json::to_vec(&doc).unwrap_or_default()
        })
        .boxed()
}

#[test]
fn batch_records() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("batches");
    std::fs::create_dir(&dir).expect("mkdir");
    let config = format!(
        "[[source]]\nname = \"b\"\nkind = \"batch_dir\"\npath = \"{}\"\ncheckpoint = \"{}\"\nmetadata_labels = [\"a\", \"b\"]\n",
        dir.display(),
        tmp.path().join("checkpoint").display()
    );
    let config = Config::parse(&config, "fuzz").expect("config");
    let source = config.sources[0].build().expect("source");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let seeds = corpus("batch");
    let counter = std::sync::atomic::AtomicU64::new(0);
    let check = |bytes: &[u8]| -> Result<(), String> {
        let i = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!(
            "metrics_20260101_{:06}_{}.json",
            i / 1_000_000,
            i % 1_000_000
        );
        let path = dir.join(&name);
        std::fs::write(&path, bytes).map_err(|e| e.to_string())?;
        let outcome = rt.block_on(source.pull());
        let _ = std::fs::remove_file(&path);
        match outcome {
            Ok(pulled) => {
                for r in &pulled.rejected {
                    one_line("a rejection", &r.detail)?;
                }
                Ok(())
            }
            Err(e) => one_line("batch", &e.to_string()),
        }
    };
    let n = inputs_for(20, RECORDS_PER_FILE);
    run(
        "batch",
        n,
        &seeds,
        inputs(seeds.clone(), batch_file()),
        check,
    );
    eprintln!(
        "fuzz batch: {} records in generated files",
        n as usize * RECORDS_PER_FILE
    );
}

/// Values per Redis hash: a case is one hash of this many random values, read by the real
/// `redis` source from a real redis-server.
const VALUES_PER_HASH: usize = 200;

#[test]
fn redis_values() {
    let redis = common::sources::RedisServer::start(None);
    let config = format!(
        "[[source]]\nname = \"r\"\nkind = \"redis\"\nurl = \"{}\"\nkey = \"fuzz\"\n",
        redis.url()
    );
    let config = Config::parse(&config, "fuzz").expect("config");
    let source = config.sources[0].build().expect("source");
    let client = redis.client();
    let con = std::cell::RefCell::new(client.get_connection().expect("redis connection"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let seeds = corpus("redis");
    let value = prop_oneof![
        3 => inputs(seeds.clone(), json_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..24),
        1 => "[-+]?[0-9.eE]{1,12}|inf|-inf|nan|NaN".prop_map(String::into_bytes),
    ];
    let hash = prop::collection::vec(value, VALUES_PER_HASH).prop_map(|values| {
        // Carried through `run` as one input: values joined by a separator never in them.
        let mut out = Vec::new();
        for v in values {
            out.extend_from_slice(&v);
            out.extend_from_slice(b"\x00SPLIT\x00");
        }
        out
    });
    let check = |bytes: &[u8]| -> Result<(), String> {
        let values: Vec<&[u8]> = split(bytes, b"\x00SPLIT\x00");
        let mut cmd = redis::cmd("HSET");
        cmd.arg("fuzz");
        for (i, v) in values.iter().enumerate() {
            cmd.arg(format!("f{i}")).arg(*v);
        }
        let _: () = redis::cmd("DEL")
            .arg("fuzz")
            .query(&mut *con.borrow_mut())
            .map_err(|e| e.to_string())?;
        if !values.is_empty() {
            let _: i64 = cmd
                .query(&mut *con.borrow_mut())
                .map_err(|e| e.to_string())?;
        }
        match rt.block_on(source.pull()) {
            Ok(pulled) => {
                for r in &pulled.rejected {
                    one_line("a rejection", &r.detail)?;
                }
                Ok(())
            }
            Err(e) => one_line("redis", &e.to_string()),
        }
    };
    let n = inputs_for(10, VALUES_PER_HASH);
    // The corpus entries are single values: one hash each.
    let seeds_joined: Vec<Vec<u8>> = seeds
        .iter()
        .map(|s| [s.as_slice(), b"\x00SPLIT\x00"].concat())
        .collect();
    run("redis", n, &seeds_joined, hash, check);
    eprintln!(
        "fuzz redis: {} values in generated hashes",
        n as usize * VALUES_PER_HASH
    );
}

fn split<'a>(data: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(i) = rest.windows(sep.len()).position(|w| w == sep) {
        out.push(&rest[..i]);
        rest = &rest[i + sep.len()..];
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}
