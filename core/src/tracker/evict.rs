//! Bounding the state kept for series that left the snapshot, and reading what is tracked.
//!
//! A series absent from a snapshot keeps its state for `max_staleness`; under label churn
//! that stale state can outgrow the series exposed now by far. The caller bounds it with
//! [`DeltaTracker::evict_stale`], which drops the longest-absent series first and never one
//! seen in the latest snapshot.

use std::hash::BuildHasher;
use std::time::SystemTime;

use super::{DeltaTracker, NO_SLOT};
use crate::SeriesKey;

impl<M: Clone> DeltaTracker<M> {
    /// True when `key` has state (live or stale).
    pub fn contains(&self, key: &SeriesKey) -> bool {
        self.find(self.hasher.hash_one(key), key).is_some()
    }

    /// The value attached to each series with state, in no particular order.
    pub fn metas(&self) -> impl Iterator<Item = &M> {
        self.slots.iter().map(|s| &s.entry.meta)
    }

    /// Series with state that were not in the latest snapshot.
    pub fn stale_len(&self) -> usize {
        let cycle = self.cycle;
        self.slots
            .iter()
            .filter(|s| s.entry.seen_in != cycle)
            .count()
    }

    /// Drops the state of series absent from the latest snapshot, longest absent first,
    /// until at most `keep` series have state; returns how many were dropped. A series seen
    /// in the latest snapshot is never dropped. A dropped series that comes back is new.
    pub fn evict_stale(&mut self, keep: usize) -> usize {
        if self.slots.len() <= keep {
            return 0;
        }
        let cycle = self.cycle;
        let mut stale: Vec<(SystemTime, u32)> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.entry.seen_in != cycle)
            .map(|(i, s)| (s.entry.last_seen, i as u32))
            .collect();
        let n = (self.slots.len() - keep).min(stale.len());
        if n == 0 {
            return 0;
        }
        if n < stale.len() {
            stale.select_nth_unstable(n - 1);
            stale.truncate(n);
        }
        // Highest slot first, so each swap_remove moves a slot that is not to be removed
        // (or was already looked at).
        let mut doomed: Vec<u32> = stale.into_iter().map(|(_, i)| i).collect();
        doomed.sort_unstable_by(|a, b| b.cmp(a));
        for i in doomed {
            self.slots.swap_remove(i as usize);
        }
        self.reindex();
        n
    }

    /// Rebuilds the hash chains after slots moved, and forgets the last snapshot's order.
    pub(crate) fn reindex(&mut self) {
        self.index.clear();
        for i in 0..self.slots.len() {
            let h = self.slots[i].hash;
            self.slots[i].next = self.index.insert(h, i as u32).unwrap_or(NO_SLOT);
        }
        self.last_order.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use crate::{DeltaTracker, Sample, SeriesKey, TrackerConfig};

    #[test]
    fn the_longest_absent_go_first_and_current_series_never() {
        let mut t: DeltaTracker = DeltaTracker::new(TrackerConfig::default());
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let attach = |i: &crate::SeriesInfo<'_>| Some(i.key.clone());
        let mut out = Vec::new();
        let snap = |names: &[&str]| -> Vec<Sample> {
            names.iter().map(|n| Sample::counter(*n, 1)).collect()
        };
        t.observe(t0, snap(&["a", "b"]), attach, &mut out);
        t.observe(t0 + Duration::from_secs(1), snap(&["c"]), attach, &mut out);
        t.observe(
            t0 + Duration::from_secs(2),
            snap(&["d", "e"]),
            attach,
            &mut out,
        );
        assert_eq!((t.len(), t.stale_len()), (5, 3));
        // Two must go: a and b (absent longest), not c.
        assert_eq!(t.evict_stale(3), 2);
        let has = |n: &str| t.contains(&SeriesKey::new(n, crate::Labels::default()));
        assert!(!has("a") && !has("b") && has("c") && has("d") && has("e"));
        // Only stale state is evicted, whatever `keep` asks.
        assert_eq!(t.evict_stale(0), 1);
        assert_eq!(t.len(), 2);
        assert_eq!(t.metas().count(), 2);
        // The tracker still finds its series after the slots moved.
        out.clear();
        let stats = t.observe(
            t0 + Duration::from_secs(3),
            snap(&["e", "d"]),
            attach,
            &mut out,
        );
        assert_eq!((stats.new_series, out.len()), (0, 2));
    }
}
