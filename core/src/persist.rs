//! Saving a tracker's state as text and reading it back, so a restarted process neither
//! double counts nor loses what the source counted while it was down.
//!
//! One line per series, tab-separated, every string percent-escaped:
//!
//! ```text
//! <c|g|h> <start ns> <last seen ns> <name> <k=v;k=v> [<prev> <total>]
//! ```
//!
//! Numbers are `i<u64>` or `f<bit pattern in hex>` (exact, NaN and infinities included);
//! histograms are `<bounds>|<counts>|<count>|<sum>` with comma-separated lists.

use std::fmt::Write;
use std::time::{Duration, SystemTime};

use crate::tracker::{DeltaTracker, Restored, State};
use crate::{Histogram, Kind, Labels, Number, SeriesKey};

/// Why a saved state was not restored: the first malformed line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateError {
    line: usize,
    reason: String,
}

impl StateError {
    /// The 1-based number of the malformed line.
    pub fn line(&self) -> usize {
        self.line
    }

    /// What is wrong with it, for people (`bad escape %G1`, `too few fields`).
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for StateError {}

/// Appends `s` percent-escaped so it holds no field or list separator (`\t`, `\n`, `=`,
/// `;`, `|`, `,`, `%`): the one escaping every state line uses, sinks' lines included.
pub fn escape(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '%' | '\t' | '\n' | '\r' | '=' | ';' | '|' | ',' => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "%{b:02X}");
                }
            }
            c => out.push(c),
        }
    }
}

/// Reads back what [`escape`] wrote.
pub fn unescape(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or("truncated escape")?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| format!("bad escape %{hex}"))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "not UTF-8".to_string())
}

fn nanos(t: SystemTime) -> u128 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn time(s: &str) -> Result<SystemTime, String> {
    let n: u64 = s.parse().map_err(|_| format!("bad time {s:?}"))?;
    Ok(SystemTime::UNIX_EPOCH + Duration::from_nanos(n))
}

/// Appends `n` exactly: `i<u64>` or `f<bit pattern in hex>`.
pub fn number(out: &mut String, n: Number) {
    let _ = match n {
        Number::Int(i) => write!(out, "i{i}"),
        Number::Float(f) => write!(out, "f{:x}", f.to_bits()),
    };
}

/// Reads back what [`number`] wrote.
pub fn parse_number(s: &str) -> Result<Number, String> {
    match s.split_at_checked(1) {
        Some(("i", v)) => v
            .parse()
            .map(Number::Int)
            .map_err(|_| format!("bad integer {v:?}")),
        Some(("f", v)) => u64::from_str_radix(v, 16)
            .map(|b| Number::Float(f64::from_bits(b)))
            .map_err(|_| format!("bad float {v:?}")),
        _ => Err(format!("bad number {s:?}")),
    }
}

/// Appends `h` exactly: `<bounds>|<counts>|<count>|<sum>`, floats as bit patterns.
pub fn histogram(out: &mut String, h: &Histogram) {
    let list = |out: &mut String, items: &mut dyn Iterator<Item = String>| {
        let v: Vec<String> = items.collect();
        out.push_str(&v.join(","));
    };
    list(
        out,
        &mut h.bounds().iter().map(|b| format!("{:x}", b.to_bits())),
    );
    out.push('|');
    list(out, &mut h.counts().iter().map(|c| c.to_string()));
    let _ = write!(out, "|{}|{:x}", h.count(), h.sum().to_bits());
}

/// Reads back (and validates) what [`histogram`] wrote.
pub fn parse_histogram(s: &str) -> Result<Histogram, String> {
    let parts: Vec<&str> = s.split('|').collect();
    let [bounds, counts, count, sum] = parts[..] else {
        return Err(format!("bad histogram {s:?}"));
    };
    let split = |v: &str| {
        v.split(',')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let bits = |x: &str| u64::from_str_radix(x, 16).map_err(|_| format!("bad float {x:?}"));
    let h = Histogram::from_parts(
        split(bounds)
            .iter()
            .map(|b| bits(b).map(f64::from_bits))
            .collect::<Result<_, _>>()?,
        split(counts)
            .iter()
            .map(|c| c.parse().map_err(|_| format!("bad count {c:?}")))
            .collect::<Result<_, _>>()?,
        count.parse().map_err(|_| format!("bad count {count:?}"))?,
        f64::from_bits(bits(sum)?),
    );
    h.validate().map_err(|e| e.to_string())?;
    Ok(h)
}

/// One line of [`DeltaTracker::save_state`]: a series' name, labels and state.
fn save_line<'a>(
    out: &mut String,
    name: &str,
    labels: impl Iterator<Item = (&'a str, &'a str)>,
    (kind, start, last_seen, state): (Kind, SystemTime, SystemTime, &State),
) {
    let tag = match kind {
        Kind::Counter => 'c',
        Kind::Gauge => 'g',
        Kind::Histogram => 'h',
    };
    let _ = write!(out, "{tag}\t{}\t{}\t", nanos(start), nanos(last_seen));
    escape(out, name);
    out.push('\t');
    for (i, (k, v)) in labels.enumerate() {
        if i > 0 {
            out.push(';');
        }
        escape(out, k);
        out.push('=');
        escape(out, v);
    }
    match state {
        State::Counter { prev, total } => {
            out.push('\t');
            number(out, *prev);
            out.push('\t');
            number(out, *total);
        }
        State::Histogram { prev, total } => {
            out.push('\t');
            histogram(out, prev);
            out.push('\t');
            histogram(out, total);
        }
        State::Gauge => {}
    }
    out.push('\n');
}

