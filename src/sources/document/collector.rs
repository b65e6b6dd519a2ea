//! Where the samples and rejections of one document go, while it is read.

use std::borrow::Cow;

use snapbridge_core::{Labels, Sample, SeriesKey, Snapshot, Value};

use super::fields::Fieldset;
use super::node::{Fields, Node, RawLabels};
use super::reader::Held;
use super::{DocumentOptions, MAX_DEPTH, entry, reason};
use crate::sources::{Pulled, Rejection};

/// Samples and rejections gathered while walking a document.
///
/// It may start from the previous snapshot of the same source ([`reusing`](Self::reusing)):
/// a series read at the position it had last time, with the same name and labels, keeps
/// that sample's strings and only gets its new value, so an unchanged document costs no
/// allocation per series.
pub struct Collector {
    // `samples[..len]` is this document's; the rest is what the previous one left there.
    samples: Vec<Sample>,
    len: usize,
    // `unchanged[i]`: sample `i` kept the previous snapshot's key at `i` (see `Pulled`).
    unchanged: Vec<bool>,
    rejected: Vec<Rejection>,
    // Samples of the previous snapshot this document replaced (index, sample), and how
    // many there were: what `restart` puts back.
    displaced: Vec<(usize, Sample)>,
    previous_len: usize,
    // The label pairs of the entry being read: one allocation kept for the whole document
    // (its lifetime parameter is recycled by `take_scratch`).
    scratch: RawLabels<'static>,
}

impl Collector {
    /// An empty collector with room for about `n` samples.
    pub fn with_capacity(n: usize) -> Self {
        Collector::reusing(Vec::with_capacity(n))
    }

