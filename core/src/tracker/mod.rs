//! The DeltaTracker: turns a stream of snapshots into exact, reset-safe totals and deltas.
//!
//! The rules:
//! - counter `r >= prev`: delta = r - prev; `r < prev`: the source reset, delta = r and the
//!   reset is counted (Prometheus' `rate()` rule);
//! - first sighting: delta = r (`Initial::Keep`) or 0 (`Initial::Drop`);
//! - the total is the sum of deltas, so it never decreases while the tracker lives;
//! - NaN, negative or infinite counter values are rejected for that series and counted;
//!   the series keeps its last total;
//! - gauges pass through as observed;
//! - histograms follow the counter rules on count and each bucket (the sum follows their
//!   resets: negative observations may make it go down); a change of bucket bounds is a
//!   reset;
//! - a counter or histogram starts (its created timestamp) where a consumer inserting a
//!   zero counts exactly what the tracker counts: with `Keep` after the previous snapshot,
//!   with `Drop` at first sighting;
//! - a series absent from a snapshot is not emitted, but its state is kept for
//!   `max_staleness` so that it continues without double counting if it comes back.

use std::borrow::{Borrow, Cow};
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::time::SystemTime;

mod evict;
mod packed;
mod rules;
mod types;

pub(crate) use rules::State;
pub use types::{
    CycleStats, Initial, RejectReason, SeriesInfo, Tracked, TrackedValue, TrackerConfig,
};

use crate::hash::{IdentityState, SeededState};
use crate::{Kind, Sample, SampleRef, SeriesKey, Value};
use packed::PackedKey;
use rules::{advance, birth_time, first_sighting, kind_of};

/// A series' state read back from a saved file, waiting for the series to be seen again.
pub(crate) struct Restored {
    pub(crate) kind: Kind,
    pub(crate) start: SystemTime,
    pub(crate) last_seen: SystemTime,
    pub(crate) state: State,
}

pub(crate) struct Entry<M> {
    meta: M,
    pub(crate) kind: Kind,
    pub(crate) start: SystemTime,
    pub(crate) last_seen: SystemTime,
    seen_in: u64,
    pub(crate) state: State,
}

/// A tracked series: its key and state, stored in a vector so that the order of the last
/// snapshot can be replayed without hashing.
pub(crate) struct Slot<M> {
    // Packed: one allocation instead of one per string (see `packed`).
    pub(crate) key: PackedKey,
    hash: u64,
    // Next slot whose key has the same hash (NO_SLOT ends the chain).
    next: u32,
    pub(crate) entry: Entry<M>,
}

/// Marks a sample position that maps to no slot (rejected or declined).
const NO_SLOT: u32 = u32::MAX;

/// Per-source state that turns snapshots into totals and deltas.
///
/// `M` is a value the caller attaches to each series when it is first seen and gets back
/// with every emission: the exporter keeps its normalised names and pre-rendered bytes
/// there, so that work is done once per series, not once per cycle.
pub struct DeltaTracker<M = SeriesKey> {
    config: TrackerConfig,
    pub(crate) slots: Vec<Slot<M>>,
    // Key hash -> first slot with that hash. Keyed by the hash rather than the key, so each
    // series' name and labels are stored once (in its slot), not twice: at a million series
    // that is hundreds of megabytes.
    index: HashMap<u64, u32, IdentityState>,
    hasher: SeededState,
    // State read back from a saved file (`restore_state`), for series not seen since.
    pub(crate) restored: HashMap<SeriesKey, Restored, SeededState>,
    // Sources usually list their series in the same order every time: `last_order[i]` is the
    // slot of the previous snapshot's i-th sample, so a lookup is one key comparison and
    // hashing is left for series that moved or are new.
    last_order: Vec<u32>,
    order: Vec<u32>,
    cycle: u64,
    last_sweep: Option<SystemTime>,
    // When the previous snapshot was taken: a series first seen now was absent then, so with
    // `Initial::Keep` it started counting somewhere in between.
    last_observed: Option<SystemTime>,
}

impl<M: Clone> DeltaTracker<M> {
    /// A tracker with no series.
    pub fn new(config: TrackerConfig) -> Self {
        DeltaTracker {
            config,
            slots: Vec::new(),
            index: HashMap::default(),
            hasher: SeededState::default(),
            restored: HashMap::default(),
            last_order: Vec::new(),
            order: Vec::new(),
            cycle: 0,
            last_sweep: None,
            last_observed: None,
        }
    }

    /// The settings.
    pub fn config(&self) -> &TrackerConfig {
        &self.config
    }