impl<M: Clone> DeltaTracker<M> {
    /// Appends one line per tracked series (and per restored one not seen since) to `out`.
    pub fn save_state(&self, out: &mut String) {
        for s in &self.slots {
            let e = &s.entry;
            let line = (e.kind, e.start, e.last_seen, &e.state);
            save_line(out, s.key.name(), s.key.labels(), line);
        }
        for (key, r) in &self.restored {
            let line = (r.kind, r.start, r.last_seen, &r.state);
            save_line(out, &key.name, key.labels.iter(), line);
        }
    }

    /// Reads lines written by [`save_state`](Self::save_state). Each series continues from
    /// its saved state when it is next seen (no first-sighting rule, no double count).
    /// Returns how many series were read. On a malformed line nothing is restored and the
    /// error names the line.
    pub fn restore_state(&mut self, text: &str) -> Result<usize, StateError> {
        let mut parsed = Vec::new();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
            let entry = parse_line(line).map_err(|reason| StateError {
                line: i + 1,
                reason,
            })?;
            parsed.push(entry);
        }
        let n = parsed.len();
        for (key, restored) in parsed {
            self.restored.insert(key, restored);
        }
        Ok(n)
    }
}

fn parse_line(line: &str) -> Result<(SeriesKey, Restored), String> {
    let f: Vec<&str> = line.split('\t').collect();
    if f.len() < 5 {
        return Err("too few fields".into());
    }
    let mut labels = Vec::new();
    for pair in f[4].split(';').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').ok_or("label without '='")?;
        labels.push((unescape(k)?, unescape(v)?));
    }
    let key = SeriesKey::new(unescape(f[3])?, Labels::from_vec(labels));
    let (kind, state) = match (f[0], f.len()) {
        ("c", 7) => (
            Kind::Counter,
            State::Counter {
                prev: parse_number(f[5])?,
                total: parse_number(f[6])?,
            },
        ),
        ("h", 7) => (
            Kind::Histogram,
            State::Histogram {
                prev: Box::new(parse_histogram(f[5])?),
                total: Box::new(parse_histogram(f[6])?),
            },
        ),
        ("g", 5) => (Kind::Gauge, State::Gauge),
        (tag, n) => return Err(format!("unknown record {tag:?} with {n} fields")),
    };
    Ok((
        key,
        Restored {
            kind,
            start: time(f[1])?,
            last_seen: time(f[2])?,
            state,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Sample, Tracked, TrackedValue, TrackerConfig};

    fn at(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + s)
    }

    fn run(t: &mut DeltaTracker, now: SystemTime, samples: Vec<Sample>) -> Vec<Tracked<SeriesKey>> {
        let mut out = Vec::new();
        t.observe(now, samples, |i| Some(i.key.clone()), &mut out);
        out
    }

    #[test]
    fn a_restarted_tracker_continues_without_double_counting() {
        let mut a = DeltaTracker::new(TrackerConfig::default());
        let weird = "a\tb=c;d|e,f%g\nh";
        let born = run(
            &mut a,
            at(0),
            vec![Sample::counter("c", 500).with_label("k", weird)],
        )[0]
        .start;
        // The source resets: raw 50, total 550.
        run(
            &mut a,
            at(10),
            vec![Sample::counter("c", 50).with_label("k", weird)],
        );
        let h = Histogram::from_observations(vec![0.5, 1.0], &[0.1, 0.7]);
        run(&mut a, at(10), vec![Sample::histogram("h", h.clone())]);
        let mut saved = String::new();
        a.save_state(&mut saved);

        let mut b = DeltaTracker::new(TrackerConfig::default());
        assert_eq!(b.restore_state(&saved), Ok(2));
        // While snapbridge was down the source counted 30 more.
        let out = run(
            &mut b,
            at(30),
            vec![Sample::counter("c", 80).with_label("k", weird)],
        );
        assert_eq!(
            out[0].value,
            TrackedValue::Counter {
                total: Number::Int(580),
                delta: Number::Int(30)
            }
        );
        assert_eq!(out[0].start, born, "the series keeps its start time");
        let h2 = Histogram::from_observations(vec![0.5, 1.0], &[0.1, 0.7, 2.0]);
        let out = run(&mut b, at(30), vec![Sample::histogram("h", h2)]);
        let TrackedValue::Histogram { total, delta } = &out[0].value else {
            panic!()
        };
        assert_eq!((total.count(), delta.count()), (3, 1));
    }

    #[test]
    fn a_corrupt_state_names_the_line_and_restores_nothing() {
        let mut t: DeltaTracker = DeltaTracker::new(TrackerConfig::default());
        let err = t
            .restore_state("g\t1\t1\tok\t\nc\t1\t1\tbad\t\ti1\n")
            .unwrap_err();
        assert_eq!(err.line(), 2, "{err}");
        assert!(err.to_string().starts_with("line 2:"), "{err}");
        assert!(t.restored.is_empty());
        assert!(t.restore_state("x\n").is_err());
    }
}
