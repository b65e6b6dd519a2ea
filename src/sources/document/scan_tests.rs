//! The scanner of usual documents against the tree route: documents close to the usual
//! shape (random field order, numbers written every way, labels repeated, now and then an
//! entry the scanner leaves to serde_json) must read alike, refilling alike.

use proptest::prelude::*;

use super::reader_tests::same_both_ways;

/// A number as writers put it: integers of every size, floats in several notations.
fn number() -> impl Strategy<Value = String> {
    let float = any::<f64>().prop_filter("finite", |f| f.is_finite());
    prop_oneof![
        any::<u64>().prop_map(|u| u.to_string()),
        any::<i64>().prop_map(|i| i.to_string()),
        (0..1000u32).prop_map(|u| u.to_string()),
        float.clone().prop_map(|f| format!("{f:?}")),
        float.clone().prop_map(|f| format!("{f:e}")),
        float.prop_map(|f| format!("{f:.3}")),
        "-?[1-9][0-9]{0,24}\\.[0-9]{1,25}([eE][+-]?[0-9]{1,3})?",
        "-?[1-9][0-9]{15,22}",
        proptest::sample::select(&["NaN", "Infinity", "-Infinity", "1e400", "-0", "0.0"][..])
            .prop_map(str::to_string),
    ]
}

/// A plain string, or now and then one the scanner leaves to serde_json.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-z_]{1,6}".prop_map(|s| format!("\"{s}\"")),
        1 => Just("\"\u{e9}\u{1F600}\"".to_string()),
        1 => Just(r#""q\"uote""#.to_string()),
        1 => Just("null".to_string()),
    ]
}

fn labels() -> impl Strategy<Value = String> {
    let pair = (proptest::sample::select(&["a", "b", "c", "le"][..]), text());
    proptest::collection::vec(pair, 0..4).prop_map(|pairs| {
        let pairs: Vec<String> = pairs.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
        format!("{{{}}}", pairs.join(", "))
    })
}

/// An entry in the usual shape, its fields shuffled, one repeated now and then.
fn entry() -> impl Strategy<Value = String> {
    let kind = proptest::sample::select(&["counter", "gauge", "untyped", "Gauge"][..]);
    let name = proptest::sample::select(&["m0", "m1", "m2"][..]);
    let extra = proptest::sample::select(
        &[
            "",
            r#""unit": "s""#,
            r#""description": "d""#,
            r#""labels": {"a": "again"}"#,
            r#""value": 5"#,
            r#""help": "h""#,
        ][..],
    );
    (name, kind, number(), labels(), extra, any::<u64>()).prop_map(
        |(name, kind, value, labels, extra, order)| {
            let mut fields = vec![
                format!(r#""name": "{name}""#),
                format!(r#""type": "{kind}""#),
                format!(r#""value": {value}"#),
                format!(r#""labels": {labels}"#),
            ];
            if !extra.is_empty() {
                fields.push(extra.to_string());
            }
            let n = fields.len();
            for i in 0..n {
                fields.swap(i, (order as usize >> (i * 3)) % n);
            }
            format!("{{{}}}", fields.join(", "))
        },
    )
}

fn document() -> impl Strategy<Value = String> {
    (proptest::collection::vec(entry(), 0..12), any::<bool>()).prop_map(|(entries, compact)| {
        let body = entries.join(if compact { "," } else { ",\n  " });
        if compact {
            format!("[{body}]")
        } else {
            format!(" [\n  {body}\n]\n")
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// The scanner reads usual documents as the tree route does.
    #[test]
    fn the_scanner_reads_as_the_tree(first in document(), second in document()) {
        same_both_ways(&first, &second)?;
        same_both_ways(&first, &first)?;
    }
}
