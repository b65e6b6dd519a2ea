//! The DeltaTracker's rules (the list at the top of `src/tracker/mod.rs`), one example at a
//! time.
//!
//! Every test feeds explicit snapshots at explicit instants and checks the exact totals,
//! deltas, start times and `CycleStats` the tracker reports. std only: snapbridge-core has
//! no dependency, not even a dev-dependency.

use std::time::{Duration, SystemTime};

use snapbridge_core::{
    CycleStats, DeltaTracker, Histogram, Initial, Kind, Labels, Number, RejectReason, Sample,
    SeriesKey, Tracked, TrackedValue, TrackerConfig, Value,
};

const MAX_STALENESS: Duration = Duration::from_secs(600);

/// `secs` seconds after the Unix epoch: every test uses fixed instants.
fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

/// The start of a counter first seen at `secs` on a tracker's first snapshot with
/// `Initial::Keep`: it counted before, so it started strictly before its first point.
fn first_pull(secs: u64) -> SystemTime {
    at(secs) - Duration::from_millis(1)
}

/// A tracker keyed by `SeriesKey`, recording every `attach` call.
struct Harness {
    tracker: DeltaTracker,
    attached: Vec<(SeriesKey, Kind)>,
}

/// What one `observe` call produced.
struct Cycle {
    out: Vec<Tracked<SeriesKey>>,
    stats: CycleStats,
}

impl Harness {
    fn new(initial: Initial) -> Self {
        Harness {
            tracker: DeltaTracker::new(TrackerConfig {
                initial,
                max_staleness: MAX_STALENESS,
            }),
            attached: Vec::new(),
        }
    }

    fn keep() -> Self {
        Harness::new(Initial::Keep)
    }

    /// One cycle: `observe` at `secs`, then `expire` as the exporter does every cycle.
    fn cycle(&mut self, secs: u64, samples: Vec<Sample>) -> Cycle {
        let mut out = Vec::new();
        let attached = &mut self.attached;
        let stats = self.tracker.observe(
            at(secs),
            samples,
            |info| {
                attached.push((info.key.clone(), info.kind));
                Some(info.key.clone())
            },
            &mut out,
        );
        assert_eq!(stats.emitted, out.len(), "stats.emitted counts this call");
        self.tracker.expire(at(secs));
        Cycle { out, stats }
    }

    fn attach_calls(&self, name: &str) -> usize {
        self.attached.iter().filter(|(k, _)| k.name == name).count()
    }
}

impl Cycle {
    /// The single emitted point of the unlabelled series `name`.
    fn get(&self, name: &str) -> &Tracked<SeriesKey> {
        self.get_key(&SeriesKey::new(name, Labels::new()))
    }

    fn get_key(&self, key: &SeriesKey) -> &Tracked<SeriesKey> {
        let found: Vec<_> = self.out.iter().filter(|p| &p.meta == key).collect();
        assert_eq!(found.len(), 1, "{key:?} emitted {} times", found.len());
        found[0]
    }

    fn has(&self, name: &str) -> bool {
        self.out.iter().any(|p| p.meta.name == name)
    }

    /// (total, delta) of a counter.
    fn counter(&self, name: &str) -> (Number, Number) {
        match self.get(name).value {
            TrackedValue::Counter { total, delta } => (total, delta),
            ref other => panic!("{name} is not a counter: {other:?}"),
        }
    }

    /// (total, delta) of a counter that must still be exact integers.
    fn int(&self, name: &str) -> (u64, u64) {
        match self.counter(name) {
            (Number::Int(t), Number::Int(d)) => (t, d),
            other => panic!("{name} is no longer an integer counter: {other:?}"),
        }
    }

    fn gauge(&self, name: &str) -> f64 {
        match self.get(name).value {
            TrackedValue::Gauge(g) => g,
            ref other => panic!("{name} is not a gauge: {other:?}"),
        }
    }

    /// (total, delta) of a histogram.
    fn histogram(&self, name: &str) -> (&Histogram, &Histogram) {
        match &self.get(name).value {
            TrackedValue::Histogram { total, delta } => (total, delta),
            other => panic!("{name} is not a histogram: {other:?}"),
        }
    }

    fn rejected_total(&self) -> u64 {
        self.stats.rejected.iter().sum()
    }
}

fn counter(name: &str, v: u64) -> Sample {
    Sample::counter(name, v)
}

fn hist(bounds: &[f64], counts: &[u64], count: u64, sum: f64) -> Histogram {
    Histogram::from_parts(bounds.to_vec(), counts.to_vec(), count, sum)
}

fn assert_cumulative(h: &Histogram) {
    assert_eq!(h.counts().len(), h.bounds().len(), "{h:?}");
    assert!(h.counts().windows(2).all(|w| w[0] <= w[1]), "{h:?}");
    assert!(h.counts().iter().all(|&c| c <= h.count()), "{h:?}");
}

// ---------------------------------------------------------------------------------------
// Counters

#[test]
fn defaults_are_keep_and_ten_minutes() {
    let config = TrackerConfig::default();
    assert_eq!(config.initial, Initial::Keep);
    assert_eq!(config.max_staleness, Duration::from_secs(600));
}

#[test]
fn counter_delta_is_the_increase_and_total_the_sum_of_deltas() {
    let mut t = Harness::keep();
    // (raw, delta, total)
    let steps = [
        (10, 10, 10),
        (25, 15, 25),
        (25, 0, 25),
        (40, 15, 40),
        (1_040, 1_000, 1_040),
    ];
    let mut sum_of_deltas = 0;
    for (i, &(raw, delta, total)) in steps.iter().enumerate() {
        let c = t.cycle(i as u64 * 10, vec![counter("requests", raw)]);
        sum_of_deltas += c.int("requests").1;
        assert_eq!(c.int("requests"), (total, delta), "cycle {i}, raw {raw}");
        assert_eq!(sum_of_deltas, total);
        assert_eq!(c.stats.resets, 0);
        assert_eq!(c.stats.emitted, 1);
        assert_eq!(c.stats.new_series, usize::from(i == 0));
        assert_eq!(c.rejected_total(), 0);
    }
    assert_eq!(
        t.attach_calls("requests"),
        1,
        "attach is called once per series"
    );
    assert_eq!(t.tracker.len(), 1);
}

