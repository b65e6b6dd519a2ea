//! Pre-rendered line prefixes: the exposition bodies of a steady cycle without pointer chasing.
//!
//! In steady state a cycle has the same series as the one before, in the same order; only
//! the numbers change. Rendering from scratch nonetheless follows, for every point, three
//! pointers (meta, family name, label bytes) into memory that has gone cold since the last
//! cycle, then joins per-family buffers: at 100k series that, not the number formatting, is
//! most of its ~90 ns per series. [`LinePrefixes`] keeps each line's `name{labels} ` in one
//! contiguous arena laid out in output order (families grouped, name-sorted), so a render
//! reads the arena front to back, gathers each point's value and writes the body in one pass
//! (about 30 ns per series). The lines are the same in both text formats; only the family
//! headers differ, so one set of prefixes serves the text body the cycle renders and the
//! OpenMetrics body a Prometheus scrape asks for.
//!
//! Prefixes are immutable once built and shared (`Arc`) by every view with the same series:
//! the pipeline attaches them to each view they were checked against, and a scrape renders
//! from them without locks. They hold the metas they were built for, so pointer equality
//! with a view's metas proves the series are the same (an address cannot be reused while
//! held). [`PrefixCache`] is the pipeline's side: it reuses the prefixes while they match,
//! rebuilds them when the series change, and under constant churn, where a rebuild every
//! cycle would cost more than it saves, steps aside for a doubling number of cycles.

use std::sync::Arc;

use snapbridge_core::{Kind, TrackedValue};

use super::numbers::{write_f64, write_number};
use super::render::{
    Format, Name, needs_quotes, write_created, write_header, write_point, write_sample,
};
use crate::view::{Family, SeriesMeta, View};

/// Longest stretch of cycles the cache sits out after rebuilds that did not last (2^6).
const MAX_SKIP_SHIFT: u32 = 6;

/// Every line's `name{labels} ` of one set of series, in output order (see the module docs).
#[derive(Debug)]
pub struct LinePrefixes {
    /// The family list the lines are grouped by.
    families: Arc<Vec<Arc<Family>>>,
    /// Per point, in view order: the meta its line was built for (held, so never reused).
    /// In view order, so that checking a new view against them reads both front to back.
    metas: Vec<Arc<SeriesMeta>>,
    /// Per line, in output order.
    lines: Vec<Line>,
    /// Per family, in `families` order: one past the index of its last line.
    family_ends: Vec<u32>,
    /// Every line's prefix, back to back in output order.
    arena: Vec<u8>,
}

#[derive(Clone, Copy, Debug)]
struct Line {
    /// The point's index in the view.
    point: u32,
    /// End of this line's prefix in the arena (it starts where the previous one ended;
    /// histogram lines have none: their several sample lines go through `write_point`).
    end: u32,
}

impl LinePrefixes {
    /// Lays out the lines of `view` by family (a counting sort: points stay in view order
    /// within a family, as a render from scratch writes them) and renders their prefixes.
    /// `None` for a view they cannot describe (a point of an unlisted family, over 4 GiB).
    pub fn build(view: &View) -> Option<Self> {
        let n = view.points.len();
        let ranks = view.family_ranks();
        let mut rank_of_point = Vec::with_capacity(n);
        let mut starts = vec![0usize; view.families.len() + 1];
        for point in &view.points {
            // Never built by the pipeline: the view lists every family its points use.
            let r = View::rank_of(&ranks, &point.meta.family)?;
            rank_of_point.push(r);
            starts[r + 1] += 1;
        }
        for r in 1..starts.len() {
            starts[r] += starts[r - 1];
        }
        let mut order = vec![0usize; n];
        let mut next = starts.clone();
        for (i, &r) in rank_of_point.iter().enumerate() {
            order[next[r]] = i;
            next[r] += 1;
        }
        let mut built = LinePrefixes {
            families: view.families.clone(),
            metas: view.points.iter().map(|p| p.meta.clone()).collect(),
            lines: Vec::with_capacity(n),
            family_ends: Vec::with_capacity(view.families.len()),
            arena: Vec::new(),
        };
        for (r, family) in view.families.iter().enumerate() {
            for &i in &order[starts[r]..starts[r + 1]] {
                let point = &view.points[i];
                if family.kind != Kind::Histogram {
                    let name = Name {
                        base: family.exposed.as_bytes(),
                        suffix: b"",
                        quoted: needs_quotes(family, Format::Text),
                    };
                    let labels = point.meta.rendered_labels.as_bytes();
                    write_sample(&mut built.arena, name, labels, None);
                }
                let line = Line {
                    point: u32::try_from(i).ok()?,
                    end: u32::try_from(built.arena.len()).ok()?,
                };
                built.lines.push(line);
            }
            built.family_ends.push(u32::try_from(starts[r + 1]).ok()?);
        }
        Some(built)
    }

    /// About how large a body in `format` rendered from these prefixes is, rounded up, so
    /// that it is allocated once: growing a body of megabytes copies it (and touches fresh
    /// pages) on every render. OpenMetrics writes a `_created` line after each counter:
    /// about its prefix again plus a timestamp.
    pub fn size_hint(&self, format: Format) -> usize {
        let lines = self.arena.len() + self.lines.len() * 24;
        let headers = self.families.len() * 192 + 4096;
        match format {
            Format::Text => lines + headers,
            Format::OpenMetrics | Format::Protobuf => 2 * lines + headers,
        }
    }

    /// True when these are the prefixes of `view`'s series: the same family list, and the
    /// same series (the same metas, held) at each line. A read of each point's meta
    /// pointer, nothing rendered.
    pub fn fit(&self, view: &View) -> bool {
        Arc::ptr_eq(&self.families, &view.families)
            && self.metas.len() == view.points.len()
            && (self.metas.iter().zip(&view.points)).all(|(meta, p)| Arc::ptr_eq(&p.meta, meta))
    }

