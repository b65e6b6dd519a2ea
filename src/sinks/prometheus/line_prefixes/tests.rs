//! Rendering from line prefixes must write exactly what a render from scratch writes, in
//! both formats, whatever happens between cycles: random cycles of value changes, series
//! added, removed and reordered, metas replaced, family lists rebuilt and values whose kind
//! disagrees with their family.

use std::sync::Arc;
use std::time::SystemTime;

use proptest::prelude::*;
use snapbridge_core::{Histogram, Kind, Number, Tracked, TrackedValue};

use super::PrefixCache;
use crate::sinks::prometheus::Exposition;
use crate::sinks::prometheus::render;
use crate::sinks::prometheus::render::{Format, render_from_scratch};
use crate::view::{Attachments, Family, Point, SeriesMeta, View};

/// What happens before a cycle.
#[derive(Clone, Debug)]
enum Step {
    /// Only the values change.
    Values,
    /// A new series of family `f` (modulo the pool) is appended at `at`.
    Add { f: usize, at: usize },
    /// The series at `at` leaves.
    Remove { at: usize },
    /// Two series swap places.
    Swap { a: usize, b: usize },
    /// The series at `at` gets a new meta with the same labels (a series that expired and
    /// came back).
    NewMeta { at: usize },
    /// The family list is rebuilt (same content, new `Arc`), as when a family registers.
    NewFamilyList,
    /// The series at `at` carries a gauge value whatever its family.
    GaugeValue { at: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => Just(Step::Values),
        2 => (0..6usize, 0..64usize).prop_map(|(f, at)| Step::Add { f, at }),
        1 => (0..64usize).prop_map(|at| Step::Remove { at }),
        1 => (0..64usize, 0..64usize).prop_map(|(a, b)| Step::Swap { a, b }),
        1 => (0..64usize).prop_map(|at| Step::NewMeta { at }),
        1 => Just(Step::NewFamilyList),
        1 => (0..64usize).prop_map(|at| Step::GaugeValue { at }),
    ]
}

fn family_pool() -> Vec<Arc<Family>> {
    let specs = [
        ("a_total", Kind::Counter),
        ("b_bytes", Kind::Gauge),
        ("c_seconds", Kind::Histogram),
        ("d", Kind::Gauge),
        ("e_total", Kind::Counter),
        // A name Prometheus 3 quotes: its prefixes are laid out another way.
        ("f.g_total", Kind::Counter),
    ];
    specs
        .iter()
        .enumerate()
        .map(|(id, (name, kind))| {
            Arc::new(Family {
                id: id as u32,
                base: name.trim_end_matches("_total").to_string(),
                exposed: name.to_string(),
                kind: *kind,
                unit: None,
                help: format!("help of {name}"),
            })
        })
        .collect()
}

/// A value of the family's kind (or a gauge when `force_gauge`), varying with `cycle`.
fn value(kind: Kind, cycle: u64, i: usize, force_gauge: bool) -> TrackedValue {
    let x = cycle * 7 + i as u64;
    match kind {
        _ if force_gauge => TrackedValue::Gauge(x as f64 / 4.0),
        Kind::Counter if x.is_multiple_of(3) => TrackedValue::Counter {
            total: Number::Float(x as f64 + 0.5),
            delta: Number::Float(0.5),
        },
        Kind::Counter => TrackedValue::Counter {
            total: Number::Int(x),
            delta: Number::Int(1),
        },
        Kind::Histogram => {
            let h = Histogram::from_parts(vec![0.1, 1.0], vec![x, x + 1], x + 2, x as f64 * 0.3);
            TrackedValue::Histogram {
                total: Box::new(h.clone()),
                delta: Box::new(h),
            }
        }
        // Gauges, and any kind added to the core later, as gauges.
        _ => TrackedValue::Gauge(if x.is_multiple_of(5) {
            f64::NAN
        } else {
            x as f64 - 3.25
        }),
    }
}