#[test]
fn a_lower_value_is_a_reset_whose_delta_is_the_new_value() {
    let mut t = Harness::keep();
    // (raw, delta, total, resets in this cycle)
    let steps = [
        (100, 100, 100, 0),
        (130, 30, 130, 0),
        (5, 5, 135, 1),
        (20, 15, 150, 0),
        (20, 0, 150, 0),
        (0, 0, 150, 1),
        (7, 7, 157, 0),
        (3, 3, 160, 1),
    ];
    let mut last_total = 0;
    for (i, &(raw, delta, total, resets)) in steps.iter().enumerate() {
        let c = t.cycle(i as u64 * 10, vec![counter("jobs", raw)]);
        assert_eq!(c.int("jobs"), (total, delta), "cycle {i}, raw {raw}");
        assert_eq!(c.stats.resets, resets, "cycle {i}, raw {raw}");
        assert!(total >= last_total, "the total never goes down");
        last_total = total;
        assert_eq!(c.stats.new_series, usize::from(i == 0));
    }
}

#[test]
fn first_sighting_with_keep_counts_the_first_value() {
    let mut t = Harness::new(Initial::Keep);
    let c = t.cycle(0, vec![counter("written", 500)]);
    assert_eq!(c.int("written"), (500, 500));
    assert_eq!(c.stats.new_series, 1);
    assert_eq!(c.stats.resets, 0);
    let c = t.cycle(10, vec![counter("written", 520)]);
    assert_eq!(c.int("written"), (520, 20));
}

#[test]
fn first_sighting_with_drop_only_sets_the_baseline() {
    let mut t = Harness::new(Initial::Drop);
    let c = t.cycle(0, vec![counter("written", 500)]);
    assert_eq!(c.int("written"), (0, 0));
    assert_eq!(c.stats.new_series, 1);
    let c = t.cycle(10, vec![counter("written", 520)]);
    assert_eq!(c.int("written"), (20, 20));
    // A reset after the baseline still counts the new value in full.
    let c = t.cycle(20, vec![counter("written", 3)]);
    assert_eq!(c.int("written"), (23, 3));
    assert_eq!(c.stats.resets, 1);

    // Float counters get a float zero.
    let c = t.cycle(30, vec![Sample::counter_f64("seconds", 2.5)]);
    assert_eq!(
        c.get("seconds").value,
        TrackedValue::Counter {
            total: Number::Float(0.0),
            delta: Number::Float(0.0)
        }
    );
    let c = t.cycle(40, vec![Sample::counter_f64("seconds", 3.75)]);
    assert_eq!(
        c.get("seconds").value,
        TrackedValue::Counter {
            total: Number::Float(1.25),
            delta: Number::Float(1.25)
        }
    );
}

#[test]
fn nan_negative_and_infinite_counters_are_rejected_without_poisoning() {
    let cases = [
        (f64::NAN, RejectReason::NotANumber),
        (-1.0, RejectReason::Negative),
        (-0.5, RejectReason::Negative),
        (-1e300, RejectReason::Negative),
        (f64::INFINITY, RejectReason::Infinite),
    ];
    for (bad, reason) in cases {
        let mut t = Harness::keep();
        assert_eq!(t.cycle(0, vec![counter("c", 10)]).int("c"), (10, 10));

        // The bad value is refused and counted; the series keeps its total, delta 0, and
        // stays an exact integer.
        let c = t.cycle(10, vec![Sample::counter_f64("c", bad)]);
        assert_eq!(c.int("c"), (10, 0), "{bad}");
        assert_eq!(c.stats.rejected(reason), 1, "{bad}");
        assert_eq!(c.rejected_total(), 1, "{bad}: only {reason:?}");
        assert_eq!(c.stats.resets, 0, "{bad}: a rejected value is not a reset");
        assert_eq!(c.stats.emitted, 1, "{bad}: the series is still exposed");
        assert_eq!(c.stats.new_series, 0);

        // The next good value continues from the last good one (10), not from `bad`.
        let c = t.cycle(20, vec![counter("c", 15)]);
        assert_eq!(c.int("c"), (15, 5), "{bad}");
        assert_eq!(c.rejected_total(), 0);
        assert_eq!(c.stats.resets, 0, "{bad}");

        // Two bad values in a row, then a lower good value: a reset from 15.
        assert_eq!(
            t.cycle(30, vec![Sample::counter_f64("c", bad)]).int("c"),
            (15, 0)
        );
        assert_eq!(
            t.cycle(40, vec![Sample::counter_f64("c", bad)]).int("c"),
            (15, 0)
        );
        let c = t.cycle(50, vec![counter("c", 4)]);
        assert_eq!(c.int("c"), (19, 4), "{bad}");
        assert_eq!(c.stats.resets, 1, "{bad}");
        assert_eq!(t.attach_calls("c"), 1, "{bad}: still the same series");
    }
}

#[test]
fn negative_infinity_is_rejected() {
    let mut t = Harness::keep();
    t.cycle(0, vec![counter("c", 10)]);
    let c = t.cycle(10, vec![Sample::counter_f64("c", f64::NEG_INFINITY)]);
    assert_eq!(c.int("c"), (10, 0));
    assert_eq!(
        c.stats.rejected(RejectReason::Infinite) + c.stats.rejected(RejectReason::Negative),
        1
    );
    assert_eq!(c.rejected_total(), 1);
    assert_eq!(t.cycle(20, vec![counter("c", 11)]).int("c"), (11, 1));
}

#[test]
fn rejected_values_on_a_float_counter_keep_its_total() {
    let mut t = Harness::keep();
    t.cycle(0, vec![Sample::counter_f64("s", 1.5)]);
    let c = t.cycle(10, vec![Sample::counter_f64("s", f64::NAN)]);
    assert_eq!(c.counter("s"), (Number::Float(1.5), Number::Float(0.0)));
    assert_eq!(c.stats.rejected(RejectReason::NotANumber), 1);
    let c = t.cycle(20, vec![Sample::counter_f64("s", 2.0)]);
    assert_eq!(c.counter("s"), (Number::Float(2.0), Number::Float(0.5)));
}

#[test]
fn a_rejected_first_value_creates_no_series() {
    for (bad, reason) in [
        (f64::NAN, RejectReason::NotANumber),
        (-3.0, RejectReason::Negative),
        (f64::INFINITY, RejectReason::Infinite),
    ] {
        let mut t = Harness::keep();
        let c = t.cycle(0, vec![Sample::counter_f64("c", bad)]);
        assert!(c.out.is_empty(), "{bad}");
        assert_eq!(c.stats.rejected(reason), 1);
        assert_eq!(c.stats.new_series, 0);
        assert_eq!(c.stats.declined, 0);
        assert_eq!(
            t.attach_calls("c"),
            0,
            "attach is not asked about a rejected value"
        );
        assert!(t.tracker.is_empty());
        // The first good value is the first sighting.
        let c = t.cycle(10, vec![counter("c", 7)]);
        assert_eq!(c.int("c"), (7, 7));
        assert_eq!(c.stats.new_series, 1);
        // Absent (rejected) at the snapshot of 0 s, counted by 10 s: it started in between.
        assert_eq!(c.get("c").start, at(0));
    }
}

