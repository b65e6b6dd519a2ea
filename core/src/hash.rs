//! A fast seeded hasher for series keys.
//!
//! std's SipHash costs more than everything else a cycle does per series (a key is a name
//! and a few label strings); this multiply-fold hash is several times cheaper. Its seed
//! comes from std's `RandomState`, so an outside party that controls label values cannot
//! precompute colliding keys.

use std::hash::{BuildHasher, Hasher};

const MUL: u64 = 0x5851_f42d_4c95_7f2d;

/// Builds [`FoldHasher`]s sharing one random seed.
#[derive(Clone, Debug)]
pub(crate) struct SeededState(u64);

impl Default for SeededState {
    fn default() -> Self {
        SeededState(std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64) | 1)
    }
}

impl BuildHasher for SeededState {
    type Hasher = FoldHasher;
    fn build_hasher(&self) -> FoldHasher {
        FoldHasher(self.0)
    }
}

/// Folds each 8-byte word into the state with a rotate, xor and multiply.
pub(crate) struct FoldHasher(u64);

impl FoldHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(26) ^ word).wrapping_mul(MUL);
    }
}

impl Hasher for FoldHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // A final avalanche so the low bits (the bucket index) depend on every input bit.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }
}

/// For maps keyed by a hash already computed with [`SeededState`]: passes it through.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IdentityState;

impl BuildHasher for IdentityState {
    type Hasher = IdentityHasher;
    fn build_hasher(&self) -> IdentityHasher {
        IdentityHasher(0)
    }
}

/// Keeps the one `u64` it is given.
pub(crate) struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are used; fold anything else rather than lose it.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn equal_keys_hash_equal_and_different_keys_differ() {
        let s = SeededState::default();
        let a = (
            "records_written".to_string(),
            vec![("a".to_string(), "1".to_string())],
        );
        let b = (
            "records_written".to_string(),
            vec![("a".to_string(), "2".to_string())],
        );
        assert_eq!(s.hash_one(&a), s.hash_one(a.clone()));
        assert_ne!(s.hash_one(&a), s.hash_one(&b));
        // Moving bytes between adjacent strings changes the hash (length prefixes count).
        assert_ne!(s.hash_one(("ab", "c")), s.hash_one(("a", "bc")));
    }
}
