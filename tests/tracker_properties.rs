//! Property tests of the DeltaTracker (snapbridge-core): a source counter is modelled as
//! random operations (increments, `reset()` to 0, restarts while the series is absent),
//! sampled at random points, and the tracker's output is checked against what an exact
//! exporter must report: the increments visible at the sampling points, as Prometheus'
//! `increase()` reconstructs them.
//!
//! Only `snapbridge_core` is used, so these properties hold for any embedding.

use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use snapbridge_core::{
    DeltaTracker, Histogram, Initial, Number, RejectReason, Sample, SeriesKey, Tracked,
    TrackedValue, TrackerConfig,
};

const MAX_STALENESS_SECS: u64 = 600;

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn tracker(initial: Initial) -> DeltaTracker {
    DeltaTracker::new(TrackerConfig {
        initial,
        max_staleness: Duration::from_secs(MAX_STALENESS_SECS),
    })
}

/// One cycle as the exporter runs it: `observe`, then `expire`.
fn cycle(
    t: &mut DeltaTracker,
    now: u64,
    samples: Vec<Sample>,
) -> (Vec<Tracked<SeriesKey>>, snapbridge_core::CycleStats) {
    let mut out = Vec::new();
    let stats = t.observe(at(now), samples, |info| Some(info.key.clone()), &mut out);
    t.expire(at(now));
    (out, stats)
}

fn find<'a>(out: &'a [Tracked<SeriesKey>], key: &SeriesKey) -> Vec<&'a Tracked<SeriesKey>> {
    out.iter().filter(|p| &p.meta == key).collect()
}

/// (total, delta) of an integer counter point; fails when it is anything else.
fn int_counter(p: &Tracked<SeriesKey>) -> Result<(u64, u64), TestCaseError> {
    match p.value {
        TrackedValue::Counter {
            total: Number::Int(t),
            delta: Number::Int(d),
        } => Ok((t, d)),
        ref other => Err(TestCaseError::fail(format!(
            "not an exact integer counter: {other:?}"
        ))),
    }
}

// ---------------------------------------------------------------------------------------
// The source model

/// What happens to the source counter between two samples.
#[derive(Clone, Debug)]
enum Op {
    /// The application counts `n` more.
    Add(u64),
    /// `reset()` or a restart: the counter is 0 again.
    Reset,
}

/// How the series appears in the snapshot taken after a step's operations.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Seen {
    /// With the source's current value.
    Present,
    /// Not in the snapshot (the source still answers, with other series).
    Absent,
    /// With a value the tracker must reject (NaN, negative, infinite).
    Bad(f64),
}

#[derive(Clone, Debug)]
struct Step {
    ops: Vec<Op>,
    /// Seconds since the previous step.
    dt: u64,
    seen: Seen,
}

fn op(max_add: u64) -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0..=max_add).prop_map(Op::Add),
        1 => Just(Op::Reset),
    ]
}

fn bad_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        -1e12f64..-1e-9,
    ]
}

fn seen() -> impl Strategy<Value = Seen> {
    prop_oneof![
        14 => Just(Seen::Present),
        5 => Just(Seen::Absent),
        1 => bad_value().prop_map(Seen::Bad),
    ]
}

/// Random steps, at most 60 s apart, never more than 9 in a row without a good sample:
/// a series is never away for more than 600 s = max_staleness, so its state must survive.
fn steps(max_add: u64, max_len: usize) -> impl Strategy<Value = Vec<Step>> {
    let step = (prop::collection::vec(op(max_add), 0..6), 1u64..=60, seen())
        .prop_map(|(ops, dt, seen)| Step { ops, dt, seen });
    prop::collection::vec(step, 1..max_len).prop_map(|mut steps| {
        let mut away = 0;
        for s in &mut steps {
            if s.seen == Seen::Present {
                away = 0;
            } else {
                away += 1;
                if away > 9 {
                    s.seen = Seen::Present;
                    away = 0;
                }
            }
        }
        steps
    })
}

/// What Prometheus' increase() reconstructs from sampled values: the first value, then for
/// each consecutive pair `v - prev` when `v >= prev`, else `v` (a reset).
fn visible_increments(samples: &[u64]) -> u128 {
    let mut sum = samples.first().map_or(0, |&v| u128::from(v));
    for w in samples.windows(2) {
        sum += u128::from(if w[1] >= w[0] { w[1] - w[0] } else { w[1] });
    }
    sum
}