#[test]
fn negative_zero_counts_as_zero() {
    let mut t = Harness::keep();
    let c = t.cycle(0, vec![Sample::counter_f64("c", -0.0)]);
    assert_eq!(c.rejected_total(), 0);
    let (total, delta) = c.counter("c");
    for n in [total, delta] {
        let Number::Float(f) = n else { panic!("{n:?}") };
        assert!(
            f == 0.0 && f.is_sign_positive(),
            "-0.0 must export as 0, got {f:?}"
        );
    }
}

#[test]
fn u64_counters_stay_exact_near_2_pow_63() {
    let base = 1u64 << 63;
    // The premise: these values do not survive a trip through f64.
    assert_ne!((base + 1) as f64 as u64, base + 1);
    assert_eq!((base + 1) as f64, (base + 2) as f64);

    let mut t = Harness::keep();
    assert_eq!(
        t.cycle(0, vec![counter("big", base + 1)]).int("big"),
        (base + 1, base + 1)
    );
    assert_eq!(
        t.cycle(10, vec![counter("big", base + 2)]).int("big"),
        (base + 2, 1)
    );
    assert_eq!(
        t.cycle(20, vec![counter("big", base + 1_000_003)])
            .int("big"),
        (base + 1_000_003, 1_000_001)
    );
    // A reset to a small value: delta is that value, the total stays exact.
    let c = t.cycle(30, vec![counter("big", 5)]);
    assert_eq!(c.int("big"), (base + 1_000_008, 5));
    assert_eq!(c.stats.resets, 1);
}

#[test]
fn u64_counters_stay_exact_up_to_u64_max() {
    let mut t = Harness::new(Initial::Drop);
    assert_eq!(
        t.cycle(0, vec![counter("c", u64::MAX - 10)]).int("c"),
        (0, 0)
    );
    assert_eq!(
        t.cycle(10, vec![counter("c", u64::MAX - 3)]).int("c"),
        (7, 7)
    );
    assert_eq!(t.cycle(20, vec![counter("c", u64::MAX)]).int("c"), (10, 3));

    let mut t = Harness::keep();
    assert_eq!(
        t.cycle(0, vec![counter("c", u64::MAX - 1)]).int("c"),
        (u64::MAX - 1, u64::MAX - 1)
    );
    assert_eq!(
        t.cycle(10, vec![counter("c", u64::MAX)]).int("c"),
        (u64::MAX, 1)
    );
    // The total cannot stay an integer past u64::MAX; it still must not go down.
    let c = t.cycle(20, vec![counter("c", 5)]);
    let (total, delta) = c.counter("c");
    assert_eq!(delta, Number::Int(5));
    assert!(total.as_f64() >= u64::MAX as f64, "{total:?}");
    assert_eq!(c.stats.resets, 1);
}

#[test]
fn float_counters() {
    let mut t = Harness::keep();
    // (raw, delta, total, resets); all exact in binary.
    let steps = [
        (1.5, 1.5, 1.5, 0),
        (2.25, 0.75, 2.25, 0),
        (2.25, 0.0, 2.25, 0),
        (0.5, 0.5, 2.75, 1),
        (1.0, 0.5, 3.25, 0),
    ];
    for (i, &(raw, delta, total, resets)) in steps.iter().enumerate() {
        let c = t.cycle(i as u64 * 10, vec![Sample::counter_f64("cpu_seconds", raw)]);
        assert_eq!(
            c.counter("cpu_seconds"),
            (Number::Float(total), Number::Float(delta)),
            "cycle {i}, raw {raw}"
        );
        assert_eq!(c.stats.resets, resets, "cycle {i}, raw {raw}");
    }
}

#[test]
fn a_counter_may_switch_between_integer_and_float_values() {
    let mut t = Harness::keep();
    t.cycle(0, vec![counter("c", 10)]);
    let (total, delta) = t
        .cycle(10, vec![Sample::counter_f64("c", 12.5)])
        .counter("c");
    assert_eq!((total.as_f64(), delta.as_f64()), (12.5, 2.5));
    let (total, delta) = t.cycle(20, vec![counter("c", 13)]).counter("c");
    assert_eq!((total.as_f64(), delta.as_f64()), (13.0, 0.5));
    let c = t.cycle(30, vec![Sample::counter_f64("c", 2.0)]);
    let (total, delta) = c.counter("c");
    assert_eq!((total.as_f64(), delta.as_f64()), (15.0, 2.0));
    assert_eq!(c.stats.resets, 1);
}

// ---------------------------------------------------------------------------------------
// Gauges

#[test]
fn gauges_pass_through_as_observed() {
    let mut t = Harness::keep();
    let values = [
        3.5,
        -2.0,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        1e300,
        -0.25,
    ];
    for (i, &v) in values.iter().enumerate() {
        let c = t.cycle(i as u64 * 10, vec![Sample::gauge("queue_size", v)]);
        let g = c.gauge("queue_size");
        assert!(g == v || (g.is_nan() && v.is_nan()), "{v} exported as {g}");
        assert_eq!(c.rejected_total(), 0, "gauges are never rejected ({v})");
        assert_eq!(c.stats.resets, 0, "a gauge going down is no reset ({v})");
        assert_eq!(c.stats.emitted, 1);
        assert_eq!(c.get("queue_size").start, at(0));
    }
    assert_eq!(t.attach_calls("queue_size"), 1);
}

#[test]
fn untyped_values_are_tracked_as_gauges() {
    let mut t = Harness::keep();
    let c = t.cycle(
        0,
        vec![
            Sample::untyped("in_progress", 7u64),
            Sample::untyped("temp", -3.5),
        ],
    );
    assert_eq!(c.gauge("in_progress"), 7.0);
    assert_eq!(c.gauge("temp"), -3.5);
    assert_eq!(c.rejected_total(), 0);
    let c = t.cycle(10, vec![Sample::untyped("in_progress", 2u64)]);
    assert_eq!(c.gauge("in_progress"), 2.0);
    assert_eq!(c.stats.resets, 0);
    assert!(t.attached.iter().all(|(_, kind)| *kind == Kind::Gauge));
}

