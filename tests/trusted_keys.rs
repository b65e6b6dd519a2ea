//! Property tests of the keys a refilling source vouches for (`Pulled::unchanged`,
//! `SampleRef::unchanged`): trusting them must never change what is exported.
//!
//! Two pipelines read the same random sequence of JSON documents: one through a source
//! that refills its previous snapshot and says which keys it kept (so the pipeline skips
//! normalising and comparing them), the other from scratch every cycle (nothing is
//! trusted). Documents reorder, repeat (duplicates), rename, drop and add series, carry
//! keys that normalisation rewrites or refuses, change kinds, and go over `max_series`; the
//! exported points must be the same, cycle after cycle.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use snapbridge::core::{Snapshot, TrackedValue};
use snapbridge::pipeline::{Pipeline, PipelineSettings};
use snapbridge::sources::document::{DocumentOptions, parse};
use snapbridge::sources::{PullFuture, Pulled, Source, SourceConfig};

/// A source the test feeds by hand; it keeps what the pipeline hands back when `refills`.
struct Fed {
    opts: DocumentOptions,
    refills: bool,
}

impl Source for Fed {
    fn pull(&self) -> PullFuture {
        Box::pin(async { Ok(Pulled::default()) })
    }

    fn recycle(&self, snapshot: Snapshot) {
        if self.refills {
            self.opts.spare.put(snapshot.samples);
        }
    }
}

fn pipeline(refills: bool, max_series: usize) -> (Pipeline, Arc<Fed>) {
    let mut p = Pipeline::new(PipelineSettings::default());
    let mut config = SourceConfig::new("t");
    config.max_series = max_series;
    config
        .rename
        .insert("old".to_string(), "renamed".to_string());
    config.deny_labels = Some(vec!["secret".to_string()]);
    let fed = Arc::new(Fed {
        opts: DocumentOptions::default(),
        refills,
    });
    p.add_source(&config, "fed", fed.clone());
    (p, fed)
}

/// One entry: name, kind, value, labels (indices into the pools below).
type Entry = (usize, usize, u64, Vec<(usize, usize)>);

const NAMES: [&str; 7] = [
    "m_a",
    "m_b",
    "bad.name",
    "m__c",
    "9lives",
    "m_a_total",
    "-.-",
];
const KINDS: [&str; 3] = ["counter", "gauge", "untyped"];
const KEYS: [&str; 5] = ["region", "old", "secret", "bad-key", "zone"];
const VALUES: [&str; 3] = ["x", "y", "a\"b"];

fn document(entries: &[Entry]) -> Vec<u8> {
    let items: Vec<serde_json::Value> = entries
        .iter()
        .map(|(name, kind, value, labels)| {
            let labels: serde_json::Map<String, serde_json::Value> = labels
                .iter()
                .map(|(k, v)| (KEYS[*k].to_string(), VALUES[*v].into()))
                .collect();
            serde_json::json!({
                "name": NAMES[*name],
                "type": KINDS[*kind],
                "value": value,
                "labels": labels,
            })
        })
        .collect();
    serde_json::to_vec(&items).expect("a JSON document")
}

/// The bridged points of one cycle, as comparable text.
fn exported(p: &mut Pipeline, fed: &Fed, doc: &[u8], now: SystemTime) -> Vec<String> {
    let pulled = parse(doc, &fed.opts)
        .map(|mut pulled| {
            if !fed.refills {
                // The oracle: no promise, so nothing is trusted.
                pulled.unchanged.clear();
            }
            pulled
        })
        .map_err(snapbridge::core::SourceError::new);
    let view = p.publish(now, vec![(pulled, Duration::ZERO)]);
    view.points
        .iter()
        .filter(|pt| !pt.meta.family.exposed.starts_with("snapbridge_"))
        .map(|pt| {
            let value = match &pt.value {
                TrackedValue::Counter { total, delta } => format!("c {total:?} {delta:?}"),
                TrackedValue::Gauge(g) => format!("g {g}"),
                other => format!("{other:?}"),
            };
            format!(
                "{}{{{}}} {value} {:?}",
                pt.meta.family.exposed, pt.meta.rendered_labels, pt.start
            )
        })
        .collect()
}

fn entry() -> impl Strategy<Value = Entry> {
    (
        0..NAMES.len(),
        0..KINDS.len(),
        0u64..50,
        proptest::collection::vec((0..KEYS.len(), 0..VALUES.len()), 0..3),
    )
}

/// A sequence of documents, each mostly the previous one with its values moved on and a
/// few edits, so that most keys are kept and some are not.
fn documents() -> impl Strategy<Value = Vec<Vec<Entry>>> {
    let edit = (0usize..4, 0usize..8, entry());
    (
        proptest::collection::vec(entry(), 0..10),
        proptest::collection::vec(proptest::collection::vec(edit, 0..3), 1..8),
    )
        .prop_map(|(first, edits)| {
            let mut docs = vec![first];
            for cycle_edits in edits {
                let mut next: Vec<Entry> = docs[docs.len() - 1].clone();
                for e in next.iter_mut() {
                    e.2 += 3;
                }
                for (what, at, new) in cycle_edits {
                    let at = if next.is_empty() { 0 } else { at % next.len() };
                    match what {
                        0 if !next.is_empty() => next[at] = new,
                        1 if !next.is_empty() => {
                            next.remove(at);
                        }
                        2 => next.insert(at.min(next.len()), new),
                        _ if !next.is_empty() => {
                            let dup = next[at].clone();
                            next.push(dup);
                        }
                        _ => {}
                    }
                }
                docs.push(next);
            }
            docs
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn trusting_kept_keys_exports_what_checking_them_does(
        docs in documents(),
        max_series in prop_oneof![Just(1000usize), 2usize..8],
    ) {
        let (mut trusting, fed_t) = pipeline(true, max_series);
        let (mut checking, fed_c) = pipeline(false, max_series);
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        for (i, entries) in docs.iter().enumerate() {
            let doc = document(entries);
            let now = start + Duration::from_secs(10 * i as u64);
            let a = exported(&mut trusting, &fed_t, &doc, now);
            let b = exported(&mut checking, &fed_c, &doc, now);
            prop_assert_eq!(a, b, "cycle {}", i);
        }
    }
}