fn meta(family: &Arc<Family>, serial: usize) -> Arc<SeriesMeta> {
    let mut labels = vec![
        ("k".to_string(), format!("v{serial}")),
        ("q".to_string(), "a \"b\" \\ c\nd".to_string()),
    ];
    // Now and then a series without labels (`name value`, no braces).
    if serial.is_multiple_of(4) {
        labels.clear();
    }
    Arc::new(SeriesMeta::new(family.clone(), labels))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn cached_body_equals_render(steps in prop::collection::vec(step(), 1..40), initial in 0..40usize) {
        let pool = family_pool();
        let mut sorted = pool.clone();
        sorted.sort_by(|a, b| a.exposed.cmp(&b.exposed));
        let mut families = Arc::new(sorted);
        let mut serial = 0;
        // (meta, force a gauge value)
        let mut series: Vec<(Arc<SeriesMeta>, bool)> = (0..initial)
            .map(|i| { serial += 1; (meta(&pool[i % pool.len()], serial), false) })
            .collect();
        let mut cache = PrefixCache::new();
        let mut hint = 0;
        for (cycle, step) in steps.iter().enumerate() {
            let len = series.len().max(1);
            match *step {
                Step::Values => {}
                Step::Add { f, at } => {
                    serial += 1;
                    series.insert(at % (series.len() + 1), (meta(&pool[f], serial), false));
                }
                Step::Remove { at } if !series.is_empty() => { series.remove(at % len); }
                Step::Swap { a, b } if !series.is_empty() => series.swap(a % len, b % len),
                Step::NewMeta { at } if !series.is_empty() => {
                    let old = &series[at % len].0;
                    let fresh = Arc::new(SeriesMeta::new(old.family.clone(), old.labels()));
                    series[at % len].0 = fresh;
                }
                Step::NewFamilyList => families = Arc::new(families.as_ref().clone()),
                Step::GaugeValue { at } if !series.is_empty() => series[at % len].1 = true,
                _ => {}
            }
            let points: Vec<Point> = series
                .iter()
                .enumerate()
                .map(|(i, (m, gauge))| Tracked {
                    meta: m.clone(),
                    start: SystemTime::UNIX_EPOCH,
                    value: value(m.family.kind, cycle as u64, i, *gauge),
                })
                .collect();
            let mut view = View {
                cycle: cycle as u64 + 1,
                time: SystemTime::UNIX_EPOCH,
                points,
                families: families.clone(),
                sources: Vec::new(),
                attachments: Attachments::default(),
            };
            let want = render_from_scratch(&view, Format::Text, hint);
            let (got, prefixes) = cache.render(&view, hint);
            prop_assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want), "cycle {}", cycle);
            // The prefixes attached to the view serve OpenMetrics as well.
            view.attachments.insert(Exposition::new(prefixes));
            let want = render_from_scratch(&view, Format::OpenMetrics, hint);
            let got = render(&view, Format::OpenMetrics, hint);
            prop_assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want), "cycle {} (OpenMetrics)", cycle);
            hint = want.len();
        }
    }
}

/// In steady state the body really comes from the cache, and churn every cycle makes it
/// step aside rather than rebuild each time.
#[test]
fn steady_views_are_served_from_the_cache_and_churn_backs_off() {
    let pool = family_pool();
    let mut sorted = pool.clone();
    sorted.sort_by(|a, b| a.exposed.cmp(&b.exposed));
    let families = Arc::new(sorted);
    let metas: Vec<_> = (0..50).map(|i| meta(&pool[i % pool.len()], i)).collect();
    let view = |cycle: u64, metas: &[Arc<SeriesMeta>]| View {
        cycle,
        time: SystemTime::UNIX_EPOCH,
        points: metas
            .iter()
            .enumerate()
            .map(|(i, m)| Tracked {
                meta: m.clone(),
                start: SystemTime::UNIX_EPOCH,
                value: value(m.family.kind, cycle, i, false),
            })
            .collect(),
        families: families.clone(),
        sources: Vec::new(),
        attachments: Attachments::default(),
    };
    let mut cache = PrefixCache::new();
    let mut first = None;
    for cycle in 1..5 {
        let v = view(cycle, &metas);
        let (body, prefixes) = cache.render(&v, 0);
        assert_eq!(body, render_from_scratch(&v, Format::Text, 0));
        let prefixes = prefixes.expect("rendered from prefixes");
        // Built once, then shared by every view with the same series.
        let first = first.get_or_insert_with(|| prefixes.clone());
        assert!(Arc::ptr_eq(first, &prefixes), "cycle {cycle}: not rebuilt");
        assert_eq!(cache.lasted, cycle > 1, "cycle {cycle}");
    }
    // Every cycle a new series: the first miss rebuilds, the second backs off.
    let mut churned = metas.clone();
    for cycle in 5..8 {
        churned.push(meta(&pool[0], 100 + cycle as usize));
        let v = view(cycle, &churned);
        assert_eq!(
            cache.render(&v, 0).0,
            render_from_scratch(&v, Format::Text, 0)
        );
    }
    assert_eq!(cache.misses, 1);
    assert!(cache.current.is_none(), "stepped aside, memory released");
    assert_eq!(cache.skip, 1, "sits out two cycles, one of them already");
}
