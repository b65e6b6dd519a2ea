use super::*;
use crate::config::Config;
use snapbridge_core::{Number, Value};

fn opts(extra: &str) -> DocumentOptions {
    let text = format!("[[source]]\nname = \"s\"\nkind = \"exec\"\ncommand = [\"x\"]\n{extra}\n");
    let entry = &Config::parse(&text, "t").unwrap().sources[0];
    // The pointer is the kind's key; the rules come from the common ones.
    let pointer = extra
        .strip_prefix("pointer = ")
        .map(|p| JsonPointer(p.trim_matches('"').to_string()));
    DocumentOptions::new(pointer.as_ref(), None, &entry.config)
}

fn value_of<'a>(p: &'a Pulled, name: &str) -> &'a Value {
    &p.snapshot
        .samples
        .iter()
        .find(|s| s.key.name == name)
        .unwrap_or_else(|| panic!("{name} missing: {:?}", p.snapshot))
        .value
}

#[test]
fn plain_map_keeps_integers_exact_and_flattens_groups() {
    let doc = br#"{"records_written": 18446744073709551615, "queue_size": 7.5,
        "jobs": {"created": 5, "failed": 1}, "healthy": true, "error": null}"#;
    let p = parse(doc, &opts("")).unwrap();
    assert!(p.rejected.is_empty(), "{:?}", p.rejected);
    assert_eq!(
        value_of(&p, "records_written"),
        &Value::Untyped(Number::Int(u64::MAX))
    );
    assert_eq!(
        value_of(&p, "queue_size"),
        &Value::Untyped(Number::Float(7.5))
    );
    assert_eq!(
        value_of(&p, "jobs_created"),
        &Value::Untyped(Number::Int(5))
    );
    assert_eq!(value_of(&p, "healthy"), &Value::Untyped(Number::Int(1)));
    assert_eq!(p.snapshot.len(), 5);
}

#[test]
fn per_key_problems_are_rejections_and_the_rest_is_kept() {
    let doc = br#"{"ok": 1, "word": "lots", "list": [1], "neg_total": -3, "nan_total": NaN,
        "gauge_nan": NaN, "typed": {"type": "summary", "value": 1},
        "big": {"type": "gauge", "value": 1, "labels": {"l": "LONG"}}}"#;
    let doc = String::from_utf8_lossy(doc).replace("LONG", &"x".repeat(1 << 20));
    let p = parse(doc.as_bytes(), &opts("counters = [\"*_total\"]")).unwrap();
    let mut reasons: Vec<_> = p
        .rejected
        .iter()
        .map(|r| (r.key.as_str(), r.reason))
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            ("big", reason::TOO_LONG),
            ("list", reason::NON_NUMERIC),
            ("nan_total", reason::NAN),
            ("neg_total", reason::NEGATIVE),
            ("typed", reason::UNKNOWN_TYPE),
            ("word", reason::NON_NUMERIC),
        ]
    );
    assert!(matches!(value_of(&p, "gauge_nan"), Value::Untyped(Number::Float(f)) if f.is_nan()));
    assert_eq!(value_of(&p, "ok"), &Value::Untyped(Number::Int(1)));
    assert!(p.rejected.iter().all(|r| !r.detail.contains('\n')));
}

#[test]
fn typed_entries_and_arrays() {
    let doc = br#"{"reads": {"name": "ops", "type": "counter", "value": 3, "labels": {"op": "read", "code": 200}},
        "writes": {"name": "ops", "type": "counter", "value": 4, "labels": {"op": "write"}, "unit": "1", "description": "Ops"},
        "lat": {"type": "histogram", "buckets": {"0.1": 1, "1": 3, "+Inf": 4}, "sum": 2.5, "unit": "s"},
        "seed3": {"buckets": [0.1, 1], "samples": [0.05, 0.5, 2]}}"#;
    let p = parse(doc, &opts("")).unwrap();
    assert!(p.rejected.is_empty(), "{:?}", p.rejected);
    assert_eq!(p.snapshot.len(), 4);
    let reads = p
        .snapshot
        .samples
        .iter()
        .find(|s| s.key.labels.get("op") == Some("read"))
        .unwrap();
    assert_eq!(reads.key.name, "ops");
    assert_eq!(reads.key.labels.get("code"), Some("200"));
    match value_of(&p, "lat") {
        Value::Histogram(h) => {
            assert_eq!(
                (h.counts().to_vec(), h.count(), h.sum()),
                (vec![1, 3], 4, 2.5)
            );
        }
        v => panic!("{v:?}"),
    }
    match value_of(&p, "seed3") {
        Value::Histogram(h) => assert_eq!((h.counts().to_vec(), h.count()), (vec![1, 2], 3)),
        v => panic!("{v:?}"),
    }
    let arr = br#"[{"name": "a", "type": "gauge", "value": -1}, {"type": "gauge", "value": 1}, 5]"#;
    let p = parse(arr, &opts("")).unwrap();
    assert_eq!(p.snapshot.len(), 1);
    assert_eq!(p.rejected.len(), 2);
    assert_eq!(value_of(&p, "a"), &Value::Gauge(-1.0));
}

