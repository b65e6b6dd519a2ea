//! A scripted source's life shared by the OTLP tests: a counter, a gauge and a histogram
//! through a `reset()`, with the true increments known.

use snapbridge::core::{Histogram, Sample, Snapshot};

use super::{Bridge, Scripted};

/// Bucket bounds of the scripted histogram (seconds).
pub const BOUNDS: [f64; 3] = [0.1, 1.0, 10.0];

/// The scripted source's life: (reset first?, +written, queue size, new observations).
pub const STEPS: &[(bool, u64, f64, &[f64])] = &[
    (false, 120, 3.0, &[0.05, 0.5]),
    (false, 380, 7.0, &[2.0]),
    (true, 15, 9.0, &[0.01]), // reset(): counters and histogram start again
    (false, 40, 1.0, &[20.0, 0.2]),
    (false, 0, 4.0, &[]),
];

/// The source's snapshot: `records_written{backend="json"}`, `queue_size` and the
/// `op_duration` histogram (unit `s`).
pub fn snapshot(written: u64, queue: f64, observations: &[f64]) -> Snapshot {
    let mut s = Snapshot::new();
    s.push(Sample::counter("records_written", written).with_label("backend", "json"));
    s.push(Sample::gauge("queue_size", queue));
    s.push(
        Sample::histogram(
            "op_duration",
            Histogram::from_observations(BOUNDS.to_vec(), observations),
        )
        .with_unit("s")
        .with_description("Operation latency"),
    );
    s
}

/// What the source really did over [`STEPS`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Truth {
    /// Records written, across the reset.
    pub written: u64,
    /// Observations made, across the reset.
    pub observations: u64,
    /// The last queue size.
    pub queue: f64,
}

/// Runs the steps through `bridges`, calling `after` after each cycle; returns the truth.
pub fn drive(
    bridges: &mut [&mut Bridge],
    scripted: &Scripted,
    mut after: impl FnMut(usize),
) -> Truth {
    let (mut written, mut held): (u64, Vec<f64>) = (0, Vec::new());
    let mut truth = Truth {
        written: 0,
        observations: 0,
        queue: 0.0,
    };
    for (i, (reset, dw, q, obs)) in STEPS.iter().enumerate() {
        if *reset {
            written = 0;
            held.clear();
        }
        written += dw;
        held.extend_from_slice(obs);
        truth.written += dw;
        truth.observations += obs.len() as u64;
        truth.queue = *q;
        scripted.set(snapshot(written, truth.queue, &held));
        for b in bridges.iter_mut() {
            b.cycle();
        }
        after(i + 1);
    }
    truth
}