// ---------------------------------------------------------------------------------------
// Histograms

#[test]
fn histogram_deltas_per_bucket_count_and_sum() {
    let b = [1.0, 5.0];
    let mut t = Harness::keep();

    let h1 = hist(&b, &[2, 3], 4, 10.0);
    let c = t.cycle(0, vec![Sample::histogram("latency", h1.clone())]);
    assert_eq!(c.histogram("latency"), (&h1, &h1));
    assert_eq!(c.stats.new_series, 1);

    let c = t.cycle(
        10,
        vec![Sample::histogram("latency", hist(&b, &[3, 5], 7, 16.0))],
    );
    let (total, delta) = c.histogram("latency");
    assert_eq!(delta, &hist(&b, &[1, 2], 3, 6.0));
    assert_eq!(total, &hist(&b, &[3, 5], 7, 16.0));
    assert_eq!(c.stats.resets, 0);

    let c = t.cycle(
        20,
        vec![Sample::histogram("latency", hist(&b, &[3, 5], 7, 16.0))],
    );
    let (total, delta) = c.histogram("latency");
    assert_eq!(delta, &hist(&b, &[0, 0], 0, 0.0));
    assert_eq!(total, &hist(&b, &[3, 5], 7, 16.0));

    // The count went down: a reset, the delta is the new histogram.
    let h4 = hist(&b, &[1, 1], 1, 0.5);
    let c = t.cycle(30, vec![Sample::histogram("latency", h4.clone())]);
    let (total, delta) = c.histogram("latency");
    assert_eq!(c.stats.resets, 1);
    assert_eq!(delta, &h4);
    assert_eq!(total, &hist(&b, &[4, 6], 8, 16.5));

    // Only a bucket went down (the count rose): also a reset.
    let h5 = hist(&b, &[0, 2], 2, 3.0);
    let c = t.cycle(40, vec![Sample::histogram("latency", h5.clone())]);
    let (total, delta) = c.histogram("latency");
    assert_eq!(c.stats.resets, 1);
    assert_eq!(delta, &h5);
    assert_eq!(total, &hist(&b, &[4, 8], 10, 19.5));

    // And it continues from there.
    let c = t.cycle(
        50,
        vec![Sample::histogram("latency", hist(&b, &[1, 3], 4, 5.5))],
    );
    let (total, delta) = c.histogram("latency");
    assert_eq!(c.stats.resets, 0);
    assert_eq!(delta, &hist(&b, &[1, 1], 2, 2.5));
    assert_eq!(total, &hist(&b, &[5, 9], 12, 22.0));
    assert_eq!(c.get("latency").start, first_pull(0));
    assert_eq!(t.attach_calls("latency"), 1);
}

#[test]
fn histogram_with_drop_starts_from_zero() {
    let b = [0.5, 2.0];
    let mut t = Harness::new(Initial::Drop);
    let c = t.cycle(0, vec![Sample::histogram("h", hist(&b, &[4, 9], 10, 12.0))]);
    let zero = hist(&b, &[0, 0], 0, 0.0);
    assert_eq!(c.histogram("h"), (&zero, &zero));
    let c = t.cycle(
        10,
        vec![Sample::histogram("h", hist(&b, &[5, 11], 13, 15.5))],
    );
    let (total, delta) = c.histogram("h");
    assert_eq!(delta, &hist(&b, &[1, 2], 3, 3.5));
    assert_eq!(total, &hist(&b, &[1, 2], 3, 3.5));
}

#[test]
fn a_change_of_bucket_bounds_is_a_reset_and_count_and_sum_do_not_go_down() {
    let old = [1.0, 5.0];
    // Before the change the source held 7 observations (more than after it) or 1 (fewer:
    // then neither the count, the sum nor any bucket it shares with the new layout goes
    // down, and only the bounds tell the reset).
    let befores = [hist(&old, &[3, 5], 7, 16.0), hist(&old, &[0, 1], 1, 2.0)];
    for before in befores {
        for new_bounds in [vec![1.0, 2.0, 5.0], vec![2.0, 5.0], vec![1.0]] {
            let case = format!("{before:?} -> bounds {new_bounds:?}");
            let mut t = Harness::keep();
            t.cycle(0, vec![Sample::histogram("h", before.clone())]);
            let c = t.cycle(10, vec![Sample::histogram("h", before.clone())]);
            assert_eq!(c.histogram("h").0, &before);

            // The source changed its buckets; its new histogram holds 2 observations.
            let n = new_bounds.len();
            let counts: Vec<u64> = (0..n).map(|i| if i + 1 == n { 2 } else { 1 }).collect();
            let h3 = hist(&new_bounds, &counts, 2, 3.0);
            let c = t.cycle(20, vec![Sample::histogram("h", h3.clone())]);
            assert_eq!(c.stats.resets, 1, "{case}");
            let (total, delta) = c.histogram("h");
            assert_eq!(delta, &h3, "{case}: the delta is the whole new histogram");
            assert_eq!(
                total.count(),
                before.count() + 2,
                "{case}: the count total goes on"
            );
            assert_eq!(
                total.sum(),
                before.sum() + 3.0,
                "{case}: the sum total goes on"
            );
            assert_eq!(total.bounds(), new_bounds, "{case}");
            assert_cumulative(total);
            let after_change = total.clone();

            // The next cycle is an ordinary increase on the new bounds.
            let counts4: Vec<u64> = counts.iter().map(|c| c + 1).collect();
            let c = t.cycle(
                30,
                vec![Sample::histogram("h", hist(&new_bounds, &counts4, 4, 7.0))],
            );
            assert_eq!(c.stats.resets, 0, "{case}");
            let (total, delta) = c.histogram("h");
            assert_eq!(delta, &hist(&new_bounds, &vec![1; n], 2, 4.0), "{case}");
            assert_eq!(total.count(), before.count() + 4, "{case}");
            assert_eq!(total.sum(), before.sum() + 7.0, "{case}");
            assert_eq!(total.bounds(), new_bounds, "{case}");
            let summed: Vec<u64> = after_change.counts().iter().map(|c| c + 1).collect();
            assert_eq!(total.counts(), summed, "{case}");
            assert_cumulative(total);
            assert_eq!(
                c.get("h").start,
                first_pull(0),
                "{case}: a bounds change does not restart the series"
            );
        }
    }
}

