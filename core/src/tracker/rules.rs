//! The rules of one series: what its first value contributes, and what every later value
//! does to its total (the list at the top of `tracker/mod.rs`).

use std::time::{Duration, SystemTime};

use crate::arith::{add, sub_histogram, sum_histogram};
use crate::{Histogram, Kind, Number, Value};

use super::{CycleStats, Initial, RejectReason, TrackedValue};

/// What a series remembers between snapshots.
pub(crate) enum State {
    Counter {
        prev: Number,
        total: Number,
    },
    Gauge,
    // Boxed: every series' slot is as large as the largest variant, and most series are
    // counters and gauges (inline, a slot was some 100 bytes larger: more memory, and more
    // cache lines read per series per cycle).
    Histogram {
        prev: Box<Histogram>,
        total: Box<Histogram>,
    },
}

/// The kind a value is tracked as (a plain number is a gauge until typed).
pub(super) fn kind_of(value: &Value) -> Kind {
    match value {
        Value::Counter(_) => Kind::Counter,
        Value::Histogram(_) => Kind::Histogram,
        Value::Gauge(_) | Value::Untyped(_) => Kind::Gauge,
    }
}

/// The start (created) time of a series first seen at `now`, chosen so that a consumer
/// inserting a zero at the start counts exactly what the tracker counts:
/// - `Keep`: the first value counts, so the series counted before it was seen: it started
///   after the previous snapshot (where it was absent), which is its start; on a tracker's
///   first snapshot, 1 ms before it. Either way strictly before the first point.
/// - `Drop`: the first value is only the baseline and the total starts at zero at first
///   sighting, so the start is `now`.
pub(super) fn birth_time(
    initial: Initial,
    previous: Option<SystemTime>,
    now: SystemTime,
) -> SystemTime {
    match initial {
        Initial::Drop => now,
        Initial::Keep => previous
            .filter(|p| *p < now)
            .or_else(|| now.checked_sub(Duration::from_millis(1)))
            .unwrap_or(now),
    }
}

fn check_counter(n: Number) -> Result<Number, RejectReason> {
    match n {
        Number::Int(_) => Ok(n),
        Number::Float(f) if f.is_nan() => Err(RejectReason::NotANumber),
        Number::Float(f) if f.is_infinite() => Err(RejectReason::Infinite),
        Number::Float(f) if f < 0.0 => Err(RejectReason::Negative),
        // -0.0 would print as "-0": fold it into 0.
        Number::Float(f) => Ok(Number::Float(f + 0.0)),
    }
}

fn zero_like(n: Number) -> Number {
    match n {
        Number::Int(_) => Number::Int(0),
        Number::Float(_) => Number::Float(0.0),
    }
}

/// What a series' first value contributes, and the state it leaves.
pub(super) fn first_sighting(
    value: &Value,
    initial: Initial,
) -> Result<(State, TrackedValue), RejectReason> {
    Ok(match value {
        Value::Counter(n) => {
            let r = check_counter(*n)?;
            let total = match initial {
                Initial::Keep => r,
                Initial::Drop => zero_like(r),
            };
            let value = TrackedValue::Counter {
                total,
                delta: total,
            };
            (State::Counter { prev: r, total }, value)
        }
        Value::Histogram(h) => {
            h.validate().map_err(|_| RejectReason::InvalidHistogram)?;
            let total = match initial {
                Initial::Keep => h.clone(),
                Initial::Drop => empty_like(h),
            };
            let value = TrackedValue::Histogram {
                total: Box::new(total.clone()),
                delta: Box::new(total.clone()),
            };
            let state = State::Histogram {
                prev: Box::new(h.clone()),
                total: Box::new(total),
            };
            (state, value)
        }
        Value::Gauge(g) => (State::Gauge, TrackedValue::Gauge(*g)),
        Value::Untyped(n) => (State::Gauge, TrackedValue::Gauge(n.as_f64())),
    })
}

fn empty_like(h: &Histogram) -> Histogram {
    Histogram::from_parts(h.bounds().to_vec(), vec![0; h.counts().len()], 0, 0.0)
}

/// Applies a new observation to existing state of the same kind. A rejected value leaves the
/// state untouched: the series keeps showing its last total with a zero delta.
/// Applies a later value to a series' state; `None` when it is rejected.
pub(super) fn advance(
    state: &mut State,
    value: Value,
    stats: &mut CycleStats,
) -> Option<TrackedValue> {
    match (state, value) {
        (State::Gauge, Value::Gauge(g)) => Some(TrackedValue::Gauge(g)),
        (State::Gauge, Value::Untyped(n)) => Some(TrackedValue::Gauge(n.as_f64())),
        (State::Counter { prev, total }, Value::Counter(n)) => {
            let delta = match check_counter(n) {
                Err(reason) => {
                    stats.rejected[reason as usize] += 1;
                    zero_like(*total)
                }
                Ok(r) => {
                    let delta = match crate::arith::sub(r, *prev) {
                        Some(d) => d,
                        None => {
                            stats.resets += 1;
                            r
                        }
                    };
                    *prev = r;
                    *total = add(*total, delta);
                    delta
                }
            };
            Some(TrackedValue::Counter {
                total: *total,
                delta,
            })
        }
        (State::Histogram { prev, total }, Value::Histogram(h)) => {
            if h.validate().is_err() {
                stats.rejected[RejectReason::InvalidHistogram as usize] += 1;
                let delta = empty_like(total);
                return Some(TrackedValue::Histogram {
                    total: total.clone(),
                    delta: Box::new(delta),
                });
            }
            let delta = match sub_histogram(&h, prev) {
                Some(d) => d,
                None => {
                    stats.resets += 1;
                    h.clone()
                }
            };
            **total = sum_histogram(total, &delta);
            **prev = h;
            Some(TrackedValue::Histogram {
                total: total.clone(),
                delta: Box::new(delta),
            })
        }
        // Kinds are matched before `advance` is called; a mismatch cannot reach here.
        _ => None,
    }
}
