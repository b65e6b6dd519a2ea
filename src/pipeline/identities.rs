//! The series a source exposes, by what Prometheus sees: family and final labels.
//!
//! Two different keys of a source may end up as the same series once named: a typed entry
//! `u` with unit `1` and a plain key `u_ratio`, a counter `a` and a counter `a_total`,
//! labels that become equal after renaming. The tracker keys them apart, but an exposition
//! with one series twice is one Prometheus keeps a single value of. The first series to
//! claim an identity keeps it while it lives (tracked, or held by a published view); a later
//! one is refused and counted as a duplicate, like a key given twice.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::BuildHasher;
use std::sync::{Arc, Weak};

use crate::view::SeriesMeta;

/// Claimed identities of one source's series, held weakly (by hash, compared exactly).
#[derive(Default)]
pub struct Identities {
    by_hash: HashMap<u64, Claims>,
    hasher: std::collections::hash_map::RandomState,
}

/// The series claiming one hash: nearly always one, kept inline (a vector per series was
/// an allocation and some 50 bytes each); several only when their hashes collide or a dead
/// claim waits to be forgotten.
enum Claims {
    One(Weak<SeriesMeta>),
    Many(Vec<Weak<SeriesMeta>>),
}

impl Claims {
    fn as_slice(&self) -> &[Weak<SeriesMeta>] {
        match self {
            Claims::One(w) => std::slice::from_ref(w),
            Claims::Many(list) => list,
        }
    }

    /// Keeps the live claims; false when none is left.
    fn retain_live(&mut self) -> bool {
        match self {
            Claims::One(w) => w.strong_count() > 0,
            Claims::Many(list) => {
                list.retain(|w| w.strong_count() > 0);
                if list.len() == 1
                    && let Some(w) = list.pop()
                {
                    *self = Claims::One(w);
                }
                !self.as_slice().is_empty()
            }
        }
    }

    fn push(&mut self, claim: Weak<SeriesMeta>) {
        match self {
            Claims::One(w) => *self = Claims::Many(vec![w.clone(), claim]),
            Claims::Many(list) => list.push(claim),
        }
    }
}

impl Identities {
    /// Claims `meta`'s identity; false when a live series of the source already has it.
    pub fn claim(&mut self, meta: &Arc<SeriesMeta>) -> bool {
        let hash = self
            .hasher
            .hash_one((meta.family.id, &*meta.rendered_labels));
        let claims = match self.by_hash.entry(hash) {
            Entry::Vacant(v) => {
                v.insert(Claims::One(Arc::downgrade(meta)));
                return true;
            }
            Entry::Occupied(o) => o.into_mut(),
        };
        if !claims.retain_live() {
            *claims = Claims::One(Arc::downgrade(meta));
            return true;
        }
        let taken = claims.as_slice().iter().filter_map(Weak::upgrade).any(|m| {
            Arc::ptr_eq(&m.family, &meta.family) && m.rendered_labels == meta.rendered_labels
        });
        if !taken {
            claims.push(Arc::downgrade(meta));
        }
        !taken
    }

    /// Forgets identities whose series are gone (call after state was dropped).
    pub fn forget_dead(&mut self) {
        self.by_hash.retain(|_, claims| claims.retain_live());
    }

    /// Identities held (live or not yet forgotten).
    pub fn len(&self) -> usize {
        self.by_hash.values().map(|c| c.as_slice().len()).sum()
    }

    /// True when none is held.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::Family;
    use snapbridge_core::Kind;

    fn family(id: u32) -> Arc<Family> {
        Arc::new(Family {
            id,
            base: "u".into(),
            exposed: "u_ratio".into(),
            kind: Kind::Gauge,
            unit: None,
            help: String::new(),
        })
    }

    #[test]
    fn one_series_per_family_and_labels_while_it_lives() {
        let f = family(0);
        let labels = || vec![("source".to_string(), "s".to_string())];
        let mut ids = Identities::default();
        let first = Arc::new(SeriesMeta::new(f.clone(), labels()));
        assert!(ids.claim(&first));
        let second = Arc::new(SeriesMeta::new(f.clone(), labels()));
        assert!(!ids.claim(&second), "same family and labels");
        let other = Arc::new(SeriesMeta::new(f.clone(), vec![]));
        assert!(ids.claim(&other), "other labels");
        assert!(ids.claim(&Arc::new(SeriesMeta::new(family(1), labels()))));
        drop(first);
        assert!(ids.claim(&second), "the first is gone");
        drop(other);
        ids.forget_dead();
        assert_eq!(ids.len(), 1);
    }
}