    /// An empty collector that refills the samples of the source's previous snapshot.
    pub fn reusing(previous: Vec<Sample>) -> Self {
        Collector {
            unchanged: Vec::with_capacity(previous.len()),
            previous_len: previous.len(),
            displaced: Vec::new(),
            samples: previous,
            len: 0,
            rejected: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Adds a sample.
    pub fn push(&mut self, sample: Sample) {
        match self.samples.get_mut(self.len) {
            Some(slot) => {
                let previous = std::mem::replace(slot, sample);
                self.displaced.push((self.len, previous));
            }
            None => self.samples.push(sample),
        }
        self.unchanged.push(false);
        self.len += 1;
    }

    /// Adds a series from its parts as read: `labels` in document order (a repeated key is
    /// last-wins); the strings are copied here, once. Leaves `labels` empty.
    pub fn push_series(
        &mut self,
        name: &str,
        labels: &mut RawLabels<'_>,
        value: Value,
        unit: Option<&str>,
        description: Option<&str>,
    ) {
        sort_last_wins(labels);
        if let Some(prev) = self.samples.get_mut(self.len)
            && prev.key.name == name
            && same_labels(&prev.key.labels, labels)
        {
            prev.value = value;
            set_text(&mut prev.unit, unit);
            set_text(&mut prev.description, description);
            labels.clear();
            self.unchanged.push(true);
            self.len += 1;
            return;
        }
        let key = SeriesKey::new(name, Labels::from_pairs(labels.drain(..)));
        self.push(Sample {
            key,
            value,
            unit: unit.map(str::to_string),
            description: description.map(str::to_string),
        });
    }

    /// An empty vector for an entry's label pairs, reusing the collector's allocation.
    pub fn take_scratch<'a>(&mut self) -> RawLabels<'a> {
        recycle(std::mem::take(&mut self.scratch))
    }

    /// Gives the vector of [`take_scratch`](Self::take_scratch) back.
    pub fn give_scratch(&mut self, labels: RawLabels<'_>) {
        self.scratch = recycle(labels);
    }

    /// Forgets what was read so far, and the read can start again from the previous
    /// snapshot as it was: the fast scan of a document that turns out malformed, the retry
    /// of one with Python's NaN tokens. Keys are put back, so the unchanged flags of the
    /// next read compare with the previous snapshot, not with the abandoned read.
    pub fn restart(&mut self) {
        for (i, previous) in self.displaced.drain(..).rev() {
            self.samples[i] = previous;
        }
        self.samples.truncate(self.previous_len);
        self.len = 0;
        self.unchanged.clear();
        self.rejected.clear();
    }

    /// Number of samples so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no sample was added.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a label to every sample from index `start` on (the Redis key a hash came from).
    pub fn label_from(&mut self, start: usize, key: &str, value: &str) {
        for s in self.samples[..self.len].iter_mut().skip(start) {
            s.key.labels.insert(key, value);
        }
        // Those keys were just rewritten: no promise about them.
        for u in self.unchanged.iter_mut().skip(start) {
            *u = false;
        }
    }

    /// Records a rejected key.
    pub fn reject(&mut self, key: String, reason: &'static str, detail: String) {
        self.rejected.push(Rejection {
            key: crate::text::shorten(&key, 200),
            reason,
            detail,
        });
    }

    /// The snapshot and its rejections.
    pub fn finish(mut self) -> Pulled {
        self.samples.truncate(self.len);
        Pulled {
            snapshot: Snapshot {
                samples: self.samples,
            },
            rejected: self.rejected,
            unchanged: self.unchanged,
        }
    }

    /// One value of a plain map under the (flattened) name `name`: a number, a typed
    /// entry, or a group of nested metrics.
    pub fn value(
        &mut self,
        name: Cow<'_, str>,
        node: &Node<'_>,
        opts: &DocumentOptions,
        depth: usize,
    ) {
        match node {
            Node::Object(obj) if entry::is_typed(obj) => entry::typed(name, obj, opts, self),
            Node::Object(_) if depth + 1 >= MAX_DEPTH => self.reject(
                name.into_owned(),
                reason::NON_NUMERIC,
                format!(
                    "objects nested more than {MAX_DEPTH} deep are not flattened: use `pointer`"
                ),
            ),
            Node::Object(obj) => self.map(obj, Some(&name), opts, depth + 1),
            Node::Null => {}
            other => entry::plain(name, other, opts, self),
        }
    }

    /// Walks a plain map: numbers, typed entries, and nested plain objects (flattened).
    pub fn map(
        &mut self,
        map: &Fields<'_>,
        prefix: Option<&str>,
        opts: &DocumentOptions,
        depth: usize,
    ) {
        for (key, value) in map {
            let name: Cow<'_, str> = match prefix {
                Some(p) => format!("{p}_{key}").into(),
                None => Cow::Borrowed(&**key),
            };
            self.value(name, value, opts, depth);
        }
    }

    /// One value of a plain map as the streaming reader read it: a tree, or (`None`) the
    /// fields in `held` (see [`value`](Self::value)).
    pub fn map_read(
        &mut self,
        name: Cow<'_, str>,
        read: Option<Node<'_>>,
        held: &mut Held<'_>,
        opts: &DocumentOptions,
    ) {
        match read {
            Some(node) => self.value(name, &node, opts, 0),
            None if entry::is_typed(held) => entry::typed(name, held, opts, self),
            // A group of nested metrics whose keys happen to be entry fields.
            None => self.value(name, &Node::Object(held.take_fields()), opts, 0),
        }
    }

    /// The `i`-th element of an array document as the streaming reader read it: a tree,
    /// or (`None`) the fields in `held` (see [`array_item`](Self::array_item)).
    pub fn array_read(
        &mut self,
        i: usize,
        read: Option<Node<'_>>,
        held: &Held<'_>,
        opts: &DocumentOptions,
    ) {
        match read {
            Some(node) => self.array_item(i, &node, opts),
            None => self.array_entry(i, held, opts),
        }
    }

    /// The `i`-th element of a document that is an array of typed entries with a `"name"`.
    pub fn array_item(&mut self, i: usize, node: &Node<'_>, opts: &DocumentOptions) {
        match node {
            Node::Object(obj) => self.array_entry(i, obj, opts),
            other => self.reject(
                format!("[{i}]"),
                reason::INVALID_ENTRY,
                format!(
                    "expected an object with \"name\", found {}",
                    other.describe()
                ),
            ),
        }
    }

    /// An object element of an array document: a typed entry named by its `"name"`.
    fn array_entry<'a, F: Fieldset<'a> + ?Sized>(
        &mut self,
        i: usize,
        obj: &F,
        opts: &DocumentOptions,
    ) {
        match obj.field("name").and_then(Node::as_str) {
            Some(name) => entry::typed(Cow::Borrowed(name), obj, opts, self),
            None => self.reject(
                format!("[{i}]"),
                reason::INVALID_ENTRY,
                "an entry of the array has no \"name\" string".into(),
            ),
        }
    }
}

/// Sorts pairs in document order by key, keeping the last of a repeated key.
fn sort_last_wins(raw: &mut RawLabels<'_>) {
    // Stable: among equal keys the document order stays, so the last one is the last.
    raw.sort_by(|a, b| a.0.cmp(&b.0));
    let mut kept = 0;
    for i in 0..raw.len() {
        if kept > 0 && raw[kept - 1].0 == raw[i].0 {
            raw.swap(kept - 1, i);
        } else {
            raw.swap(kept, i);
            kept += 1;
        }
    }
    raw.truncate(kept);
}

fn same_labels(kept: &Labels, read: &RawLabels<'_>) -> bool {
    kept.eq_sorted(read.iter().map(|(k, v)| (k, v)))
}

/// Sets a kept unit or description, allocating only when it changed.
fn set_text(kept: &mut Option<String>, read: Option<&str>) {
    if kept.as_deref() != read {
        *kept = read.map(str::to_string);
    }
}

/// The same (empty) vector with another lifetime, keeping its allocation.
// `filter_map` (not `filter`) is what changes the element type's lifetime.
#[allow(clippy::unnecessary_filter_map)]
fn recycle<'a, 'b>(mut v: RawLabels<'a>) -> RawLabels<'b> {
    v.clear();
    // An empty vector of a type with the same layout is collected in place: no allocation.
    v.into_iter().filter_map(|_| None).collect()
}