#[test]
fn bad_histograms_are_rejected_by_key() {
    let doc =
        br#"{"h1": {"type": "histogram", "buckets": {"1": 5, "0.5": 6}, "count": 6, "sum": 1},
        "h2": {"type": "histogram", "buckets": {"1": 1}, "sum": 1},
        "h3": {"type": "histogram", "buckets": {"1": 1}, "count": 2, "sum": "x"}}"#;
    let p = parse(doc, &opts("")).unwrap();
    assert_eq!(p.snapshot.len(), 0);
    assert!(
        p.rejected
            .iter()
            .all(|r| r.reason == reason::INVALID_HISTOGRAM)
    );
    assert_eq!(p.rejected.len(), 3);
}

#[test]
fn document_problems_fail_with_one_line() {
    for (doc, want) in [
        (&b"{\"a\": 1, \"b\": "[..], "truncated JSON"),
        (b"{\"a\": 1,, }", "malformed JSON"),
        (b"42", "the document is the number 42"),
        (b"  ", "empty"),
    ] {
        let e = parse(doc, &opts("")).unwrap_err();
        assert!(e.contains(want), "{e}");
        assert!(!e.contains('\n'));
    }
    let e = parse(b"{\"a\": 1}", &opts("pointer = \"/metrics\"")).unwrap_err();
    assert!(e.contains("\"/metrics\""), "{e}");
    let p = parse(
        br#"{"metrics": {"x": 1}, "meta": "v1"}"#,
        &opts("pointer = \"/metrics\""),
    )
    .unwrap();
    assert_eq!(p.snapshot.len(), 1);
}

#[test]
fn python_tokens_only_outside_strings() {
    let out = quote_unreadable_tokens(br#"{"a": NaN, "b": "NaN Infinity", "c": -Infinity}"#);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"a": "NaN", "b": "NaN Infinity", "c": "-Infinity"}"#
    );
}

#[test]
fn a_hundred_thousand_keys_parse_in_linear_time() {
    let mut doc = String::from("{");
    for i in 0..100_000 {
        doc.push_str(&format!("\"key_{i}\": {i},"));
    }
    doc.push_str("\"last\": 0}");
    let t = std::time::Instant::now();
    let p = parse(doc.as_bytes(), &opts("")).unwrap();
    assert_eq!(p.snapshot.len(), 100_001);
    // About a second unoptimised; quadratic work would take hours. 15 s is the margin a
    // busy machine needs.
    assert!(
        t.elapsed() < std::time::Duration::from_secs(15),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn a_number_beyond_an_f64_fails_its_key_only() {
    for doc in [
        &br#"{"ok": 1, "huge": 1e400, "neg": -2E+999, "t": {"type": "gauge", "value": 1e999}, "n": NaN}"#[..],
        br#"[{"name": "ok", "type": "gauge", "value": 1}, {"name": "huge", "value": 1e400},
            {"name": "neg", "type": "counter", "value": -2E+999}, {"name": "t", "type": "gauge", "value": 1e999},
            {"name": "n", "type": "gauge", "value": NaN}]"#,
    ] {
        let p = parse(doc, &opts("")).unwrap();
        let mut keys: Vec<_> = p.rejected.iter().map(|r| (r.key.as_str(), r.reason)).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                ("huge", reason::OUT_OF_RANGE),
                ("neg", reason::OUT_OF_RANGE),
                ("t", reason::OUT_OF_RANGE)
            ]
        );
        let huge = p.rejected.iter().find(|r| r.key == "huge").unwrap();
        assert!(huge.detail.contains("1e400"), "{}", huge.detail);
        assert!(!huge.detail.contains('\0'), "{:?}", huge.detail);
        assert_eq!(p.snapshot.len(), 2, "{:?}", p.snapshot);
    }
    // A string that reads like one stays a string, and the number inside a string is text.
    let p = parse(
        br#"{"s": "1e400", "l": {"value": 1, "labels": {"x": "1e400"}}}"#,
        &opts(""),
    )
    .unwrap();
    assert_eq!(p.rejected.len(), 1);
    assert_eq!(p.rejected[0].reason, reason::NON_NUMERIC);
    assert_eq!(p.snapshot.samples[0].key.labels.get("x"), Some("1e400"));
}

#[test]
fn a_repeated_key_is_listed_in_order_in_every_form_for_the_tracker_to_count() {
    let map = br#"{"a": 1, "b": 2, "a": 3}"#;
    let array =
        br#"[{"name": "a", "value": 1}, {"name": "b", "value": 2}, {"name": "a", "value": 3}]"#;
    for doc in [&map[..], array] {
        let p = parse(doc, &opts("")).unwrap();
        let got: Vec<_> = p
            .snapshot
            .samples
            .iter()
            .map(|s| (s.key.name.as_str(), s.value.clone()))
            .collect();
        assert_eq!(
            got,
            [
                ("a", Value::Untyped(Number::Int(1))),
                ("b", Value::Untyped(Number::Int(2))),
                ("a", Value::Untyped(Number::Int(3)))
            ]
        );
    }
}

