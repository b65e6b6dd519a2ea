//! The text body, rendered from pre-rendered line prefixes while the series stay the same.
//!
//! In steady state a cycle has the same series as the one before, in the same order; only
//! the numbers change. [`render`] nonetheless follows, for every point, three pointers
//! (meta, family name, label bytes) into memory that has gone cold since the last cycle,
//! then joins per-family buffers: at 100k series that, not the number formatting, was most
//! of its ~100 ns per series. This cache keeps each line's `name{labels} ` prefix in one
//! contiguous arena laid out in output order (families grouped, name-sorted), so a steady
//! cycle reads the arena front to back, gathers each point's value and writes the body in
//! one pass, with no per-family buffers to join.
//!
//! It is used only while the view's points carry the very same metas (pointer equality)
//! with the same family list; it holds those metas, so their addresses cannot be reused by
//! other series meanwhile. Anything else rebuilds it. Under constant churn a rebuild every
//! cycle would cost more than it saves, so after a rebuild that did not last a single cycle
//! the cache steps aside (plain [`render`]) for a doubling number of cycles.

use std::sync::Arc;

use snapbridge_core::{Kind, TrackedValue};

use super::render::{
    Format, render, write_f64, write_header, write_number, write_point, write_sample,
};
use crate::view::{Family, SeriesMeta, View};

/// Longest stretch of cycles the cache sits out after rebuilds that did not last.
const MAX_SKIP_SHIFT: u32 = 6;

/// Pre-rendered line prefixes of the last view's text body (see the module docs).
#[derive(Default)]
pub struct TextCache {
    /// The family list the lines were grouped by.
    families: Option<Arc<Vec<Arc<Family>>>>,
    /// Per line, in output order: the meta it was built for (held, so never reused).
    metas: Vec<Arc<SeriesMeta>>,
    /// Per line, in output order.
    lines: Vec<Line>,
    /// Per family, in `families` order: one past the index of its last line.
    family_ends: Vec<u32>,
    /// Every line's prefix, back to back in output order.
    arena: Vec<u8>,
    /// False right after a rebuild, until a later cycle has been served from it.
    lasted: bool,
    /// Rebuilds in a row that did not last.
    misses: u32,
    /// Cycles left to render without the cache.
    skip: u32,
}

#[derive(Clone, Copy)]
struct Line {
    /// The point's index in the view.
    point: u32,
    /// End of this line's prefix in the arena (it starts where the previous one ended).
    end: u32,
    /// How the value is written.
    shape: Shape,
}

/// Which values a line's prefix serves; anything else goes through `write_point`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A counter family: counter totals and gauge values.
    Counter,
    /// A gauge family: gauge values.
    Gauge,
    /// A histogram family: several lines per point, no single prefix.
    Histogram,
}

impl TextCache {
    /// An empty cache: the first view builds it.
    pub fn new() -> Self {
        TextCache {
            lasted: true,
            ..TextCache::default()
        }
    }

    /// The text-format body of `view`, byte for byte what [`render`] writes.
    /// `capacity` is a size hint (the previous body's length).
    pub fn render(&mut self, view: &View, capacity: usize) -> Vec<u8> {
        if self.skip > 0 {
            self.skip -= 1;
            return render(view, Format::Text, capacity);
        }
        if let Some(body) = self.try_render(view, capacity) {
            self.lasted = true;
            self.misses = 0;
            return body;
        }
        if !self.lasted {
            // Built last cycle and already stale: the series churn; step aside a while.
            self.misses += 1;
            self.skip = 1 << self.misses.min(MAX_SKIP_SHIFT);
            *self = TextCache {
                misses: self.misses,
                skip: self.skip,
                ..TextCache::new()
            };
            return render(view, Format::Text, capacity);
        }
        self.rebuild(view);
        self.lasted = false;
        self.try_render(view, capacity)
            .unwrap_or_else(|| render(view, Format::Text, capacity))
    }

    /// Writes the body from the arena, or `None` as soon as the view differs from the one
    /// the cache was built for.
    fn try_render(&self, view: &View, capacity: usize) -> Option<Vec<u8>> {
        let families = self.families.as_ref()?;
        if !Arc::ptr_eq(families, &view.families) || self.lines.len() != view.points.len() {
            return None;
        }
        let room = self.arena.len() + self.lines.len() * 12 + 4096;
        let mut out = Vec::with_capacity(capacity.max(room));
        let (mut first, mut prefix_start) = (0, 0);
        for (family, &end) in families.iter().zip(&self.family_ends) {
            let end = end as usize;
            if end == first {
                continue;
            }
            write_header(&mut out, family, Format::Text);
            for (line, meta) in self.lines[first..end].iter().zip(&self.metas[first..end]) {
                let point = view.points.get(line.point as usize)?;
                if !Arc::ptr_eq(&point.meta, meta) {
                    return None;
                }
                let prefix = self.arena.get(prefix_start..line.end as usize)?;
                prefix_start = line.end as usize;
                match (&point.value, line.shape) {
                    (TrackedValue::Counter { total, .. }, Shape::Counter) => {
                        out.extend_from_slice(prefix);
                        write_number(&mut out, *total);
                        out.push(b'\n');
                    }
                    (TrackedValue::Gauge(v), Shape::Counter | Shape::Gauge) => {
                        out.extend_from_slice(prefix);
                        write_f64(&mut out, *v);
                        out.push(b'\n');
                    }
                    _ => write_point(&mut out, family, point),
                }
            }
            first = end;
        }
        Some(out)
    }

    /// Lays out the lines of `view` by family (a counting sort: points stay in view order
    /// within a family, as [`render`] writes them) and renders their prefixes.
    fn rebuild(&mut self, view: &View) {
        self.families = None;
        self.metas.clear();
        self.lines.clear();
        self.family_ends.clear();
        self.arena.clear();
        let n = view.points.len();
        let ranks = view.family_ranks();
        let mut rank_of_point = Vec::with_capacity(n);
        let mut starts = vec![0usize; view.families.len() + 1];
        for point in &view.points {
            // A point of a family the view does not list is never built by the pipeline;
            // should one appear, leave the cache empty and let `render` handle the view.
            let Some(r) = View::rank_of(&ranks, &point.meta.family) else {
                return;
            };
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
        for (r, family) in view.families.iter().enumerate() {
            let shape = match family.kind {
                Kind::Counter => Shape::Counter,
                Kind::Gauge => Shape::Gauge,
                Kind::Histogram => Shape::Histogram,
            };
            for &i in &order[starts[r]..starts[r + 1]] {
                let point = &view.points[i];
                if shape != Shape::Histogram {
                    let labels = point.meta.rendered_labels.as_bytes();
                    write_sample(
                        &mut self.arena,
                        family.exposed.as_bytes(),
                        b"",
                        labels,
                        None,
                    );
                }
                let (Ok(point_index), Ok(end)) =
                    (u32::try_from(i), u32::try_from(self.arena.len()))
                else {
                    // Over 4 GiB of prefixes: far beyond any real view; render uncached.
                    *self = TextCache::new();
                    return;
                };
                self.lines.push(Line {
                    point: point_index,
                    end,
                    shape,
                });
                self.metas.push(point.meta.clone());
            }
            self.family_ends.push(starts[r + 1] as u32);
        }
        self.families = Some(view.families.clone());
    }
}

#[cfg(test)]
mod tests;
