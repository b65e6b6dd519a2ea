//! Fuzzing of the parsers of outside input, with proptest: the JSON document forms (http,
//! file, and `exec` output, Python's bare NaN/Infinity included), the config file, the
//! `Accept` and `Accept-Encoding` headers, and the redaction of free text (batch records
//! and Redis values, through the real sources: `fuzz_sources.rs`). Each target starts from
//! its corpus (`tests/fuzz_corpus/<target>/`), then runs random inputs: corpus entries
//! mutated byte by byte and spliced, structured inputs built from the format's grammar, and
//! raw bytes. Properties: nothing panics, and
//! every error is one non-empty line.
//!
//! CI runs a smoke run (a few seconds per target). The documented run (docs/RELIABILITY.md):
//! `SNAPBRIDGE_FUZZ_CASES=1000000 cargo test --release --test fuzz_inputs --test
//! fuzz_sources -- --nocapture`.

mod common;

use common::fuzz::{cases, corpus, inputs, json_bytes, one_line, run};
use proptest::prelude::*;
use snapbridge::config::Config;
use snapbridge::sinks::prometheus::{accepts_gzip, negotiate};
use snapbridge::sources::document::{self, DocumentOptions};

fn document_target(target: &str, n: u32) {
    let entries = corpus(target);
    let plain = DocumentOptions::default();
    let pointed = DocumentOptions {
        pointer: Some("/metrics".into()),
        ..DocumentOptions::default()
    };
    run(
        target,
        n,
        &entries,
        inputs(entries.clone(), json_bytes()),
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
    let entries = corpus("config");
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
        &entries,
        inputs(entries.clone(), structured),
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
    let entries = corpus("accept");
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
        &entries,
        inputs(entries.clone(), structured),
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
    let entries = corpus("redact");
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
        &entries,
        inputs(entries.clone(), structured),
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
