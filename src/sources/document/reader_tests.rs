//! The streaming entry reader against the tree route it shortcuts: on every document both
//! must give the same samples, rejections (reason and message) and unchanged flags.

use proptest::prelude::*;

use super::node::Node;
use super::*;
use crate::sources::Pulled;
use snapbridge_core::Sample;

/// The document read the way it was before the streaming reader: every entry a tree.
/// As `parse` does, a document with Python's NaN tokens is read again with them quoted,
/// refilling the same previous snapshot.
fn by_tree(doc: &str, previous: Vec<Sample>) -> Result<Pulled, String> {
    let opts = DocumentOptions::default();
    let quoted;
    let root: Node<'_> = match serde_json::from_str(doc) {
        Ok(root) => root,
        Err(_) => {
            quoted = String::from_utf8(quote_unreadable_tokens(doc.as_bytes()))
                .map_err(|e| e.to_string())?;
            serde_json::from_str(&quoted).map_err(|e| e.to_string())?
        }
    };
    let mut out = Collector::reusing(previous);
    match root {
        Node::Object(fields) => {
            for (key, node) in fields {
                out.value(key, &node, &opts, 0);
            }
        }
        Node::Array(items) => {
            for (i, node) in items.iter().enumerate() {
                out.array_item(i, node, &opts);
            }
        }
        _ => return Err("not a map or an array".into()),
    }
    Ok(out.finish())
}

fn by_stream(doc: &str, previous: Vec<Sample>) -> Result<Pulled, String> {
    let opts = DocumentOptions::default();
    opts.spare.put(previous);
    parse(doc.as_bytes(), &opts)
}

/// Everything a pull reports, NaN included (`Debug` prints it, `==` would not match it).
fn seen(p: &Result<Pulled, String>) -> String {
    match p {
        Ok(p) => format!("{:?}\n{:?}\n{:?}", p.snapshot, p.rejected, p.unchanged),
        Err(_) => "error".into(),
    }
}

/// Both routes read `first`, then `second` refilling what `first` gave.
pub(super) fn same_both_ways(first: &str, second: &str) -> Result<(), TestCaseError> {
    let tree = by_tree(first, Vec::new());
    let stream = by_stream(first, Vec::new());
    prop_assert_eq!(seen(&tree), seen(&stream), "first document: {}", first);
    let kept = |p: Result<Pulled, String>| p.map(|p| p.snapshot.samples).unwrap_or_default();
    let (tree_kept, stream_kept) = (kept(tree), kept(stream));
    let tree = by_tree(second, tree_kept);
    let stream = by_stream(second, stream_kept);
    prop_assert_eq!(seen(&tree), seen(&stream), "second document: {}", second);
    Ok(())
}

