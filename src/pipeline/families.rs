//! The family table: one entry per exposed metric name, shared by all sources.
//!
//! A family is registered the first time any series of it is seen, and removed by
//! [`FamilyTable::retain_used`] once no series with state refers to it (the pipeline calls
//! it after stale state was dropped), so churning names do not grow the table for ever.
//!
//! Every name a family puts in an exposition is claimed by it: the text name, the
//! OpenMetrics family name (a counter's without `_total`), and its sample names
//! (`_bucket`, `_count`, `_sum` and `_created` for histograms, `_created` for counters). A
//! family that would use a name another one claims is refused (and counted by the caller):
//! one name under two `# TYPE`s, or a histogram `x` beside a counter `x_sum`, makes an
//! OpenMetrics body invalid.

use std::collections::HashMap;
use std::sync::Arc;

use snapbridge_core::Kind;

use crate::names::TranslationStrategy;
use crate::view::Family;

/// Registered families, by exposed name, with a cached name-sorted list for the view.
#[derive(Default)]
pub struct FamilyTable {
    strategy: TranslationStrategy,
    by_name: HashMap<String, Arc<Family>>,
    // Every name some family's lines use -> the exposed name of that family.
    claims: HashMap<String, String>,
    // Ids of removed families, handed out again: ids stay dense (sinks index by them).
    free_ids: Vec<u32>,
    next_id: u32,
    sorted: Arc<Vec<Arc<Family>>>,
    // Registered since `sorted` was made: merged into it, not sorted again with it (under
    // churning names a cycle registers a few families among many thousands).
    added: Vec<Arc<Family>>,
    // Families were removed since `sorted` was made: it is rebuilt from `by_name`.
    dirty: bool,
}

/// Why a family could not be registered: a name it would use is another family's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindConflict {
    /// The name both would use.
    pub name: String,
    /// The exposed name of the family that has it.
    pub owner: String,
}

/// Every name the lines of a family `exposed` of `kind` use, in both text formats.
fn claimed_names(exposed: &str, kind: Kind) -> Vec<String> {
    let mut names = vec![exposed.to_string()];
    match kind {
        Kind::Counter => {
            let family = crate::names::openmetrics_family(exposed, kind);
            if family != exposed {
                names.push(family.to_string());
            }
            names.push(format!("{family}_created"));
        }
        Kind::Histogram => {
            for suffix in ["_bucket", "_count", "_sum", "_created"] {
                names.push(format!("{exposed}{suffix}"));
            }
        }
        Kind::Gauge => {}
        // A kind added to the core later: no suffixed lines of its own yet.
        _ => {}
    }
    names
}

impl FamilyTable {
    /// An empty table.
    pub fn new() -> Self {
        FamilyTable::default()
    }

    /// An empty table whose exposed names follow `strategy`.
    pub fn with_strategy(strategy: TranslationStrategy) -> Self {
        FamilyTable {
            strategy,
            ..FamilyTable::default()
        }
    }

    /// The family for `base` as a series of `kind` with `unit`, registering it if new.
    pub fn get_or_register(
        &mut self,
        base: &str,
        kind: Kind,
        unit: Option<&str>,
        help: impl FnOnce() -> String,
    ) -> Result<Arc<Family>, KindConflict> {
        let exposed = self.strategy.exposed_name(base, unit, kind);
        if let Some(f) = self.by_name.get(&exposed) {
            return if f.kind == kind {
                Ok(f.clone())
            } else {
                Err(KindConflict {
                    name: exposed.clone(),
                    owner: f.exposed.clone(),
                })
            };
        }
        let names = claimed_names(&exposed, kind);
        if let Some((name, owner)) = names
            .iter()
            .find_map(|n| self.claims.get(n).map(|owner| (n, owner)))
        {
            return Err(KindConflict {
                name: name.clone(),
                owner: owner.clone(),
            });
        }
        let id = self.free_ids.pop().unwrap_or_else(|| {
            self.next_id += 1;
            self.next_id - 1
        });
        let family = Arc::new(Family {
            id,
            base: base.to_string(),
            exposed: exposed.clone(),
            kind,
            unit: unit.map(str::to_string),
            help: help(),
        });
        for name in names {
            self.claims.insert(name, exposed.clone());
        }
        self.by_name.insert(exposed, family.clone());
        self.added.push(family.clone());
        Ok(family)
    }

    /// Number of registered families.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// True when no family is registered.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Removes every family whose id `used` does not mark (`used[id]`), freeing its names
    /// and id; returns how many were removed. A view already published keeps its own list.
    pub fn retain_used(&mut self, used: &[bool]) -> usize {
        let before = self.by_name.len();
        let mut gone = Vec::new();
        self.by_name.retain(|_, f| {
            let keep = used.get(f.id as usize).copied().unwrap_or(false);
            if !keep {
                gone.push((f.id, f.exposed.clone(), f.kind));
            }
            keep
        });
        for (id, exposed, kind) in gone {
            for name in claimed_names(&exposed, kind) {
                self.claims.remove(&name);
            }
            self.free_ids.push(id);
        }
        let removed = before - self.by_name.len();
        if removed > 0 {
            self.dirty = true;
            if self.by_name.is_empty() {
                self.claims.shrink_to_fit();
            }
        }
        removed
    }

