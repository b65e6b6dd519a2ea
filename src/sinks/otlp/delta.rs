//! Delta temporality's memory: per series, the last total the receiver acknowledged and the
//! total of a request that may have reached it without an answer. Kept in the state file
//! beside the trackers', so a restart continues from what was delivered.
//!
//! Each series is in one of two states. *Settled*: its next point is the increase since the
//! last delivered total, starting where that export ended (or at the series' start if none
//! was ever delivered). *Sent*: a request with a point of it went out and its fate is
//! unknown (the process was killed, or the answer never came): its next point is that same
//! point again, byte for byte — a receiver that already has it drops it as a duplicate (the
//! Collector's deltatocumulative drops a point whose time is not after the last one), one
//! that lost it takes it now. A point is marked sent *before* its request goes out, in the
//! same state write as the tracker's cycle, so a SIGKILL at any moment leaves a file that
//! neither skips nor repeats an interval with a new end time.
//!
//! Memory and disk hold one entry per series, however long the receiver is away: nothing is
//! queued per cycle, the next accepted export carries the whole increase.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use snapbridge_core::persist;
use snapbridge_core::{Histogram, Number, TrackedValue};

use crate::view::{Point, SeriesMeta};

/// A total as exported: a counter's or a histogram's.
#[derive(Clone, Debug, PartialEq)]
pub enum Exported {
    /// A counter's running total.
    Counter(Number),
    /// A histogram's running buckets, count and sum.
    Histogram(Histogram),
}

/// A total and the time it was exported at (the point's end).
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    total: Exported,
    end: SystemTime,
}

/// What one series remembers.
#[derive(Clone, Debug)]
struct Entry {
    // The series' own start: a different one means the tracker started a new life for it.
    start: SystemTime,
    // When it was last in a view, to forget series gone for longer than `keep_for`.
    seen: SystemTime,
    delivered: Option<Mark>,
    sent: Option<Mark>,
}

struct Live {
    // Held, so the address used as the key cannot be reused while the entry exists.
    meta: Arc<SeriesMeta>,
    entry: Entry,
}

/// One data point to encode: its interval and value.
pub struct Planned {
    /// `start_time_unix_nano`.
    pub start: SystemTime,
    /// `time_unix_nano`.
    pub end: SystemTime,
    /// The increase over the interval.
    pub value: Exported,
}

/// How a request ended, as far as the receiver's copy of the data is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver took it (a partial success included: it must not be sent again).
    Accepted,
    /// It never reached the receiver, or the receiver answered that it did not take it.
    Refused,
    /// It may have reached the receiver: no answer came (a timeout, a broken connection).
    Unknown,
}

/// The series of a request, to settle once its outcome is known: (series, was a resend).
pub struct Sent(Vec<(usize, bool)>);

/// Per push sink, the delta baselines of every series; see the module doc.
pub struct DeltaBook {
    live: HashMap<usize, Live>,
    // Read from the state file, by series name and labels, until the series shows up.
    restored: HashMap<String, Entry>,
    keep_for: Duration,
}

impl Default for DeltaBook {
    fn default() -> Self {
        DeltaBook::new(Duration::from_secs(600))
    }
}

fn key_of(meta: &SeriesMeta) -> String {
    let mut key = String::new();
    persist::escape(&mut key, &meta.family.exposed);
    key.push('\t');
    persist::escape(&mut key, &meta.rendered_labels);
    key
}

impl DeltaBook {
    /// An empty book that forgets a series absent for longer than `keep_for` (the
    /// tracker's `max_staleness`: past it the tracker starts the series afresh anyway).
    pub fn new(keep_for: Duration) -> Self {
        DeltaBook {
            live: HashMap::new(),
            restored: HashMap::new(),
            keep_for,
        }
    }

    /// Series remembered (in views since the start, and restored ones not seen yet).
    pub fn len(&self) -> usize {
        self.live.len() + self.restored.len()
    }

