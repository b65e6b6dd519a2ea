//! `kind = "demo"`: a simulated storage backend's metrics object, built in.
//!
//! It plays a persistence layer that counts what it does (records written and read, errors,
//! scans, recoveries, compactions: nine counters rising at different rates), reports two
//! gauges (its queue size and the writes in progress), and calls its own `reset()` every
//! `reset_every` (3 minutes by default), as such objects do when an operator clears them.
//! So the embedded default shows everything snapbridge does: counters, gauges and resets
//! survived. Like most such objects its `snapshot()` returns a plain map of numbers; the
//! config's rules give the kinds.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use snapbridge_core::{MetricsSource, Sample, Snapshot, SourceError};

use super::{InProcess, KindConfig, Source, SourceConfig};
use crate::values::DurationValue;

/// The keys of `kind = "demo"`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoConfig {
    /// How often the demo calls its own `reset()` (`"0s"`: never). Default: 3 minutes.
    pub reset_every: Option<DurationValue>,
}

impl KindConfig for DemoConfig {
    fn build(&self, _: &SourceConfig) -> Result<Arc<dyn Source>, String> {
        let every = self
            .reset_every
            .map_or(Duration::from_secs(180), |d| d.0);
        Ok(Arc::new(InProcess::new(Arc::new(DemoPersistence::new(
            every,
        )))))
    }
}

/// Counter names and their mean rates per second.
const COUNTERS: [(&str, f64); 9] = [
    ("records_written", 120.0),
    ("records_read", 340.0),
    ("write_errors", 0.4),
    ("read_errors", 0.2),
    ("scan_runs", 0.05),
    ("anomalies_detected", 0.02),
    ("recoveries_attempted", 0.03),
    ("recoveries_failed", 0.005),
    ("compactions_run", 0.01),
];

/// A simulated persistence backend's metrics object.
pub struct DemoPersistence {
    state: Mutex<State>,
    reset_every: Duration,
}

struct State {
    counters: [u64; 9],
    // Fractional increments carried to the next snapshot, so slow counters still move.
    carry: [f64; 9],
    queue_size: f64,
    last: Instant,
    last_reset: Instant,
    rng: u64,
}

impl DemoPersistence {
    /// A demo source that resets itself every `reset_every`.
    pub fn new(reset_every: Duration) -> Self {
        let now = Instant::now();
        // Pretend the backend has been running for a minute, so the first snapshot already
        // shows every counter moving.
        let born = now.checked_sub(Duration::from_secs(60)).unwrap_or(now);
        DemoPersistence {
            state: Mutex::new(State {
                counters: [0; 9],
                carry: [0.0; 9],
                queue_size: 5.0,
                last: born,
                last_reset: now,
                rng: 0x9E37_79B9_7F4A_7C15,
            }),
            reset_every,
        }
    }
}

impl State {
    /// xorshift64*: a few bits of noise, no dependency.
    fn noise(&mut self) -> f64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        (self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn reset(&mut self) {
        self.counters = [0; 9];
        self.carry = [0.0; 9];
    }

    fn advance(&mut self, now: Instant, reset_every: Duration) {
        if !reset_every.is_zero() && now.duration_since(self.last_reset) >= reset_every {
            self.reset();
            self.last_reset = now;
        }
        let secs = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        for (i, (_, rate)) in COUNTERS.iter().enumerate() {
            let jitter = 0.5 + self.noise();
            self.carry[i] += rate * secs * jitter;
            let whole = self.carry[i].floor();
            self.carry[i] -= whole;
            self.counters[i] += whole as u64;
        }
        let step = (self.noise() - 0.5) * 4.0;
        self.queue_size = (self.queue_size + step).clamp(0.0, 50.0);
    }
}

impl MetricsSource for DemoPersistence {
    fn snapshot(&self) -> Result<Snapshot, SourceError> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| SourceError::new("demo state lock poisoned"))?;
        state.advance(Instant::now(), self.reset_every);
        let mut snap = Snapshot::with_capacity(COUNTERS.len() + 2);
        for (i, (name, _)) in COUNTERS.iter().enumerate() {
            snap.push(Sample::untyped(*name, state.counters[i]));
        }
        snap.push(Sample::untyped(
            "queue_size",
            state.queue_size.round() as u64,
        ));
        let in_progress = (state.noise() * 4.0).floor() as u64;
        snap.push(Sample::untyped("writes_in_progress", in_progress));
        Ok(snap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_rise_and_reset() {
        let every = Duration::from_secs(3600);
        let demo = DemoPersistence::new(every);
        {
            let mut s = demo.state.lock().unwrap();
            // Just short of the reset: 3500 s of increments (at least half the mean rate).
            let before_reset = s.last_reset + Duration::from_secs(3500);
            s.advance(before_reset, every);
            let risen = s.counters[0];
            assert!(risen >= 3500 * 60, "records_written rose: {risen}");
            // 200 s later the hour is up: the counters restart from 0 and hold only those
            // 200 s (at most 1.5 times the mean rate), so they fall, which is what a
            // reader sees of a reset.
            s.advance(before_reset + Duration::from_secs(200), every);
            let after = s.counters[0];
            assert!(after < risen, "no reset: {risen} -> {after}");
            assert!(after <= 200 * 180, "more than the 200 s after the reset: {after}");
            assert!(s.counters[1] < 3500 * 170, "records_read reset too");
        }
        let snap = demo.snapshot().unwrap();
        assert_eq!(snap.len(), 11);
        assert_eq!(snap.samples[0].key.name, "records_written");
    }
}
