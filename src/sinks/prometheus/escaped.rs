//! Views with names escaped for a scraper that does not take UTF-8 names.
//!
//! The view keeps names as the name policy made them; with the default policy every one is
//! legacy-valid and every escaping scheme leaves the body as it is. Only a view that holds
//! UTF-8 names, scraped with a scheme other than `allow-utf-8`, is copied with its family
//! and label names escaped (once per view and scheme, see the exposition's cells), then
//! rendered by the same writers.

use std::collections::HashMap;
use std::sync::Arc;

use crate::labels::{escape_label_names, has_quoted_name};
use crate::names::{Escaping, escape_name, is_legacy_name};
use crate::view::{Family, Point, SeriesMeta, View};

/// True when some family or label name of `view` is outside the legacy charset, so that
/// escaping changes the body.
pub fn has_utf8_names(view: &View) -> bool {
    view.families.iter().any(|f| !is_legacy_name(&f.exposed))
        || view
            .points
            .iter()
            .any(|p| has_quoted_name(&p.meta.rendered_labels))
}

/// A copy of `view` (points, families and sources; no attachments) with every name that is
/// not legacy-valid escaped by `scheme`, families sorted again by their new names.
pub fn escaped_view(view: &View, scheme: Escaping) -> View {
    let mut by_id: HashMap<u32, Arc<Family>> = HashMap::with_capacity(view.families.len());
    let mut families: Vec<Arc<Family>> = view
        .families
        .iter()
        .map(|f| {
            let escaped = if is_legacy_name(&f.exposed) {
                f.clone()
            } else {
                Arc::new(Family {
                    id: f.id,
                    base: f.base.clone(),
                    exposed: escape_name(&f.exposed, scheme).into_owned(),
                    kind: f.kind,
                    unit: f.unit.clone(),
                    help: f.help.clone(),
                })
            };
            by_id.insert(f.id, escaped.clone());
            escaped
        })
        .collect();
    families.sort_by(|a, b| a.exposed.cmp(&b.exposed));
    let points = view
        .points
        .iter()
        .map(|p| {
            let family = by_id
                .get(&p.meta.family.id)
                .cloned()
                .unwrap_or_else(|| p.meta.family.clone());
            let labels = escape_label_names(&p.meta.rendered_labels, scheme);
            let meta = if Arc::ptr_eq(&family, &p.meta.family)
                && labels.as_ref() == &*p.meta.rendered_labels
            {
                p.meta.clone()
            } else {
                Arc::new(SeriesMeta {
                    family,
                    rendered_labels: labels.into(),
                })
            };
            Point {
                meta,
                start: p.start,
                value: p.value.clone(),
            }
        })
        .collect();
    View {
        cycle: view.cycle,
        time: view.time,
        points,
        families: Arc::new(families),
        sources: view.sources.clone(),
        attachments: Default::default(),
    }
}