    /// True when no series is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The point to send for a counter or histogram `point` of a view taken at `now`, and
    /// marks it sent (before it goes out). `None` for a gauge.
    pub fn plan(&mut self, point: &Point, now: SystemTime, sent: &mut Sent) -> Option<Planned> {
        let total = match &point.value {
            TrackedValue::Counter { total, .. } => Exported::Counter(*total),
            TrackedValue::Histogram { total, .. } => Exported::Histogram((**total).clone()),
            TrackedValue::Gauge(_) => return None,
        };
        let ptr = Arc::as_ptr(&point.meta) as usize;
        if !self.live.contains_key(&ptr) {
            let restored = if self.restored.is_empty() {
                None
            } else {
                self.restored.remove(&key_of(&point.meta))
            };
            let entry = restored.unwrap_or(Entry {
                start: point.start,
                seen: now,
                delivered: None,
                sent: None,
            });
            let meta = point.meta.clone();
            self.live.insert(ptr, Live { meta, entry });
        }
        let entry = &mut self.live.get_mut(&ptr)?.entry;
        if entry.start != point.start {
            // A new life of the series (the tracker forgot the old one): nothing of it was
            // delivered yet.
            *entry = Entry {
                start: point.start,
                seen: now,
                delivered: None,
                sent: None,
            };
        }
        entry.seen = now;
        let from = |delivered: &Option<Mark>| delivered.as_ref().map_or(entry.start, |d| d.end);
        let resend = entry.sent.is_some();
        let planned = match &entry.sent {
            Some(s) => Planned {
                start: from(&entry.delivered),
                end: s.end,
                value: increase(&s.total, entry.delivered.as_ref()),
            },
            None => {
                let planned = Planned {
                    start: from(&entry.delivered),
                    end: now,
                    value: increase(&total, entry.delivered.as_ref()),
                };
                entry.sent = Some(Mark { total, end: now });
                planned
            }
        };
        sent.0.push((ptr, resend));
        Some(planned)
    }

    /// How many points of the request are resends of an earlier send that got no answer.
    pub fn resends(sent: &Sent) -> usize {
        sent.0.iter().filter(|(_, resend)| *resend).count()
    }

    /// Starts the list of a new request's series.
    pub fn begin(&self) -> Sent {
        Sent(Vec::new())
    }

    /// Records what became of the request whose series are `sent`.
    pub fn settle(&mut self, sent: Sent, outcome: Outcome) {
        for (ptr, resend) in sent.0 {
            let Some(live) = self.live.get_mut(&ptr) else {
                continue;
            };
            let entry = &mut live.entry;
            match outcome {
                Outcome::Accepted => {
                    if let Some(s) = entry.sent.take() {
                        entry.delivered = Some(s);
                    }
                }
                // A fresh point that never arrived is forgotten: the next one covers its
                // interval. A resend stays pending: the first send's fate is still unknown.
                Outcome::Refused if !resend => entry.sent = None,
                Outcome::Refused | Outcome::Unknown => {}
            }
        }
    }

    /// Files every series under its name and labels, as if just restored: a book handed to
    /// another encoder (a reload) finds each series again even if its meta was rebuilt.
    pub fn detach(&mut self) {
        for (_, live) in self.live.drain() {
            self.restored.insert(key_of(&live.meta), live.entry);
        }
    }

    /// Forgets series not seen for longer than `keep_for` before `now`: the book never
    /// outgrows the series the tracker keeps.
    pub fn prune(&mut self, now: SystemTime) {
        let keep_for = self.keep_for;
        let fresh = |e: &Entry| now.duration_since(e.seen).unwrap_or_default() <= keep_for;
        self.live.retain(|_, l| fresh(&l.entry));
        self.restored.retain(|_, e| fresh(e));
    }

    /// Appends one line per series (see [`restore`](Self::restore) for the format).
    pub fn save(&self, out: &mut String) {
        let live = self.live.values().map(|l| (key_of(&l.meta), &l.entry));
        let restored = self.restored.iter().map(|(k, e)| (k.clone(), e));
        for (key, e) in live.chain(restored) {
            let _ = write!(out, "{}\t{}\t{key}\t", nanos(e.start), nanos(e.seen));
            mark(out, e.delivered.as_ref());
            out.push('\t');
            mark(out, e.sent.as_ref());
            out.push('\n');
        }
    }

