//! Label sets: the second half of a series' identity.
//!
//! A set is kept packed: every key and value, each written as its length (LEB128) and its
//! bytes, in key order, after the number of pairs, in one buffer. A snapshot holds one
//! such set per series, and a source that refills its snapshot keeps them cycle after
//! cycle: as a vector of `(String, String)` pairs a three-label set was seven heap
//! allocations and about 350 bytes with the allocator's rounding; packed it is one of
//! about 50, and comparing two sets is one `memcmp`. The encoding is canonical (sorted,
//! one pair per key), so two sets are equal exactly when their bytes are.

use std::cmp::Ordering;
use std::fmt;

/// A set of label pairs kept sorted by key, so that two sets holding the same pairs compare
/// and hash equal whatever order the source produced them in.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Labels(Vec<u8>);

impl Labels {
    /// An empty label set.
    pub const fn new() -> Self {
        Labels(Vec::new())
    }

    /// Builds a set from pairs in any order; when a key repeats, the last value wins.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let pairs: Vec<(K, V)> = pairs.into_iter().collect();
        let mut refs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_ref(), v.as_ref()))
            .collect();
        if !refs.windows(2).all(|w| w[0].0 < w[1].0) {
            // Stable: among equal keys the source order stays, so the last one is the last.
            refs.sort_by(|a, b| a.0.cmp(b.0));
            let mut kept: Vec<(&str, &str)> = Vec::with_capacity(refs.len());
            for pair in refs {
                match kept.last_mut() {
                    Some(last) if last.0 == pair.0 => *last = pair,
                    _ => kept.push(pair),
                }
            }
            refs = kept;
        }
        Labels(pack(&refs))
    }

    /// Builds a set from a vector; on a repeated key the last value wins.
    pub fn from_vec(pairs: Vec<(String, String)>) -> Self {
        Labels::from_pairs(pairs)
    }

    /// Sets `key` to `value`, replacing any earlier value; returns the previous one.
    pub fn insert(&mut self, key: impl AsRef<str>, value: impl AsRef<str>) -> Option<String> {
        let (key, value) = (key.as_ref(), value.as_ref());
        let mut pairs: Vec<(&str, &str)> = self.iter().collect();
        let previous = match pairs.binary_search_by(|(k, _)| (*k).cmp(key)) {
            Ok(i) => Some(std::mem::replace(&mut pairs[i].1, value).to_string()),
            Err(i) => {
                pairs.insert(i, (key, value));
                None
            }
        };
        self.0 = pack(&pairs);
        previous
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Removes `key` and returns its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let value = self.get(key)?.to_string();
        self.retain(|k, _| k != key);
        Some(value)
    }

    /// Keeps only the pairs for which `keep` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        let pairs: Vec<(&str, &str)> = self.iter().filter(|(k, v)| keep(k, v)).collect();
        if pairs.len() != self.len() {
            self.0 = pack(&pairs);
        }
    }

    /// The pairs, sorted by key.
    pub fn iter(&self) -> LabelsIter<'_> {
        LabelsIter::over(&self.0)
    }

    /// True when the set holds exactly `pairs`, given sorted by key with distinct keys (as
    /// [`iter`](Self::iter) gives them): compared byte for byte where they are packed, with
    /// no allocation and no decoding, so a source can tell cheaply that a series it read
    /// again has the labels it kept.
    pub fn eq_sorted<I, K, V>(&self, pairs: I) -> bool
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut rest = &self.0[..];
        let mut remaining = if rest.is_empty() {
            0
        } else {
            match next_len(&mut rest) {
                Some(n) => n,
                None => return false,
            }
        };
        for (k, v) in pairs {
            if remaining == 0
                || !take_equal(&mut rest, k.as_ref().as_bytes())
                || !take_equal(&mut rest, v.as_ref().as_bytes())
            {
                return false;
            }
            remaining -= 1;
        }
        remaining == 0 && rest.is_empty()
    }

    /// Gives the pairs back, sorted by key.
    pub fn into_vec(self) -> Vec<(String, String)> {
        self.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.iter().remaining
    }

    /// True when there is no pair.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The packed bytes (see the module docs): equal sets have equal bytes.
    pub(crate) fn packed(&self) -> &[u8] {
        &self.0
    }

    /// The set whose packed bytes are `bytes`, when they are a canonical encoding.
    #[cfg(test)]
    pub(crate) fn from_packed(bytes: &[u8]) -> Option<Self> {
        let candidate = Labels(bytes.to_vec());
        let mut it = candidate.iter();
        let pairs: Vec<(&str, &str)> = it.by_ref().collect();
        let canonical = it.remaining == 0
            && it.rest.is_empty()
            && pairs.windows(2).all(|w| w[0].0 < w[1].0)
            && (pairs.is_empty() == bytes.is_empty());
        canonical.then_some(candidate)
    }
}

/// The pairs of a [`Labels`], sorted by key.
#[derive(Clone, Debug)]
pub struct LabelsIter<'a> {
    rest: &'a [u8],
    remaining: usize,
}

impl<'a> LabelsIter<'a> {
    /// The pairs packed in `bytes` (as [`Labels::packed`] gives them).
    pub(crate) fn over(bytes: &'a [u8]) -> Self {
        let mut rest = bytes;
        let remaining = next_len(&mut rest).unwrap_or(0);
        LabelsIter { rest, remaining }
    }
}

impl<'a> Iterator for LabelsIter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let pair = (next_str(&mut self.rest)?, next_str(&mut self.rest)?);
        self.remaining -= 1;
        Some(pair)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for LabelsIter<'_> {}

impl<'a> IntoIterator for &'a Labels {
    type Item = (&'a str, &'a str);
    type IntoIter = LabelsIter<'a>;