/// What the tracker reported for one series over a run.
#[derive(Debug, Default)]
struct Report {
    /// The good values sampled (present steps), in order.
    samples: Vec<u64>,
    /// Total and delta at each of those samples.
    totals: Vec<u64>,
    deltas: Vec<u64>,
}

/// Runs `steps` of a source counter starting at `base` through a tracker. Checks on the way
/// what holds cycle by cycle (absent series are not emitted, rejected values keep the
/// total with a zero delta, resets are counted, the start time is fixed, the series is new
/// once) and returns what the tracker reported at the good samples.
fn run(initial: Initial, base: u64, steps: &[Step]) -> Result<Report, TestCaseError> {
    let key = Sample::counter("records_written", 0)
        .with_label("source", "prop")
        .key;
    let sample = |v: u64| Sample::counter("records_written", v).with_label("source", "prop");
    let mut t = tracker(initial);
    let mut value = base;
    let mut now = 0;
    let mut report = Report::default();
    let mut start = None;
    for (i, s) in steps.iter().enumerate() {
        for op in &s.ops {
            match op {
                Op::Add(n) => value += n,
                Op::Reset => value = 0,
            }
        }
        now += s.dt;
        let mut samples = vec![Sample::gauge("up", 1.0)];
        match s.seen {
            Seen::Present => samples.push(sample(value)),
            Seen::Absent => {}
            Seen::Bad(x) => {
                samples.push(Sample::counter_f64("records_written", x).with_label("source", "prop"))
            }
        }
        if i % 2 == 1 {
            samples.reverse();
        }
        let (out, stats) = cycle(&mut t, now, samples);
        let points = find(&out, &key);
        let tracked = !report.samples.is_empty();
        match s.seen {
            Seen::Absent => {
                prop_assert!(points.is_empty(), "absent but emitted: {:?}", points);
                prop_assert_eq!(stats.resets, 0);
            }
            Seen::Bad(x) => {
                let rejected: u64 = stats.rejected.iter().sum();
                prop_assert_eq!(rejected, 1, "{} not rejected once", x);
                prop_assert_eq!(stats.resets, 0);
                prop_assert_eq!(stats.rejected(RejectReason::Duplicate), 0);
                if tracked {
                    prop_assert_eq!(points.len(), 1);
                    let (total, delta) = int_counter(points[0])?;
                    prop_assert_eq!(delta, 0, "{} gave a delta", x);
                    prop_assert_eq!(Some(&total), report.totals.last(), "{} moved the total", x);
                } else {
                    prop_assert!(points.is_empty());
                }
            }
            Seen::Present => {
                prop_assert_eq!(points.len(), 1);
                let p = points[0];
                let (total, delta) = int_counter(p)?;
                prop_assert_eq!(
                    stats.new_series,
                    usize::from(!tracked) + usize::from(i == 0)
                );
                let start = *start.get_or_insert(p.start);
                prop_assert_eq!(p.start, start, "start time moved");
                let went_down = report.samples.last().is_some_and(|&prev| value < prev);
                prop_assert_eq!(stats.resets, u64::from(went_down));
                report.samples.push(value);
                report.totals.push(total);
                report.deltas.push(delta);
            }
        }
    }
    Ok(report)
}

fn check_keep(report: &Report) -> Result<(), TestCaseError> {
    let mut sum_of_deltas = 0u128;
    for (i, &total) in report.totals.iter().enumerate() {
        sum_of_deltas += u128::from(report.deltas[i]);
        // (a) total == sum of deltas == the increments visible at the sampling points.
        prop_assert_eq!(u128::from(total), sum_of_deltas, "sample {}", i);
        prop_assert_eq!(
            u128::from(total),
            visible_increments(&report.samples[..=i]),
            "sample {} of {:?}",
            i,
            report.samples
        );
        // (b) the total never decreases.
        if i > 0 {
            prop_assert!(total >= report.totals[i - 1]);
        }
    }
    Ok(())
}

