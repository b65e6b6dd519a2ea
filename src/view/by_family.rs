//! A view's points written out grouped by family, in one front-to-back read.
//!
//! Every body a sink writes (the text formats, OTLP) lists a family's series together, but
//! points arrive in source order, families interleaved. Sorting them would read the whole
//! view at random, which at 100k series is memory-bound; instead each point's bytes go to
//! its family's own buffer while the points, and their metas allocated in the same order,
//! are read front to back, and the sink joins the buffers behind their headers.

use super::{Point, View};

/// One byte buffer per family of a view, each sized once.
///
/// A buffer grown by doubling copies itself as it grows and can end up twice the size of
/// what it holds: at 100k series that was enough for glibc to hand the top of the heap
/// back to the kernel after every body and fault it in again on the next (a third of the
/// OpenMetrics render's time, which it doubled). So the points of each
/// family are counted first, and once a family's first point is written its buffer is
/// reserved for the rest, the lines of one family differing only in numbers and label
/// values.
pub struct ByFamily {
    ranks: Vec<Option<usize>>,
    points_of: Vec<usize>,
    bufs: Vec<Vec<u8>>,
}

impl ByFamily {
    /// Empty buffers for the families of `view`, and its points counted per family.
    pub fn new(view: &View) -> Self {
        let ranks = view.family_ranks();
        let mut points_of = vec![0usize; view.families.len()];
        for point in &view.points {
            if let Some(r) = View::rank_of(&ranks, &point.meta.family) {
                points_of[r] += 1;
            }
        }
        let mut bufs = Vec::new();
        bufs.resize_with(view.families.len(), Vec::new);
        ByFamily {
            ranks,
            points_of,
            bufs,
        }
    }

    /// Calls `write(index, point, rank, buffer)` for every point of `view` whose family the
    /// view lists (`rank`: its position in `view.families`), in order. A point of a family
    /// the view does not list (never built by the pipeline) is skipped.
    pub fn write_all(
        &mut self,
        view: &View,
        mut write: impl FnMut(usize, &Point, usize, &mut Vec<u8>),
    ) {
        for (i, point) in view.points.iter().enumerate() {
            let Some(r) = View::rank_of(&self.ranks, &point.meta.family) else {
                continue;
            };
            let buf = &mut self.bufs[r];
            let first = buf.is_empty();
            write(i, point, r, buf);
            if first && !buf.is_empty() {
                let rest = self.points_of[r].saturating_sub(1);
                buf.reserve(rest * buf.len() + rest * buf.len() / 8 + 64);
            }
        }
    }

    /// The buffers, one per family in the order of `view.families`.
    pub fn buffers(&self) -> &[Vec<u8>] {
        &self.bufs
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::SystemTime;

    use snapbridge_core::{Kind, Tracked, TrackedValue};

    use super::*;
    use crate::view::{Family, SeriesMeta};

    fn family(id: u32, name: &str) -> Arc<Family> {
        Arc::new(Family {
            id,
            base: name.into(),
            exposed: name.into(),
            kind: Kind::Gauge,
            unit: None,
            help: String::new(),
        })
    }

    #[test]
    fn points_are_grouped_by_family_in_order_and_unlisted_ones_skipped() {
        let (a, b, stray) = (family(0, "a"), family(1, "b"), family(7, "stray"));
        let point = |f: &Arc<Family>, v: f64| Tracked {
            meta: Arc::new(SeriesMeta::new(f.clone(), Vec::new())),
            value: TrackedValue::Gauge(v),
            start: SystemTime::UNIX_EPOCH,
        };
        let mut view = View::empty();
        view.families = Arc::new(vec![b.clone(), a.clone()]);
        view.points = vec![
            point(&a, 1.0),
            point(&b, 2.0),
            point(&stray, 9.0),
            point(&a, 3.0),
        ];
        let mut grouped = ByFamily::new(&view);
        grouped.write_all(&view, |i, p, _, buf| {
            let TrackedValue::Gauge(v) = p.value else {
                return;
            };
            buf.extend_from_slice(format!("{i}:{v} ").as_bytes());
        });
        let bufs: Vec<&[u8]> = grouped.buffers().iter().map(Vec::as_slice).collect();
        assert_eq!(bufs, [&b"1:2 "[..], &b"0:1 3:3 "[..]]);
    }
}