#[test]
fn a_pointer_is_followed_through_objects_and_arrays_without_a_tree() {
    let doc = br#"{"a": {"x": 1}, "m": [{"skip": {"deep": [1, 2]}}, {"k~/": {"n": 4}}], "z": 0}"#;
    let p = parse(doc, &opts("pointer = \"/m/1/k~0~1\"")).unwrap();
    assert_eq!(p.snapshot.len(), 1);
    assert_eq!(value_of(&p, "n"), &Value::Untyped(Number::Int(4)));
    let e = parse(doc, &opts("pointer = \"/m/01\"")).unwrap_err();
    assert!(e.contains("matches nothing"), "{e}");
    let e = parse(br#"{"m": 1, "x": [1,, 2]}"#, &opts("pointer = \"/m\"")).unwrap_err();
    assert!(
        e.contains("malformed JSON"),
        "the whole document is still checked: {e}"
    );
}

mod reuse {
    use super::*;
    use proptest::prelude::*;

    /// A document of typed entries from a small pool of names and label values, so that
    /// consecutive documents share, drop, add and reorder series.
    fn doc() -> impl Strategy<Value = String> {
        let entry = (
            0..4u8,
            0..3u8,
            0..3u8,
            0..100u32,
            any::<bool>(),
            any::<bool>(),
        );
        proptest::collection::vec(entry, 0..12).prop_map(|entries| {
            let items: Vec<String> = entries
                .into_iter()
                .map(|(name, a, b, v, unit, two)| {
                    let labels = if two {
                        format!(r#"{{"b": "{b}", "a": "{a}", "b": "x{b}"}}"#)
                    } else {
                        format!(r#"{{"a": "{a}"}}"#)
                    };
                    let unit = if unit { r#", "unit": "s""# } else { "" };
                    format!(
                        r#"{{"name": "m{name}", "type": "gauge", "value": {v}, "labels": {labels}{unit}}}"#
                    )
                })
                .collect();
            format!("[{}]", items.join(","))
        })
    }

    proptest! {
        /// Refilling the previous snapshot gives exactly what a fresh parse gives.
        #[test]
        fn a_refilled_snapshot_equals_a_fresh_one(first in doc(), second in doc()) {
            let o = opts("");
            let before = parse(first.as_bytes(), &o).unwrap();
            o.spare.put(before.snapshot.samples);
            let refilled = parse(second.as_bytes(), &o).unwrap();
            let fresh = parse(second.as_bytes(), &opts("")).unwrap();
            prop_assert_eq!(refilled.snapshot, fresh.snapshot);
        }
    }

    #[test]
    fn an_unchanged_series_keeps_its_strings() {
        let o = opts("");
        let first = parse(br#"[{"name": "m", "value": 1, "labels": {"a": "x"}}]"#, &o).unwrap();
        let name_at = first.snapshot.samples[0].key.name.as_ptr();
        o.spare.put(first.snapshot.samples);
        let second = parse(br#"[{"name": "m", "value": 2, "labels": {"a": "x"}}]"#, &o).unwrap();
        let s = &second.snapshot.samples[0];
        assert_eq!(s.value, Value::Untyped(Number::Int(2)));
        assert_eq!(
            s.key.name.as_ptr(),
            name_at,
            "the name was not allocated again"
        );
    }

    /// A read that starts again (Python's NaN tokens make serde_json retry; a scan that
    /// meets a malformed entry hands over to serde_json) still refills the previous
    /// snapshot, and says which keys are unchanged against it, not against the read it
    /// abandoned.
    #[test]
    fn a_read_started_again_refills_the_previous_snapshot() {
        let o = opts("");
        let first = parse(br#"{"a": 1, "b": 2, "c": 3}"#, &o).unwrap();
        o.spare.put(first.snapshot.samples);
        let retried = parse(br#"{"a": 4, "x": NaN, "c": 5}"#, &o).unwrap();
        let names: Vec<&str> = retried
            .snapshot
            .samples
            .iter()
            .map(|s| &*s.key.name)
            .collect();
        assert_eq!(names, ["a", "x", "c"]);
        assert_eq!(retried.unchanged, [true, false, true]);
        o.spare.put(retried.snapshot.samples);
        // The scan replaces key 1 (`y` for `x`), then meets a label that is not JSON.
        let doc = br#"[{"name": "a", "value": 1}, {"name": "y", "value": 2},
            {"name": "c", "value": 3, "labels": {"k": NaN}}]"#;
        let read = parse(doc, &o).unwrap();
        assert_eq!(read.unchanged, [true, false, false]);
        assert_eq!(read.snapshot.samples[2].key.labels.get("k"), Some("NaN"));
    }
}