#[test]
fn invalid_histograms_are_rejected_and_do_not_poison() {
    let b = [1.0, 5.0];
    let invalid = [
        ("counts and bounds differ in length", hist(&b, &[1], 1, 1.0)),
        ("bounds decrease", hist(&[5.0, 1.0], &[1, 1], 1, 1.0)),
        ("bounds repeat", hist(&[1.0, 1.0], &[1, 1], 1, 1.0)),
        (
            "infinite bound",
            hist(&[1.0, f64::INFINITY], &[1, 1], 1, 1.0),
        ),
        ("NaN bound", hist(&[f64::NAN, 5.0], &[1, 1], 1, 1.0)),
        ("counts not cumulative", hist(&b, &[3, 2], 3, 1.0)),
        ("bucket above count", hist(&b, &[1, 5], 4, 1.0)),
        ("NaN sum", hist(&b, &[1, 1], 1, f64::NAN)),
    ];
    for (why, bad) in invalid {
        // As a first sighting: nothing is tracked.
        let mut t = Harness::keep();
        let c = t.cycle(0, vec![Sample::histogram("h", bad.clone())]);
        assert!(c.out.is_empty(), "{why}");
        assert_eq!(c.stats.rejected(RejectReason::InvalidHistogram), 1, "{why}");
        assert_eq!(c.rejected_total(), 1, "{why}");
        assert!(t.tracker.is_empty(), "{why}");

        // On a live series: the total stays, the delta is empty, the next valid value
        // continues from the last valid one.
        let mut t = Harness::keep();
        let h1 = hist(&b, &[1, 2], 3, 4.0);
        t.cycle(0, vec![Sample::histogram("h", h1.clone())]);
        let c = t.cycle(10, vec![Sample::histogram("h", bad.clone())]);
        assert_eq!(c.stats.rejected(RejectReason::InvalidHistogram), 1, "{why}");
        assert_eq!(c.rejected_total(), 1, "{why}");
        assert_eq!(c.stats.resets, 0, "{why}");
        let (total, delta) = c.histogram("h");
        assert_eq!(total, &h1, "{why}");
        assert_eq!(delta.count(), 0, "{why}");
        assert_eq!(delta.sum(), 0.0, "{why}");
        assert!(delta.counts().iter().all(|&c| c == 0), "{why}");
        assert_eq!(delta.bounds(), b, "{why}");

        let c = t.cycle(20, vec![Sample::histogram("h", hist(&b, &[2, 3], 4, 6.0))]);
        assert_eq!(c.stats.resets, 0, "{why}");
        assert_eq!(c.rejected_total(), 0, "{why}");
        let (total, delta) = c.histogram("h");
        assert_eq!(delta, &hist(&b, &[1, 1], 1, 2.0), "{why}");
        assert_eq!(total, &hist(&b, &[2, 3], 4, 6.0), "{why}");
    }
}

/// A restart that re-observes smaller values: neither the count nor any cumulative bucket
/// goes down, but the buckets below moved up while the top one lost observations
/// (per bucket: 0,0,0,3,0 then 3,0,0,0,0). No real increase looks like that: it is a reset,
/// and the exported delta and total must stay histograms (each bucket <= next <= count).
#[test]
fn a_restart_that_moves_observations_to_lower_buckets_is_a_reset() {
    let b = vec![0.5, 1.0, 5.0, 10.0];
    let h1 = Histogram::from_observations(b.clone(), &[5.25, 5.25, 5.25]);
    let h2 = Histogram::from_observations(b.clone(), &[0.0, 0.0, 0.0]);
    assert_eq!((h1.counts(), h1.count()), (&[0, 0, 0, 3][..], 3));
    assert_eq!((h2.counts(), h2.count()), (&[3, 3, 3, 3][..], 3));
    for (initial, count_total) in [(Initial::Keep, 6), (Initial::Drop, 3)] {
        let mut t = Harness::new(initial);
        t.cycle(0, vec![Sample::histogram("h", h1.clone())]);
        let c = t.cycle(10, vec![Sample::histogram("h", h2.clone())]);
        let (total, delta) = c.histogram("h");
        assert_cumulative(delta);
        assert_cumulative(total);
        assert_eq!(c.stats.resets, 1, "{initial:?}");
        assert_eq!(delta, &h2, "{initial:?}");
        assert_eq!(total.count(), count_total, "{initial:?}");
    }
}

/// Negative observations are legal: the sum goes down while the counts rise. A reset is
/// decided by the count and the buckets, never by the sum, so counts 2, 3, 4 export as
/// 2, 3, 4 (not 2, 5, 9) and the sum total follows the source's sum.
#[test]
fn a_histogram_sum_going_down_is_not_a_reset() {
    let b = vec![0.0, 1.0];
    let h1 = Histogram::from_observations(b.clone(), &[-0.5, 0.5]);
    let h2 = Histogram::from_observations(b.clone(), &[-0.5, 0.5, -2.0]);
    let h3 = Histogram::from_observations(b.clone(), &[-0.5, 0.5, -2.0, -4.0]);
    let mut t = Harness::keep();
    let mut counts = Vec::new();
    for (i, h) in [&h1, &h2, &h3].into_iter().enumerate() {
        let c = t.cycle(i as u64 * 10, vec![Sample::histogram("h", h.clone())]);
        assert_eq!(c.stats.resets, 0, "cycle {i}");
        let (total, _) = c.histogram("h");
        assert_eq!(total, h, "cycle {i}: the totals are the source's own");
        counts.push(total.count());
    }
    assert_eq!(counts, [2, 3, 4]);
}