    /// The body of `view` in `format`, byte for byte what a render from scratch writes, or
    /// `None` as soon as the view turns out not to have the series these were built for.
    /// `capacity` is a size hint (the previous body's length).
    pub fn render(&self, view: &View, format: Format, capacity: usize) -> Option<Vec<u8>> {
        if format == Format::Protobuf
            || !Arc::ptr_eq(&self.families, &view.families)
            || self.lines.len() != view.points.len()
        {
            return None;
        }
        let room = self.arena.len() + self.lines.len() * 12 + 4096;
        let mut out = Vec::with_capacity(capacity.max(room));
        let (mut first, mut prefix_start) = (0, 0);
        for (family, &end) in self.families.iter().zip(&self.family_ends) {
            let end = end as usize;
            if end == first {
                continue;
            }
            write_header(&mut out, family, format);
            let quoted = needs_quotes(family, format);
            // The prefixes hold the text format's sample names; an OpenMetrics counter whose
            // name lacks `_total` (no suffixes by the name policy) is written in full.
            let own_prefix = format == Format::Text
                || family.kind != Kind::Counter
                || family.exposed.ends_with("_total");
            for line in &self.lines[first..end] {
                let point = view.points.get(line.point as usize)?;
                let meta = self.metas.get(line.point as usize)?;
                let prefix = self.arena.get(prefix_start..line.end as usize)?;
                if !Arc::ptr_eq(&point.meta, meta) {
                    return None;
                }
                prefix_start = line.end as usize;
                // The same arms as `write_point`, with the prefix copied instead of written.
                match (&point.value, family.kind) {
                    (TrackedValue::Counter { total, .. }, Kind::Counter) if own_prefix => {
                        out.extend_from_slice(prefix);
                        write_number(&mut out, *total);
                        out.push(b'\n');
                        if format == Format::OpenMetrics {
                            let name = Name {
                                base: family.openmetrics_name().as_bytes(),
                                suffix: b"",
                                quoted,
                            };
                            // The labels as the prefix just copied holds them: hot in
                            // the cache, where the meta's own copy is cold.
                            let labels = match quoted {
                                false => labels_in(prefix, family.exposed.len()),
                                true => None,
                            };
                            let labels = labels.unwrap_or(meta.rendered_labels.as_bytes());
                            write_created(&mut out, name, labels, point.start);
                        }
                    }
                    (TrackedValue::Gauge(v), Kind::Counter | Kind::Gauge) => {
                        out.extend_from_slice(prefix);
                        write_f64(&mut out, *v);
                        out.push(b'\n');
                    }
                    _ => write_point(&mut out, family, point, format, quoted),
                }
            }
            first = end;
        }
        if format == Format::OpenMetrics {
            out.extend_from_slice(b"# EOF\n");
        }
        Some(out)
    }
}

/// The rendered labels inside the prefix `name{labels} ` of a name `name_len` bytes long
/// (empty for `name `); `None` for a prefix not laid out so (a quoted name).
fn labels_in(prefix: &[u8], name_len: usize) -> Option<&[u8]> {
    match prefix.get(name_len)? {
        b' ' => Some(&[]),
        b'{' => prefix.get(name_len + 1..prefix.len().checked_sub(2)?),
        _ => None,
    }
}

/// The pipeline's side: which prefixes to render each cycle's text body from.
#[derive(Debug, Default)]
pub struct PrefixCache {
    /// The prefixes of the last views, if any.
    current: Option<Arc<LinePrefixes>>,
    /// False right after a rebuild, until a later cycle has been served from it.
    lasted: bool,
    /// Rebuilds in a row that did not last.
    misses: u32,
    /// Cycles left to render from scratch.
    skip: u32,
}

impl PrefixCache {
    /// An empty cache: the first view builds it.
    pub fn new() -> Self {
        PrefixCache {
            lasted: true,
            ..PrefixCache::default()
        }
    }

    /// The prefixes to render `view`'s bodies from, checked against it: the last ones
    /// while they fit, new ones when the series changed, none while the cache sits out
    /// churn (those bodies are rendered from scratch).
    pub fn prefixes_for(&mut self, view: &View) -> Option<Arc<LinePrefixes>> {
        if self.skip > 0 {
            self.skip -= 1;
            return None;
        }
        if let Some(prefixes) = &self.current
            && prefixes.fit(view)
        {
            self.lasted = true;
            self.misses = 0;
            return Some(prefixes.clone());
        }
        self.current = None;
        if !self.lasted {
            // Built last cycle and already stale: the series churn; step aside a while.
            self.misses += 1;
            self.skip = 1 << self.misses.min(MAX_SKIP_SHIFT);
            self.lasted = true;
            return None;
        }
        self.lasted = false;
        self.current = LinePrefixes::build(view).map(Arc::new);
        self.current.clone().filter(|p| p.fit(view))
    }

    /// The text body of `view`, and the prefixes it was rendered from (checked against
    /// `view`), if any: [`prefixes_for`](Self::prefixes_for), then the render, as a view's
    /// first text scrape does (what the tests compare with a render from scratch).
    #[cfg(test)]
    pub fn render(&mut self, view: &View, capacity: usize) -> (Vec<u8>, Option<Arc<LinePrefixes>>) {
        let prefixes = self.prefixes_for(view);
        let body = prefixes
            .as_ref()
            .and_then(|p| p.render(view, Format::Text, capacity));
        match body {
            Some(body) => (body, prefixes),
            None => (
                super::render::render_from_scratch(view, Format::Text, capacity),
                None,
            ),
        }
    }
}

#[cfg(test)]
mod tests;