fn check_drop_against_keep(keep: &Report, drop: &Report) -> Result<(), TestCaseError> {
    prop_assert_eq!(&keep.samples, &drop.samples);
    let Some(&first) = drop.samples.first() else {
        return Ok(());
    };
    prop_assert_eq!(drop.deltas[0], 0);
    prop_assert_eq!(&keep.deltas[1..], &drop.deltas[1..]);
    for (k, d) in keep.totals.iter().zip(&drop.totals) {
        // (c) Drop's total is Keep's minus the first sampled value.
        prop_assert_eq!(*d, k - first);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Histograms

#[derive(Clone, Debug)]
enum HistOp {
    /// New observations (in quarters, so every sum is exact in binary).
    Observe(Vec<u32>),
    /// `reset()` or a restart.
    Reset,
    /// A restart with other bucket bounds.
    Rebucket(usize),
}

const BOUNDS: [&[f64]; 4] = [&[0.5, 1.0, 5.0, 10.0], &[1.0, 2.5, 5.0], &[0.25], &[]];

fn hist_op() -> impl Strategy<Value = HistOp> {
    prop_oneof![
        10 => prop::collection::vec(0u32..60, 0..12).prop_map(HistOp::Observe),
        1 => Just(HistOp::Reset),
        1 => (0..BOUNDS.len()).prop_map(HistOp::Rebucket),
    ]
}

fn hist_sub(cur: &Histogram, prev: &Histogram) -> Histogram {
    Histogram::from_parts(
        cur.bounds().to_vec(),
        cur.counts()
            .iter()
            .zip(prev.counts())
            .map(|(c, p)| c - p)
            .collect(),
        cur.count() - prev.count(),
        cur.sum() - prev.sum(),
    )
}

/// Per cycle: what happens to the source, then whether the series is in the snapshot.
type HistCycle = (Vec<HistOp>, bool);

fn hist_cycles() -> impl Strategy<Value = Vec<HistCycle>> {
    prop::collection::vec(
        (
            prop::collection::vec(hist_op(), 0..4),
            prop::bool::weighted(0.8),
        ),
        1..30,
    )
}

/// Per-bucket (not cumulative) counts, the +Inf bucket last.
fn per_bucket(h: &Histogram) -> Vec<u64> {
    let mut below = 0;
    let count = h.count();
    h.counts()
        .iter()
        .chain(std::iter::once(&count))
        .map(|&c| {
            let n = c - below;
            below = c;
            n
        })
        .collect()
}

/// The shape of a cumulative histogram: one count per bound, each <= next <= count.
fn is_cumulative(h: &Histogram) -> bool {
    h.counts().len() == h.bounds().len()
        && h.counts().windows(2).all(|w| w[0] <= w[1])
        && h.counts().last().is_none_or(|&c| c <= h.count())
}

/// A restart visible in the buckets: other bounds, or some bucket (cumulative or not,
/// the +Inf one included) went down. A real increase never lowers any of them.
fn structural_reset(cur: &Histogram, prev: &Histogram) -> bool {
    cur.bounds() != prev.bounds()
        || per_bucket(cur)
            .iter()
            .zip(per_bucket(prev))
            .any(|(c, p)| *c < p)
}

/// What the tracker reported at one sampled histogram.
struct HistPoint {
    sampled: Histogram,
    total: Histogram,
    delta: Histogram,
    resets: u64,
}

/// Runs a histogram source (every 30 s, so 29 absences in a row stay within
/// max_staleness) through a tracker; absent cycles must emit nothing.
fn run_histogram(
    initial: Initial,
    first_bounds: usize,
    cycles: &[HistCycle],
) -> Result<Vec<HistPoint>, TestCaseError> {
    let key = Sample::histogram("latency", Histogram::from_observations(vec![], &[])).key;
    let mut t = tracker(initial);
    let mut bounds = BOUNDS[first_bounds].to_vec();
    let mut held: Vec<f64> = Vec::new();
    let mut points = Vec::new();
    for (i, (ops, present)) in cycles.iter().enumerate() {
        for op in ops {
            match op {
                HistOp::Observe(q) => held.extend(q.iter().map(|&q| f64::from(q) / 4.0)),
                HistOp::Reset => held.clear(),
                HistOp::Rebucket(b) => {
                    held.clear();
                    bounds = BOUNDS[*b].to_vec();
                }
            }
        }
        let h = Histogram::from_observations(bounds.clone(), &held);
        let samples = if *present {
            vec![Sample::histogram("latency", h.clone())]
        } else {
            vec![]
        };
        let (out, stats) = cycle(&mut t, i as u64 * 30, samples);
        let found = find(&out, &key);
        if !present {
            prop_assert!(found.is_empty());
            continue;
        }
        prop_assert_eq!(found.len(), 1);
        let TrackedValue::Histogram { total, delta } = &found[0].value else {
            return Err(TestCaseError::fail("not a histogram"));
        };
        prop_assert_eq!(stats.rejected.iter().sum::<u64>(), 0);
        points.push(HistPoint {
            sampled: h,
            total: (**total).clone(),
            delta: (**delta).clone(),
            resets: stats.resets,
        });
    }
    Ok(points)
}

// ---------------------------------------------------------------------------------------
// Several series

/// One series' fate in one cycle.
#[derive(Clone, Debug)]
struct SeriesStep {
    add: u64,
    reset: bool,
    present: bool,
}

fn series_step() -> impl Strategy<Value = SeriesStep> {
    (
        0u64..1_000,
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(add, reset, present)| SeriesStep {
            add,
            reset,
            present,
        })
}

/// Per cycle: one step per series, a sort key per series for the snapshot order, and maybe
/// a duplicate (series index, bogus value) appended at the end.
type ManyCycle = (Vec<SeriesStep>, Vec<u32>, Option<(usize, u64)>);

const SERIES: usize = 6;

fn many_cycle() -> impl Strategy<Value = ManyCycle> {
    (
        prop::collection::vec(series_step(), SERIES),
        prop::collection::vec(any::<u32>(), SERIES),
        prop::option::weighted(0.2, (0..SERIES, any::<u64>())),
    )
}

/// Where a series first seen at `now` starts (its created timestamp): with `Keep` it counted
/// before, so it was born after the previous snapshot (`previous`), or 1 ms before `now` on
/// the tracker's first snapshot; with `Drop` the total starts at zero at `now`.
fn born(initial: Initial, previous: Option<u64>, now: u64) -> SystemTime {
    match (initial, previous) {
        (Initial::Drop, _) => at(now),
        (Initial::Keep, Some(p)) => at(p),
        (Initial::Keep, None) => at(now) - Duration::from_millis(1),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// (a) + (b): Keep reports the visible increments; the total never goes down.
    #[test]
    fn keep_total_is_the_visible_increments_and_never_decreases(
        base in prop_oneof![Just(0u64), 0u64..1_000_000],
        steps in steps(1_000, 60),
    ) {
        let report = run(Initial::Keep, base, &steps)?;
        check_keep(&report)?;
    }

    /// (c): Drop only sets the baseline; afterwards it reports exactly what Keep does.
    #[test]
    fn drop_total_is_keep_total_minus_the_first_sample(
        base in 0u64..1_000_000,
        steps in steps(1_000, 60),
    ) {
        let keep = run(Initial::Keep, base, &steps)?;
        let drop = run(Initial::Drop, base, &steps)?;
        check_keep(&keep)?;
        check_drop_against_keep(&keep, &drop)?;
    }

    /// (d): away for up to max_staleness (with expire called at random instants), reset
    /// or not while away, the series continues without double counting.
    #[test]
    fn a_series_back_within_max_staleness_continues(
        initial in prop_oneof![Just(Initial::Keep), Just(Initial::Drop)],
        before in prop::collection::vec(0u64..500, 1..8),
        gap in 1u64..=MAX_STALENESS_SECS,
        expire_at in prop::collection::vec(0.0f64..1.0, 0..12),
        restart in prop::option::of(0u64..2_000),
        after in prop::collection::vec(0u64..500, 1..8),
    ) {
        let key = Sample::counter("c", 0).key;
        let mut t = tracker(initial);
        let mut value = 0u64;
        let mut samples = Vec::new();
        let mut now = 0;
        let mut last = (0, 0);
        for n in &before {
            value += n;
            now += 10;
            let (out, _) = cycle(&mut t, now, vec![Sample::counter("c", value)]);
            last = int_counter(find(&out, &key)[0])?;
            samples.push(value);
        }
        let left = now;
        // Away: other series keep the source alive; expire runs at random instants.
        let mut instants: Vec<u64> = expire_at
            .iter()
            .map(|f| left + 1 + (f * (gap - 1) as f64) as u64)
            .collect();
        instants.sort_unstable();
        for s in instants {
            let (out, _) = cycle(&mut t, s, vec![Sample::counter("other", 1)]);
            prop_assert!(find(&out, &key).is_empty());
        }
        let other = usize::from(!expire_at.is_empty());
        prop_assert_eq!(t.len(), 1 + other, "state dropped within max_staleness");
        // The source may restart (and count to `r` again) while the series is away.
        if let Some(r) = restart {
            value = r;
        }
        now = left + gap;
        let mut first_back = true;
        for n in &after {
            value += n;
            let (out, stats) = cycle(&mut t, now, vec![Sample::counter("c", value)]);
            let p = find(&out, &key);
            prop_assert_eq!(p.len(), 1);
            let (total, delta) = int_counter(p[0])?;
            prop_assert_eq!(stats.new_series, 0, "came back as a new series");
            prop_assert_eq!(p[0].start, born(initial, None, 10));
            let prev = *samples.last().unwrap();
            let want = if value >= prev { value - prev } else { value };
            prop_assert_eq!(delta, want, "first back: {}", first_back);
            prop_assert_eq!(total, last.0 + want);
            samples.push(value);
            last = (total, delta);
            now += 10;
            first_back = false;
        }
        let first = match initial { Initial::Keep => 0, Initial::Drop => u128::from(samples[0]) };
        prop_assert_eq!(u128::from(last.0), visible_increments(&samples) - first);
    }

    /// Away for longer than max_staleness (plus one sweep period) with expire running every
    /// cycle: the state is gone and the series starts again under the first-sighting rule.
    #[test]
    fn a_series_back_after_max_staleness_is_new(
        initial in prop_oneof![Just(Initial::Keep), Just(Initial::Drop)],
        before in prop::collection::vec(0u64..500, 1..6),
        dts in prop::collection::vec(1u64..=60, 1..40),
        back in 0u64..5_000,
    ) {
        let key = Sample::counter("c", 0).key;
        let mut t = tracker(initial);
        let mut value = 0;
        let mut now = 0;
        for n in &before {
            value += n;
            now += 10;
            cycle(&mut t, now, vec![Sample::counter("c", value)]);
        }
        let left = now;
        // Sweeps run every max_staleness / 8 = 75 s at most; with a cycle at least every
        // 60 s there is one in every 135 s, so after 600 + 135 s the state must be gone.
        let mut dts = dts.iter().copied().chain(std::iter::repeat(60));
        while now - left <= MAX_STALENESS_SECS + 135 {
            now += dts.next().unwrap();
            cycle(&mut t, now, vec![Sample::counter("other", 1)]);
        }
        prop_assert_eq!(t.len(), 1, "state of c kept beyond max_staleness");
        now += 10;
        let (out, stats) = cycle(&mut t, now, vec![Sample::counter("c", back)]);
        let p = find(&out, &key);
        prop_assert_eq!(p.len(), 1);
        let want = match initial { Initial::Keep => back, Initial::Drop => 0 };
        prop_assert_eq!(int_counter(p[0])?, (want, want));
        prop_assert_eq!(stats.new_series, 1);
        prop_assert_eq!(stats.resets, 0);
        prop_assert_eq!(p[0].start, born(initial, Some(now - 10), now));
    }

    /// (e): values near 2^63 stay exact (no float rounding) with Keep.
    #[test]
    fn counters_near_2_pow_63_stay_exact(
        base in ((1u64 << 63) - (1 << 40))..((1u64 << 63) + (1 << 40)),
        steps in steps(1 << 20, 60),
    ) {
        let report = run(Initial::Keep, base, &steps)?;
        check_keep(&report)?;
    }

    /// (e): values up to u64::MAX stay exact with Drop (the total itself stays far below).
    #[test]
    fn counters_near_u64_max_stay_exact(
        base in (u64::MAX - (1 << 40))..=(u64::MAX - (1 << 30)),
        steps in steps(1 << 20, 60),
    ) {
        let report = run(Initial::Drop, base, &steps)?;
        for (i, &total) in report.totals.iter().enumerate() {
            let want = visible_increments(&report.samples[..=i]) - u128::from(report.samples[0]);
            prop_assert_eq!(u128::from(total), want, "sample {}", i);
            if i > 0 {
                prop_assert!(total >= report.totals[i - 1]);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    /// Histograms: the count total is the number of observations visible at the sampling
    /// points, count and buckets follow the counter rules (the sum follows the count's resets: negative
    /// observations may make it go down), and every exported total and
    /// delta is itself a histogram (buckets cumulative: each <= next <= count).
    #[test]
    fn histogram_totals_follow_the_visible_observations(
        initial in prop_oneof![Just(Initial::Keep), Just(Initial::Drop)],
        first_bounds in 0..BOUNDS.len(),
        cycles in hist_cycles(),
    ) {
        let points = run_histogram(initial, first_bounds, &cycles)?;
        // The model: totals implied by the sampled histograms.
        let mut prev: Option<&Histogram> = None;
        let mut want_count = 0u64;
        let mut want_sum = 0.0f64;
        let mut want_buckets: Option<Vec<u64>> = None;
        let mut last_total: Option<&Histogram> = None;
        for (i, p) in points.iter().enumerate() {
            let (h, total, delta) = (&p.sampled, &p.total, &p.delta);
            prop_assert!(is_cumulative(total), "sample {}: total {:?}", i, total);
            prop_assert!(is_cumulative(delta), "sample {}: delta {:?} (from {:?} to {:?})", i, delta, prev, h);
            prop_assert_eq!(&total.bounds(), &h.bounds());
            prop_assert_eq!(&delta.bounds(), &h.bounds());
            if let Some(last) = last_total {
                prop_assert!(total.count() >= last.count(), "count total went down");
                if last.bounds() == total.bounds() {
                    prop_assert!(total.counts().iter().zip(last.counts()).all(|(a, b)| a >= b));
                }
            }
            last_total = Some(total);
            let reset = prev.is_some_and(|q| structural_reset(h, q));
            let want_delta = match prev {
                None if initial == Initial::Drop => hist_sub(h, h),
                None => h.clone(),
                Some(_) if reset => h.clone(),
                Some(q) => hist_sub(h, q),
            };
            prop_assert_eq!(delta, &want_delta, "sample {}: from {:?} to {:?}", i, prev, h);
            prop_assert_eq!(p.resets, u64::from(reset), "sample {}", i);
            want_count += want_delta.count();
            want_sum += want_delta.sum();
            prop_assert_eq!(total.count(), want_count, "count total != visible observations");
            prop_assert_eq!(total.sum(), want_sum);
            // Bucket totals are pinned while the bounds have not changed.
            want_buckets = match (want_buckets, prev) {
                (None, None) => Some(want_delta.counts().to_vec()),
                (Some(b), Some(q)) if q.bounds() == h.bounds() => {
                    Some(b.iter().zip(want_delta.counts()).map(|(a, d)| a + d).collect())
                }
                _ => None,
            };
            if let Some(b) = &want_buckets {
                prop_assert_eq!(&total.counts(), b);
            }
            prev = Some(h);
        }
    }

    /// Several series in one snapshot, in a random order each cycle, some absent, some
    /// duplicated: each is tracked on its own, output follows snapshot order.
    #[test]
    fn several_series_in_random_order_are_tracked_independently(
        cycles in prop::collection::vec(many_cycle(), 1..20),
    ) {
        let keys: Vec<SeriesKey> = (0..SERIES)
            .map(|i| Sample::counter("jobs", 0).with_label("queue", format!("q{i}")).key)
            .collect();
        let mut t = tracker(Initial::Keep);
        let mut values = [0u64; SERIES];
        let mut prev: [Option<u64>; SERIES] = [None; SERIES];
        let mut totals = [0u64; SERIES];
        for (c, (steps, sort_keys, dup)) in cycles.iter().enumerate() {
            let mut order: Vec<usize> = (0..SERIES).filter(|&i| steps[i].present).collect();
            order.sort_by_key(|&i| (sort_keys[i], i));
            for (i, s) in steps.iter().enumerate() {
                if s.reset {
                    values[i] = 0;
                }
                values[i] += s.add;
            }
            let sample = |i: usize, v: u64| {
                Sample::counter("jobs", v).with_label("queue", format!("q{i}"))
            };
            let mut samples: Vec<Sample> = order.iter().map(|&i| sample(i, values[i])).collect();
            samples.insert(samples.len() / 2, Sample::gauge("in_progress", c as f64));
            let dup = dup.filter(|(i, _)| steps[*i].present);
            if let Some((i, bogus)) = dup {
                samples.push(sample(i, bogus));
            }
            // Every 30 s: 19 cycles of absence stay within max_staleness.
            let (out, stats) = cycle(&mut t, c as u64 * 30, samples);
            let emitted: Vec<&SeriesKey> = out.iter().map(|p| &p.meta).filter(|k| k.name == "jobs").collect();
            let want_order: Vec<&SeriesKey> = order.iter().map(|&i| &keys[i]).collect();
            prop_assert_eq!(emitted, want_order, "not in snapshot order");
            prop_assert_eq!(stats.emitted, order.len() + 1);
            prop_assert_eq!(stats.rejected(RejectReason::Duplicate), u64::from(dup.is_some()));
            let mut want_resets = 0;
            let mut want_new = usize::from(c == 0);
            for &i in &order {
                let v = values[i];
                let delta = match prev[i] {
                    None => { want_new += 1; v }
                    Some(p) if v >= p => v - p,
                    Some(_) => { want_resets += 1; v }
                };
                totals[i] += delta;
                prev[i] = Some(v);
                let p = find(&out, &keys[i]);
                prop_assert_eq!(p.len(), 1);
                prop_assert_eq!(int_counter(p[0])?, (totals[i], delta), "series q{}", i);
            }
            prop_assert_eq!(stats.resets, want_resets);
            prop_assert_eq!(stats.new_series, want_new);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Lent keys: `observe_borrowed` over a snapshot refilled in place is `observe`

/// One cycle of series drawn from a small pool of keys (so series repeat, move, vanish,
/// come twice and change kind): (key index, is counter, value).
fn pooled_cycle() -> impl Strategy<Value = Vec<(usize, bool, f64)>> {
    let value = prop_oneof![
        8 => (0u32..1000).prop_map(f64::from),
        1 => Just(f64::NAN),
        1 => Just(-1.0),
    ];
    proptest::collection::vec((0usize..6, any::<bool>(), value), 0..10)
}

fn pooled_key(i: usize) -> SeriesKey {
    let labels = snapbridge_core::Labels::from_pairs([("k", format!("{}", i % 3))]);
    SeriesKey::new(format!("m{}", i / 3), labels)
}

fn pooled_sample(i: usize, counter: bool, v: f64) -> Sample {
    let value = if counter {
        snapbridge_core::Value::Counter(Number::Float(v))
    } else {
        snapbridge_core::Value::Gauge(v)
    };
    Sample {
        key: pooled_key(i),
        value,
        unit: None,
        description: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The same emissions, starts and counts (duplicates, rejections, new series) whether
    /// the tracker owns the snapshot's keys or borrows them from a snapshot whose samples
    /// are refilled in place when the key at a position is unchanged.
    #[test]
    fn lent_keys_track_exactly_as_owned_ones(
        cycles in proptest::collection::vec(pooled_cycle(), 1..12),
        gaps in proptest::collection::vec(1u64..400, 12),
    ) {
        let mut owned = tracker(Initial::Keep);
        let mut lent = tracker(Initial::Keep);
        let mut kept: Vec<Sample> = Vec::new();
        let mut now = 1_000;
        for (series, gap) in cycles.iter().zip(&gaps) {
            now += gap;
            let fresh: Vec<Sample> = series.iter().map(|&(i, c, v)| pooled_sample(i, c, v)).collect();
            // Refill: keep the sample at a position whose key is unchanged, as sources do.
            kept.truncate(fresh.len());
            for (pos, s) in fresh.iter().enumerate() {
                match kept.get_mut(pos) {
                    Some(k) if k.key == s.key => k.value = s.value.clone(),
                    Some(k) => *k = s.clone(),
                    None => kept.push(s.clone()),
                }
            }
            let (want, want_stats) = cycle(&mut owned, now, fresh);
            let mut got = Vec::new();
            let lent_samples = kept
                .iter()
                .map(|s| snapbridge_core::SampleRef::new(s, s.value.clone()));
            let got_stats = lent.observe_borrowed(at(now), lent_samples, |info| Some(info.key.clone()), &mut got);
            lent.expire(at(now));
            // Debug text, so that NaN gauges compare equal.
            prop_assert_eq!(format!("{got:?}"), format!("{want:?}"));
            prop_assert_eq!(got_stats, want_stats);
            prop_assert_eq!(lent.len(), owned.len());
        }
    }
}
