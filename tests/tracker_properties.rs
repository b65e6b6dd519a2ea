//! Property tests of the DeltaTracker: random increments, resets and absences of a source
//! counter, sampled at random points, against a model of what an exact exporter must report.

use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use snapbridge::core::{
    DeltaTracker, Histogram, Initial, Number, Sample, SeriesKey, Tracked, TrackedValue,
    TrackerConfig,
};

/// What happens to the source between two samples.
#[derive(Clone, Debug)]
enum Op {
    /// The application counts `n` more.
    Add(u64),
    /// `reset()` or a restart: the counter is 0 again.
    Reset,
}

/// One step: some operations, then the tracker samples (or the series is absent).
#[derive(Clone, Debug)]
struct Step {
    ops: Vec<Op>,
    present: bool,
}

fn step() -> impl Strategy<Value = Step> {
    let op = prop_oneof![
        8 => (0u64..1_000).prop_map(Op::Add),
        1 => Just(Op::Reset),
    ];
    (prop::collection::vec(op, 0..5), prop::bool::weighted(0.85))
        .prop_map(|(ops, present)| Step { ops, present })
}

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

fn tracker(initial: Initial) -> DeltaTracker {
    DeltaTracker::new(TrackerConfig {
        initial,
        max_staleness: Duration::from_secs(600),
    })
}

fn observe(t: &mut DeltaTracker, now: SystemTime, samples: Vec<Sample>) -> Vec<Tracked<SeriesKey>> {
    let mut out = Vec::new();
    t.observe(now, samples, |info| Some(info.key.clone()), &mut out);
    t.expire(now);
    out
}

fn int(n: Number) -> u64 {
    match n {
        Number::Int(i) => i,
        Number::Float(f) => panic!("integer counter became a float: {f}"),
    }
}

/// Runs `steps` through a tracker; returns (sampled values, totals, deltas) at each present
/// step.
fn run(initial: Initial, base: u64, steps: &[Step]) -> (Vec<u64>, Vec<u64>, Vec<u64>) {
    let mut t = tracker(initial);
    let mut value = base;
    let (mut seen, mut totals, mut deltas) = (Vec::new(), Vec::new(), Vec::new());
    for (i, s) in steps.iter().enumerate() {
        for op in &s.ops {
            match op {
                Op::Add(n) => value += n,
                Op::Reset => value = 0,
            }
        }
        if !s.present {
            continue;
        }
        // Absences are at most 9 steps of 10 s here: always within max_staleness.
        let out = observe(
            &mut t,
            at(i as u64 * 10),
            vec![Sample::counter("records_written", value)],
        );
        assert_eq!(out.len(), 1);
        let TrackedValue::Counter { total, delta } = out[0].value else {
            panic!("not a counter: {:?}", out[0].value)
        };
        seen.push(value);
        totals.push(int(total));
        deltas.push(int(delta));
    }
    (seen, totals, deltas)
}

