//! Ranges for the durations of the file, checked while deserialising so the error names the
//! file, line and key. Without them a huge value overflows `Instant + Duration` (a panic)
//! and a tiny interval turns the pull loop into a busy loop.

use std::time::Duration;

use serde::{Deserialize, Deserializer, de};

use super::DurationValue;

/// `interval`: 100ms..24h (below, a busy loop and a log flood; above, nothing is pulled).
pub const INTERVAL: (Duration, Duration) = (Duration::from_millis(100), hours(24));
/// Every `timeout` and `shutdown_timeout`: 1ms..1h.
pub const TIMEOUT: (Duration, Duration) = (Duration::from_millis(1), hours(1));
/// `max_staleness`: 1s..30d (state kept longer only grows memory).
pub const STALENESS: (Duration, Duration) = (Duration::from_secs(1), hours(24 * 30));

const fn hours(h: u64) -> Duration {
    Duration::from_secs(h * 3600)
}

/// `value` if within `range` (inclusive), else a message naming the range.
pub fn check(value: DurationValue, range: (Duration, Duration)) -> Result<DurationValue, String> {
    let (min, max) = range;
    if value.0 < min || value.0 > max {
        return Err(format!(
            "{} is out of range: must be from {} to {}",
            humantime::format_duration(value.0),
            humantime::format_duration(min),
            humantime::format_duration(max)
        ));
    }
    Ok(value)
}

fn bounded<'de, D: Deserializer<'de>>(
    d: D,
    range: (Duration, Duration),
) -> Result<DurationValue, D::Error> {
    check(DurationValue::deserialize(d)?, range).map_err(de::Error::custom)
}

/// `deserialize_with` for `interval`.
pub fn interval<'de, D: Deserializer<'de>>(d: D) -> Result<DurationValue, D::Error> {
    bounded(d, INTERVAL)
}

/// `deserialize_with` for `shutdown_timeout`.
pub fn timeout<'de, D: Deserializer<'de>>(d: D) -> Result<DurationValue, D::Error> {
    bounded(d, TIMEOUT)
}

/// `deserialize_with` for an optional `timeout` (use with `#[serde(default)]`).
pub fn timeout_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DurationValue>, D::Error> {
    bounded(d, TIMEOUT).map(Some)
}

/// `deserialize_with` for `max_staleness`.
pub fn staleness<'de, D: Deserializer<'de>>(d: D) -> Result<DurationValue, D::Error> {
    bounded(d, STALENESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_are_inclusive_and_outside_is_refused() {
        let ok = |d| check(DurationValue(d), INTERVAL).is_ok();
        assert!(ok(Duration::from_millis(100)) && ok(hours(24)));
        assert!(!ok(Duration::from_nanos(1)) && !ok(hours(24) + Duration::from_nanos(1)));
    }
}
