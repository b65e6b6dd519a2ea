//! Label sets: the second half of a series' identity.

/// A set of label pairs kept sorted by key, so that two sets holding the same pairs compare
/// and hash equal whatever order the source produced them in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    /// An empty label set.
    pub const fn new() -> Self {
        Labels(Vec::new())
    }

    /// Builds a set from pairs in any order; when a key repeats, the last value wins.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut labels = Labels::new();
        for (k, v) in pairs {
            labels.insert(k, v);
        }
        labels
    }

    /// Builds a set from a vector, sorting it once; on a repeated key the last value wins.
    pub fn from_vec(mut pairs: Vec<(String, String)>) -> Self {
        if !pairs.windows(2).all(|w| w[0].0 < w[1].0) {
            // Stable sort keeps the source order among equal keys, so "last wins" holds.
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            let mut deduped: Vec<(String, String)> = Vec::with_capacity(pairs.len());
            for pair in pairs {
                match deduped.last_mut() {
                    Some(last) if last.0 == pair.0 => *last = pair,
                    _ => deduped.push(pair),
                }
            }
            pairs = deduped;
        }
        Labels(pairs)
    }

    /// Sets `key` to `value`, replacing any earlier value; returns the previous one.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Option<String> {
        let key = key.into();
        let value = value.into();
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| self.0[i].1.as_str())
    }

    /// Removes `key` and returns its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(key)) {
            Ok(i) => Some(self.0.remove(i).1),
            Err(_) => None,
        }
    }

    /// Keeps only the pairs for which `keep` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        self.0.retain(|(k, v)| keep(k, v));
    }

    /// The pairs, sorted by key.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The sorted pairs as a slice.
    pub fn as_slice(&self) -> &[(String, String)] {
        &self.0
    }

    /// Gives the pairs back, sorted by key.
    pub fn into_vec(self) -> Vec<(String, String)> {
        self.0
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there is no pair.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Labels {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Labels::from_pairs(iter)
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
    }

    #[test]
    fn insert_remove_retain() {
        let mut l = Labels::new();
        assert_eq!(l.insert("x", "1"), None);
        assert_eq!(l.insert("x", "2"), Some("1".into()));
        l.insert("y", "3");
        assert_eq!(l.remove("x"), Some("2".into()));
        l.retain(|k, _| k != "y");
        assert!(l.is_empty());
    }
}
