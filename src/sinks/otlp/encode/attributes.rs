//! Each series' labels encoded as OTLP attributes, kept on the sink's side.
//!
//! Encoding a series' attributes means reading its labels back and writing them as
//! `KeyValue`s: done once per series, not per export. The encoded forms are kept lined up
//! with the points of the last view, with the metas they were made for: in steady state
//! (the same series in the same order) a view is checked with one pointer comparison per
//! point; when the series change, the forms of the series still there are found by their
//! meta and only the new ones are encoded.

use std::collections::HashMap;
use std::sync::Arc;

use snapbridge_core::Kind;

use crate::protowire::string_attribute;
use crate::view::{SeriesMeta, View};

/// The attributes of the last view's points, in point order.
#[derive(Default)]
pub struct Attributes {
    // Held, so an address in this list cannot be reused by another meta while it is here.
    metas: Vec<Arc<SeriesMeta>>,
    encoded: Vec<Box<[u8]>>,
}

impl Attributes {
    /// Lines the cache up with `view`'s points.
    pub fn refresh(&mut self, view: &View) {
        let same = self.metas.len() == view.points.len()
            && self
                .metas
                .iter()
                .zip(&view.points)
                .all(|(m, p)| Arc::ptr_eq(m, &p.meta));
        if same {
            return;
        }
        // The old metas stay alive in this map until every point is matched, so an equal
        // address means the same meta.
        let mut old: HashMap<usize, (Arc<SeriesMeta>, Box<[u8]>)> = self
            .metas
            .drain(..)
            .zip(self.encoded.drain(..))
            .map(|(m, e)| (Arc::as_ptr(&m) as usize, (m, e)))
            .collect();
        for point in &view.points {
            let key = Arc::as_ptr(&point.meta) as usize;
            let encoded = match old.remove(&key) {
                Some((_, e)) => e,
                None => encode(&point.meta),
            };
            self.metas.push(point.meta.clone());
            self.encoded.push(encoded);
        }
    }

    /// The encoded attributes of the view's point `i` (after [`Attributes::refresh`]).
    pub fn get(&self, i: usize) -> &[u8] {
        self.encoded.get(i).map_or(&[], |e| e)
    }
}

/// A series' attributes as encoded `KeyValue`s: number data points hold them in field 7,
/// histogram data points in field 9.
fn encode(meta: &SeriesMeta) -> Box<[u8]> {
    let field = if meta.family.kind == Kind::Histogram {
        9
    } else {
        7
    };
    let mut out = Vec::new();
    for (k, v) in meta.labels() {
        string_attribute(&mut out, field, &k, &v);
    }
    out.into_boxed_slice()
}