/// What Prometheus' increase() reconstructs from the sampled values: the first value, then
/// each rise, and after a drop the new value.
fn visible_increments(seen: &[u64]) -> u64 {
    let mut sum = seen.first().copied().unwrap_or(0);
    for w in seen.windows(2) {
        sum += if w[1] >= w[0] { w[1] - w[0] } else { w[1] };
    }
    sum
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn keep_totals_are_the_visible_increments_and_never_decrease(
        base in 0u64..1_000_000,
        steps in prop::collection::vec(step(), 1..60),
    ) {
        let (seen, totals, deltas) = run(Initial::Keep, base, &steps);
        for (i, total) in totals.iter().enumerate() {
            // The total is the sum of the deltas so far...
            prop_assert_eq!(*total, deltas[..=i].iter().sum::<u64>());
            // ...equal to the increments visible at the sampling points...
            prop_assert_eq!(*total, visible_increments(&seen[..=i]));
            // ...and it never goes down.
            if i > 0 {
                prop_assert!(*total >= totals[i - 1]);
            }
        }
    }

    #[test]
    fn drop_only_sets_the_baseline(
        base in 0u64..1_000_000,
        steps in prop::collection::vec(step(), 1..60),
    ) {
        let (seen_k, keep, _) = run(Initial::Keep, base, &steps);
        let (seen_d, drop, deltas) = run(Initial::Drop, base, &steps);
        prop_assert_eq!(&seen_k, &seen_d);
        if let Some(first) = seen_d.first() {
            prop_assert_eq!(deltas[0], 0);
            prop_assert_eq!(drop[0], 0);
            for (k, d) in keep.iter().zip(&drop) {
                prop_assert_eq!(*d, k - first);
            }
        }
    }

    #[test]
    fn stale_series_come_back_without_double_counting(
        before in prop::collection::vec(0u64..500, 1..10),
        gap_secs in 1u64..600,
        reset_while_away in any::<bool>(),
        after in prop::collection::vec(0u64..500, 1..10),
    ) {
        let mut t = tracker(Initial::Keep);
        let mut value = 0u64;
        let mut truth = 0u64;
        let mut now = 0u64;
        let mut last_total = 0u64;
        for n in &before {
            value += n;
            truth += n;
            now += 10;
            let out = observe(&mut t, at(now), vec![Sample::counter("c", value)]);
            let TrackedValue::Counter { total, .. } = out[0].value else { unreachable!() };
            last_total = int(total);
        }
        // Absent (another series keeps the source alive) for less than max_staleness.
        now += gap_secs.min(590);
        let out = observe(&mut t, at(now), vec![Sample::counter("other", 1)]);
        prop_assert!(out.iter().all(|p| p.meta.name == "other"));
        if reset_while_away {
            value = 0;
        }
        for n in &after {
            value += n;
            truth += n;
            now += 10;
            let out = observe(&mut t, at(now), vec![Sample::counter("c", value)]);
            let TrackedValue::Counter { total, .. } = out[0].value else { unreachable!() };
            prop_assert!(int(total) >= last_total);
            last_total = int(total);
        }
        // Every increment is counted once. A reset while away is seen only if the first
        // value after it is below the last one (as for Prometheus' rate()); otherwise the
        // tracker cannot tell, and counts the rise from the old value.
        let kept: u64 = before.iter().sum();
        let expected = if reset_while_away && after[0] >= kept { truth - kept } else { truth };
        prop_assert_eq!(last_total, expected);
    }

    #[test]
    fn large_counters_stay_exact(start in (1u64 << 60)..(1u64 << 62), incs in prop::collection::vec(0u64..1_000_000, 1..20)) {
        let mut t = tracker(Initial::Drop);
        let mut value = start;
        observe(&mut t, at(0), vec![Sample::counter("big", value)]);
        let mut want = 0u64;
        for (i, n) in incs.iter().enumerate() {
            value += n;
            want += n;
            let out = observe(&mut t, at(10 * (i as u64 + 1)), vec![Sample::counter("big", value)]);
            let TrackedValue::Counter { total, .. } = out[0].value else { unreachable!() };
            prop_assert_eq!(total, Number::Int(want));
        }
    }

    #[test]
    fn many_series_in_any_order_are_tracked_independently(
        incs in prop::collection::vec(prop::collection::vec(0u64..100, 8), 1..12),
        orders in prop::collection::vec(Just((0..8usize).collect::<Vec<_>>()).prop_shuffle(), 12),
    ) {
        let mut t = tracker(Initial::Keep);
        let mut values = [0u64; 8];
        for (cycle, inc) in incs.iter().enumerate() {
            for (v, n) in values.iter_mut().zip(inc) {
                *v += n;
            }
            let samples: Vec<Sample> = orders[cycle]
                .iter()
                .map(|&i| Sample::counter("c", values[i]).with_label("i", i.to_string()))
                .collect();
            let out = observe(&mut t, at(cycle as u64 * 10), samples);
            prop_assert_eq!(out.len(), 8);
            for p in &out {
                let i: usize = p.meta.labels.get("i").unwrap().parse().unwrap();
                let TrackedValue::Counter { total, .. } = p.value else { unreachable!() };
                prop_assert_eq!(total, Number::Int(values[i]));
            }
        }
    }

    #[test]
    fn histogram_counts_follow_the_observations(
        cycles in prop::collection::vec((prop::collection::vec(0.0f64..20.0, 0..20), prop::bool::weighted(0.15)), 1..25),
    ) {
        let bounds = vec![0.5, 1.0, 5.0, 10.0];
        let mut t = tracker(Initial::Keep);
        let mut held: Vec<f64> = Vec::new();
        let mut prev: Option<Histogram> = None;
        let mut visible = 0u64;
        let mut observed = 0u64;
        let mut hidden_reset = false;
        let mut last_total: Option<Histogram> = None;
        for (i, (obs, reset)) in cycles.iter().enumerate() {
            if *reset {
                held.clear();
            }
            held.extend(obs);
            observed += obs.len() as u64;
            let h = Histogram::from_observations(bounds.clone(), &held);
            // The counter rule, per bucket and on the count: any decrease is a reset.
            let detected = prev.as_ref().is_some_and(|p| {
                h.count < p.count || h.counts.iter().zip(&p.counts).any(|(c, pc)| c < pc)
            });
            visible += match &prev {
                Some(p) if !detected => h.count - p.count,
                _ => h.count,
            };
            hidden_reset |= *reset && prev.is_some() && !detected;
            prev = Some(h.clone());
            let out = observe(&mut t, at(i as u64 * 10), vec![Sample::histogram("lat", h)]);
            let TrackedValue::Histogram { total, .. } = &out[0].value else { unreachable!() };
            prop_assert_eq!(total.count, visible);
            if !hidden_reset {
                prop_assert_eq!(total.count, observed);
            }
            prop_assert!(total.counts.windows(2).all(|w| w[0] <= w[1]));
            prop_assert!(total.counts.last().copied().unwrap_or(0) <= total.count);
            if let Some(prev) = &last_total {
                prop_assert!(total.count >= prev.count);
                for (a, b) in total.counts.iter().zip(&prev.counts) {
                    prop_assert!(a >= b);
                }
            }
            last_total = Some(total.clone());
        }
    }
}