    /// One past the highest id handed out (the size of a `used` mark list).
    pub fn id_bound(&self) -> usize {
        self.next_id as usize
    }

    /// Every family, sorted by exposed name (made again only after a change: new families
    /// are sorted among themselves and merged in).
    pub fn sorted(&mut self) -> Arc<Vec<Arc<Family>>> {
        if self.dirty {
            let mut all: Vec<Arc<Family>> = self.by_name.values().cloned().collect();
            all.sort_by(|a, b| a.exposed.cmp(&b.exposed));
            self.sorted = Arc::new(all);
            self.dirty = false;
            self.added.clear();
        } else if !self.added.is_empty() {
            let mut added = std::mem::take(&mut self.added);
            added.sort_by(|a, b| a.exposed.cmp(&b.exposed));
            let old = &self.sorted;
            let mut all = Vec::with_capacity(old.len() + added.len());
            let (mut i, mut j) = (0, 0);
            while i < old.len() && j < added.len() {
                if old[i].exposed <= added[j].exposed {
                    all.push(old[i].clone());
                    i += 1;
                } else {
                    all.push(added[j].clone());
                    j += 1;
                }
            }
            all.extend_from_slice(&old[i..]);
            all.extend_from_slice(&added[j..]);
            self.sorted = Arc::new(all);
            added.clear();
            self.added = added;
        }
        self.sorted.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_name_same_kind_shares_a_family_and_conflicts_are_refused() {
        let mut t = FamilyTable::new();
        let a = t
            .get_or_register("records_written", Kind::Counter, None, String::new)
            .unwrap();
        let b = t
            .get_or_register("records_written", Kind::Counter, None, String::new)
            .unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.exposed, "records_written_total");
        assert!(
            t.get_or_register("records_written_total", Kind::Gauge, None, String::new)
                .is_err()
        );
        assert!(
            t.get_or_register("records_written", Kind::Gauge, None, String::new)
                .is_err()
        );
        t.get_or_register("lat", Kind::Histogram, Some("s"), String::new)
            .unwrap();
        assert!(
            t.get_or_register("lat_seconds_count", Kind::Gauge, None, String::new)
                .is_err()
        );
        let names: Vec<_> = t.sorted().iter().map(|f| f.exposed.clone()).collect();
        assert_eq!(names, ["lat_seconds", "records_written_total"]);
    }

    #[test]
    fn sample_names_of_one_family_are_not_another_s() {
        let mut t = FamilyTable::new();
        t.get_or_register("x", Kind::Histogram, None, String::new)
            .unwrap();
        // Counter `x_sum`: `x_sum_total` in text, but family `x_sum` in OpenMetrics.
        let clash = t
            .get_or_register("x_sum", Kind::Counter, None, String::new)
            .unwrap_err();
        assert_eq!((clash.name.as_str(), clash.owner.as_str()), ("x_sum", "x"));
        for (base, kind) in [
            ("x_count", Kind::Counter),
            ("x_bucket", Kind::Gauge),
            ("x_created", Kind::Gauge),
        ] {
            assert!(
                t.get_or_register(base, kind, None, String::new).is_err(),
                "{base}"
            );
        }
        // A counter's `_created` line, and its OpenMetrics family name.
        t.get_or_register("jobs", Kind::Counter, None, String::new)
            .unwrap();
        assert!(
            t.get_or_register("jobs_created", Kind::Gauge, None, String::new)
                .is_err()
        );
        assert!(
            t.get_or_register("jobs", Kind::Gauge, None, String::new)
                .is_err()
        );
        assert!(
            t.get_or_register("jobs_done", Kind::Gauge, None, String::new)
                .is_ok()
        );
    }

    #[test]
    fn unused_families_go_with_their_names_and_ids_are_reused() {
        let mut t = FamilyTable::new();
        let a = t
            .get_or_register("a", Kind::Histogram, None, String::new)
            .unwrap();
        let b = t
            .get_or_register("b", Kind::Gauge, None, String::new)
            .unwrap();
        let mut used = vec![false; t.id_bound()];
        used[b.id as usize] = true;
        assert_eq!(t.retain_used(&used), 1);
        assert_eq!(t.len(), 1);
        let names: Vec<_> = t.sorted().iter().map(|f| f.exposed.clone()).collect();
        assert_eq!(names, ["b"]);
        // `a_sum` is free again, under a's id.
        let c = t
            .get_or_register("a_sum", Kind::Gauge, None, String::new)
            .unwrap();
        assert_eq!(c.id, a.id);
        assert_eq!(t.id_bound(), 2);
    }

    #[test]
    fn the_sorted_list_follows_registrations_and_removals() {
        let mut t = FamilyTable::new();
        // A cheap deterministic stream of names: some new, some seen, some removed.
        let mut x = 7u64;
        for round in 0..40 {
            for _ in 0..25 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let name = format!("m_{}", (x >> 33) % 400);
                let _ = t.get_or_register(&name, Kind::Gauge, None, String::new);
            }
            if round % 7 == 3 {
                let used: Vec<bool> = (0..t.id_bound()).map(|i| i % 3 != 0).collect();
                t.retain_used(&used);
            }
            let got: Vec<String> = t.sorted().iter().map(|f| f.exposed.clone()).collect();
            let mut want: Vec<String> = t.by_name.keys().cloned().collect();
            want.sort();
            assert_eq!(got, want, "round {round}");
        }
    }
}
