//! The family table: one entry per exposed metric name, shared by all sources.
//!
//! A family is registered the first time any series of it is seen and lives as long as
//! the process. Two series may share a family only if they share its kind; a series whose
//! kind conflicts is refused (and counted by the caller), because an exposition with one
//! name under two `# TYPE`s is invalid.

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
    sorted: Arc<Vec<Arc<Family>>>,
    dirty: bool,
}

/// Why a family could not be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindConflict;

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
                Err(KindConflict)
            };
        }
        // Histogram sample names (`x_bucket`, `x_count`, `x_sum`) and a counter's OpenMetrics
        // family name (`x` for `x_total`) must not collide with another family either.
        if self.collides(&exposed, kind) {
            return Err(KindConflict);
        }
        let family = Arc::new(Family {
            id: self.by_name.len() as u32,
            base: base.to_string(),
            exposed: exposed.clone(),
            kind,
            unit: unit.map(str::to_string),
            help: help(),
        });
        self.by_name.insert(exposed, family.clone());
        self.dirty = true;
        Ok(family)
    }

    fn collides(&self, exposed: &str, kind: Kind) -> bool {
        let taken = |n: &str| self.by_name.contains_key(n);
        let histogram_parent = ["_bucket", "_count", "_sum"].iter().any(|suffix| {
            exposed
                .strip_suffix(suffix)
                .and_then(|p| self.by_name.get(p))
                .is_some_and(|f| f.kind == Kind::Histogram)
        });
        let own = match kind {
            Kind::Histogram => ["_bucket", "_count", "_sum"]
                .iter()
                .any(|s| taken(&format!("{exposed}{s}"))),
            Kind::Counter => exposed.strip_suffix("_total").is_some_and(taken),
            Kind::Gauge => taken(&format!("{exposed}_total")),
            // A kind added to the core later: no suffixed lines of its own yet.
            _ => false,
        };
        histogram_parent || own
    }

    /// Every family, sorted by exposed name (rebuilt only after a registration).
    pub fn sorted(&mut self) -> Arc<Vec<Arc<Family>>> {
        if self.dirty {
            let mut all: Vec<Arc<Family>> = self.by_name.values().cloned().collect();
            all.sort_by(|a, b| a.exposed.cmp(&b.exposed));
            self.sorted = Arc::new(all);
            self.dirty = false;
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
}