/// A histogram whose sum is infinite (an observation of +Inf, or an overflow) must not turn
/// the exported sum into NaN: either it is rejected like an infinite counter value, or the
/// sum total stays a number. NaN must never reach the total ("they never poison the total").
#[test]
fn an_infinite_histogram_sum_never_makes_the_sum_total_nan() {
    for inf in [f64::INFINITY, f64::NEG_INFINITY] {
        let b = [1.0];
        let mut t = Harness::keep();
        let steps = [
            hist(&b, &[1], 1, 0.5),
            hist(&b, &[1], 2, inf),
            hist(&b, &[1], 2, inf),
            hist(&b, &[2], 3, inf),
            // A restart with finite values: the sum total must not stay NaN forever.
            hist(&b, &[1], 1, 0.25),
            hist(&b, &[2], 2, 0.5),
        ];
        for (i, h) in steps.into_iter().enumerate() {
            let c = t.cycle(i as u64 * 10, vec![Sample::histogram("h", h)]);
            let (total, delta) = c.histogram("h");
            assert!(
                !total.sum().is_nan() && !delta.sum().is_nan(),
                "sum {inf}, cycle {i}: total {total:?}, delta {delta:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Identity: duplicates, kind changes, labels

#[test]
fn a_duplicate_in_one_snapshot_is_rejected_and_the_first_kept() {
    let mut t = Harness::keep();
    let c = t.cycle(0, vec![counter("c", 10), counter("c", 99)]);
    assert_eq!(c.out.len(), 1);
    assert_eq!(c.int("c"), (10, 10));
    assert_eq!(c.stats.rejected(RejectReason::Duplicate), 1);
    assert_eq!(c.rejected_total(), 1);
    assert_eq!(c.stats.new_series, 1);

    // 99 was never the baseline: 15 is an increase of 5, not a reset.
    let c = t.cycle(10, vec![counter("c", 15)]);
    assert_eq!(c.int("c"), (15, 5));
    assert_eq!(c.stats.resets, 0);

    let c = t.cycle(
        20,
        vec![counter("c", 20), counter("c", 1), counter("c", 30)],
    );
    assert_eq!(c.int("c"), (20, 5));
    assert_eq!(c.stats.rejected(RejectReason::Duplicate), 2);
    assert_eq!(c.stats.resets, 0);

    let c = t.cycle(30, vec![counter("c", 25)]);
    assert_eq!(c.int("c"), (25, 5));
    assert_eq!(c.stats.resets, 0);
    assert_eq!(t.attach_calls("c"), 1);
}

#[test]
fn series_identity_is_name_and_label_set_in_any_order() {
    let ab = |v| counter("c", v).with_label("a", "1").with_label("b", "2");
    let ba = |v| counter("c", v).with_label("b", "2").with_label("a", "1");
    let other = |v| counter("c", v).with_label("a", "1").with_label("b", "3");
    let key = ab(0).key;
    let mut t = Harness::keep();
    let c = t.cycle(0, vec![ab(10), ba(50), other(7)]);
    assert_eq!(c.out.len(), 2);
    assert_eq!(c.stats.rejected(RejectReason::Duplicate), 1);
    assert_eq!(
        c.get_key(&key).value,
        TrackedValue::Counter {
            total: Number::Int(10),
            delta: Number::Int(10)
        }
    );
    // Written the other way round, it is the same series.
    let c = t.cycle(10, vec![other(8), ba(12)]);
    assert_eq!(
        c.get_key(&key).value,
        TrackedValue::Counter {
            total: Number::Int(12),
            delta: Number::Int(2)
        }
    );
    assert_eq!(
        c.get_key(&other(0).key).value,
        TrackedValue::Counter {
            total: Number::Int(8),
            delta: Number::Int(1)
        }
    );
    assert_eq!(c.stats.new_series, 0);
}

#[test]
fn a_duplicate_of_another_kind_is_still_a_duplicate() {
    let mut t = Harness::keep();
    let c = t.cycle(0, vec![counter("c", 10), Sample::gauge("c", 3.0)]);
    assert_eq!(c.out.len(), 1);
    assert_eq!(c.int("c"), (10, 10));
    assert_eq!(c.stats.rejected(RejectReason::Duplicate), 1);
    let c = t.cycle(10, vec![counter("c", 12)]);
    assert_eq!(c.int("c"), (12, 2));
    assert_eq!(c.stats.new_series, 0);
}

#[test]
fn a_kind_change_makes_a_new_series() {
    let mut t = Harness::keep();
    assert_eq!(t.cycle(0, vec![counter("c", 100)]).int("c"), (100, 100));
    assert_eq!(t.cycle(10, vec![counter("c", 150)]).int("c"), (150, 50));

    let c = t.cycle(20, vec![Sample::gauge("c", 5.0)]);
    assert_eq!(c.gauge("c"), 5.0);
    assert_eq!(c.stats.new_series, 1);
    assert_eq!(c.stats.resets, 0);
    assert_eq!(c.get("c").start, at(20));

    // Back to a counter: a new counter from scratch, not a reset of the old 150.
    let c = t.cycle(30, vec![counter("c", 40)]);
    assert_eq!(c.int("c"), (40, 40));
    assert_eq!(c.stats.new_series, 1);
    assert_eq!(c.stats.resets, 0);
    // A counter again: new, born after the previous snapshot (20 s).
    assert_eq!(c.get("c").start, at(20));
    let c = t.cycle(40, vec![counter("c", 45)]);
    assert_eq!(c.int("c"), (45, 5));
    assert_eq!(c.stats.new_series, 0);

    // To a histogram.
    let h = hist(&[1.0], &[1], 2, 3.0);
    let c = t.cycle(50, vec![Sample::histogram("c", h.clone())]);
    assert_eq!(c.histogram("c"), (&h, &h));
    assert_eq!(c.stats.new_series, 1);
    assert_eq!(c.get("c").start, at(40));

    let kinds: Vec<Kind> = t.attached.iter().map(|(_, k)| *k).collect();
    assert_eq!(
        kinds,
        [Kind::Counter, Kind::Gauge, Kind::Counter, Kind::Histogram]
    );
    assert_eq!(t.tracker.len(), 1, "one key, one state");
}

// ---------------------------------------------------------------------------------------
// Staleness

#[test]
fn an_absent_series_is_not_emitted_and_continues_when_back() {
    let mut t = Harness::keep();
    let c = t.cycle(0, vec![counter("a", 10), counter("b", 1)]);
    assert_eq!(c.int("a"), (10, 10));

    let c = t.cycle(60, vec![counter("b", 2)]);
    assert!(!c.has("a"));
    assert_eq!(c.out.len(), 1);
    assert_eq!(c.stats.emitted, 1);

    let c = t.cycle(120, vec![]);
    assert!(c.out.is_empty());
    assert_eq!(t.tracker.len(), 2, "state kept while absent");

    let c = t.cycle(300, vec![counter("a", 25), counter("b", 3)]);
    assert_eq!(c.int("a"), (25, 15), "no double counting");
    assert_eq!(c.int("b"), (3, 1));
    assert_eq!(c.stats.new_series, 0);
    assert_eq!(c.stats.resets, 0);
    assert_eq!(c.get("a").start, first_pull(0));
    assert_eq!(t.attach_calls("a"), 1);
}

#[test]
fn a_series_that_reset_while_away_comes_back_with_its_new_value_as_delta() {
    let mut t = Harness::keep();
    t.cycle(0, vec![counter("a", 100), counter("b", 1)]);
    t.cycle(60, vec![counter("b", 1)]);
    let c = t.cycle(120, vec![counter("a", 30), counter("b", 1)]);
    assert_eq!(c.int("a"), (130, 30));
    assert_eq!(c.stats.resets, 1);
    assert_eq!(c.stats.new_series, 0);
    assert_eq!(c.get("a").start, first_pull(0));

    // A restart that has already counted past the old value cannot be seen (the same
    // holds for Prometheus' rate()): it looks like an increase.
    t.cycle(180, vec![counter("b", 1)]);
    let c = t.cycle(240, vec![counter("a", 170), counter("b", 1)]);
    assert_eq!(c.int("a"), (270, 140));
    assert_eq!(c.stats.resets, 0);
}

#[test]
fn state_survives_just_under_max_staleness() {
    let mut t = Harness::keep();
    t.cycle(0, vec![counter("a", 10), counter("b", 0)]);
    for s in (10..=590).step_by(10) {
        t.cycle(s, vec![counter("b", 0)]);
    }
    // Also when the source failed: no observe, only expire.
    assert_eq!(t.tracker.expire(at(595)), 0);
    assert_eq!(t.tracker.expire(at(599)), 0);
    assert_eq!(t.tracker.len(), 2);
    let c = t.cycle(599, vec![counter("a", 12), counter("b", 0)]);
    assert_eq!(c.int("a"), (12, 2));
    assert_eq!(c.stats.new_series, 0);
    assert_eq!(c.get("a").start, first_pull(0));
}

#[test]
fn state_survives_failed_snapshots_within_max_staleness() {
    let mut t = Harness::keep();
    t.cycle(0, vec![counter("a", 10)]);
    for s in (10..=550).step_by(10) {
        // A failed snapshot: the exporter does not call observe but still calls expire.
        assert_eq!(t.tracker.expire(at(s)), 0, "at {s}");
    }
    let c = t.cycle(560, vec![counter("a", 20)]);
    assert_eq!(c.int("a"), (20, 10));
    assert_eq!(c.stats.new_series, 0);
}

#[test]
fn after_max_staleness_the_state_is_gone_and_the_series_is_new() {
    for initial in [Initial::Keep, Initial::Drop] {
        let mut t = Harness::new(initial);
        t.cycle(0, vec![counter("a", 100), counter("b", 0)]);
        let mut left = 0;
        let mut gone_at = None;
        // expire is called every cycle; it sweeps every max_staleness / 8 at most, so the
        // state of "a" must be gone between 600 s and 600 + 75 s (+ one cycle).
        for s in (10..=800).step_by(10) {
            t.cycle(s, vec![counter("b", 0)]);
            left = t.tracker.len();
            if left == 1 && gone_at.is_none() {
                gone_at = Some(s);
            }
        }
        assert_eq!(left, 1, "only b is left");
        let gone_at = gone_at.unwrap();
        assert!(
            (601..=685).contains(&gone_at),
            "state of a dropped at {gone_at} s"
        );

        // It comes back as a new series: first-sighting rule, new start time.
        let c = t.cycle(900, vec![counter("a", 100), counter("b", 0)]);
        let expected = match initial {
            Initial::Keep => (100, 100),
            Initial::Drop => (0, 0),
        };
        assert_eq!(c.int("a"), expected, "{initial:?}");
        assert_eq!(c.stats.new_series, 1);
        assert_eq!(c.stats.resets, 0);
        let born = match initial {
            Initial::Keep => at(800), // the previous snapshot, where it was absent
            Initial::Drop => at(900), // the baseline is set now
        };
        assert_eq!(c.get("a").start, born);
        assert_eq!(t.attach_calls("a"), 2);
        // "b" was never absent: untouched.
        let b_born = match initial {
            Initial::Keep => first_pull(0),
            Initial::Drop => at(0),
        };
        assert_eq!(c.get("b").start, b_born);
    }
}

#[test]
fn expire_returns_how_many_series_it_dropped() {
    let mut t = Harness::keep();
    t.cycle(0, vec![counter("a", 1), counter("b", 1), counter("c", 1)]);
    let mut tracker = t.tracker;
    assert_eq!(tracker.expire(at(1_000)), 3);
    assert!(tracker.is_empty());
}

#[test]
fn expiring_some_series_leaves_the_others_exact() {
    // Drop the first and the last of five series (positions move inside the tracker), then
    // feed the survivors in a new order.
    let mut t = Harness::keep();
    let names = ["a", "b", "c", "d", "e"];
    let c = t.cycle(0, names.iter().map(|n| counter(n, 10)).collect());
    assert_eq!(c.out.len(), 5);
    let mut now = 0;
    for v in 1..=80u64 {
        now += 10;
        let c = t.cycle(
            now,
            vec![
                counter("b", 10 + v),
                counter("c", 10 + 2 * v),
                counter("d", 10),
            ],
        );
        assert_eq!(c.out.len(), 3);
    }
    assert_eq!(t.tracker.len(), 3, "a and e expired");
    let c = t.cycle(
        now + 10,
        vec![
            counter("e", 4),
            counter("d", 11),
            counter("c", 200),
            counter("a", 3),
            counter("b", 100),
        ],
    );
    assert_eq!(c.int("b"), (100, 10));
    assert_eq!(c.int("c"), (200, 30));
    assert_eq!(c.int("d"), (11, 1));
    assert_eq!(c.int("a"), (3, 3));
    assert_eq!(c.int("e"), (4, 4));
    assert_eq!(c.stats.new_series, 2);
    assert_eq!(c.stats.resets, 0);
    let order: Vec<&str> = c.out.iter().map(|p| p.meta.name.as_str()).collect();
    assert_eq!(
        order,
        ["e", "d", "c", "a", "b"],
        "emitted in snapshot order"
    );
    // And once more in yet another order.
    let c = t.cycle(
        now + 20,
        vec![
            counter("b", 101),
            counter("a", 5),
            counter("e", 4),
            counter("c", 201),
            counter("d", 11),
        ],
    );
    assert_eq!(c.int("a"), (5, 2));
    assert_eq!(c.int("b"), (101, 1));
    assert_eq!(c.int("c"), (201, 1));
    assert_eq!(c.int("d"), (11, 0));
    assert_eq!(c.int("e"), (4, 0));
}

// ---------------------------------------------------------------------------------------
// attach, start time, order

#[test]
fn attach_returning_none_declines_a_series() {
    let mut tracker: DeltaTracker = DeltaTracker::new(TrackerConfig::default());
    let mut asked: Vec<String> = Vec::new();
    let mut cycle = |tracker: &mut DeltaTracker, secs, accept_all: bool, samples| {
        let mut out = Vec::new();
        let stats = tracker.observe(
            at(secs),
            samples,
            |info| {
                asked.push(info.key.name.clone());
                (accept_all || !info.key.name.starts_with("deny")).then(|| info.key.clone())
            },
            &mut out,
        );
        (out, stats)
    };
    let snap = |d| vec![counter("a", 1), counter("deny_me", d), counter("b", 2)];

    let (out, stats) = cycle(&mut tracker, 0, false, snap(5));
    let names: Vec<&str> = out.iter().map(|p| p.meta.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(stats.declined, 1);
    assert_eq!(stats.new_series, 2);
    assert_eq!(stats.emitted, 2);
    assert_eq!(tracker.len(), 2);

    // Still declined next cycle (attach is asked again: the series has no state).
    let (out, stats) = cycle(&mut tracker, 10, false, snap(7));
    assert_eq!(out.len(), 2);
    assert_eq!(stats.declined, 1);
    assert_eq!(stats.new_series, 0);

    // Accepted later: a first sighting then.
    let (out, stats) = cycle(&mut tracker, 20, true, snap(9));
    assert_eq!(stats.declined, 0);
    assert_eq!(stats.new_series, 1);
    let p = out.iter().find(|p| p.meta.name == "deny_me").unwrap();
    assert_eq!(
        p.value,
        TrackedValue::Counter {
            total: Number::Int(9),
            delta: Number::Int(9)
        }
    );
    assert_eq!(p.start, at(10), "born after the previous snapshot");
    assert_eq!(asked, ["a", "deny_me", "b", "deny_me", "deny_me"]);
}

#[test]
fn attach_is_told_kind_unit_and_description() {
    let mut tracker: DeltaTracker<(Kind, Option<String>, Option<String>)> =
        DeltaTracker::new(TrackerConfig::default());
    let mut out = Vec::new();
    tracker.observe(
        at(0),
        vec![
            counter("bytes", 1)
                .with_unit("By")
                .with_description("Bytes written"),
            Sample::gauge("queue", 1.0),
        ],
        |info| {
            Some((
                info.kind,
                info.unit.map(str::to_owned),
                info.description.map(str::to_owned),
            ))
        },
        &mut out,
    );
    assert_eq!(
        out[0].meta,
        (
            Kind::Counter,
            Some("By".to_owned()),
            Some("Bytes written".to_owned())
        )
    );
    assert_eq!(out[1].meta, (Kind::Gauge, None, None));
}

#[test]
fn start_time_stays_fixed_while_a_series_lives() {
    let mut t = Harness::keep();
    let a_at = |c: &Cycle| c.get("a").start;
    let born = first_pull(100);
    assert_eq!(a_at(&t.cycle(100, vec![counter("a", 5)])), born);
    assert_eq!(a_at(&t.cycle(110, vec![counter("a", 9)])), born);
    let c = t.cycle(120, vec![counter("a", 1), counter("b", 1)]);
    assert_eq!(c.stats.resets, 1);
    assert_eq!(a_at(&c), born, "a reset does not restart the series");
    assert_eq!(c.get("b").start, at(110));
    let c = t.cycle(130, vec![Sample::counter_f64("a", f64::NAN)]);
    assert_eq!(a_at(&c), born);
    t.cycle(140, vec![counter("b", 2)]);
    let c = t.cycle(150, vec![counter("a", 2), counter("b", 3)]);
    assert_eq!(a_at(&c), born, "an absence does not restart the series");
    assert_eq!(c.get("b").start, at(110));
    assert_eq!(c.int("a"), (11, 1));
}

#[test]
fn series_are_independent_and_emitted_in_snapshot_order() {
    let mut t = Harness::keep();
    let c = t.cycle(
        0,
        vec![counter("x", 1), Sample::gauge("g", 2.0), counter("y", 100)],
    );
    let order: Vec<&str> = c.out.iter().map(|p| p.meta.name.as_str()).collect();
    assert_eq!(order, ["x", "g", "y"]);
    let c = t.cycle(
        10,
        vec![counter("y", 50), counter("x", 4), Sample::gauge("g", -1.0)],
    );
    let order: Vec<&str> = c.out.iter().map(|p| p.meta.name.as_str()).collect();
    assert_eq!(order, ["y", "x", "g"]);
    assert_eq!(c.int("x"), (4, 3));
    assert_eq!(c.int("y"), (150, 50));
    assert_eq!(c.gauge("g"), -1.0);
    assert_eq!(c.stats.resets, 1, "only y reset");
    assert_eq!(c.stats.emitted, 3);
}

#[test]
fn plain_maps_of_integers_arrive_untyped() {
    // A metrics object's snapshot() as a plain map, with no kinds. The tracker sees gauges
    // until the exporter's rules type them; a typed copy is a different kind, hence a new
    // series.
    let snap: snapbridge_core::Snapshot = [("records_written", 120_394u64)].into_iter().collect();
    assert!(matches!(
        snap.samples[0].value,
        Value::Untyped(Number::Int(120_394))
    ));
    let mut t = Harness::keep();
    let c = t.cycle(0, snap.samples);
    assert_eq!(c.gauge("records_written"), 120_394.0);
}

/// The created-timestamp rule: a consumer that inserts a zero at a series' start and then
/// sums the increases of its totals counts exactly what the tracker counts.
#[test]
fn a_counter_born_between_snapshots_starts_where_a_zero_counts_exactly() {
    for initial in [Initial::Keep, Initial::Drop] {
        let mut t = Harness::new(initial);
        t.cycle(0, vec![counter("other", 1)]);
        // `jobs_done` appears at 7, then reaches 10.
        let first = t.cycle(10, vec![counter("other", 1), counter("jobs_done", 7)]);
        let then = t.cycle(20, vec![counter("other", 1), counter("jobs_done", 10)]);
        let p = first.get("jobs_done");
        let (start, total) = (p.start, then.int("jobs_done").0);
        // What a zero-inserting consumer counts: from 0 at `start` to the last total.
        match initial {
            Initial::Keep => {
                assert_eq!(
                    start,
                    at(0),
                    "born after the previous snapshot, before 7 was seen"
                );
                assert!(start < at(10));
                assert_eq!(total, 10, "all 10 count");
            }
            Initial::Drop => {
                assert_eq!(start, at(10), "the baseline is set at first sighting");
                assert_eq!(
                    first.int("jobs_done"),
                    (0, 0),
                    "so the total starts at 0 there"
                );
                assert_eq!(total, 3);
            }
        }
        assert_eq!(
            then.get("jobs_done").start,
            start,
            "constant while it lives"
        );
    }
}
