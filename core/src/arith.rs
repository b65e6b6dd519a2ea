//! Exact arithmetic on counter values: integers stay integers until they would overflow.

use crate::{Histogram, Number};

/// `a + b`, exact for integers; falls back to floats on overflow or mixed operands.
pub(crate) fn add(a: Number, b: Number) -> Number {
    match (a, b) {
        (Number::Int(x), Number::Int(y)) => match x.checked_add(y) {
            Some(s) => Number::Int(s),
            None => Number::Float(x as f64 + y as f64),
        },
        _ => Number::Float(a.as_f64() + b.as_f64()),
    }
}

/// `cur - prev` when `cur >= prev`; `None` means the counter went down (a reset).
pub(crate) fn sub(cur: Number, prev: Number) -> Option<Number> {
    match (cur, prev) {
        (Number::Int(c), Number::Int(p)) => c.checked_sub(p).map(Number::Int),
        _ => {
            let (c, p) = (cur.as_f64(), prev.as_f64());
            (c >= p).then_some(Number::Float(c - p))
        }
    }
}

/// The increase from `prev` to `cur`; `None` when the histogram reset or its bucket
/// bounds changed. A reset is any count that went down — the total or a single bucket's
/// own (non-cumulative) count: a restart that moved observations to lower buckets leaves
/// every cumulative count as high as before, yet subtracting it would give a delta with a
/// bucket above its count. The sum decides nothing: negative observations are legal and
/// make it go down while the counts rise.
pub(crate) fn sub_histogram(cur: &Histogram, prev: &Histogram) -> Option<Histogram> {
    if cur.bounds() != prev.bounds() || cur.count() < prev.count() {
        return None;
    }
    let own = |h: &Histogram, i: usize| {
        let below = if i == 0 { 0 } else { h.counts()[i - 1] };
        let upto = h.counts().get(i).copied().unwrap_or(h.count());
        upto.saturating_sub(below)
    };
    if (0..=cur.counts().len()).any(|i| own(cur, i) < own(prev, i)) {
        return None;
    }
    let mut counts = Vec::with_capacity(cur.counts().len());
    for (c, p) in cur.counts().iter().zip(prev.counts()) {
        counts.push(c.checked_sub(*p)?);
    }
    Some(Histogram::from_parts(
        cur.bounds().to_vec(),
        counts,
        cur.count() - prev.count(),
        cur.sum() - prev.sum(),
    ))
}

/// `total + delta`. When the bounds differ (the source changed its buckets), the buckets
/// start again from `delta` while count and sum keep accumulating, so neither goes down.
pub(crate) fn sum_histogram(total: &Histogram, delta: &Histogram) -> Histogram {
    let counts = if total.bounds() == delta.bounds() {
        total
            .counts()
            .iter()
            .zip(delta.counts())
            .map(|(t, d)| t.saturating_add(*d))
            .collect()
    } else {
        delta.counts().to_vec()
    };
    Histogram::from_parts(
        delta.bounds().to_vec(),
        counts,
        total.count().saturating_add(delta.count()),
        total.sum() + delta.sum(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_stay_exact_and_overflow_to_float() {
        assert_eq!(add(Number::Int(2), Number::Int(3)), Number::Int(5));
        assert_eq!(
            add(Number::Int(u64::MAX), Number::Int(1)),
            Number::Float(u64::MAX as f64 + 1.0)
        );
        assert_eq!(sub(Number::Int(3), Number::Int(5)), None);
        assert_eq!(
            sub(Number::Float(3.5), Number::Int(1)),
            Some(Number::Float(2.5))
        );
    }
}