const NAMES: &[&str] = &[r#""m0""#, r#""m1""#, r#""m\u0031""#, r#""""#, "5", "null"];
const TYPES: &[&str] = &[
    r#""counter""#,
    r#""gauge""#,
    r#""Gauge""#,
    r#""histogram""#,
    r#""summary""#,
    "3",
    "null",
    r#""un\u0074yped""#,
];
const VALUES: &[&str] = &[
    "1",
    "0",
    "0.1",
    "3.141592653589793238462643",
    "2.2250738585072011e-308",
    "1e-7",
    "-1E5",
    "123456789012345678901234567890",
    "-9223372036854775808",
    "-9223372036854775809",
    "-0",
    "-2",
    "1.5",
    "-0.0",
    "1e400",
    "-2E+999",
    "NaN",
    "Infinity",
    "-Infinity",
    r#""NaN""#,
    r#""+Inf""#,
    r#""x""#,
    "true",
    "null",
    "[1]",
    r#"{"a": 1}"#,
    "18446744073709551615",
];
const LABELS: &[&str] = &[
    r#"{"a": "x"}"#,
    r#"{"b": "1", "a": "2", "b": "3"}"#,
    r#"{"a": 1.5, "c": -3, "d": true}"#,
    r#"{"a": null}"#,
    r#"{"a": [1]}"#,
    r#"{"a": {"b": 1}}"#,
    r#"{"e\u0073c": "v\n\"q\""}"#,
    r#"{"a": 1e400}"#,
    "{\"r\u{e9}gion\": \"\u{e9}\", \"z\": \"\"}",
    r#""labels as a string""#,
    "null",
    "{}",
    "[]",
    "LONG",
];
const TEXTS: &[&str] = &[
    r#""s""#,
    r#""""#,
    "3",
    r#""d \"q\" \u00e9""#,
    "null",
    "\"\u{e9}t\u{e9} \u{1F600}\"",
];
/// Fields that make the whole document malformed (both routes must fail alike).
const MALFORMED: &[&str] = &[
    r#""value": 00"#,
    r#""value": 1."#,
    r#""value": .5"#,
    r#""value": +1"#,
    r#""value": 1e"#,
    r#""value": -"#,
    r#""value": NaNa"#,
    "\"unit\": \"raw\ttab\"",
    r#""labels": {"a": "x",}"#,
    r#""name" "m""#,
    r#""name": "m""#,
];
const OTHER: &[(&str, &str)] = &[
    ("buckets", r#"{"1": 1, "+Inf": 2}"#),
    ("buckets", "[1, 2]"),
    ("count", "2"),
    ("sum", "1.5"),
    ("counts", "[1, 2]"),
    ("samples", "[0.5, 3]"),
    ("help", r#""text""#),
    ("extra", r#"{"deep": [1e400, NaN]}"#),
    ("n\\u0061me", r#""escaped_key""#),
];

/// One field of an entry, known or not.
fn field() -> impl Strategy<Value = String> {
    let pick = |key: &'static str, values: &'static [&'static str]| {
        proptest::sample::select(values).prop_map(move |v| format!(r#""{key}": {v}"#))
    };
    prop_oneof![
        3 => pick("name", NAMES),
        3 => pick("type", TYPES),
        3 => pick("value", VALUES),
        3 => pick("labels", LABELS),
        1 => pick("unit", TEXTS),
        1 => pick("description", TEXTS),
        2 => proptest::sample::select(OTHER).prop_map(|(k, v)| format!(r#""{k}": {v}"#)),
        1 => proptest::sample::select(MALFORMED).prop_map(str::to_string),
    ]
}

/// An entry: mostly an object of a few fields (some repeated), now and then a scalar.
fn entry() -> impl Strategy<Value = String> {
    prop_oneof![
        9 => proptest::collection::vec(field(), 0..6)
            .prop_map(|f| format!("{{{}}}", f.join(", "))),
        1 => proptest::sample::select(&["7", "null", r#""s""#, "[1]", "NaN", "}"][..])
            .prop_map(str::to_string),
    ]
}

/// An array of entries, or a map of them (keys repeat now and then).
fn document() -> impl Strategy<Value = String> {
    let entries = proptest::collection::vec((0..6u8, entry()), 0..8);
    let separators = proptest::sample::select(&[", ", ",", ",\n\t ", " , "][..]);
    (any::<bool>(), entries, separators).prop_map(|(array, entries, separator)| {
        let items: Vec<String> = entries
            .into_iter()
            .map(|(k, e)| if array { e } else { format!(r#""k{k}": {e}"#) })
            .collect();
        let long = format!("{{\"a\": \"{}\"}}", "x".repeat(5000));
        let body = items
            .join(", ")
            .replace(", ", separator)
            .replace("LONG", &long);
        if array {
            format!("[{body}]")
        } else {
            format!("{{{body}}}")
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// The streaming reader decides every entry as the tree did.
    #[test]
    fn the_stream_reads_as_the_tree(first in document(), second in document()) {
        same_both_ways(&first, &second)?;
        // A document refilling its own previous snapshot: the unchanged flags.
        same_both_ways(&first, &first)?;
    }
}

#[test]
fn tricky_entries_read_as_the_tree() {
    let docs = [
        r#"[{"value": 3, "type": "counter", "name": "m", "labels": {"a": "x"}}]"#,
        r#"[{"name": "m", "value": 1, "value": -1, "type": "counter"}]"#,
        r#"[{"name": "m", "labels": {"a": "1"}, "value": 1, "labels": {"b": "2"}}]"#,
        r#"[{"name": "m\n\u00e9", "value": 1, "labels": {"k\"": "v\\\u0041"}}]"#,
        r#"[{"name": "m", "value": 1, "help": "ignored", "labels": {"a": "x"}}]"#,
        r#"[{"name": "h", "type": "histogram", "buckets": {"1": 1, "+Inf": 2}, "sum": 1}]"#,
        r#"[{"name": "n", "type": "counter", "value": NaN}, {"name": "g", "value": NaN}]"#,
        r#"[{"name": "o", "type": "gauge", "value": 1e400}, {"name": "p", "value": 2}]"#,
        r#"{"a": {"unit": 1, "name": 2}, "b": {"name": 1, "name": 2}, "c": {"labels": {"x": 1}}}"#,
        r#"{"t": {"value": 1, "name": "x", "labels": {"a": "b"}}, "u": {"type": "gauge"}}"#,
    ];
    for doc in docs {
        same_both_ways(doc, doc).unwrap();
        let p = by_stream(doc, Vec::new()).unwrap();
        assert!(
            !p.snapshot.samples.is_empty() || !p.rejected.is_empty(),
            "{doc}"
        );
    }
}

#[test]
fn an_entry_with_value_before_type_is_a_counter() {
    let p = by_stream(
        r#"[{"value": -1, "type": "counter", "name": "c"}, {"value": 2, "type": "counter", "name": "d"}]"#,
        Vec::new(),
    )
    .unwrap();
    assert_eq!(p.rejected.len(), 1);
    assert_eq!(p.rejected[0].reason, reason::NEGATIVE);
    assert_eq!(
        p.snapshot.samples[0].value,
        snapbridge_core::Value::Counter(snapbridge_core::Number::Int(2))
    );
}