    /// Reads lines written by [`save`](Self::save):
    ///
    /// ```text
    /// <start ns> <last seen ns> <name> <labels> <delivered> <sent>
    /// ```
    ///
    /// tab-separated, name and labels escaped as the tracker's lines are, each mark `-` or
    /// `<end ns>@<c|h><total>`. On a malformed line nothing is restored and the error
    /// names the line.
    pub fn restore(&mut self, text: &str) -> Result<usize, String> {
        let mut parsed = Vec::new();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
            let entry = parse_line(line).map_err(|e| format!("line {}: {e}", i + 1))?;
            parsed.push(entry);
        }
        let n = parsed.len();
        self.restored.extend(parsed);
        Ok(n)
    }
}

/// The increase from `prev` to `total`; totals never decrease while a series lives, so a
/// smaller one (or other buckets) means the whole total is new.
fn increase(total: &Exported, prev: Option<&Mark>) -> Exported {
    match (total, prev.map(|m| &m.total)) {
        (Exported::Counter(t), Some(Exported::Counter(p))) => {
            Exported::Counter(counter_increase(*t, *p))
        }
        (Exported::Histogram(t), Some(Exported::Histogram(p))) => {
            Exported::Histogram(histogram_increase(t, p))
        }
        (total, _) => total.clone(),
    }
}

fn counter_increase(total: Number, prev: Number) -> Number {
    match (total, prev) {
        (Number::Int(t), Number::Int(p)) if t >= p => Number::Int(t - p),
        (t, p) if t.as_f64() >= p.as_f64() => Number::Float(t.as_f64() - p.as_f64()),
        (t, _) => t,
    }
}

fn histogram_increase(total: &Histogram, prev: &Histogram) -> Histogram {
    if total.bounds() != prev.bounds() || total.count() < prev.count() {
        return total.clone();
    }
    Histogram::from_parts(
        total.bounds().to_vec(),
        total
            .counts()
            .iter()
            .zip(prev.counts())
            .map(|(t, p)| t.saturating_sub(*p))
            .collect(),
        total.count() - prev.count(),
        total.sum() - prev.sum(),
    )
}

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn time(s: &str) -> Result<SystemTime, String> {
    let n: u64 = s.parse().map_err(|_| format!("bad time {s:?}"))?;
    Ok(SystemTime::UNIX_EPOCH + Duration::from_nanos(n))
}

fn mark(out: &mut String, m: Option<&Mark>) {
    let Some(m) = m else {
        out.push('-');
        return;
    };
    let _ = write!(out, "{}@", nanos(m.end));
    match &m.total {
        Exported::Counter(n) => {
            out.push('c');
            persist::number(out, *n);
        }
        Exported::Histogram(h) => {
            out.push('h');
            persist::histogram(out, h);
        }
    }
}

fn parse_mark(s: &str) -> Result<Option<Mark>, String> {
    if s == "-" {
        return Ok(None);
    }
    let (end, total) = s.split_once('@').ok_or_else(|| format!("bad mark {s:?}"))?;
    let total = match total.split_at_checked(1) {
        Some(("c", n)) => Exported::Counter(persist::parse_number(n)?),
        Some(("h", h)) => Exported::Histogram(persist::parse_histogram(h)?),
        _ => return Err(format!("bad total {total:?}")),
    };
    Ok(Some(Mark {
        total,
        end: time(end)?,
    }))
}

fn parse_line(line: &str) -> Result<(String, Entry), String> {
    let f: Vec<&str> = line.split('\t').collect();
    let [start, seen, name, labels, delivered, sent] = f[..] else {
        return Err(format!("{} fields, expected 6", f.len()));
    };
    // Checked now, so a bad escape is this line's error rather than a silent mismatch.
    persist::unescape(name)?;
    persist::unescape(labels)?;
    let entry = Entry {
        start: time(start)?,
        seen: time(seen)?,
        delivered: parse_mark(delivered)?,
        sent: parse_mark(sent)?,
    };
    Ok((format!("{name}\t{labels}"), entry))
}

#[cfg(test)]
mod tests;