    /// Number of series with state (live or waiting out their staleness).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when no series has state.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Feeds one successful snapshot taken at `now`; appends one `Tracked` per accepted
    /// series to `out`, in snapshot order.
    ///
    /// `attach` is called once when a series is first seen (or changes kind); returning
    /// `None` declines the series (for a series limit, say): it is not tracked or emitted.
    /// `Value::Untyped` samples are treated as gauges: the exporter resolves kinds first.
    pub fn observe<I, F>(
        &mut self,
        now: SystemTime,
        samples: I,
        attach: F,
        out: &mut Vec<Tracked<M>>,
    ) -> CycleStats
    where
        I: IntoIterator<Item = Sample>,
        F: FnMut(&SeriesInfo<'_>) -> Option<M>,
    {
        self.observe_items(now, samples, attach, out)
    }

    /// [`observe`](Self::observe) for series whose strings the caller keeps: a key is
    /// copied only when its series is new, so a snapshot that is refilled in place cycle
    /// after cycle costs no allocation for the series it already held.
    pub fn observe_borrowed<'a, I, F>(
        &mut self,
        now: SystemTime,
        samples: I,
        attach: F,
        out: &mut Vec<Tracked<M>>,
    ) -> CycleStats
    where
        I: IntoIterator<Item = SampleRef<'a>>,
        F: FnMut(&SeriesInfo<'_>) -> Option<M>,
    {
        self.observe_items(now, samples, attach, out)
    }

    fn observe_items<T, I, F>(
        &mut self,
        now: SystemTime,
        samples: I,
        mut attach: F,
        out: &mut Vec<Tracked<M>>,
    ) -> CycleStats
    where
        T: Item,
        I: IntoIterator<Item = T>,
        F: FnMut(&SeriesInfo<'_>) -> Option<M>,
    {
        self.cycle += 1;
        let cycle = self.cycle;
        let initial = self.config.initial;
        let born = birth_time(initial, self.last_observed.replace(now), now);
        let mut stats = CycleStats::default();
        let before = out.len();
        let mut order = std::mem::take(&mut self.order);
        order.clear();
        for (position, sample) in samples.into_iter().enumerate() {
            let unchanged = sample.unchanged();
            let (key, value, unit, description) = sample.into_parts();
            let kind = kind_of(&value);
            let unit = unit.as_ref().map(AsRef::as_ref);
            let description = description.as_ref().map(AsRef::as_ref);
            let mut hash = None;
            let found = match self.last_order.get(position) {
                Some(&i)
                    if i != NO_SLOT
                        && (unchanged || self.slots[i as usize].key.matches(key.borrow())) =>
                {
                    Some(i)
                }
                _ => {
                    let h = self.hasher.hash_one(key.borrow());
                    hash = Some(h);
                    self.find(h, key.borrow())
                }
            };
            if let Some(i) = found {
                let entry = &mut self.slots[i as usize].entry;
                if entry.seen_in == cycle {
                    stats.rejected[RejectReason::Duplicate as usize] += 1;
                    if stats.first_duplicate.is_none() {
                        stats.first_duplicate = Some(key.borrow().clone());
                    }
                    order.push(NO_SLOT);
                    continue;
                }
                if entry.kind == kind {
                    entry.seen_in = cycle;
                    entry.last_seen = now;
                    order.push(i);
                    if let Some(value) = advance(&mut entry.state, value, &mut stats) {
                        out.push(Tracked {
                            meta: entry.meta.clone(),
                            start: entry.start,
                            value,
                        });
                    }
                    continue;
                }
                // A kind change makes a new series under the same key: fall through to
                // the first-sighting rules, replacing this slot's entry.
            }
            // A series saved by a previous run continues from its saved state.
            if found.is_none()
                && !self.restored.is_empty()
                && let Some(r) = self
                    .restored
                    .remove(key.borrow())
                    .filter(|r| r.kind == kind)
            {
                let info = SeriesInfo {
                    key: key.borrow(),
                    kind,
                    unit,
                    description,
                };
                let Some(meta) = attach(&info) else {
                    stats.declined += 1;
                    order.push(NO_SLOT);
                    continue;
                };
                let mut entry = Entry {
                    meta,
                    kind,
                    start: r.start,
                    last_seen: now,
                    seen_in: cycle,
                    state: r.state,
                };
                if let Some(value) = advance(&mut entry.state, value, &mut stats) {
                    out.push(Tracked {
                        meta: entry.meta.clone(),
                        start: entry.start,
                        value,
                    });
                }
                let h = hash.unwrap_or_else(|| self.hasher.hash_one(key.borrow()));
                let i = self.push_slot(key.borrow(), h, entry);
                order.push(i);
                continue;
            }
            let first = first_sighting(&value, initial).map_err(|reason| {
                stats.rejected[reason as usize] += 1;
            });
            let meta = first.as_ref().ok().and_then(|_| {
                let info = SeriesInfo {
                    key: key.borrow(),
                    kind,
                    unit,
                    description,
                };
                let meta = attach(&info);
                if meta.is_none() {
                    stats.declined += 1;
                }
                meta
            });
            let (Ok((state, emitted)), Some(meta)) = (first, meta) else {
                order.push(NO_SLOT);
                continue;
            };
            stats.new_series += 1;
            // A gauge has no count to start: its start is simply when it was first seen.
            let start = if kind == Kind::Gauge { now } else { born };
            out.push(Tracked {
                meta: meta.clone(),
                start,
                value: emitted,
            });
            let entry = Entry {
                meta,
                kind,
                start,
                last_seen: now,
                seen_in: cycle,
                state,
            };
            let i = match found {
                Some(i) => {
                    self.slots[i as usize].entry = entry;
                    i
                }
                None => {
                    let h = hash.unwrap_or_else(|| self.hasher.hash_one(key.borrow()));
                    self.push_slot(key.borrow(), h, entry)
                }
            };
            order.push(i);
        }
        self.order = std::mem::replace(&mut self.last_order, order);
        stats.emitted = out.len() - before;
        stats
    }

    /// Drops the state of series not seen for longer than `max_staleness`; returns how many.
    ///
    /// Call it every cycle, also when the source failed: it sweeps at most a few times per
    /// staleness period, so its cost does not grow with the cycle rate.
    pub fn expire(&mut self, now: SystemTime) -> usize {
        let max = self.config.max_staleness;
        let due = match self.last_sweep {
            None => true,
            Some(last) => now.duration_since(last).unwrap_or_default() >= max / 8,
        };
        if !due {
            return 0;
        }
        self.last_sweep = Some(now);
        let old = |t: SystemTime| now.duration_since(t).unwrap_or_default() > max;
        self.restored.retain(|_, r| !old(r.last_seen));
        let stale = |e: &Entry<M>| old(e.last_seen);
        let mut removed = 0;
        let mut i = 0;
        while i < self.slots.len() {
            if !stale(&self.slots[i].entry) {
                i += 1;
                continue;
            }
            self.slots.swap_remove(i);
            removed += 1;
        }
        if removed > 0 {
            // Slot positions changed: rebuild the chains (sweeps are rare), and match the
            // next snapshot by hashing.
            self.reindex();
        }
        removed
    }

    /// The slot holding `key`, whose hash is `hash`.
    fn find(&self, hash: u64, key: &SeriesKey) -> Option<u32> {
        let mut i = *self.index.get(&hash)?;
        loop {
            let slot = &self.slots[i as usize];
            if slot.key.matches(key) {
                return Some(i);
            }
            if slot.next == NO_SLOT {
                return None;
            }
            i = slot.next;
        }
    }

    /// Stores a new series; returns its slot.
    fn push_slot(&mut self, key: &SeriesKey, hash: u64, entry: Entry<M>) -> u32 {
        let i = self.slots.len() as u32;
        let next = self.index.insert(hash, i).unwrap_or(NO_SLOT);
        self.slots.push(Slot {
            key: PackedKey::new(key),
            hash,
            next,
            entry,
        });
        i
    }
}

/// A sample taken apart: key, value, unit, description.
type Parts<K, T> = (K, Value, Option<T>, Option<T>);

/// What `observe` accepts: an owned sample, or one lent with its strings.
trait Item {
    type Key: Borrow<SeriesKey>;
    type Text: AsRef<str>;
    fn into_parts(self) -> Parts<Self::Key, Self::Text>;
    /// True when the caller promises the key is the previous call's at this position.
    fn unchanged(&self) -> bool {
        false
    }
}

impl Item for Sample {
    type Key = SeriesKey;
    type Text = String;
    fn into_parts(self) -> Parts<SeriesKey, String> {
        (self.key, self.value, self.unit, self.description)
    }
}

impl<'a> Item for SampleRef<'a> {
    type Key = Cow<'a, SeriesKey>;
    type Text = &'a str;
    fn into_parts(self) -> Parts<Cow<'a, SeriesKey>, &'a str> {
        (self.key, self.value, self.unit, self.description)
    }
    fn unchanged(&self) -> bool {
        self.unchanged
    }
}