    fn into_iter(self) -> LabelsIter<'a> {
        self.iter()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for Labels {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Labels::from_pairs(iter)
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pairs: Vec<(&str, &str)> = self.iter().collect();
        f.debug_tuple("Labels").field(&pairs).finish()
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Pair by pair, key then value (the order of the sorted pairs as a list).
impl Ord for Labels {
    fn cmp(&self, other: &Self) -> Ordering {
        self.iter().cmp(other.iter())
    }
}

/// Packs sorted pairs with distinct keys; no pair packs to no byte at all.
fn pack(pairs: &[(&str, &str)]) -> Vec<u8> {
    if pairs.is_empty() {
        return Vec::new();
    }
    let mut size = varint_len(pairs.len());
    for (k, v) in pairs {
        size += varint_len(k.len()) + k.len() + varint_len(v.len()) + v.len();
    }
    let mut out = Vec::with_capacity(size);
    put_len(&mut out, pairs.len());
    for (k, v) in pairs {
        put_str(&mut out, k);
        put_str(&mut out, v);
    }
    out
}

/// Bytes of `n` as LEB128.
pub(crate) fn varint_len(mut n: usize) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

/// Writes `n` as LEB128.
pub(crate) fn put_len(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Writes `s` as its length and its bytes.
pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) {
    put_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

/// Reads one length; `None` at the end (or on a malformed length, which is never written).
pub(crate) fn next_len(rest: &mut &[u8]) -> Option<usize> {
    let mut n = 0usize;
    let mut shift = 0u32;
    loop {
        let (&b, tail) = rest.split_first()?;
        *rest = tail;
        n |= usize::from(b & 0x7f).checked_shl(shift)?;
        if b < 0x80 {
            return Some(n);
        }
        shift += 7;
    }
}

/// Reads one string written by [`put_str`].
pub(crate) fn next_str<'a>(rest: &mut &'a [u8]) -> Option<&'a str> {
    let n = next_len(rest)?;
    let (s, tail) = (rest.get(..n)?, rest.get(n..)?);
    *rest = tail;
    // Written from a `&str`, so it is UTF-8; checked rather than trusted (cheap: short).
    std::str::from_utf8(s).ok()
}

/// Reads one string written by [`put_str`] and compares it with `s`, without decoding it.
#[inline]
pub(crate) fn take_equal(rest: &mut &[u8], s: &[u8]) -> bool {
    // Short strings (nearly all) have a one-byte length: compare it and the bytes at once.
    if let Some((&b, tail)) = rest.split_first()
        && b < 0x80
    {
        let n = usize::from(b);
        if n != s.len() || tail.len() < n || tail[..n] != *s {
            return false;
        }
        *rest = &tail[n..];
        return true;
    }
    match next_len(rest) {
        Some(n) if n == s.len() && rest.len() >= n && rest[..n] == *s => {
            *rest = &rest[n..];
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_does_not_matter_and_last_value_wins() {
        let a = Labels::from_pairs([("b", "2"), ("a", "1"), ("b", "3")]);
        let b = Labels::from_vec(vec![
            ("a".into(), "1".into()),
            ("b".into(), "2".into()),
            ("b".into(), "3".into()),
        ]);
        assert_eq!(a, b);
        assert_eq!(a.get("b"), Some("3"));
        assert_eq!(a.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(a.len(), 2);
        assert_eq!(format!("{a:?}"), r#"Labels([("a", "1"), ("b", "3")])"#);
    }

    #[test]
    fn insert_remove_retain() {
        let mut l = Labels::new();
        assert_eq!(l.insert("x", "1"), None);
        assert_eq!(l.insert("x", "2"), Some("1".into()));
        l.insert("y", "3");
        assert_eq!(l.remove("x"), Some("2".into()));
        assert_eq!(l.remove("x"), None);
        l.retain(|k, _| k != "y");
        assert!(l.is_empty());
        assert_eq!(l, Labels::new(), "an emptied set is the empty set");
    }

    #[test]
    fn order_is_pair_by_pair_and_bytes_round_trip() {
        let long = "x".repeat(300);
        let sets = [
            Labels::new(),
            Labels::from_pairs([("", "")]),
            Labels::from_pairs([("a", "")]),
            Labels::from_pairs([("a", "b")]),
            Labels::from_pairs([("a", "b"), ("c", "")]),
            Labels::from_pairs([("ab", "")]),
            Labels::from_pairs([("k", long.as_str())]),
            Labels::from_pairs([("é", "ñ\u{0}")]),
        ];
        for (i, a) in sets.iter().enumerate() {
            assert_eq!(Labels::from_packed(a.packed()).as_ref(), Some(a));
            assert_eq!(a.clone().into_vec().into_iter().collect::<Labels>(), *a);
            for (j, b) in sets.iter().enumerate() {
                let pairs = |l: &Labels| l.clone().into_vec();
                assert_eq!(a.cmp(b), pairs(a).cmp(&pairs(b)), "{a:?} vs {b:?}");
                assert_eq!(a == b, i == j);
            }
        }
        for (i, a) in sets.iter().enumerate() {
            for (j, b) in sets.iter().enumerate() {
                assert_eq!(a.eq_sorted(b.iter()), i == j, "{a:?} vs {b:?}");
            }
        }
        let a = Labels::from_pairs([("a", "b"), ("c", "")]);
        assert!(!a.eq_sorted([("a", "b")]), "fewer pairs");
        assert!(
            !a.eq_sorted([("a", "b"), ("c", ""), ("d", "")]),
            "more pairs"
        );
        assert_eq!(Labels::from_packed(&[2, 1, b'a', 0]), None, "truncated");
        assert_eq!(Labels::from_packed(&[0]), None, "no pair is no byte");
    }
}
